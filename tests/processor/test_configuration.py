"""A bad metrics.yml or option stops the processor at start, with a
message naming the metric and the key."""
import os
import subprocess
import sys

import pytest

from ratekeeper.collector import definitions
from ratekeeper.collector import prometheus as prometheus_collector

BIN = os.path.dirname(sys.executable)


def _parse(metrics):
    return definitions.parse({'metrics': metrics}, 'project_id',
                             prometheus_collector.EXTRA_ARGS)


@pytest.mark.parametrize('metrics, message', [
    ({'cpu': {'groupby': ['id']}}, 'metric cpu: key unit'),
    ({'cpu': {'unit': 'i', 'mutate': 'SQRT'}}, 'metric cpu: key mutate'),
    ({'cpu': {'unit': 'i', 'mutate': 'MAP'}}, 'metric cpu: key mutate_map'),
    ({'cpu': {'unit': 'i', 'factor': 'a/b'}}, 'metric cpu: key factor'),
    ({'cpu': {'unit': 'i', 'extra_args': {'aggregation_method': 'mean'}}},
     'metric cpu: key extra_args.aggregation_method'),
    ({'cpu': {'unit': 'i', 'extra_args': {'range_function': 'irange'}}},
     'metric cpu: key extra_args.range_function'),
    ({'cpu': {'unit': 'i', 'colour': 'red'}}, 'metric cpu: key colour'),
    ({'cpu': {'unit': 'i', 'groupby': ['a'], 'metadata': ['a']}},
     'metric cpu: key metadata'),
    ({'cpu': []}, 'metric cpu: not a dict'),
    ({'cpu': [{'unit': 'i'}, {'unit': 'j'}]},
     'metric cpu: key alt_name: metric cpu already exists'),
    ({'cpu': {'unit': 'i', 'alt_name': 'x'},
      'ram': {'unit': 'i', 'alt_name': 'x'}},
     'metric ram: key alt_name: x is already the rating type of metric cpu'),
])
def test_bad_definitions_are_named(metrics, message):
    with pytest.raises(definitions.InvalidConfiguration) as caught:
        _parse(metrics)
    assert message in str(caught.value)


def test_list_form_keys_and_scope_key_in_groupby():
    first, second = _parse({'cpu': [
        {'unit': 'i', 'alt_name': 'instance', 'groupby': ['id']},
        {'unit': 'c', 'alt_name': 'vcpus', 'metadata': ['project_id']}]})
    assert (first.key, first.name, first.alt_name) == (
        'cpu@#instance', 'cpu', 'instance')
    assert first.groupby == ('id', 'project_id')
    assert second.groupby == ('project_id',) and second.metadata == ()
    assert second.extra_args['aggregation_method'] == 'max'


def _run(tmp_path, metrics_yml, fetcher='source'):
    (tmp_path / 'metrics.yml').write_text(metrics_yml)
    config = tmp_path / 'ratekeeper.conf'
    lines = ['[DEFAULT]', 'state_path = %s' % tmp_path,
             '[collect]', 'collector = prometheus',
             'metrics_conf = %s' % (tmp_path / 'metrics.yml'),
             '[fetcher]', 'backend = %s' % fetcher,
             '[collector_prometheus]',
             'prometheus_url = http://127.0.0.1:9/api/v1']
    config.write_text('\n'.join(lines) + '\n')
    subprocess.run([os.path.join(BIN, 'ratekeeper-dbsync'), '--config-file',
                    str(config), 'upgrade'], check=True, capture_output=True)
    return subprocess.run([os.path.join(BIN, 'ratekeeper-processor'),
                           '--config-file', str(config)],
                          capture_output=True, text=True, timeout=60)


def test_the_command_stops_with_the_metric_and_key(tmp_path):
    result = _run(tmp_path, 'metrics:\n  cpu:\n    unit: i\n'
                  '    mutate: MAP\n')
    assert result.returncode == 1
    assert 'metric cpu: key mutate_map' in result.stderr


def test_the_command_refuses_a_bad_prometheus_name(tmp_path):
    result = _run(tmp_path, 'metrics:\n  cpu:\n    unit: i\n'
                  '    groupby: ["bad-label"]\n')
    assert result.returncode == 1
    assert "'bad-label' is not a Prometheus label name" in result.stderr


def test_the_command_refuses_an_unknown_fetcher(tmp_path):
    result = _run(tmp_path, 'metrics:\n  cpu:\n    unit: i\n', 'nope')
    assert result.returncode == 1
    assert '[fetcher] backend = nope: no such fetcher' in result.stderr
