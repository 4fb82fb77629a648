"""What v2 serves, read from the app's routing table: every routed resource
with its rule, as RFC 6570 templates. JSON-home (versions.py) and OpenAPI
(openapi.py) are both generated from it."""
import re

_PLACEHOLDER = re.compile(r'<(?:[^:>]+:)?([^>]+)>')


def resource_rules(app):
    """(werkzeug rule, resource class) of every routed v2 resource."""
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        resource = getattr(view, 'view_class', None)
        if resource is not None and not resource.public:
            yield rule, resource


def template(rule):
    """The rule as an RFC 6570 template relative to the v2 root."""
    return _PLACEHOLDER.sub(r'{\1}', rule.rule)


def relation(resource):
    """The resource's published name (JSON-home relation, OpenAPI
    operation ids): declared by the resource, never derived from its
    class name, so renaming a class changes nothing a client sees."""
    name = resource.__dict__.get('relation')
    if not name:
        raise TypeError('%s.%s declares no relation' % (
            resource.__module__, resource.__name__))
    return name
