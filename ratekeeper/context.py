"""The request context: who is calling, for which project, with which roles."""
from oslo_context import context as oslo_context

from ratekeeper import policy

ENVIRON_KEY = 'ratekeeper.context'


class RequestContext(oslo_context.RequestContext):
    def __init__(self, conf=None, **kwargs):
        super().__init__(**kwargs)
        self.conf = conf
        self.policy_checked = False
        self.is_admin = policy.check_is_admin(conf, self)


def readable_projects(context, asked):
    """The projects whose rated data ``context`` may read, given those it
    asked for (None: every project).

    An administrator reads what it asks. Any other caller reads its own
    project only, and a caller scoped to no project (a reader token
    without a project, a domain- or system-scoped token) reads nothing:
    ``[]``. Policy alone cannot say so: its ``project_id:%(project_id)s``
    matches a caller without a project on a target without one (None is
    None), which is how CloudKitty's /v1/report shows such a caller every
    project's total.
    """
    if context.is_admin:
        return asked
    if not context.project_id:
        return []
    return [context.project_id]


def _split_roles(value):
    return [r.strip() for r in (value or '').split(',') if r.strip()]


def from_noauth_environ(conf, environ):
    """Build a context from the headers a test or a trusted proxy sends.

    X-Project-Id (or X-Tenant-Id) and X-Roles shape the caller, so that the
    policies are exercised without keystone. A request with neither acts as
    an administrator, as CloudKitty's noauth mode does.
    """
    project_id = (environ.get('HTTP_X_PROJECT_ID')
                  or environ.get('HTTP_X_TENANT_ID'))
    roles = _split_roles(environ.get('HTTP_X_ROLES'))
    if not project_id and 'HTTP_X_ROLES' not in environ:
        roles = ['admin']
    return RequestContext(
        conf=conf, project_id=project_id, roles=roles,
        user_id=environ.get('HTTP_X_USER_ID'),
        request_id=environ.get('openstack.request_id'))


def from_keystone_environ(conf, environ):
    """Build a context from the headers keystonemiddleware sets."""
    base = oslo_context.RequestContext.from_environ(environ)
    return RequestContext(
        conf=conf, project_id=base.project_id, roles=base.roles,
        user_id=base.user_id, domain_id=base.domain_id,
        system_scope=base.system_scope, auth_token=base.auth_token,
        request_id=environ.get('openstack.request_id'))


def admin_context(conf):
    return RequestContext(conf=conf, roles=['admin'])
