import pytest

from tests.functional import fixtures


@pytest.fixture
def service(tmp_path):
    """A fresh in-process service with embedded storage:
    (conf, storage, app)."""
    fixture = fixtures.ConfigFixture()
    fixture.start_fixture()
    state = dict(fixtures.STATE)
    yield state
    fixture.stop_fixture()
