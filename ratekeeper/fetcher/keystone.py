"""The ``keystone`` fetcher: the projects where the service user
(``[fetcher_keystone]`` keystoneauth options) holds the role ``rating``,
or every project with ``ignore_rating_role``; disabled projects are kept
unless ``ignore_disabled_tenants`` (CloudKitty's rules).

The role check is one effective role-assignment listing for the user
(group and inherited roles included) instead of one call per project.
"""
from ratekeeper import fetcher

GROUP = 'fetcher_keystone'
RATING_ROLE = 'rating'


class KeystoneFetcher(fetcher.BaseFetcher):
    name = 'keystone'

    def __init__(self, conf):
        super().__init__(conf)
        from keystoneauth1 import exceptions as ks_exceptions
        from keystoneauth1 import loading as ks_loading
        from keystoneclient.v3 import client as ks_client
        self._errors = (ks_exceptions.ClientException,)
        ks_loading.register_auth_conf_options(conf, GROUP)
        ks_loading.register_session_conf_options(conf, GROUP)
        auth = ks_loading.load_auth_from_conf_options(conf, GROUP)
        if auth is None:
            raise fetcher.InvalidConfiguration(
                '[fetcher_keystone] auth_type and its options are required')
        self.session = ks_loading.load_session_from_conf_options(
            conf, GROUP, auth=auth)
        self.client = ks_client.Client(session=self.session)

    def _rated_projects(self):
        user_id = self.session.get_user_id()
        assignments = self.client.role_assignments.list(
            user=user_id, effective=True, include_names=True)
        return {a.scope['project']['id'] for a in assignments
                if a.role.get('name') == RATING_ROLE
                and 'project' in getattr(a, 'scope', {})}

    def get_scopes(self):
        options = self.conf.fetcher_keystone
        try:
            projects = self.client.projects.list()
            rated = None if options.ignore_rating_role \
                else self._rated_projects()
        except self._errors as exc:
            raise fetcher.FetcherError('Keystone: %s' % exc) from None
        return [p.id for p in projects
                if (rated is None or p.id in rated)
                and (p.enabled or not options.ignore_disabled_tenants)]
