"""Write the api-ref samples from real responses of the in-process app.

Every file under doc/api-ref/source/**/samples/ is either the body of
a request listed in SAMPLES or the response the current code gives to it,
on a fresh service holding the gabbi suite's known data (24 hours from
2015-01-04, tests/functional/fixtures.py). Nothing is written by hand.

    .venv/bin/python tools/api_samples.py           # (re)write the samples
    .venv/bin/python tools/api_samples.py --check   # fail if one drifted

Add a sample: append a Sample to SAMPLES (``response`` is the file its
response body goes to, relative to doc/api-ref/source; ``request`` the file
holding its request body, if any) and run the tool.
"""
import argparse
import dataclasses
import datetime
import json
import os
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from werkzeug import test as wz_test  # noqa: E402

from ratekeeper import dataframe  # noqa: E402
from ratekeeper import db  # noqa: E402
from ratekeeper import policy  # noqa: E402
from ratekeeper import storage as rk_storage  # noqa: E402
from ratekeeper.api import app as rk_app  # noqa: E402
from ratekeeper.db import migration  # noqa: E402
from ratekeeper.processor import state as scope_state  # noqa: E402
from ratekeeper.rating.hashmap import database as hashmap_db  # noqa: E402
from ratekeeper.rating.pyscripts import scripts as pyscripts_scripts  # noqa
from tests.functional import fixtures  # noqa: E402

SOURCE = os.path.join(ROOT, 'doc', 'api-ref', 'source')
BASE_URL = 'http://127.0.0.1:8889'
BEGIN = fixtures.PastDataFixture.BEGIN
DAY = 'begin=2015-01-04T00:00:00%2B00:00&end=2015-01-05T00:00:00%2B00:00'
V1_DAY = 'begin=2015-01-04T00:00:00&end=2015-01-05T00:00:00'
# Only the first frame is pushed through POST /v2/dataframes (it is the
# request sample); the other 23 hours go straight to the storage.
POSTED_FRAMES = fixtures.known_frames(BEGIN, 1)
HASHMAP = '/v1/rating/module_config/hashmap'
SERVICE_ID = 'a1b2c3d4-0000-4000-8000-000000000001'
FIELD_ID = 'a1b2c3d4-0000-4000-8000-000000000002'
GROUP_ID = 'a1b2c3d4-0000-4000-8000-000000000003'
MAPPING_ID = 'a1b2c3d4-0000-4000-8000-000000000004'
THRESHOLD_ID = 'a1b2c3d4-0000-4000-8000-000000000005'
PYSCRIPTS = '/v1/rating/module_config/pyscripts/scripts'
SCRIPT_ID = 'a1b2c3d4-0000-4000-8000-000000000006'
SCRIPT = ("import decimal\n"
          "for point in data['usage'].get('instance', []):\n"
          "    if point['metadata'].get('flavor_name') == 'm1.large':\n"
          "        point['rating']['price'] += decimal.Decimal('0.5') * "
          "point['vol']['qty']\n")
# The hashmap stamps rules with the time (created_at, start, deleted): its
# samples are written on a clock that starts at NOW and moves one minute
# per hashmap request, so that they do not drift. It is in the past, so
# the rules are active when the quote (priced at the real time) runs.
NOW = datetime.datetime(2020, 1, 6, 12, 0, 0)


@dataclasses.dataclass
class Sample:
    method: str
    url: str
    status: int
    response: str = None
    request: str = None
    body: object = None
    headers: dict = dataclasses.field(default_factory=dict)


SAMPLES = [
    # first, so that every later sample sees the data
    Sample('POST', '/v2/dataframes', 204,
           request='v2/samples/dataframes/dataframes-post-request.json',
           body={'dataframes': POSTED_FRAMES}),
    # versions and errors (source/samples/)
    Sample('GET', '/', 200, 'samples/versions/versions-get.json'),
    Sample('GET', '/v2', 200, 'samples/versions/v2-get.json'),
    Sample('GET', '/v2/openapi.json', 200,
           'samples/versions/openapi-get.json'),
    Sample('GET', '/v2/summary', 406,
           'samples/versions/microversion-unsupported.json',
           headers={'OpenStack-API-Version': 'rating 3.0'}),
    Sample('GET', '/v2/summary?response_format=xml', 400,
           'samples/errors/v2-invalid-input.json'),
    Sample('GET', '/v1/report/total?begin=yesterday', 400,
           'samples/errors/v1-invalid-input.json'),
    Sample('GET', '/v2/summary', 403, 'samples/errors/forbidden.json',
           headers={'X-Project-Id': fixtures.PROJECT_A,
                    'X-Roles': 'member'}),
    # v1 report (source/v1/samples/report/)
    Sample('GET', '/v1/report/tenants?' + V1_DAY, 200,
           'v1/samples/report/tenants-get.json'),
    Sample('GET', '/v1/report/total?all_tenants=true&' + V1_DAY, 200,
           'v1/samples/report/total-get.json'),
    Sample('GET', '/v1/report/summary?groupby=tenant_id,res_type'
           '&all_tenants=true&' + V1_DAY, 200,
           'v1/samples/report/summary-get.json'),
    # v2 dataframes (source/v2/samples/dataframes/)
    Sample('GET', '/v2/dataframes?limit=3&filters=type:instance&' + DAY,
           200, 'v2/samples/dataframes/dataframes-get.json'),
    Sample('GET', '/v2/dataframes?limit=1&filters=type:volume&' + DAY,
           200, 'v2/samples/dataframes/dataframes-get-links-2.1.json',
           headers={'OpenStack-API-Version': 'rating 2.1'}),
    # v2 summary (source/v2/samples/summary/)
    Sample('GET', '/v2/summary?' + DAY, 200,
           'v2/samples/summary/summary-get.json'),
    Sample('GET', '/v2/summary?groupby=type,project_id&' + DAY, 200,
           'v2/samples/summary/summary-get-groupby.json'),
    Sample('GET', '/v2/summary?groupby=type&response_format=object&'
           + DAY, 200, 'v2/samples/summary/summary-get-object.json'),
    Sample('GET', '/v2/summary?groupby=time,type&limit=3&'
           'filters=project_id:%s&%s' % (fixtures.PROJECT_B, DAY), 200,
           'v2/samples/summary/summary-get-groupby-time.json'),
    Sample('GET', '/v2/summary?groupby=type&limit=2&offset=1&' + DAY, 200,
           'v2/samples/summary/summary-get-links-2.1.json',
           headers={'OpenStack-API-Version': 'rating 2.1'}),
    Sample('GET', '/v2/summary?groupby=type&response_format=csv&' + DAY,
           200, 'v2/samples/summary/summary-get-csv-2.2.csv',
           headers={'OpenStack-API-Version': 'rating 2.2'}),
    # v2 rating modules (source/v2/samples/rating/)
    Sample('GET', '/v2/rating/modules', 200,
           'v2/samples/rating/modules-get.json'),
    Sample('PUT', '/v2/rating/modules/hashmap', 204,
           request='v2/samples/rating/module-put-request.json',
           body={'enabled': True, 'priority': 2}),
    Sample('PATCH', '/v2/rating/modules/noop', 204,
           request='v2/samples/rating/module-patch-request.json',
           body={'priority': 3}),
    Sample('GET', '/v2/rating/modules/hashmap', 200,
           'v2/samples/rating/module-get.json'),
    # v2 scope states (source/v2/samples/scope/), on a fixed clock (NOW)
    Sample('POST', '/v2/scope', 200, 'v2/samples/scope/scope-post.json',
           request='v2/samples/scope/scope-post-request.json',
           body={'scope_id': fixtures.PROJECT_A, 'scope_key': 'project_id',
                 'fetcher': 'source', 'collector': 'prometheus',
                 'last_processed_timestamp': '2015-01-04T23:00:00+00:00'}),
    Sample('POST', '/v2/scope', 200,
           body={'scope_id': fixtures.PROJECT_B, 'scope_key': 'project_id',
                 'fetcher': 'source', 'collector': 'prometheus',
                 'last_processed_timestamp': '2015-01-04T23:00:00+00:00'}),
    Sample('GET', '/v2/scope', 200, 'v2/samples/scope/scope-get.json'),
    Sample('GET', '/v2/scope?limit=1', 200,
           'v2/samples/scope/scope-get-links-2.1.json',
           headers={'OpenStack-API-Version': 'rating 2.1'}),
    Sample('PATCH', '/v2/scope', 200, 'v2/samples/scope/scope-patch.json',
           request='v2/samples/scope/scope-patch-request.json',
           body={'scope_id': fixtures.PROJECT_B, 'active': False}),
    Sample('PUT', '/v2/scope', 202, 'v2/samples/scope/scope-put.json',
           request='v2/samples/scope/scope-put-request.json',
           body={'scope_id': [fixtures.PROJECT_A],
                 'last_processed_timestamp': '2015-01-04T11:00:00+00:00'}),
    Sample('PUT', '/v2/scope', 202,
           request='v2/samples/scope/scope-put-client-request.json',
           body={'state': '2015-01-04T11:00:00+00:00',
                 'scope_id': fixtures.PROJECT_A}),
    # v2 reprocessing tasks (source/v2/samples/task/)
    Sample('POST', '/v2/task/reprocesses', 202,
           'v2/samples/task/reprocesses-post.json',
           request='v2/samples/task/reprocesses-post-request.json',
           body={'scope_ids': [fixtures.PROJECT_A],
                 'start_reprocess_time': '2015-01-04T00:00:00+00:00',
                 'end_reprocess_time': '2015-01-04T05:00:00+00:00',
                 'reason': 'The instance price was wrong.'}),
    Sample('GET', '/v2/task/reprocesses', 200,
           'v2/samples/task/reprocesses-get.json'),
    Sample('GET', '/v2/task/reprocesses/' + fixtures.PROJECT_A, 200,
           'v2/samples/task/scope_reprocesses-get.json'),
    # v1 info (source/v1/samples/info/), the packaged metrics.yml
    Sample('GET', '/v1/info/config', 200, 'v1/samples/info/config-get.json'),
    Sample('GET', '/v1/info/metrics', 200,
           'v1/samples/info/metrics-get.json'),
    Sample('GET', '/v1/info/metrics/instance', 200,
           'v1/samples/info/metric-get.json'),
    # v1 storage (source/v1/samples/storage/)
    Sample('GET', '/v1/storage/dataframes?begin=2015-01-04T00:00:00'
           '&end=2015-01-04T01:00:00&tenant_id=' + fixtures.PROJECT_B, 200,
           'v1/samples/storage/dataframes-get.json'),
    # v1 collector (source/v1/samples/collector/)
    Sample('POST', '/v1/collector/mappings', 200,
           'v1/samples/collector/mappings-post.json',
           request='v1/samples/collector/mappings-post-request.json',
           body={'collector': 'gnocchi', 'service': 'compute'}),
    Sample('GET', '/v1/collector/mappings', 200,
           'v1/samples/collector/mappings-get.json'),
    Sample('GET', '/v1/collector/mappings/compute', 200,
           'v1/samples/collector/mapping-get.json'),
    Sample('DELETE', '/v1/collector/mappings/compute', 204),
    Sample('PUT', '/v1/collector/states', 200,
           'v1/samples/collector/states-put.json',
           request='v1/samples/collector/states-put-request.json',
           body={'name': 'gnocchi', 'enabled': True}),
    Sample('GET', '/v1/collector/states?name=gnocchi', 200,
           'v1/samples/collector/states-get.json'),
    # v1 hashmap (source/v1/samples/hashmap/), on a fixed clock (NOW)
    Sample('GET', HASHMAP + '/types', 200,
           'v1/samples/hashmap/types-get.json'),
    Sample('POST', HASHMAP + '/services', 201,
           'v1/samples/hashmap/services-post.json',
           request='v1/samples/hashmap/services-post-request.json',
           body={'name': 'instance', 'service_id': SERVICE_ID}),
    Sample('GET', HASHMAP + '/services', 200,
           'v1/samples/hashmap/services-get.json'),
    Sample('GET', HASHMAP + '/services/' + SERVICE_ID, 200,
           'v1/samples/hashmap/service-get.json'),
    Sample('POST', HASHMAP + '/fields', 201,
           'v1/samples/hashmap/fields-post.json',
           request='v1/samples/hashmap/fields-post-request.json',
           body={'service_id': SERVICE_ID, 'name': 'flavor_name',
                 'field_id': FIELD_ID}),
    Sample('GET', HASHMAP + '/fields?service_id=' + SERVICE_ID, 200,
           'v1/samples/hashmap/fields-get.json'),
    Sample('GET', HASHMAP + '/fields/' + FIELD_ID, 200,
           'v1/samples/hashmap/field-get.json'),
    Sample('POST', HASHMAP + '/groups', 201,
           'v1/samples/hashmap/groups-post.json',
           request='v1/samples/hashmap/groups-post-request.json',
           body={'name': 'instance_flavor', 'group_id': GROUP_ID}),
    Sample('GET', HASHMAP + '/groups', 200,
           'v1/samples/hashmap/groups-get.json'),
    Sample('GET', HASHMAP + '/groups/' + GROUP_ID, 200,
           'v1/samples/hashmap/group-get.json'),
    Sample('POST', HASHMAP + '/mappings', 201,
           'v1/samples/hashmap/mappings-post.json',
           request='v1/samples/hashmap/mappings-post-request.json',
           body={'field_id': FIELD_ID, 'value': 'm1.small', 'cost': '0.5',
                 'type': 'flat', 'group_id': GROUP_ID,
                 'mapping_id': MAPPING_ID, 'name': 'small_flavor'}),
    Sample('GET', HASHMAP + '/mappings?field_id=' + FIELD_ID, 200,
           'v1/samples/hashmap/mappings-get.json'),
    Sample('GET', HASHMAP + '/mappings/' + MAPPING_ID, 200,
           'v1/samples/hashmap/mapping-get.json'),
    Sample('PUT', HASHMAP + '/mappings/' + MAPPING_ID, 400,
           'v1/samples/hashmap/mapping-put-running.json',
           body={'mapping_id': MAPPING_ID, 'cost': '0.75',
                 'value': 'm1.small', 'type': 'flat'}),
    Sample('PUT', HASHMAP + '/mappings/' + MAPPING_ID, 302,
           request='v1/samples/hashmap/mapping-put-request.json',
           body={'mapping_id': MAPPING_ID, 'cost': '0.5',
                 'value': 'm1.small', 'type': 'flat',
                 'end': '2099-12-31'}),
    Sample('POST', HASHMAP + '/thresholds', 201,
           'v1/samples/hashmap/thresholds-post.json',
           request='v1/samples/hashmap/thresholds-post-request.json',
           body={'service_id': SERVICE_ID, 'level': '2', 'cost': '0.9',
                 'type': 'rate', 'threshold_id': THRESHOLD_ID}),
    Sample('GET', HASHMAP + '/thresholds?service_id=' + SERVICE_ID, 200,
           'v1/samples/hashmap/thresholds-get.json'),
    Sample('GET', HASHMAP + '/thresholds/' + THRESHOLD_ID, 200,
           'v1/samples/hashmap/threshold-get.json'),
    Sample('PUT', HASHMAP + '/thresholds/', 302,
           request='v1/samples/hashmap/threshold-put-request.json',
           body={'threshold_id': THRESHOLD_ID, 'service_id': SERVICE_ID,
                 'level': '2', 'cost': '0.8', 'type': 'rate'}),
    # v1 pyscripts (source/v1/samples/pyscripts/), on the same clock
    Sample('POST', PYSCRIPTS, 201, 'v1/samples/pyscripts/scripts-post.json',
           request='v1/samples/pyscripts/scripts-post-request.json',
           body={'name': 'large_flavor_surcharge', 'data': SCRIPT,
                 'script_id': SCRIPT_ID,
                 'description': 'm1.large costs 0.5 more per hour'}),
    Sample('GET', PYSCRIPTS, 200, 'v1/samples/pyscripts/scripts-get.json'),
    Sample('GET', PYSCRIPTS + '?no_data=True', 200,
           'v1/samples/pyscripts/scripts-get-no-data.json'),
    Sample('GET', PYSCRIPTS + '/' + SCRIPT_ID, 200,
           'v1/samples/pyscripts/script-get.json'),
    Sample('PUT', PYSCRIPTS + '/' + SCRIPT_ID, 400,
           'v1/samples/pyscripts/script-put-running.json',
           body={'name': 'large_flavor_surcharge', 'data': 'pass\n'}),
    Sample('PUT', PYSCRIPTS + '/' + SCRIPT_ID, 201,
           'v1/samples/pyscripts/script-put.json',
           request='v1/samples/pyscripts/script-put-request.json',
           body={'name': 'large_flavor_surcharge', 'end': '2099-12-31'}),
    Sample('POST', PYSCRIPTS, 400,
           'v1/samples/pyscripts/scripts-post-invalid.json',
           body={'name': 'broken', 'data': 'for x in:\n    pass\n'}),
    # v1 rating (source/v1/samples/rating/), with the rules above
    Sample('GET', '/v1/rating/modules', 200,
           'v1/samples/rating/modules-get.json'),
    Sample('GET', '/v1/rating/modules/hashmap', 200,
           'v1/samples/rating/module-get.json'),
    Sample('PUT', '/v1/rating/modules/hashmap', 302,
           request='v1/samples/rating/module-put-request.json',
           body={'module_id': 'hashmap', 'enabled': True, 'priority': 2}),
    Sample('POST', '/v1/rating/quote', 200,
           'v1/samples/rating/quote-post.json',
           request='v1/samples/rating/quote-post-request.json',
           body={'resources': [{'service': 'instance', 'volume': '3',
                                'desc': {'metadata': {
                                    'flavor_name': 'm1.small'}}}]}),
    Sample('GET', '/v1/rating/reload_modules', 204),
    Sample('PUT', '/v1/rating/module_config/noop/', 409,
           'v1/samples/rating/module-config-not-configurable.json'),
    # deletes last: the soft-deleted mapping stays readable
    Sample('DELETE', HASHMAP + '/mappings/', 204,
           request='v1/samples/hashmap/mappings-delete-request.json',
           body={'mapping_id': MAPPING_ID}),
    Sample('GET', HASHMAP + '/mappings/' + MAPPING_ID, 200,
           'v1/samples/hashmap/mapping-get-deleted.json'),
    Sample('DELETE', HASHMAP + '/thresholds/' + THRESHOLD_ID, 204),
    Sample('DELETE', HASHMAP + '/groups/' + GROUP_ID + '?recursive=true',
           204),
    Sample('DELETE', HASHMAP + '/fields/' + FIELD_ID, 204),
    Sample('DELETE', HASHMAP + '/services/' + SERVICE_ID, 204),
    Sample('DELETE', PYSCRIPTS + '/' + SCRIPT_ID, 204),
]


def _dump(document):
    return json.dumps(document, indent=4, ensure_ascii=False) + '\n'


class Service:
    """A fresh service in a temporary directory, as the gabbi suite runs."""

    def __enter__(self):
        self.state_path = tempfile.mkdtemp(prefix='ratekeeper-samples-')
        self.conf = fixtures.make_conf(self.state_path)
        migration.upgrade(self.conf)
        self.storage = rk_storage.get_storage(self.conf)
        self.client = wz_test.Client(rk_app.build_app(self.conf,
                                                      self.storage))
        self.moment = NOW
        self.real_clock = hashmap_db.now
        hashmap_db.now = pyscripts_scripts.now = lambda: self.moment
        self.real_scope_clock = scope_state._now
        scope_state._now = lambda: NOW
        return self

    def push_rest_of_day(self):
        start = BEGIN + datetime.timedelta(hours=1)
        self.storage.push(dataframe.parse_dataframes(
            fixtures.known_frames(start, 23)))

    def call(self, sample):
        """The response body: JSON re-indented, anything else as is."""
        if sample.url.startswith((HASHMAP, PYSCRIPTS)):
            self.moment += datetime.timedelta(minutes=1)
        kwargs = {'base_url': BASE_URL, 'headers': sample.headers}
        if sample.body is not None:
            kwargs['data'] = json.dumps(sample.body)
            kwargs['content_type'] = 'application/json'
        response = self.client.open(sample.url, method=sample.method,
                                    **kwargs)
        if response.status_code != sample.status:
            raise SystemExit('%s %s answered %d, expected %d: %s' % (
                sample.method, sample.url, response.status_code,
                sample.status, response.get_data(as_text=True)[:500]))
        if response.mimetype == 'application/json' and response.data:
            return _dump(response.get_json())
        return response.get_data(as_text=True)

    def __exit__(self, *exc):
        hashmap_db.now = pyscripts_scripts.now = self.real_clock
        scope_state._now = self.real_scope_clock
        self.storage.close()
        db.dispose(self.conf)
        policy.reset()
        shutil.rmtree(self.state_path, ignore_errors=True)


def generate():
    """{path relative to SOURCE: text} of every sample, in SAMPLES order."""
    files = {}
    with Service() as service:
        for sample in SAMPLES:
            if sample.request:
                files[sample.request] = _dump(sample.body)
            text = service.call(sample)
            if sample.response:
                files[sample.response] = text
            if sample.method == 'POST' and sample.url == '/v2/dataframes':
                service.push_rest_of_day()
    return files


def _comparable(relative, text):
    """The document without its request id (new on every request)."""
    if not relative.endswith('.json'):
        return text
    document = json.loads(text)
    if isinstance(document, dict):
        document.pop('request_id', None)
    return document


def _stored(relative):
    """The committed text of a sample; None when there is no such file."""
    path = os.path.join(SOURCE, relative)
    if not os.path.exists(path):
        return None
    with open(path, encoding='utf-8', newline='') as stream:
        return stream.read()


def _is_current(relative, text):
    stored = _stored(relative)
    return stored is not None and (_comparable(relative, stored)
                                   == _comparable(relative, text))


def check(files):
    return [relative if _stored(relative) is not None
            else relative + ' (missing)'
            for relative, text in files.items()
            if not _is_current(relative, text)]


def write(files):
    """Write the samples that changed (a new request id alone is no
    change: it would only make noise in the diff)."""
    for relative, text in files.items():
        if _is_current(relative, text):
            continue
        path = os.path.join(SOURCE, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w', encoding='utf-8', newline='') as stream:
            stream.write(text)
        print('wrote', os.path.relpath(path, ROOT))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true',
                        help='compare instead of writing; exit 1 on drift')
    args = parser.parse_args(argv)
    files = generate()
    if not args.check:
        write(files)
        return 0
    drifted = check(files)
    for relative in drifted:
        print('out of date:', relative)
    return 1 if drifted else 0


if __name__ == '__main__':
    sys.exit(main())
