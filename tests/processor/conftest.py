"""One real Prometheus for the processor tests, holding six hours of known
history for three scopes (one with a quote and a backslash in its id), and
the metrics.yml exercising every feature on it, with the exact totals it
must give."""
import datetime
import decimal

import pytest

from tests import prometheus_server

UTC = datetime.timezone.utc
HOURS = 6
SCOPES = ('p-one', 'p-two', 'we"ird\\scope')
# scopes holding only instance_up and volume_bytes, for the multi-process
# and crash tests
MORE_SCOPES = tuple('p-%d' % n for n in range(3, 12))
# samples every 10 minutes, one minute after the hour: never on a period
# boundary, so Prometheus's range selectors (closed at both ends up to
# 2.x, open at the start since 3.0) give the same windows
OFFSETS = range(60, 3600, 600)

METRICS_YML = r'''
metrics:
  instance_up:
    unit: instance
    alt_name: instance
    groupby: [id]
    metadata: [flavor_name]
    mutate: NUMBOOL
  volume_bytes:
    unit: GiB
    alt_name: volume
    factor: 1/1073741824
    groupby: [id]
    metadata: [volume_type]
    extra_args: {aggregation_method: avg}
  image_bytes:
    - unit: MiB
      alt_name: image_mb
      factor: 1/1048576
      groupby: [id]
    - unit: image
      alt_name: image_count
      mutate: NUMBOOL
      groupby: [id]
  cpu_seconds_total:
    unit: change
    alt_name: cpu_changes
    groupby: [id]
    extra_args:
      aggregation_method: sum
      range_function: changes
      query_suffix: '* 2'
  ip_count:
    unit: ip
    alt_name: ip
    offset: 0.3
    mutate: FLOOR
    groupby: [id]
    extra_args: {aggregation_method: min}
  lb_count:
    unit: lb
    alt_name: lb
    mutate: CEIL
    groupby: [id]
    extra_args: {query_prefix: '1 *', query_function: abs,
                 aggregation_method: min}
  snapshot_state:
    unit: snapshot
    alt_name: snapshot
    mutate: MAP
    mutate_map: {2: 5.5, 3: 7}
    groupby: [id]
  gpu_util:
    unit: gpu
    groupby: [id]
  big_counter:
    unit: unit
    groupby: [id]
  broken_metric:
    unit: unit
    groupby: [id]
    extra_args: {query_suffix: '+ +'}
'''


# per scope and period: {type: (qty, number of points)} (scope index k)
def expected_per_period(k):
    return {
        'instance': (decimal.Decimal(3), 3),
        'volume': (decimal.Decimal(k + 1), 1),
        'image_mb': (decimal.Decimal(3), 1),
        'image_count': (decimal.Decimal(1), 1),
        'cpu_changes': (decimal.Decimal(10), 1),
        'ip': (decimal.Decimal(3), 1),
        'lb': (decimal.Decimal(3), 1),
        'snapshot': (decimal.Decimal('5.5'), 1),
        'gpu_util': (decimal.Decimal('0.5'), 1),
        'big_counter': (decimal.Decimal('1234567890.123456'), 1),
    }


def _series(begin, value_of):
    return [(int((begin + datetime.timedelta(hours=h)).timestamp()) + off,
             value_of(h, i)) for h in range(HOURS)
            for i, off in enumerate(OFFSETS)]


def history(begin):
    families = {}

    def add(metric, labels, value_of):
        families.setdefault(metric, []).append(
            (labels, _series(begin, value_of)))

    for k, scope in enumerate(SCOPES):
        add('instance_up', {'project_id': scope, 'id': 'vm-a',
                            'flavor_name': 'm1.small'}, lambda h, i: 1)
        add('instance_up', {'project_id': scope, 'id': 'vm-b',
                            'flavor_name': 'm1.large'}, lambda h, i: 2)
        add('instance_up', {'project_id': scope, 'id': 'vm-c'},
            lambda h, i: 1)
        add('volume_bytes', {'project_id': scope, 'id': 'vol-1',
                             'volume_type': 'ssd'},
            lambda h, i, k=k: (k + 1) * 1073741824 + (i - 2.5) * 1024)
        add('image_bytes', {'project_id': scope, 'id': 'img-1'},
            lambda h, i: 3 * 1048576)
        add('cpu_seconds_total', {'project_id': scope, 'id': 'vm-a'},
            lambda h, i: (h * 6 + i) * 60)
        add('ip_count', {'project_id': scope, 'id': 'ip-1'},
            lambda h, i: 2.7 if i else 4)
        add('lb_count', {'project_id': scope, 'id': 'lb-1'},
            lambda h, i: -2.5 if i == 3 else 2.2)
        add('snapshot_state', {'project_id': scope, 'id': 'snap-1'},
            lambda h, i: 2)
        add('gpu_util', {'project_id': scope, 'id': 'gpu-1'},
            lambda h, i: 0.5)
        add('gpu_util', {'project_id': scope, 'id': 'gpu-nan'},
            lambda h, i: 'NaN')
        add('big_counter', {'project_id': scope, 'id': 'big-1'},
            lambda h, i: '1234567890.123456')
        add('broken_metric', {'project_id': scope, 'id': 'b-1'},
            lambda h, i: 1)
    for k, scope in enumerate(MORE_SCOPES):
        add('instance_up', {'project_id': scope, 'id': 'vm-a'},
            lambda h, i: 1)
        add('volume_bytes', {'project_id': scope, 'id': 'vol-1'},
            lambda h, i, k=k: (k + 1) * 1073741824 + (i - 2.5) * 1024)
    # another project's series, never collected for these scopes
    add('instance_up', {'project_id': 'someone-else', 'id': 'vm-x'},
        lambda h, i: 1)
    return families


@pytest.fixture(scope='session')
def prometheus_history():
    """(API URL, begin of the first hour of history)."""
    now = datetime.datetime.now(UTC)
    begin = now.replace(minute=0, second=0, microsecond=0) - \
        datetime.timedelta(hours=HOURS + 1)
    with prometheus_server.running_prometheus(history(begin)) as url:
        yield url, begin
