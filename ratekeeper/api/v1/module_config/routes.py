"""The route table of a v1 module configuration API.

One declaration per path shape says which handler answers each method and
which policy rule guards it. The table drives everything else: dispatch, the
404 and the 405 with its ``Allow`` header, the paths that get ETags
(``conditional``) and the policy walk test.

A shape is segments separated by '/': a literal, or a ``{name}`` that takes
any one segment. Ids in the path are not validated here, so an unknown id
still reaches its handler and gets the handler's own 404. Where several
shapes match a path (``mappings/group`` and ``mappings/{mapping_id}``), the
first declared that serves the method answers.
"""
import dataclasses

from ratekeeper import errors
from ratekeeper.api.v1 import json_controllers as jc
from ratekeeper.policies import rating as rating_policies


@dataclasses.dataclass(frozen=True)
class Action:
    handler: object   # called with a Call, returns (status, doc[, headers])
    rule: str         # the policy rule checked first


@dataclasses.dataclass(frozen=True)
class Route:
    shape: str
    actions: dict            # HTTP method -> Action
    conditional: bool = False  # a member resource: ETags, If-Match

    @property
    def segments(self):
        return self.shape.split('/')

    def match(self, parts):
        """The path variables when ``parts`` has this shape, else None."""
        segments = self.segments
        if len(parts) != len(segments):
            return None
        variables = {}
        for segment, part in zip(segments, parts):
            if segment.startswith('{'):
                variables[segment[1:-1]] = part
            elif segment != part:
                return None
        return variables


def route(shape, conditional=False, **actions):
    """A Route from ``METHOD=(handler, rule)`` keywords."""
    return Route(shape, {method: Action(*action)
                         for method, action in actions.items()},
                 conditional)


class Call:
    """What a handler reads of its request, parsed before it runs: the
    path variables, the query, and the JSON body (POST, PUT) or the
    parameters (GET, DELETE: the query over the JSON body; clients send
    both). A body that is not a JSON object is a 400."""

    def __init__(self, method, path, query):
        self.path = path
        self.query = query
        writes = method in ('POST', 'PUT', 'PATCH')
        self.body = jc.request_body() if writes else {}
        self.params = {} if writes else jc.request_params(query)


class RouteTable:
    def __init__(self, routes):
        self.routes = tuple(routes)

    def _matching(self, parts):
        for candidate in self.routes:
            variables = candidate.match(parts)
            if variables is not None:
                yield candidate, variables

    def find(self, method, parts):
        """(Action, path variables) for ``method`` on ``parts``: 404 when
        no shape matches, 405 (with Allow) when none serves the method."""
        allowed = []
        for candidate, variables in self._matching(parts):
            if method in candidate.actions:
                return candidate.actions[method], variables
            allowed += [m for m in candidate.actions if m not in allowed]
        if not allowed:
            raise errors.NotFound('The resource could not be found.')
        raise jc.method_not_allowed(sorted(allowed))

    def dispatch(self, method, parts, query):
        """Route, then authorize (the gate every module configuration API
        shares, then the route's own rule) before reading any input."""
        action, variables = self.find(method, parts)
        jc.authorize(rating_policies.MODULE_CONFIG)
        jc.authorize(action.rule)
        return action.handler(Call(method, variables, query))

    def walk(self):
        """(shape, method, rule) of every route and method."""
        for candidate in self.routes:
            for method, action in candidate.actions.items():
                yield candidate.shape, method, action.rule

    def conditional_shapes(self):
        return [r.shape for r in self.routes if r.conditional]
