"""Run every YAML file of gabbits/ against an in-process service."""
import os

from gabbi import driver
# test_pytest is the test function gabbi parametrizes.
from gabbi.driver import test_pytest  # noqa: F401

from tests.functional import fixtures

GABBITS = os.path.join(os.path.dirname(__file__), '..', 'gabbits')


def pytest_generate_tests(metafunc):
    driver.py_test_generator(
        GABBITS, intercept=fixtures.setup_app, fixture_module=fixtures,
        metafunc=metafunc, test_loader_name=__name__)
