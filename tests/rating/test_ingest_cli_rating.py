"""ratekeeper-ingest --rate prices points with the enabled modules."""
import datetime
import decimal
import os
import subprocess
import sys

import orjson
import pytest

from ratekeeper import db
from ratekeeper import rating
from ratekeeper import storage as rk_storage
from ratekeeper.db import migration
from ratekeeper.rating.hashmap import database
from tests.functional import fixtures
from tests.rating.test_ingest_rating import frames_of

BIN = os.path.dirname(sys.executable)


def _reference_volume_rules(conf):
    """volume: 0.0005 per GiB, ssd x1.5 (part of the reference set);
    returns the volume_type field."""
    service = database.create_service(conf, 'volume')
    field = database.create_field(conf, service.service_id, 'volume_type')
    since = datetime.datetime(2020, 1, 1)
    database.create_mapping(conf, {'service_id': service.service_id,
                                   'cost': decimal.Decimal('0.0005'),
                                   'start': since}, force=True)
    database.create_mapping(conf, {'field_id': field.field_id, 'value': 'ssd',
                                   'type': 'rate',
                                   'cost': decimal.Decimal('1.5'),
                                   'start': since}, force=True)
    rating.get_registry(conf).update('hashmap', enabled=True)
    return field


def _stored_total(conf):
    storage = rk_storage.get_storage(conf)
    try:
        begin = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)
        result = storage.total(begin, begin + datetime.timedelta(days=1))
    finally:
        storage.close()
    return result['results'][0]['rate'] if result['results'] else 0


@pytest.mark.parametrize('flag, expected_volume_total', [
    (['--rate'], None), ([], 0)])
def test_ingest_rate_flag(tmp_path, flag, expected_volume_total):
    conf = fixtures.make_conf(str(tmp_path))
    migration.upgrade(conf)
    _reference_volume_rules(conf)
    db.dispose(conf)
    frames = frames_of(200)
    for frame in frames:
        frame['usage'] = {'volume': frame['usage']['volume']}
    data = tmp_path / 'frames.jsonl'
    data.write_bytes(orjson.dumps({'dataframes': frames}) + b'\n')
    env = dict(os.environ, OS_DEFAULT__STATE_PATH=str(tmp_path))
    result = subprocess.run([os.path.join(BIN, 'ratekeeper-ingest'), *flag,
                             str(data)], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    expected = sum(
        p['vol']['qty'] * 0.0005 * (1.5 if p['metadata']['volume_type']
                                    == 'ssd' else 1)
        for p in frames[0]['usage']['volume']) \
        if expected_volume_total is None else expected_volume_total
    assert _stored_total(conf) == pytest.approx(expected, abs=1e-9)


def test_ingest_rate_refuses_a_point_priced_out_of_range(tmp_path):
    """The line is refused with the reason, like any bad line, and nothing
    of it is stored."""
    conf = fixtures.make_conf(str(tmp_path))
    migration.upgrade(conf)
    field = _reference_volume_rules(conf)
    database.create_mapping(conf, {'field_id': field.field_id, 'value': 'huge',
                                   'type': 'rate',
                                   'cost': decimal.Decimal('999999999999'),
                                   'start': datetime.datetime(2020, 1, 1)},
                            force=True)
    db.dispose(conf)
    frames = frames_of(200)
    for frame in frames:
        frame['usage'] = {'volume': frame['usage']['volume']}
        frame['usage']['volume'][0]['vol']['qty'] = 999999999999999
        frame['usage']['volume'][0]['metadata']['volume_type'] = 'huge'
    data = tmp_path / 'frames.jsonl'
    data.write_bytes(orjson.dumps({'dataframes': frames}) + b'\n')
    env = dict(os.environ, OS_DEFAULT__STATE_PATH=str(tmp_path))
    result = subprocess.run([os.path.join(BIN, 'ratekeeper-ingest'),
                             '--rate', str(data)], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert 'priced out of range' in result.stderr
    assert 'Traceback' not in result.stderr
    assert _stored_total(conf) == 0
