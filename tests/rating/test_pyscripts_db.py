"""Pyscripts in every supported SQL database: the migration, names unique
among live scripts only (a unique column NULL once deleted), and the
module following script changes without a restart."""
import datetime

import pytest

from ratekeeper import errors
from ratekeeper.rating import pyscripts
from ratekeeper.rating.pyscripts import scripts
from tests.rating import test_rules_db
from tests.rating.test_engine import batch_of

conf = test_rules_db.conf   # the fixture: SQLite, PostgreSQL, MariaDB

SINCE = datetime.datetime(2020, 1, 1)


def _create(conf, name, data='x = 1\n'):
    return scripts.create_script(conf, {'name': name, 'data': data,
                                        'start': SINCE}, force=True)


def test_names_are_unique_among_live_scripts(conf):
    first = _create(conf, 'policy')
    with pytest.raises(errors.Conflict):
        _create(conf, 'policy')
    scripts.delete_script(conf, first.script_id)
    second = _create(conf, 'policy')
    scripts.delete_script(conf, second.script_id)
    _create(conf, 'policy')
    listed = scripts.list_scripts(conf, deleted=True)
    assert [s.name for s in listed] == ['policy'] * 3
    assert sum(s.deleted is None for s in listed) == 1


def test_texts_and_checksums_are_kept_exactly(conf):
    text = "# ünïcode, 'quotes' and \\\\ backslashes\nx = '\u20ac'\n"
    row = _create(conf, 'text', text)
    got = scripts.get_script(conf, row.script_id)
    assert got.data == text
    assert got.checksum == scripts.checksum(text) and len(got.checksum) == 128


def test_module_follows_script_changes(conf):
    module = pyscripts.PyScripts(conf)
    batch = batch_of([('instance', 2, {}, {})])
    module.process(batch)
    assert batch.price == [0.0]
    row = _create(conf, 'two', "for p in data['usage']['instance']:\n"
                  "    p['rating']['price'] = 2\n")
    module.process(batch)
    assert batch.price == [2.0]
    scripts.delete_script(conf, row.script_id)
    batch.price = [0.0]
    module.process(batch)
    assert batch.price == [0.0]
