"""Configuration options.

Names follow CloudKitty's where an option exists there, so an operator's
cloudkitty.conf sections read the same here. Every option can also be set
through the environment as ``OS_<GROUP>__<OPTION>`` (oslo.config's
environment source), which is how ``make run`` starts with no config file.
"""
from oslo_config import cfg
from oslo_middleware import cors
from oslo_middleware import http_proxy_to_wsgi

CONF = cfg.CONF

default_opts = [
    cfg.StrOpt('auth_strategy', default='keystone',
               choices=[('keystone',
                         'validate tokens with keystonemiddleware'),
                        ('noauth', 'no authentication; X-Project-Id and '
                                   'X-Roles build the request context')],
               help='The authentication strategy of the API.'),
    cfg.StrOpt('state_path', default='./data',
               help='Directory holding the embedded databases.'),
]

api_opts = [
    cfg.HostAddressOpt('host', default='127.0.0.1',
                       help='Address the API server listens on.'),
    cfg.PortOpt('port', default=8889, help='Port the API server listens on.'),
    cfg.IntOpt('threads', default=8, min=1,
               help='Worker threads of the API server process.'),
    cfg.IntOpt('max_limit', default=10000, min=1,
               help='Largest page size a client may ask for with "limit".'),
    cfg.IntOpt('max_request_body_size', default=64 * 1024 * 1024, min=1024,
               help='Largest request body accepted, in bytes; a larger one '
                    'gets 413.'),
    cfg.IntOpt('max_concurrent_requests', default=0, min=0,
               help='Requests served at once beyond which a new one gets '
                    'an immediate 503 with Retry-After instead of waiting; '
                    '0 leaves the bound to the server\'s threads.'),
    cfg.BoolOpt('log_requests', default=True,
                help='Log one line per request served by ratekeeper-api '
                     '(client "request line" status: len: time: '
                     'request_id:), as OpenStack services do.'),
    cfg.StrOpt('response_validation', default='warn',
               choices=[('error', 'an invalid response becomes a 500'),
                        ('warn', 'an invalid response is logged'),
                        ('ignore', 'responses are not validated')],
               help='What to do when a response does not match its schema. '
                    'Validation runs after the request had its effects, so '
                    '"error" is for tests, not production.'),
]

VERSION_STATUSES = ('CURRENT', 'SUPPORTED', 'EXPERIMENTAL', 'DEPRECATED')

api_versions_opts = [
    cfg.StrOpt('v1_status', default='CURRENT', choices=VERSION_STATUSES,
               help='Status of API v1 in the version documents. The '
                    'CURRENT version serves unversioned paths.'),
    cfg.StrOpt('v2_status', default='EXPERIMENTAL', choices=VERSION_STATUSES,
               help='Status of API v2 in the version documents. A '
                    'DEPRECATED version adds Deprecation and '
                    'successor-version Link headers to its responses.'),
    cfg.StrOpt('v1_sunset',
               help='HTTP date sent as the Sunset header of every v1 '
                    'response while v1 is DEPRECATED.'),
    cfg.StrOpt('v2_sunset',
               help='HTTP date sent as the Sunset header of every v2 '
                    'response while v2 is DEPRECATED.'),
]

storage_opts = [
    cfg.IntOpt('version', default=2, min=1, max=2,
               help='Storage version: 1 (SQL, v1 API only) or 2 (analytic '
                    'backends, v1 and v2 APIs).'),
    cfg.StrOpt('backend', default='duckdb',
               help='Storage backend name: duckdb, influxdb or clickhouse '
                    'for version 2; sqlalchemy for version 1.'),
]

storage_duckdb_opts = [
    cfg.StrOpt('path', default='$state_path/ratekeeper.duckdb',
               help='DuckDB database file. Only one process may open it.'),
    cfg.IntOpt('threads', default=2, min=1,
               help='Threads DuckDB may use for one query.'),
    cfg.StrOpt('memory_limit', default='512MB',
               help='Most memory DuckDB keeps for its buffers (a DuckDB size '
                    'such as 256MB or 2GB). Stored data lives in the file; '
                    'a larger limit keeps more of it cached in the process.'),
    cfg.IntOpt('write_batch_points', default=20000, min=0,
               help='Points pushed are logged to <path>.staged and kept in '
                    'memory until this many are waiting, then written to '
                    'DuckDB in one insert, by the push that filled the '
                    'batch while other pushes go on (also before any read '
                    'or delete, and at stop; the log is written back at '
                    'start). DuckDB spends ~2 ms per insert whatever its '
                    'size, so small pushes cost much less together. 0 '
                    'writes each push at once.'),
]

database_opts = [
    cfg.StrOpt('connection', secret=True,
               default='sqlite:///$state_path/ratekeeper.sqlite',
               help='SQLAlchemy URL of the SQL database (v1 storage, rating '
                    'rules, module states).'),
]

collect_opts = [
    cfg.IntOpt('period', default=3600, min=1,
               help='Collect period in seconds; groupby=time buckets by it.'),
    cfg.StrOpt('scope_key', default='project_id',
               help='The groupby key that names the project a point belongs '
                    'to; non-admin readers are restricted on it.'),
    cfg.StrOpt('metrics_conf',
               help='The metrics configuration (CloudKitty metrics.yml '
                    'format) served by /v1/info. Default: the copy shipped '
                    'in the package, ratekeeper/etc/metrics.yml.'),
]

OPTS = [
    (None, default_opts),
    ('api', api_opts),
    ('api_versions', api_versions_opts),
    ('storage', storage_opts),
    ('storage_duckdb', storage_duckdb_opts),
    ('database', database_opts),
    ('collect', collect_opts),
    # read by oslo.middleware's HTTPProxyToWSGI (see api/app.py)
    ('oslo_middleware', http_proxy_to_wsgi.OPTS),
]


def register_opts(conf):
    for group, opts in OPTS:
        conf.register_opts(opts, group=group)
    # [cors], read by oslo.middleware's CORS middleware (see api/app.py)
    conf.register_opts(cors.OPTS, group='cors')


def register_keystone_opts(conf):
    """keystonemiddleware's [keystone_authtoken] options.

    Registered when keystone mode starts (the middleware would register
    them itself), or earlier by whoever wants to set one first. Not at
    import: keystonemiddleware and its client libraries cost 18 MB of
    resident memory and 0.25 s of start-up, which noauth never uses.
    """
    from keystonemiddleware import auth_token
    for group, opts in auth_token.list_opts():
        conf.register_opts(opts, group=group)


def list_opts():
    """Options for oslo-config-generator."""
    return [(group, list(opts)) for group, opts in OPTS]


def load(args=None, conf=CONF, config_files=None):
    """Parse the command line and config files into ``conf``."""
    conf(args if args is not None else [], project='ratekeeper',
         default_config_files=config_files or [])
    return conf


register_opts(CONF)
