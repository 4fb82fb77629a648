"""A real Keystone for tests: installed from PyPI into its own venv (cached
outside the repository and reused across runs), configured in a throwaway
directory (SQLite, fernet and credential keys, bootstrap admin), served on a
free 127.0.0.1 port and stopped by its own PID.

Keystone's WSGI app parses the process's command line with oslo.config, so it
runs under werkzeug's threaded server (Keystone is a Flask app: werkzeug is in
its venv) from a one-line launcher rather than under gunicorn's argv.
"""
import concurrent.futures
import contextlib
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile

from keystoneauth1.identity import v3 as ks_identity
from keystoneauth1 import session as ks_session
from keystoneclient.v3 import client as ks_client

from tests import live

VERSION = '30.0.0'
CACHE = os.path.join(os.path.expanduser('~'), '.cache', 'ratekeeper-tests')
VENV = os.path.join(CACHE, 'keystone-' + VERSION)
PYTHON = os.path.join(VENV, 'bin', 'python')
ADMIN_PASSWORD = 'admin-secret'
PASSWORD = 'user-secret'
CORS_ALLOW_HEADERS = 'X-Auth-Token,Content-Type,OpenStack-API-Version'

# Every command runs as `python -c` so that the venv can be built under a
# temporary name and renamed into place when complete (scripts' shebangs
# would keep the temporary path).
MANAGE = 'from keystone.cmd.manage import main; main()'
SERVE = ('import sys; port = int(sys.argv.pop()); '
         'from keystone.wsgi.api import application; '
         'from werkzeug.serving import run_simple; '
         'run_simple("127.0.0.1", port, application, threaded=True)')


def install():
    """The Keystone venv's python, installing it once per machine."""
    if os.path.exists(os.path.join(VENV, '.installed')):
        return PYTHON
    os.makedirs(CACHE, exist_ok=True)
    building = tempfile.mkdtemp(prefix='keystone-build-', dir=CACHE)
    subprocess.run([sys.executable, '-m', 'venv', '--clear', building],
                   check=True)
    subprocess.run([os.path.join(building, 'bin', 'python'), '-m', 'pip',
                    'install', '-q', 'keystone==' + VERSION],
                   check=True, capture_output=True)
    open(os.path.join(building, '.installed'), 'w').close()
    try:
        os.rename(building, VENV)
    except OSError:  # another run finished first
        shutil.rmtree(building, ignore_errors=True)
    return PYTHON


def _config(directory, origin):
    return '\n'.join([
        '[database]',
        'connection = sqlite:///%s/keystone.db' % directory,
        '[token]', 'provider = fernet', 'expiration = 3600',
        '[fernet_tokens]', 'key_repository = %s/fernet' % directory,
        '[fernet_receipts]', 'key_repository = %s/fernet' % directory,
        '[credential]', 'key_repository = %s/credential' % directory,
        '[cors]', 'allowed_origin = %s' % origin,
        'expose_headers = X-Subject-Token',
        'allow_headers = ' + CORS_ALLOW_HEADERS, ''])


def _manage(conf_file, *args):
    subprocess.run([PYTHON, '-c', MANAGE, '--config-file', conf_file] +
                   list(args), check=True, capture_output=True)


def _set_up(directory, conf_file, url):
    owner = ['--keystone-user', str(os.getuid()),
             '--keystone-group', str(os.getgid())]
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        jobs = [pool.submit(_manage, conf_file, 'db_sync'),
                pool.submit(_manage, conf_file, 'fernet_setup', *owner),
                pool.submit(_manage, conf_file, 'credential_setup', *owner)]
        for job in jobs:
            job.result()
    _manage(conf_file, 'bootstrap', '--bootstrap-password', ADMIN_PASSWORD,
            '--bootstrap-public-url', url + '/v3',
            '--bootstrap-internal-url', url + '/v3',
            '--bootstrap-admin-url', url + '/v3',
            '--bootstrap-region-id', 'RegionOne')


@dataclasses.dataclass
class Keystone:
    url: str
    admin: ks_client.Client
    projects: dict = dataclasses.field(default_factory=dict)
    users: dict = dataclasses.field(default_factory=dict)

    @property
    def auth_url(self):
        return self.url + '/v3'

    def session(self, username, **scope):
        """A keystoneauth1 session for a user, scoped by `scope`
        (project_name=, domain_name=, system_scope='all' or nothing)."""
        if 'project_name' in scope:
            scope.setdefault('project_domain_name', 'Default')
        auth = ks_identity.Password(
            auth_url=self.auth_url, username=username,
            password=ADMIN_PASSWORD if username == 'admin' else PASSWORD,
            user_domain_name='Default', **scope)
        return ks_session.Session(auth=auth)

    def token(self, username, **scope):
        return self.session(username, **scope).get_token()


def populate(keystone):
    """Two projects with data owners and users for every kind of token:
    admin (bootstrap), reader-a (reader on project-a), member-b (member on
    project-b), domain-reader (reader on the Default domain), system-reader
    (reader on the system), rating-user (rating role on project-a),
    no-role (no assignment: only an unscoped token)."""
    admin = keystone.admin
    roles = {role.name: role for role in admin.roles.list()}
    roles['rating'] = admin.roles.create('rating')
    for name in ('project-a', 'project-b'):
        keystone.projects[name] = admin.projects.create(name, 'default')
    for name in ('reader-a', 'member-b', 'domain-reader', 'system-reader',
                 'rating-user', 'no-role'):
        keystone.users[name] = admin.users.create(
            name, domain='default', password=PASSWORD)
    grants = [('reader-a', 'reader', {'project': 'project-a'}),
              ('member-b', 'member', {'project': 'project-b'}),
              ('rating-user', 'rating', {'project': 'project-a'}),
              ('domain-reader', 'reader', {'domain': 'default'}),
              ('system-reader', 'reader', {'system': 'all'})]
    for user, role, target in grants:
        if 'project' in target:
            target = {'project': keystone.projects[target['project']]}
        admin.roles.grant(roles[role], user=keystone.users[user], **target)
    return keystone


@contextlib.contextmanager
def running_keystone(origin='http://127.0.0.1'):
    """Yield a Keystone; `origin` is the one CORS origin it allows."""
    install()
    with tempfile.TemporaryDirectory(prefix='ratekeeper-keystone-') as d:
        port = live.free_port()
        url = 'http://127.0.0.1:%d' % port
        conf_file = os.path.join(d, 'keystone.conf')
        with open(conf_file, 'w') as conf:
            conf.write(_config(d, origin))
        _set_up(d, conf_file, url)
        # Keystone's CORS middleware reads its own ConfigOpts of project
        # keystone (default config files only): oslo.config's environment
        # source gives it the [cors] options.
        env = dict(os.environ, OS_KEYSTONE_CONFIG_FILES=conf_file,
                   OS_CORS__ALLOWED_ORIGIN=origin,
                   OS_CORS__EXPOSE_HEADERS='X-Subject-Token',
                   OS_CORS__ALLOW_HEADERS=CORS_ALLOW_HEADERS)
        log = open(os.path.join(d, 'keystone.log'), 'wb')
        process = subprocess.Popen([PYTHON, '-c', SERVE, str(port)], env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            live.wait_until_up(url + '/v3', process, 60, 'keystone')
            admin_session = Keystone(url, None).session(
                'admin', project_name='admin')
            yield Keystone(url, ks_client.Client(session=admin_session))
        finally:
            live.stop(process)
            log.close()
