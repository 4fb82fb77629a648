"""Configuration options.

Names follow CloudKitty's where an option exists there, so an operator's
cloudkitty.conf sections read the same here. Every option can also be set
through the environment as ``OS_<GROUP>__<OPTION>`` (oslo.config's
environment source), which is how ``make run`` starts with no config file.
"""
import os

from oslo_config import cfg

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
               help='Worker threads of each API server process.'),
    cfg.IntOpt('workers', default=1, min=1,
               help='API server processes (ratekeeper-api). More than one '
                    'needs a storage several processes share (ClickHouse, '
                    'or v1 SQL on a server database); the start refuses '
                    'them on the embedded DuckDB file.'),
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
               help='Storage backend name: duckdb (embedded, one process), '
                    'clickhouse or influxdb (CloudKitty\'s layout), both '
                    'shared by many processes and hosts, for version 2; '
                    'sqlalchemy for version 1.'),
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

storage_clickhouse_opts = [
    cfg.StrOpt('url', secret=True,
               default='clickhouse://127.0.0.1:9000/ratekeeper',
               help='ClickHouse server (native protocol) and database: '
                    'clickhouse://[USER[:PASSWORD]@]HOST:PORT/DATABASE. '
                    'The database and its tables are created when '
                    'missing.'),
    cfg.StrOpt('cluster',
               help='Name of a cluster of the server\'s remote_servers '
                    'configuration. When set, every shard gets a local '
                    'table and the server named by url a Distributed '
                    'table over them; writes and reads go through it.'),
    cfg.FloatOpt('connect_timeout', default=3, min=0.1,
                 help='Seconds to wait for a connection to ClickHouse; '
                      'beyond, the request gets a 503.'),
    cfg.FloatOpt('query_timeout', default=60, min=1,
                 help='Seconds a query or insert may wait for ClickHouse '
                      'to answer; beyond, the request gets a 503.'),
    cfg.BoolOpt('group_commit', default=False,
                help='Pushes made at the same moment by the API processes '
                     'of one host (and their threads) go to ClickHouse as '
                     'one insert, each answered once that insert returned. '
                     'ClickHouse makes a part per insert in every table a '
                     'push reaches: with 4 workers this cuts its server\'s '
                     'CPU per point by about 35%, for about 0.6 ms more '
                     'API CPU per 1000 points and up to 50 ms more per '
                     'push; one process of the host writes for all (over a '
                     'Linux abstract UNIX socket), another takes over when '
                     'it dies. Worth it when the ClickHouse server is what '
                     'runs out of CPU (many API hosts, one server). Not '
                     'used with a cluster: one shard failing would fail '
                     'the pushes stored on the others.'),
]

# CloudKitty's [storage_influxdb] options, so its section carries over
storage_influxdb_opts = [
    cfg.StrOpt('username', help='InfluxDB username.'),
    cfg.StrOpt('password', secret=True, help='InfluxDB password.'),
    cfg.StrOpt('database', default='cloudkitty',
               help='InfluxDB database (created when missing).'),
    cfg.StrOpt('retention_policy', default='autogen',
               help='Retention policy points are written with.'),
    cfg.StrOpt('host', default='localhost', help='InfluxDB host.'),
    cfg.PortOpt('port', default=8086, help='InfluxDB HTTP port.'),
    cfg.BoolOpt('use_ssl', default=False,
                help='Talk to InfluxDB over HTTPS.'),
    cfg.BoolOpt('insecure', default=False,
                help='Accept any certificate over HTTPS.'),
    cfg.StrOpt('cafile',
               help='CA certificate to trust over HTTPS.'),
    cfg.FloatOpt('timeout', default=30, min=0.1,
                 help='Seconds a request to InfluxDB may take; beyond, the '
                      'API request gets a 503 (not in CloudKitty).'),
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
                    'format): what the processor collects, and what '
                    '/v1/info serves. Default: the copy shipped in the '
                    'package, ratekeeper/etc/metrics.yml.'),
    cfg.StrOpt('collector',
               help='The collector the processor collects usage with '
                    '(an entry point of ratekeeper.collector.backends, '
                    'e.g. prometheus). Unset: nothing is collected.'),
    cfg.IntOpt('wait_periods', default=2, min=0,
               help='Periods to wait after a period has ended before it is '
                    'collected, so late samples are in. Unlike CloudKitty, '
                    'a period is never collected before it ends, even with '
                    '0 or for a new scope.'),
    cfg.StrOpt('first_period',
               help='Begin (ISO 8601, UTC when no offset) of the first '
                    'period collected for a scope the processor has never '
                    'seen. Default: the first day of the current month '
                    '00:00 in the processor\'s local time, as CloudKitty.'),
]

fetcher_opts = [
    cfg.StrOpt('backend', default='keystone',
               help='How the processor finds the scopes to collect: an '
                    'entry point of ratekeeper.fetchers (source, '
                    'prometheus, keystone).'),
]

fetcher_source_opts = [
    cfg.ListOpt('sources', default=[],
                help='The scopes (project ids) to collect.'),
]


def _prometheus_opts(section):
    return [
        cfg.StrOpt('prometheus_url', default='',
                   help='Prometheus HTTP API, ending in /api/v1 (e.g. '
                        'http://localhost:9090/api/v1)%s.' % section),
        cfg.StrOpt('prometheus_user',
                   help='Basic auth user (with prometheus_password).'),
        cfg.StrOpt('prometheus_password', secret=True,
                   help='Basic auth password.'),
        cfg.StrOpt('cafile',
                   help='CA bundle to check Prometheus\'s certificate.'),
        cfg.BoolOpt('insecure', default=False,
                    help='Do not check Prometheus\'s certificate.'),
        cfg.FloatOpt('timeout', default=60, min=0,
                     help='Seconds to wait for an answer of Prometheus.'),
    ]


collector_prometheus_opts = _prometheus_opts('')

fetcher_prometheus_opts = [
    cfg.StrOpt('metric',
               help='The metric whose scope label values are the scopes.'),
    cfg.StrOpt('scope_attribute', default='project_id',
               help='The label holding the scope id.'),
    cfg.DictOpt('filters', default={},
                help='Label matchers (label:value,...) narrowing the '
                     'series looked at.'),
    cfg.IntOpt('lookback', default=0, min=0,
               help='Also list the scopes whose series had a sample in '
                    'this many seconds before now. 0: only the series '
                    'Prometheus sees now (its 5-minute staleness window), '
                    'as CloudKitty.'),
] + _prometheus_opts(' (the scopes are read from it)')

fetcher_keystone_opts = [
    cfg.StrOpt('keystone_version', default='3', choices=['3'],
               help='Identity API version.'),
    cfg.BoolOpt('ignore_rating_role', default=False,
                help='Collect every project, not only those where the '
                     'service user has the "rating" role.'),
    cfg.BoolOpt('ignore_disabled_tenants', default=False,
                help='Leave disabled projects out.'),
]

orchestrator_opts = [
    cfg.StrOpt('coordination_url', default='file://$state_path/locks',
               help='tooz coordination URL: processors (threads, '
                    'processes, hosts) sharing it never process one scope '
                    'at once (e.g. redis://127.0.0.1:6379, '
                    'postgresql://..., file://<dir> for one host). Empty: '
                    'no coordination, for one processor process alone '
                    '(its threads still exclude each other; tooz is not '
                    'loaded).'),
    # CloudKitty's default too; each worker in flight holds a scope's
    # collected periods and a chunk of rated points (1 to 2 MB of a
    # processor's peak RSS each, see bench/README.md, processor)
    cfg.IntOpt('max_workers', default=os.cpu_count() or 1, min=0,
               sample_default='<number of CPUs>',
               help='Scopes processed at once by one processor process '
                    '(threads). 0: the process collects nothing.'),
    cfg.IntOpt('max_threads', default=16, min=1,
               help='Metrics collected at once for one period, per '
                    'processor process.'),
    cfg.StrOpt('skip_datapoints_expression', default='False',
               help='Expression evaluated (by a safe evaluator, not eval) '
                    'on every rated point, given as "datapoint" = {"vol": '
                    '{"unit", "qty"}, "rating": {"price"}, "groupby", '
                    '"metadata"}; a true result drops the point. A '
                    'metric\'s own skip_datapoints_expression overrides '
                    'it.'),
    cfg.IntOpt('max_periods_per_push', default=24, min=1,
               help='Due periods of a scope collected at once and stored '
                    'in one push (one storage write and one state commit '
                    'for all of them).'),
    cfg.IntOpt('max_points_per_push', default=500, min=1,
               help='Points a processor rates and stores at once for one '
                    'scope: the due periods collected together are pushed '
                    'in runs of about this many points (whole periods), '
                    'under one state mark, so memory does not grow with '
                    'max_periods_per_push or the number of resources.'),
    cfg.FloatOpt('poll_interval', default=60, min=0.05,
                 help='Longest wait between two passes over the scopes '
                      '(new scopes and re-enabled collection are seen '
                      'within it); a pass starts earlier when a period '
                      'becomes due.'),
]

pyscripts_opts = [
    cfg.FloatOpt('timeout', default=5.0, min=0.1,
                 help='Seconds of CPU a pyscripts worker may spend on one '
                      'request (every script on every frame of up to about '
                      '10000 points of a push); past it the scripts are '
                      'stopped and the push or quote is refused (400). The '
                      'worker is killed one second later if it does not '
                      'stop.'),
    cfg.IntOpt('memory_limit', default=256, min=16,
               help='MiB of address space a pyscripts worker may add to '
                    'what the interpreter takes at start; past it a script '
                    'fails with a 400 naming it.'),
    cfg.IntOpt('max_script_size', default=65536, min=1,
               help='Largest script text accepted, in bytes (UTF-8).'),
    cfg.IntOpt('workers', default=2, min=1,
               help='Confined worker processes running pyscripts, per '
                    'service process (each prices one batch at a time).'),
]

reprocessing_opts = [
    cfg.IntOpt('max_workers_reprocessing', default=1, min=0,
               help='Reprocessing workers (threads) of a processor, and of '
                    'the API process when it serves v2: they act on scope '
                    'resets (PUT /v2/scope) and reprocessing tasks (POST '
                    '/v2/task/reprocesses). 0: none in this process.'),
    cfg.FloatOpt('reprocessing_poll_interval', default=2.0, min=0.05,
                 help='Seconds between two looks for new resets and '
                      'reprocessing tasks (a request to the API of the same '
                      'process is acted on at once).'),
    cfg.IntOpt('reprocessing_step_periods', default=24, min=1,
               help='Periods a reprocessing worker re-rates, deletes and '
                    'stores at once (one step, recorded as progress).'),
]

OPTS = [
    (None, default_opts),
    ('api', api_opts),
    ('api_versions', api_versions_opts),
    ('storage', storage_opts),
    ('storage_duckdb', storage_duckdb_opts),
    ('storage_clickhouse', storage_clickhouse_opts),
    ('storage_influxdb', storage_influxdb_opts),
    ('database', database_opts),
    ('collect', collect_opts),
    ('fetcher', fetcher_opts),
    ('fetcher_source', fetcher_source_opts),
    ('fetcher_prometheus', fetcher_prometheus_opts),
    ('fetcher_keystone', fetcher_keystone_opts),
    ('collector_prometheus', collector_prometheus_opts),
    ('orchestrator', orchestrator_opts + reprocessing_opts),
    ('pyscripts', pyscripts_opts),
]


def _middleware_opts():
    """oslo.middleware's options the API's middleware read (see
    api/app.py): [oslo_middleware] for HTTPProxyToWSGI, [cors] for CORS.
    Imported when asked: oslo.middleware loads webob and jinja2 (8 MB of
    resident memory), which a processor never uses."""
    from oslo_middleware import cors
    from oslo_middleware import http_proxy_to_wsgi
    return [('oslo_middleware', http_proxy_to_wsgi.OPTS),
            ('cors', cors.OPTS)]


def register_opts(conf, api=True):
    """Register every option on ``conf``; the API middleware's too unless
    ``api`` is false (the processor's)."""
    for group, opts in OPTS:
        conf.register_opts(opts, group=group)
    if api:
        register_api_opts(conf)


def register_api_opts(conf):
    """The API middleware's options (registering them again is a no-op)."""
    for group, opts in _middleware_opts():
        conf.register_opts(opts, group=group)


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
    middleware = _middleware_opts()[:1]   # [cors] has its own namespace
    return [(group, list(opts)) for group, opts in OPTS + middleware]


def load(args=None, conf=CONF, config_files=None):
    """Parse the command line and config files into ``conf``."""
    conf(args if args is not None else [], project='ratekeeper',
         default_config_files=config_files or [])
    return conf


# the API registers its middleware's options when it is built
register_opts(CONF, api=False)
