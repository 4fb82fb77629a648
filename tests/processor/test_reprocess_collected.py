"""Reprocessing with a collector: the window is collected again from a real
Prometheus and rated with today's rules, by the processor's one-period
function; the scope's other periods, and other scopes, keep their points."""
from ratekeeper.processor import reprocess
from tests.processor import helpers
from tests.processor.test_loop import SMALL_YML
from tests.processor import test_reprocess


def hourly(client, begin, scope):
    """{hour: (qty, rate)} of a scope's instances."""
    response = client.get('/v2/summary', query_string={
        'begin': begin.isoformat(),
        'end': (begin + helpers.hours(6)).isoformat(),
        'groupby': 'time', 'filters': 'project_id:' + scope,
        'response_format': 'object', 'limit': 100})
    assert response.status_code == 200, response.get_data()
    return {row['begin']: (row['qty'], row['rate'])
            for row in response.get_json()['results']}


def test_a_reprocessed_window_is_collected_again(prometheus_history,
                                                 tmp_path):
    url, begin = prometheus_history
    conf = helpers.processor_conf(
        tmp_path, url, begin, SMALL_YML,
        fetcher_source={'sources': ['p-one', 'p-two']},
        orchestrator={'reprocessing_step_periods': 2})
    with helpers.service(conf) as (storage, client):
        helpers.price_instances(client, '0.5')
        with helpers.processor(conf, storage,
                               begin + helpers.hours(6.2)) as processor:
            assert processor.run_pass() == 12
        # an hour of p-one lost, and the rule changed afterwards
        storage.delete(begin + helpers.hours(2), begin + helpers.hours(3),
                       {'project_id': ['p-one']})
        mapping = client.get('/v1/rating/module_config/hashmap/mappings'
                             '?service_id=%s' % _instance_service(client))
        test_reprocess.double_small_instances(
            client, mapping.get_json()['mappings'][0])

        test_reprocess.call(
            client, 'POST', '/v2/task/reprocesses',
            {'scope_ids': 'p-one',
             'start_reprocess_time': (begin + helpers.hours(1)).isoformat(),
             'end_reprocess_time': (begin + helpers.hours(3)).isoformat(),
             'reason': 'flavor price'}, 202)
        worker = reprocess.Reprocessor(conf, storage)
        try:
            assert isinstance(worker.source, reprocess.Collected)
            assert worker.run_once() == 1
        finally:
            worker.close()

        one, two = hourly(client, begin, 'p-one'), hourly(client, begin,
                                                          'p-two')
        for hour in range(6):
            key = (begin + helpers.hours(hour)).isoformat()
            # three instances an hour; m1.small now twice 0.5
            assert one[key][0] == 3, key
            assert one[key][1] == (2 if 1 <= hour <= 3 else 1.5), key
            assert two[key] == (3, 1.5), key


def _instance_service(client):
    services = client.get('/v1/rating/module_config/hashmap/services')
    [service] = services.get_json()['services']
    return service['service_id']
