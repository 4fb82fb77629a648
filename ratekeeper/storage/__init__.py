"""Storage of rated data: ``v1`` (SQL) and ``v2`` (analytic backends).

Both versions implement ratekeeper.storage.v2.BaseStorage, so every API
reads them the same way; ``[storage] version`` picks the family and
``[storage] backend`` the backend within it.
"""
from stevedore import driver

NAMESPACES = {1: 'ratekeeper.storage.v1.backends',
              2: 'ratekeeper.storage.v2.backends'}
DEFAULT_BACKENDS = {1: 'sqlalchemy', 2: 'duckdb'}


def backend_name(conf):
    """The configured backend; the default one of the storage version when
    ``backend`` names a backend of the other version."""
    version = conf.storage.version
    name = conf.storage.backend
    other = DEFAULT_BACKENDS[3 - version]
    return DEFAULT_BACKENDS[version] if name == other else name


def backend_class(conf):
    """The configured backend's class (nothing opened)."""
    return driver.DriverManager(
        NAMESPACES[conf.storage.version], backend_name(conf)).driver


def check_workers(conf):
    """Refuse ``[api] workers`` > 1 on a storage one process owns: raise
    ValueError saying why and what to do."""
    if conf.api.workers > 1 and \
            not backend_class(conf).shared_by_processes:
        raise ValueError(
            '[api] workers = %d, but the %s storage can be opened by one '
            'process only: set workers = 1 (and more [api] threads), or '
            'use a storage several processes share ([storage] backend = '
            'clickhouse)' % (conf.api.workers, backend_name(conf)))


def get_storage(conf):
    """The configured backend, initialised."""
    manager = driver.DriverManager(
        NAMESPACES[conf.storage.version], backend_name(conf),
        invoke_on_load=True, invoke_args=(conf,))
    storage = manager.driver
    storage.init()
    return storage
