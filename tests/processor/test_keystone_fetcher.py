"""The keystone fetcher against a real Keystone (tests/keystone.py): the
scopes are the projects where the service user holds the role ``rating``
(disabled ones kept unless ``ignore_disabled_tenants``), or every project
with ``ignore_rating_role``, as CloudKitty's fetcher lists them."""
import secrets

import pytest
from oslo_config import cfg

from ratekeeper import conf as rk_conf
from ratekeeper import fetcher
from tests import keystone as keystone_server


def _fetcher(keystone, tmp_path, **options):
    lines = ['[fetcher]', 'backend = keystone', '[fetcher_keystone]',
             'auth_type = password', 'auth_url = %s' % keystone.auth_url,
             'username = admin',
             'password = %s' % keystone_server.ADMIN_PASSWORD,
             'user_domain_name = Default', 'project_name = admin',
             'project_domain_name = Default']
    lines += ['%s = %s' % item for item in options.items()]
    path = tmp_path / ('fetcher-%s.conf' % secrets.token_hex(3))
    path.write_text('\n'.join(lines) + '\n')
    conf = cfg.ConfigOpts()
    rk_conf.register_opts(conf)
    conf([], project='ratekeeper', default_config_files=[str(path)])
    return fetcher.get_fetcher(conf)


@pytest.fixture(scope='module')
def projects(real_keystone):
    """{name: id} of four new projects: two rated, one rated but
    disabled, one without the rating role for the service user."""
    admin = real_keystone.admin
    rating = next(r for r in admin.roles.list() if r.name == 'rating')
    service_user = next(u for u in admin.users.list() if u.name == 'admin')
    suffix = secrets.token_hex(3)
    made = {}
    for name in ('rated-1', 'rated-2', 'rated-disabled', 'unrated'):
        project = admin.projects.create('%s-%s' % (name, suffix), 'default',
                                        enabled=name != 'rated-disabled')
        made[name] = project.id
        if name.startswith('rated'):
            admin.roles.grant(rating, user=service_user, project=project)
    return made


def test_only_projects_with_the_rating_role(real_keystone, projects,
                                            tmp_path):
    scopes = _fetcher(real_keystone, tmp_path).get_scopes()
    assert sorted(scopes) == sorted(
        [projects['rated-1'], projects['rated-2'],
         projects['rated-disabled']])


def test_ignore_disabled_tenants_leaves_disabled_projects_out(
        real_keystone, projects, tmp_path):
    scopes = _fetcher(real_keystone, tmp_path,
                      ignore_disabled_tenants='true').get_scopes()
    assert sorted(scopes) == sorted([projects['rated-1'],
                                     projects['rated-2']])


def test_ignore_rating_role_lists_every_project(real_keystone, projects,
                                                tmp_path):
    scopes = _fetcher(real_keystone, tmp_path,
                      ignore_rating_role='true').get_scopes()
    assert set(projects.values()) <= set(scopes)
    every = {p.id for p in real_keystone.admin.projects.list()}
    assert set(scopes) == every


def test_keystone_out_of_reach_is_a_fetcher_error(tmp_path):
    from tests import live
    unreachable = keystone_server.Keystone(
        'http://127.0.0.1:%d' % live.free_port(), None)
    with pytest.raises(fetcher.FetcherError):
        _fetcher(unreachable, tmp_path).get_scopes()
