"""The route table of a v1 module configuration API.

One declaration per path shape says which handler answers each method and
which policy rule guards it. The table drives everything else: dispatch, the
404 and the 405 with its ``Allow`` header, the paths that get ETags
(``conditional``), the If-Match check of every write that names an object
(in its path, or in the JSON body or query of a collection path:
``names``) and the policy walk test.

A shape is segments separated by '/': a literal, or a ``{name}`` that takes
any one segment. Ids in the path are not validated here, so an unknown id
still reaches its handler and gets the handler's own 404. Where several
shapes match a path (``mappings/group`` and ``mappings/{mapping_id}``), the
first declared that serves the method answers.
"""
import dataclasses

import pecan

from ratekeeper import errors
from ratekeeper.api import conditional
from ratekeeper.api.v1 import json_controllers as jc
from ratekeeper.api.v1.module_config import inputs
from ratekeeper.policies import rating as rating_policies

WRITES = ('PUT', 'PATCH', 'DELETE')


@dataclasses.dataclass(frozen=True)
class Action:
    handler: object   # called with a Call, returns (status, doc[, headers])
    rule: str         # the policy rule checked first


@dataclasses.dataclass(frozen=True)
class Route:
    shape: str
    actions: dict            # HTTP method -> Action
    conditional: bool = False  # a member resource: ETags, If-Match
    # the id key of the object a write names in its JSON body or query
    # (PUT mappings/ {"mapping_id": ...}); a member names it in its path
    names: str = None

    @property
    def segments(self):
        return self.shape.split('/')

    @property
    def named_key(self):
        """The key of the object a write on this route names, if any."""
        last = self.segments[-1]
        if self.conditional and last.startswith('{'):
            return last[1:-1]
        return self.names

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


def route(shape, conditional=False, names=None, **actions):
    """A Route from ``METHOD=(handler, rule)`` keywords."""
    return Route(shape, {method: Action(*action)
                         for method, action in actions.items()},
                 conditional, names)


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

    @classmethod
    def of_path(cls, path):
        """A call with path variables only (reading the current object)."""
        call = cls.__new__(cls)
        call.path, call.query, call.body, call.params = path, {}, {}, {}
        return call

    def named(self, key):
        """The id ``key`` as the handlers read it: the path's, else the
        JSON body's (PUT) or the parameters' (DELETE: query over body)."""
        for source in (self.path, self.body, self.params):
            if source.get(key) is not None:
                return source[key]
        return None


def user():
    """Who makes the request, as CloudKitty records it on a rule."""
    return jc.context().user_id or 'unknown'


def created(document, new_id, status=201):
    """A 201 with the Location of ``new_id`` under the request path."""
    location = pecan.request.path_url.rstrip('/') + '/' + new_id
    return status, document, {'Location': location}


def object_id(call, key):
    """The id of the object the call names: the path's, else the body's or
    the query's (clients PUT and DELETE on collections with the id there),
    read as the If-Match check reads it, so both act on one object."""
    return inputs.text_value(call.named(key), key)


class RouteTable:
    def __init__(self, routes):
        self.routes = tuple(routes)

    def _matching(self, parts):
        for candidate in self.routes:
            variables = candidate.match(parts)
            if variables is not None:
                yield candidate, variables

    def find(self, method, parts):
        """(Route, path variables) for ``method`` on ``parts``: 404 when
        no shape matches, 405 (with Allow) when none serves the method."""
        allowed = []
        for candidate, variables in self._matching(parts):
            if method in candidate.actions:
                return candidate, variables
            allowed += [m for m in candidate.actions if m not in allowed]
        if not allowed:
            raise errors.NotFound('The resource could not be found.')
        raise jc.method_not_allowed(sorted(allowed))

    def dispatch(self, method, parts, query):
        """Route, then authorize (the gate every module configuration API
        shares, then the route's own rule) before reading any input; a
        write's preconditions are checked before it touches anything."""
        found, variables = self.find(method, parts)
        action = found.actions[method]
        jc.authorize(rating_policies.MODULE_CONFIG)
        jc.authorize(action.rule)
        call = Call(method, variables, query)
        if method in WRITES and found.named_key:
            self._check_if_match(found.named_key, call)
        return action.handler(call)

    def member_of(self, key):
        """The conditional route of the objects named by ``key``."""
        for candidate in self.routes:
            if candidate.conditional and candidate.named_key == key:
                return candidate
        raise LookupError('no conditional route names %s' % key)

    def _check_if_match(self, key, call):
        """412 with the current object when If-Match names another
        version of the object the write names, wherever its id travels
        (path, JSON body, query). The object is read as a GET on its
        member path would read it, policy included; an id that names no
        object is left to the write (400, 404)."""
        header = pecan.request.headers.get('If-Match')
        object_id = call.named(key)
        if header is None or not isinstance(object_id, str) \
                or not object_id:
            return
        read = self.member_of(key).actions['GET']
        jc.authorize(read.rule)
        try:
            document = read.handler(Call.of_path({key: object_id}))[1]
        except errors.NotFound:
            return
        conditional.check_if_match(header, document)

    def walk(self):
        """(shape, method, rule) of every route and method."""
        for candidate in self.routes:
            for method, action in candidate.actions.items():
                yield candidate.shape, method, action.rule

    def conditional_shapes(self):
        return [r.shape for r in self.routes if r.conditional]
