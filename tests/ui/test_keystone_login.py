"""The cost page's Keystone login against a real Keystone (tests/keystone.py)
whose CORS allows the page's origin and exposes X-Subject-Token: a reader
logs in with a password on the page, the browser gets its token from
Keystone, and the page shows that project's totals, equal to /v2/summary for
that token."""
import pytest
import requests
from selenium.webdriver.common.by import By

from tests import live
from tests.api import test_keystone_live as keystone_api
from tests.ui import browser
from tests.ui import test_cost_page as cost_page

pytestmark = pytest.mark.skipif(browser.missing() is not None,
                                reason=str(browser.missing()))


@pytest.fixture(scope='module')
def server(real_keystone, tmp_path_factory):
    state = str(tmp_path_factory.mktemp('keystone-ui'))
    keystone_api.seed(state, real_keystone)
    with live.running_server(
            port=real_keystone.ui_port, DEFAULT__STATE_PATH=state,
            **keystone_api.authtoken_options(real_keystone)) as (url, _env):
        yield url


@pytest.fixture(scope='module')
def driver(tmp_path_factory):
    chromium = browser.start(tmp_path_factory.mktemp('downloads'))
    yield chromium
    chromium.quit()


def fill(driver, **fields):
    for element_id, value in fields.items():
        element = driver.find_element(By.ID, element_id)
        element.clear()
        element.send_keys(value)


def test_a_reader_logs_in_and_sees_its_project_only(driver, server,
                                                    real_keystone):
    driver.get(server + '/ui/?begin=2015-01-01&end=2015-01-31')
    assert browser.wait_rendered(driver) == 'error'
    assert driver.find_element(By.ID, 'ks-url').get_attribute('value') \
        == real_keystone.auth_url  # from the 401's WWW-Authenticate
    fill(driver, **{'ks-user': 'reader-a', 'ks-password': 'user-secret',
                    'ks-project': 'project-a'})
    driver.find_element(By.CSS_SELECTOR,
                        '#keystone-form button[type=submit]').click()
    cost_page.support_ui.WebDriverWait(driver, 30, poll_frequency=0.1).until(
        lambda d: d.execute_script(
            'return document.body.dataset.state') == 'ready'
        or cost_page.message(d)[0] == 'error')
    assert driver.execute_script('return document.body.dataset.state') \
        == 'ready', cost_page.message(driver)
    token = driver.execute_script(
        'return sessionStorage.getItem("ratekeeper.token")')
    assert token  # issued by Keystone to the browser
    [total] = cost_page.results(server, {'X-Auth-Token': token},
                                **cost_page.API_JANUARY)
    assert cost_page.figure(driver, 'total-cost') == total['rate'] \
        == keystone_api.RATE_A
    assert 'reader-a@project-a (Keystone)' in driver.find_element(
        By.ID, 'identity-summary').text
    browser.screenshot(driver, cost_page.SCREENSHOTS, 'keystone-logged-in')


def test_wrong_password_is_refused_on_the_page(driver, server):
    page = server + '/ui/?begin=2015-01-01&end=2015-01-31'
    # no token of an earlier login (a blank page has no session storage:
    # the page is opened first)
    driver.get(page)
    driver.execute_script('sessionStorage.clear()')
    driver.get(page)
    browser.wait_rendered(driver)
    fill(driver, **{'ks-user': 'reader-a', 'ks-password': 'wrong',
                    'ks-project': 'project-a'})
    driver.find_element(By.CSS_SELECTOR,
                        '#keystone-form button[type=submit]').click()
    box = driver.find_element(By.ID, 'message')
    cost_page.support_ui.WebDriverWait(driver, 30).until(
        lambda d: 'refused the credentials (401)' in box.text)
    assert not driver.execute_script(
        'return sessionStorage.getItem("ratekeeper.token")')
    assert requests.get(server + '/v2/summary', timeout=10).status_code \
        == 401
