"""ratekeeper-ingest, run as a real process on a temporary configuration."""
import datetime
import json
import subprocess
import sys

import pytest

from ratekeeper import db
from ratekeeper import storage as rk_storage
from ratekeeper.storage import testing
from tests import databases

HOUR = datetime.timedelta(hours=1)
BEGIN = testing.BEGIN


def line(frames):
    return json.dumps({'dataframes': frames}) + '\n'


@pytest.fixture(params=['v1-sqlite', 'v1-postgresql', 'v2-duckdb'])
def config(request, tmp_path):
    """(config file path, conf) of a fresh storage of each kind."""
    version = 2 if request.param == 'v2-duckdb' else 1
    url = 'sqlite:///%s/ingest.sqlite' % tmp_path
    if request.param == 'v1-postgresql':
        url = request.getfixturevalue('postgresql_url')
    path = tmp_path / 'ratekeeper.conf'
    path.write_text('[DEFAULT]\nstate_path = %s\n[storage]\nversion = %d\n'
                    '[database]\nconnection = %s\n' % (tmp_path, version, url))
    conf = testing.make_conf(str(tmp_path), storage={'version': version},
                             database={'connection': url})
    yield str(path), conf
    db.dispose(conf)


@pytest.fixture
def postgresql_url():
    with databases.temporary_database('postgresql', 'ingest') as url:
        yield url


def run_ingest(config_path, source, stdin=None):
    return subprocess.run(
        [sys.executable, '-m', 'ratekeeper.cmd.ingest',
         '--config-file', config_path, source],
        input=stdin, capture_output=True, text=True, timeout=120)


def stored(conf):
    """(points, total rate) in the storage, read after the process ended."""
    storage = rk_storage.get_storage(conf)
    try:
        points = [p for batch in storage.stream(None, None) for p in batch]
        return len(points), round(sum(p[5] for p in points), 9)
    finally:
        storage.close()


def test_good_input_is_stored_with_a_summary(config, tmp_path):
    config_path, conf = config
    source = tmp_path / 'usage.jsonl'
    source.write_text(line(testing.hourly_frames(2)) + '\n'
                      + line(testing.hourly_frames(1, BEGIN + 2 * HOUR)))
    result = run_ingest(config_path, str(source))
    assert result.returncode == 0, result.stderr
    assert 'ingested 15 points (2 lines) in ' in result.stdout
    assert 'points/s' in result.stdout
    assert result.stderr == ''  # no progress bar without a terminal
    assert stored(conf) == (15, 5.625)


def test_standard_input(config):
    config_path, conf = config
    result = run_ingest(config_path, '-',
                        stdin=line(testing.hourly_frames(1)))
    assert result.returncode == 0, result.stderr
    assert 'ingested 5 points (1 lines)' in result.stdout
    assert stored(conf) == (5, 1.875)


@pytest.mark.parametrize('bad_line, reason', [
    ('{"dataframes": [{"period": {"begin": "2015-01-01T00:00:00Z", '
     '"end": "never"}, "usage": {}}]}\n', "unparsable date 'never'"),
    ('{"dataframes": [\n', 'invalid JSON'),
    ('[1, 2]\n', 'expected an object with a "dataframes" list'),
], ids=['bad-date', 'truncated-json', 'not-an-object'])
def test_a_bad_line_stops_with_its_number_and_stores_none_of_it(
        config, tmp_path, bad_line, reason):
    config_path, conf = config
    frames = testing.hourly_frames(3)
    source = tmp_path / 'usage.jsonl'
    source.write_text(line(frames[:1]) + bad_line + line(frames[2:]))
    result = run_ingest(config_path, str(source))
    assert result.returncode == 1
    assert 'line 2: ' in result.stderr
    assert reason in result.stderr
    assert 'ingested 5 points (1 lines)' in result.stdout
    assert stored(conf) == (5, 1.875)


def test_a_bad_point_deep_in_a_line_rejects_the_whole_line(config, tmp_path):
    config_path, conf = config
    frames = testing.hourly_frames(2)
    frames[1]['usage']['image'][0]['vol']['qty'] = 'lots'
    source = tmp_path / 'usage.jsonl'
    source.write_text(line(frames))
    result = run_ingest(config_path, str(source))
    assert result.returncode == 1
    assert 'line 1: not a number' in result.stderr
    assert stored(conf) == (0, 0)


def test_missing_file(config, tmp_path):
    config_path, _conf = config
    result = run_ingest(config_path, str(tmp_path / 'nope.jsonl'))
    assert result.returncode == 1
    assert 'No such file' in result.stderr
