"""The pyscripts module where it prices: rated ingest and quotes, in
priority order with hashmap, and scripts that try to get out of their
worker (files, imports, sockets, processes, the service's memory, time and
memory limits): each is refused with a 400 naming the script, nothing is
stored, and the service goes on serving."""
import datetime
import decimal
import time

import orjson
import pytest
from werkzeug import test as werkzeug_test

from ratekeeper import rating
from ratekeeper.rating.pyscripts import scripts
from tests.functional import fixtures
from tests.rating import test_ingest_rating
from tests.rating.test_ingest_rating import JSON
from tests.rating.test_ingest_rating import frames_of
from tests.rating.test_ingest_rating import post_frames
from tests.rating.test_ingest_rating import total_rate
from tests.rating.test_ingest_rating import usagegen

LATER = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)

HASHMAP_TOTAL_200 = 8.335144    # the 200 points below, priced by hashmap

FLAVOR_SURCHARGE = """
import decimal

SURCHARGE = {'m1.large': decimal.Decimal('0.5')}

for point in data['usage'].get('instance', []):
    flavor = point['metadata'].get('flavor_name')
    if flavor in SURCHARGE:
        point['rating']['price'] += SURCHARGE[flavor] * point['vol']['qty']
"""

PROJECT_DISCOUNT = """
from decimal import Decimal

DISCOUNTS = {'%s': Decimal('0.5')}

for points in data['usage'].values():
    for point in points:
        rebate = DISCOUNTS.get(point['groupby'].get('project_id'))
        if rebate is not None:
            point['rating']['price'] = point['rating']['price'] * rebate
"""

MINIMUM_CHARGE = """
import decimal
MINIMUM = decimal.Decimal('0.25')
for service, points in data['usage'].items():
    for point in points:
        if point['rating']['price'] < MINIMUM:
            point['rating']['price'] = MINIMUM
"""

# What a script needs to reach the os module from plain builtins: the
# Python-level restrictions are no barrier, the kernel must be.
ESCAPE = """
g = [c for c in ().__class__.__base__.__subclasses__()
     if c.__name__ == '_wrap_close'][0].__init__.__globals__
os = g['sys'].modules['os']
sys = g['sys']
"""


def outcome_script(attempt):
    """A script setting every price to 1 when ``attempt`` succeeded, 2 when
    the kernel refused it (PermissionError)."""
    body = '\n'.join('    ' + line for line in attempt.strip().splitlines())
    return ESCAPE + """
try:
%s
    outcome = 1
except PermissionError:
    outcome = 2
for points in data['usage'].values():
    for point in points:
        point['rating']['price'] = outcome
""" % body


def enable(client, priority=1, module='pyscripts'):
    response = client.put('/v1/rating/modules/' + module, headers=JSON,
                          data=orjson.dumps({'module_id': module,
                                             'enabled': True,
                                             'priority': priority}))
    assert response.status_code == 302, response.get_data()


def add_script(service, data, name='script', start='2020-01-01T00:00:00'):
    return scripts.create_script(service['conf'], {
        'name': name, 'data': data,
        'start': scripts.validity.datetime.datetime.fromisoformat(start)},
        force=True)


def quote(client, volume=1, flavor='unpriced'):
    return client.post('/v1/rating/quote', headers=JSON, data=orjson.dumps(
        {'resources': [{'service': 'instance', 'volume': volume,
                        'desc': {'metadata': {'flavor_name': flavor}}}]}))


def summary_results(client):
    return client.get('/v2/summary?begin=2026-11-01T00:00:00&end='
                      '2027-01-01T00:00:00').get_json()['results']


def large_instance_volume(frames):
    return sum(point['vol']['qty'] for frame in frames
               for point in frame['usage'].get('instance', [])
               if point['metadata'].get('flavor_name') == 'm1.large')


@pytest.fixture(scope='module')
def world():
    """One service with the benchmark's hashmap rules for the module."""
    fixture = fixtures.ConfigFixture()
    fixture.start_fixture()
    state = dict(fixtures.STATE)
    client = werkzeug_test.Client(state['app'])
    api = test_ingest_rating.rules_setup.Api.__new__(
        test_ingest_rating.rules_setup.Api)
    api.conn, api.prefix, api.headers = test_ingest_rating._Connection(
        client), '', JSON
    test_ingest_rating.rules_setup.setup(api)
    registry = rating.get_registry(state['conf'])
    states = {name: registry.state(name) for name in registry.modules}
    yield state, client, states
    fixture.stop_fixture()


@pytest.fixture
def service(world):
    """The service as the module fixture left it: no script, no data,
    module states and limits as after set-up."""
    state, _client, states = world
    conf = state['conf']
    for row in scripts.list_scripts(conf):
        scripts.delete_script(conf, row.script_id)
    registry = rating.get_registry(conf)
    for name, (enabled, priority) in states.items():
        registry.update(name, enabled=enabled, priority=priority)
    state['storage'].delete()
    conf.clear_override('timeout', 'pyscripts')
    return state


@pytest.fixture
def client(world, service):
    return world[1]


# -- pricing ------------------------------------------------------------------

def test_module_is_listed_by_both_apis(client):
    v1 = client.get('/v1/rating/modules').get_json()['modules']
    assert {'module_id': 'pyscripts', 'description':
            'PyScripts rating module.', 'enabled': False, 'hot-config': True,
            'priority': 1} in v1
    v2 = client.get('/v2/rating/modules').get_json()['modules']
    assert any(m['module_id'] == 'pyscripts' and m['hot_config']
               for m in v2)


def test_flavor_surcharge_adds_to_hashmap_prices(client, service):
    enable(client, module='hashmap', priority=2)
    enable(client, priority=1)
    add_script(service, FLAVOR_SURCHARGE)
    frames = frames_of(200)
    assert large_instance_volume(frames) > 0
    assert post_frames(client, frames, '?rate=true').status_code == 204
    assert total_rate(client) == pytest.approx(
        HASHMAP_TOTAL_200 + 0.5 * large_instance_volume(frames), abs=1e-9)


def test_a_script_sees_the_prices_of_the_modules_before_it(client, service):
    enable(client, module='hashmap', priority=2)
    enable(client, priority=1)
    add_script(service, MINIMUM_CHARGE)
    assert post_frames(client, frames_of(200), '?rate=true').status_code \
        == 204
    prices = [row[-1] for row in summary_results(client)]
    assert total_rate(client) > HASHMAP_TOTAL_200
    assert min(prices) >= 0.25


def test_a_script_of_higher_priority_runs_first(client, service):
    enable(client, module='hashmap', priority=1)
    enable(client, priority=2)   # before hashmap: every price is 0 to it
    add_script(service, MINIMUM_CHARGE)
    assert post_frames(client, frames_of(200), '?rate=true').status_code \
        == 204
    assert total_rate(client) == pytest.approx(HASHMAP_TOTAL_200 + 200 * 0.25,
                                               abs=1e-9)


def test_per_project_discount_keeps_other_projects(client, service):
    enable(client, module='hashmap', priority=2)
    frames = frames_of(200)
    project = frames[0]['usage']['instance'][0]['groupby']['project_id']
    assert post_frames(client, frames, '?rate=true').status_code == 204
    undiscounted = _rates_by_project(client, '2026-11-01T00:00:00')
    enable(client, priority=1)
    add_script(service, PROJECT_DISCOUNT % project)
    later = [frame for frame, _ in usagegen.Generator(unrated=True).frames(
        200, LATER)]
    assert post_frames(client, later, '?rate=true').status_code == 204
    discounted = _rates_by_project(client, LATER.isoformat())
    assert set(discounted) == set(undiscounted)
    for name, rate in undiscounted.items():
        expected = rate / 2 if name == project else rate
        assert discounted[name] == pytest.approx(expected, abs=1e-9)


def _rates_by_project(client, begin):
    response = client.get(
        '/v2/summary?groupby=project_id&response_format=object&begin=%s'
        '&end=%s' % (begin[:19], (_dt(begin) + datetime.timedelta(days=5))
                     .isoformat()[:19]))
    assert response.status_code == 200, response.get_data()
    return {row['project_id']: row['rate']
            for row in response.get_json()['results']}


def _dt(text):
    return datetime.datetime.fromisoformat(text[:19])


def test_quote_runs_scripts_in_exact_decimals(client, service):
    enable(client, module='hashmap', priority=2)
    enable(client, priority=1)
    add_script(service, FLAVOR_SURCHARGE)
    response = quote(client, volume=2, flavor='m1.large')
    assert response.status_code == 200, response.get_data()
    # hashmap's 0.08 x 2 plus the script's 0.5 x 2, CloudKitty's digits
    assert decimal.Decimal(response.get_json()) == decimal.Decimal('1.16')
    assert response.get_json() == '1.160000000000000000000000000'


def test_scripts_outside_their_validity_do_not_run(client, service):
    enable(client, priority=1)
    add_script(service, MINIMUM_CHARGE, start='2099-01-01T00:00:00')
    assert quote(client).get_json() == '0'


def test_deleted_script_stops_pricing(client, service):
    enable(client, priority=1)
    row = add_script(service, MINIMUM_CHARGE)
    assert quote(client).get_json() == '0.25'
    scripts.delete_script(service['conf'], row.script_id)
    assert quote(client).get_json() == '0'


# -- failures -----------------------------------------------------------------

def refused(client, service, data, name='escape'):
    """Push 50 points through ``data``: the 400's message; nothing stored."""
    enable(client, priority=1)
    add_script(service, data, name=name)
    response = post_frames(client, frames_of(50), '?rate=true')
    assert response.status_code == 400, response.get_data()
    body = response.get_json()
    assert body['code'] == 'ratekeeper.pyscripts.script_failed'
    assert name in body['message']
    assert summary_results(client) == []
    return body['message']


def still_serving(client, service):
    """After a failure the service prices and stores again."""
    for row in scripts.list_scripts(service['conf']):
        scripts.delete_script(service['conf'], row.script_id)
    add_script(service, MINIMUM_CHARGE, name='healthy')
    assert post_frames(client, frames_of(50), '?rate=true').status_code \
        == 204
    assert total_rate(client) == pytest.approx(50 * 0.25)


def test_script_error_names_script_and_line(client, service):
    message = refused(client, service, 'x = 1\n1 / 0\n', name='divider')
    assert 'ZeroDivisionError' in message and 'line 2' in message
    still_serving(client, service)


def test_script_that_breaks_the_dataframe_is_refused(client, service):
    message = refused(client, service, 'data = 0\n')
    assert 'no longer a dataframe' in message


def test_script_that_removes_points_is_refused(client, service):
    message = refused(client, service,
                      "for pts in data['usage'].values():\n    pts.pop()\n")
    assert 'added or removed' in message


def test_open_is_not_there(client, service):
    message = refused(client, service, "open('/etc/passwd').read()")
    assert "name 'open' is not defined" in message


@pytest.mark.parametrize('module', ['os', 'socket', 'subprocess', 'ctypes',
                                    'sys', 'importlib'])
def test_imports_beyond_the_list_are_refused(client, service, module):
    message = refused(client, service, 'import %s' % module)
    assert "import of '%s' is not allowed" % module in message


@pytest.mark.parametrize('attempt', [
    # the file system, by the os module reached from builtins
    "os.open('/etc/passwd', os.O_RDONLY)",
    "os.stat('/etc/passwd')",
    "os.listdir('/')",
    # the service's memory and environment
    "os.open('/proc/%d/mem' % os.getppid(), os.O_RDONLY)",
    "os.open('/proc/%d/environ' % os.getppid(), os.O_RDONLY)",
    # processes: a fork bomb's first step, exec, signals to the service
    "os.fork()",
    "os.execv('/bin/sh', ['sh'])",
    "os.kill(os.getppid(), 9)",
    # sockets through libc itself, past any Python-level check
    "import_ctypes = sys.modules['ctypes']\n"
    "if import_ctypes.CDLL(None).socket(2, 1, 0) < 0:\n"
    "    raise PermissionError()",
])
def test_the_kernel_refuses_what_python_tricks_reach(client, service,
                                                     attempt):
    enable(client, priority=1)
    add_script(service, outcome_script(attempt))
    response = quote(client)
    assert response.status_code == 200, response.get_data()
    assert response.get_json() == '2'     # PermissionError, not success
    assert client.get('/v1/rating/modules').status_code == 200


def test_the_worker_has_no_environment_and_is_nobody(client, service):
    enable(client, priority=1)
    add_script(service, ESCAPE + """
outcome = 0 if set(os.environ) - {'LC_CTYPE'} else 1
outcome += 0 if os.getuid() == 0 else 10
for points in data['usage'].values():
    for point in points:
        point['rating']['price'] = outcome
""")
    assert quote(client).get_json() == '11'


def test_the_services_globals_are_not_there(client, service):
    message = refused(client, service, 'registry.modules\n')
    assert "name 'registry' is not defined" in message


def test_endless_loop_is_stopped_by_the_time_limit(client, service):
    service['conf'].set_override('timeout', 1.0, 'pyscripts')
    began = time.monotonic()
    message = refused(client, service, 'while True:\n    pass\n',
                      name='spinner')
    assert time.monotonic() - began < 10
    assert 'time limit' in message
    still_serving(client, service)


def test_endless_loop_that_catches_the_limit_is_killed(client, service):
    service['conf'].set_override('timeout', 0.5, 'pyscripts')
    message = refused(client, service, """
while True:
    try:
        while True:
            pass
    except BaseException:
        pass
""", name='stubborn')
    assert 'time limit' in message
    still_serving(client, service)


def test_ten_gigabytes_are_not_given(client, service):
    message = refused(client, service, "x = ' ' * (10 * 1024 ** 3)\n",
                      name='hog')
    assert 'memory limit' in message
    still_serving(client, service)


def test_memory_grabbed_bit_by_bit_is_not_given(client, service):
    message = refused(client, service, """
chunks = []
while True:
    chunks.append(' ' * (1024 * 1024))
""", name='creeper')
    assert 'memory limit' in message
    still_serving(client, service)


def test_a_dead_worker_is_replaced(client, service):
    enable(client, priority=1)
    add_script(service, ESCAPE + 'os._exit(3)\n', name='quitter')
    response = post_frames(client, frames_of(50), '?rate=true')
    assert response.status_code == 400
    assert 'quitter' in response.get_json()['message']
    still_serving(client, service)


def test_changes_beyond_prices_are_kept(client, service):
    """As CloudKitty stores what a script leaves: a unit, a quantity and
    an attribute changed by the script are stored."""
    rating.get_registry(service['conf']).update('hashmap', enabled=False)
    enable(client, priority=1)
    add_script(service, """
for point in data['usage'].get('instance', []):
    point['vol']['qty'] = point['vol']['qty'] * 2
    point['vol']['unit'] = 'instance-half-hours'
    point['metadata']['priced_by'] = 'script'
    point['rating']['price'] = 1
""")
    frames = frames_of(50)
    instances = sum(len(f['usage'].get('instance', [])) for f in frames)
    assert post_frames(client, frames, '?rate=true').status_code == 204
    response = client.get('/v2/dataframes?limit=1000&filters=type:instance'
                          '&begin=2026-11-01T00:00:00&end=2027-01-01T00:00:00')
    points = [p for frame in response.get_json()['dataframes']
              for p in frame['usage']['instance']]
    assert len(points) == instances
    sent = [p for f in frames for p in f['usage'].get('instance', [])]
    assert sorted(p['vol']['qty'] for p in points) == sorted(
        p['vol']['qty'] * 2 for p in sent)
    assert {p['vol']['unit'] for p in points} == {'instance-half-hours'}
    assert {p['metadata']['priced_by'] for p in points} == {'script'}
    assert total_rate(client) == pytest.approx(instances)


def test_a_script_may_rebind_data_and_use_plain_numbers(client, service):
    enable(client, priority=1)
    add_script(service, """
frame = {'period': data['period'], 'usage': {}}
for service, points in data['usage'].items():
    frame['usage'][service] = [dict(p, rating={'price': 0.5})
                               for p in points]
data = frame
""")
    assert quote(client, volume=3).get_json() == '0.5'


def test_large_batches_go_to_the_worker_in_chunks(client, service,
                                                  monkeypatch):
    from ratekeeper.rating import pyscripts
    monkeypatch.setattr(pyscripts, 'POINTS_PER_REQUEST', 7)
    rating.get_registry(service['conf']).update('hashmap', enabled=False)
    enable(client, priority=1)
    add_script(service, MINIMUM_CHARGE)
    assert post_frames(client, frames_of(200), '?rate=true').status_code \
        == 204
    assert total_rate(client) == pytest.approx(200 * 0.25)


@pytest.mark.parametrize('forged', [
    b'{"frames": 7}',
    b'{"frames": [{"volume": [[1.5]]}]}',
    b'[]',
    b'not json',
])
def test_a_forged_answer_is_refused_not_a_500(client, service, forged):
    """A script that reaches fd 1 can write the worker's answer itself."""
    enable(client, priority=1)
    add_script(service, ESCAPE + """
import_struct = sys.modules['struct']
body = %r
os.write(1, import_struct.pack('>I', len(body)) + body)
os._exit(0)
""" % forged, name='forger')
    response = quote(client)
    assert response.status_code == 400, response.get_data()
    assert 'forger' in response.get_json()['message']
    still_serving(client, service)


def test_a_forged_huge_length_allocates_nothing(client, service):
    enable(client, priority=1)
    service['conf'].set_override('timeout', 0.5, 'pyscripts')
    add_script(service, ESCAPE + """
os.write(1, b'\\x7f\\xff\\xff\\xff')
while True:
    pass
""", name='liar')
    response = quote(client)
    assert response.status_code == 400
    assert 'liar' in response.get_json()['message']


def test_a_price_that_is_no_number_is_refused_in_quotes(client, service):
    enable(client, priority=1)
    add_script(service, """
import decimal
for points in data['usage'].values():
    for point in points:
        point['rating']['price'] = decimal.Decimal('NaN')
""")
    response = quote(client)
    assert response.status_code == 400
    assert response.get_json()['code'] == \
        'ratekeeper.rating.unpriceable_point'


def test_what_a_script_hoards_goes_with_its_worker(client, service):
    """Memory a script kept in a module's attribute goes with the worker
    that ran out of memory: the next request gets a fresh one."""
    refused(client, service, """
import math
math.hoard = []
while True:
    math.hoard.append(' ' * (1024 * 1024))
""", name='hoarder')
    for row in scripts.list_scripts(service['conf']):
        scripts.delete_script(service['conf'], row.script_id)
    add_script(service, """
import math
for points in data['usage'].values():
    for point in points:
        point['rating']['price'] = 1 if hasattr(math, 'hoard') else 2
""", name='inspector')
    assert quote(client).get_json() == '2'
