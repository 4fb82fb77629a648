"""A process pushing to a ClickHouse storage, for the group commit tests:
``python -m tests.storage.clickhouse_pusher URL NAME STATE_PATH``. Each
line of its stdin, ``LABEL COUNT``, is one push of COUNT points of
project NAME, ids NAME-LABEL-<i>; it prints 'stored LABEL' or 'failed
LABEL <exception>'."""
import sys

from ratekeeper import dataframe
from ratekeeper import storage as rk_storage
from ratekeeper.storage import testing


def batch(name, label, count):
    return dataframe.parse_dataframes([testing.frame(testing.BEGIN, {
        'instance': [testing.point(1, 0.5, name, '%s-%s-%d' % (
            name, label, i)) for i in range(count)]})])


def main():
    url, name, state_path = sys.argv[1:4]
    storage = rk_storage.get_storage(testing.make_conf(
        state_path, storage={'backend': 'clickhouse'},
        storage_clickhouse={'url': url, 'group_commit': True}))
    print('ready', flush=True)
    for line in sys.stdin:
        label, count = line.split()
        try:
            storage.push(batch(name, label, int(count)))
            print('stored', label, flush=True)
        except Exception as exc:
            print('failed', label, type(exc).__name__, flush=True)
    storage.close()


if __name__ == '__main__':
    main()
