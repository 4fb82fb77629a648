"""The cost page (/ui/) in a real browser against a live server.

One headless Chromium for the module, one ratekeeper-api with known data:
what the page shows must be what /v2/summary answers the same caller.
Screenshots of the main views go to bench/results/ui-screenshots/.
"""
import datetime
import os
import socket
import time
import urllib.parse

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import ui as support_ui

from tests import live
from tests.functional import fixtures
from tests.ui import browser

pytestmark = pytest.mark.skipif(browser.missing() is not None,
                                reason=str(browser.missing()))

SCREENSHOTS = os.path.join(os.path.dirname(__file__), '..', '..', 'bench',
                           'results', 'ui-screenshots')
JANUARY = {'begin': '2015-01-01', 'end': '2015-01-31'}
API_JANUARY = {'begin': '2015-01-01T00:00:00Z', 'end': '2015-02-01T00:00:00Z'}
UTC = datetime.timezone.utc


def push(url, frames):
    response = requests.post(url + '/v2/dataframes',
                             json={'dataframes': frames}, timeout=30)
    assert response.status_code == 204, response.text


# Room for every request the page makes at once (a browser opens 6
# connections to a host at most), and a bound the 503 test can reach.
SLOTS = 6


@pytest.fixture(scope='module')
def server():
    with live.running_server(API__MAX_CONCURRENT_REQUESTS=SLOTS,
                             API__THREADS=2 * SLOTS) as (url, _env):
        month_start = datetime.datetime.now(UTC).replace(
            day=1, hour=0, minute=0, second=0, microsecond=0)
        push(url, fixtures.known_frames(fixtures.PastDataFixture.BEGIN, 24))
        push(url, fixtures.known_frames(
            datetime.datetime(2014, 12, 10, tzinfo=UTC), 12))
        push(url, fixtures.known_frames(month_start, 3))
        # 400 hours x 3 types: the per-period view takes two API pages
        push(url, fixtures.known_frames(
            datetime.datetime(2015, 3, 1, tzinfo=UTC), 400))
        yield url


@pytest.fixture(scope='module')
def downloads(tmp_path_factory):
    return tmp_path_factory.mktemp('downloads')


@pytest.fixture(scope='module')
def driver(downloads):
    chromium = browser.start(downloads)
    yield chromium
    chromium.quit()


@pytest.fixture
def page(driver, server):
    """Open the page at a query, as a given identity (noauth headers)."""
    def open_page(query='', project=None, roles=None):
        driver.get(server + '/ui/style.css')  # the origin, with no render
        driver.execute_script(
            'localStorage.clear(); sessionStorage.clear();'
            'if (arguments[0]) localStorage.setItem("ratekeeper.project",'
            ' arguments[0]);'
            'if (arguments[1]) localStorage.setItem("ratekeeper.roles",'
            ' arguments[1]);', project, roles)
        driver.get(server + '/ui/' + ('?' + urllib.parse.urlencode(
            query, doseq=True) if query else ''))
        browser.wait_rendered(driver)
        return driver
    return open_page


def summary(server, headers=None, **params):
    response = requests.get(server + '/v2/summary', params=params,
                            headers=headers or {}, timeout=30)
    assert response.status_code == 200, response.text
    return response


def results(server, headers=None, **params):
    return summary(server, headers, response_format='object',
                   **params).json()['results']


def figure(driver, element_id):
    value = driver.find_element(By.ID, element_id).get_attribute(
        'data-value')
    return float(value) if value else None


def chart_series(driver):
    return dict(driver.execute_script(
        'return JSON.parse(document.getElementById("time-chart")'
        '.dataset.series)'))


def message(driver):
    box = driver.find_element(By.ID, 'message')
    return box.get_attribute('class'), box.text if box.is_displayed() else ''


def rendered_after(driver, action):
    before = driver.execute_script('return window.ratekeeperUi.rendered')
    action()
    support_ui.WebDriverWait(driver, 30, poll_frequency=0.05).until(
        lambda d: d.execute_script(
            'return window.ratekeeperUi.rendered > arguments[0] && '
            'document.body.dataset.state !== "loading"', before))


def table_column(driver, table_id, column):
    return [row.find_elements(By.TAG_NAME, 'td')[column].text
            for row in driver.find_elements(
                By.CSS_SELECTOR, '#%s tbody tr' % table_id)]


def test_the_versions_document_links_the_page(server):
    [link] = requests.get(server + '/', timeout=10).json()['links']
    assert link['href'] == server + '/ui/'
    assert link['type'] == 'text/html'
    page = requests.get(link['href'], timeout=10)
    assert page.status_code == 200
    assert 'text/html' in page.headers['Content-Type']
    assert "default-src 'self'" in page.headers['Content-Security-Policy']
    chart_library = requests.get(server + '/ui/vendor/chart.umd.min.js',
                                 timeout=10)
    assert chart_library.status_code == 200
    assert 'Chart.js' in chart_library.text[:500]


def test_the_current_month_by_default_with_the_totals_of_summary(page, server):
    driver = page()
    [total] = results(server)
    assert figure(driver, 'total-cost') == total['rate'] == 5.625
    assert figure(driver, 'total-qty') == total['qty'] == 51
    by_type = {row['type']: row['rate']
               for row in results(server, groupby='type')}
    assert chart_series(driver) == by_type
    assert message(driver) == ('', '')
    browser.screenshot(driver, SCREENSHOTS, 'current-month')


def test_a_past_month_compares_with_the_month_before(page, server):
    driver = page(JANUARY)
    [total] = results(server, **API_JANUARY)
    assert figure(driver, 'total-cost') == total['rate'] == 45
    # December 2014: 12 hours at 1.875 = 22.5
    assert figure(driver, 'total-change') == pytest.approx(100.0)
    assert 'previous month (2014-12)' in driver.find_element(
        By.ID, 'previous-label').text
    assert driver.find_element(By.ID, 'month').get_attribute(
        'value') == '2015-01'
    projects = table_column(driver, 'project-table', 0)
    assert projects == [fixtures.PROJECT_A, fixtures.PROJECT_B]  # by cost
    costs = table_column(driver, 'project-table', 2)
    assert costs == ['30', '15']
    browser.screenshot(driver, SCREENSHOTS, 'january-2015')


def test_hovering_a_bar_shows_its_figures(page, server):
    driver = page(JANUARY)
    canvas = driver.find_element(By.ID, 'time-chart')
    x, y, width, height = driver.execute_script(
        'const chart = Chart.getChart("time-chart");'
        'const bar = chart.getDatasetMeta(0).data[3];'  # 2015-01-04
        'return [bar.x, (chart.chartArea.top + chart.chartArea.bottom) / 2,'
        ' chart.width, chart.height];')
    webdriver.ActionChains(driver).move_to_element_with_offset(
        canvas, int(x - width / 2), int(y - height / 2)).perform()
    support_ui.WebDriverWait(driver, 10, poll_frequency=0.05).until(
        lambda d: d.execute_script(
            'return Chart.getChart("time-chart").tooltip.opacity') > 0)
    title, lines, footer = driver.execute_script(
        'const tip = Chart.getChart("time-chart").tooltip;'
        'return [tip.title, tip.body.map((b) => b.lines.join()), tip.footer]')
    assert title == ['2015-01-04']
    day = {row['type']: row['rate'] for row in results(
        server, groupby='type', begin='2015-01-04T00:00:00Z',
        end='2015-01-05T00:00:00Z')}
    assert sorted(lines) == sorted('%s: %g' % item for item in day.items())
    assert footer == ['Total: 45']


def test_the_resolutions_group_as_summary_does(page, server):
    for res, groupby, buckets in (('time', ['time'], 24),
                                  ('time-w', ['time-y', 'time-w'], 1),
                                  ('time-m', ['time-y', 'time-m'], 1)):
        driver = page(dict(JANUARY, res=res))
        labels = driver.execute_script(
            'return Chart.getChart("time-chart").data.labels')
        rows = results(server, groupby=groupby, **API_JANUARY)
        assert len(labels) == len(rows) == buckets
    driver = page(dict(JANUARY, res='time-d'))
    assert len(driver.execute_script(
        'return Chart.getChart("time-chart").data.labels')) == 31


def test_a_view_longer_than_an_api_page_reads_every_page(
        page, server, downloads):
    march = {'begin': '2015-03-01', 'end': '2015-03-31'}
    api_march = {'begin': '2015-03-01T00:00:00Z',
                 'end': '2015-04-01T00:00:00Z'}
    driver = page(dict(march, res='time'))
    rows = summary(server, groupby=['time', 'type'], limit=2000,
                   response_format='object', **api_march).json()
    assert rows['total'] == 1200
    labels = driver.execute_script(
        'return Chart.getChart("time-chart").data.labels')
    assert len(labels) == 400
    series = chart_series(driver)
    for type_name in ('image', 'instance', 'volume'):
        assert series[type_name] == pytest.approx(sum(
            row['rate'] for row in rows['results']
            if row['type'] == type_name))
    driver.find_element(By.CSS_SELECTOR, '#time-api button.csv').click()
    saved = downloads / 'ratekeeper-over-time-2015-03-01-2015-03-31.csv'
    support_ui.WebDriverWait(driver, 20, poll_frequency=0.05).until(
        lambda _d: saved.exists() and saved.stat().st_size)
    whole = summary(server, {'OpenStack-API-Version': 'rating 2.2'},
                    groupby=['time', 'type'],
                    response_format='csv', limit=2000, **api_march)
    assert saved.read_bytes().decode().count('\r\n') == 1201
    assert saved.read_bytes().decode() == whole.text


def test_a_click_on_a_project_drills_down_and_back_returns(page, server):
    driver = page(JANUARY)
    link = driver.find_element(By.LINK_TEXT, fixtures.PROJECT_A)
    rendered_after(driver, link.click)
    assert 'project=' + fixtures.PROJECT_A in driver.current_url
    [total] = results(server, filters='project_id:' + fixtures.PROJECT_A,
                      **API_JANUARY)
    assert figure(driver, 'total-cost') == total['rate'] == 30
    resources = table_column(driver, 'resource-table', 0)
    assert resources == ['vm-a1', 'vm-a2', 'vol-a1']  # 12, 12, 6
    assert table_column(driver, 'resource-table', 3) == ['12', '12', '6']
    assert table_column(driver, 'type-table', 0) == ['instance', 'volume']
    points = table_column(driver, 'point-table', 2)
    assert len(points) == 20 and set(points) == {'vm-a1', 'vm-a2', 'vol-a1'}
    assert 'of 72' in driver.find_element(By.ID, 'points-range').text
    browser.screenshot(driver, SCREENSHOTS, 'project-drill-down')
    next_page = driver.find_element(By.ID, 'points-next')
    rendered_after(driver, next_page.click)
    assert 'ppage=20' in driver.current_url
    rendered_after(driver, driver.back)
    assert 'ppage' not in driver.current_url
    rendered_after(driver, driver.back)
    assert 'project=' not in driver.current_url
    assert driver.find_element(By.ID, 'projects').is_displayed()
    assert figure(driver, 'total-cost') == 45


def test_filters_by_type_and_attribute_keep_their_state_in_the_url(
        page, server):
    driver = page(JANUARY)
    checkbox = driver.find_element(
        By.CSS_SELECTOR, '#type-filters input[value="instance"]')
    rendered_after(driver, checkbox.click)
    assert 'type=instance' in driver.current_url
    [total] = results(server, filters='type:instance', **API_JANUARY)
    assert figure(driver, 'total-cost') == total['rate'] == 36
    support_ui.Select(driver.find_element(By.ID, 'filter-key')) \
        .select_by_value('flavor_name')
    driver.find_element(By.ID, 'filter-value').send_keys('m1.small')
    rendered_after(driver, driver.find_element(
        By.CSS_SELECTOR, '#attribute-filter button').click)
    assert 'f=flavor_name%3Am1.small' in driver.current_url
    [total] = results(server, filters=['type:instance',
                                       'flavor_name:m1.small'],
                      **API_JANUARY)
    assert figure(driver, 'total-cost') == total['rate'] == 24
    shared = driver.current_url
    driver.get('about:blank')
    driver.get(shared)  # a shared address shows the same view
    browser.wait_rendered(driver)
    assert figure(driver, 'total-cost') == 24
    rendered_after(driver, driver.find_element(By.CSS_SELECTOR, '.chip').click)
    assert figure(driver, 'total-cost') == 36


def test_the_csv_download_is_the_api_csv(page, server, downloads):
    driver = page(JANUARY)
    button = driver.find_element(By.CSS_SELECTOR, '#type-api button.csv')
    button.click()
    saved = downloads / 'ratekeeper-by-type-2015-01-01-2015-01-31.csv'
    support_ui.WebDriverWait(driver, 20, poll_frequency=0.05).until(
        lambda _d: saved.exists() and saved.stat().st_size)
    expected = summary(server, {'OpenStack-API-Version': 'rating 2.2'},
                       groupby='type', response_format='csv',
                       limit=1000, **API_JANUARY)
    assert expected.headers['Content-Type'].startswith('text/csv')
    assert saved.read_bytes().decode() == expected.text
    link = driver.find_element(By.CSS_SELECTOR, '#type-api a.json-link')
    query = urllib.parse.parse_qs(urllib.parse.urlparse(
        link.get_attribute('href')).query)
    assert query['groupby'] == ['type']


def test_a_reader_sees_only_its_project(page, server):
    driver = page(JANUARY, project=fixtures.PROJECT_B, roles='reader')
    headers = {'X-Project-Id': fixtures.PROJECT_B, 'X-Roles': 'reader'}
    [total] = results(server, headers, **API_JANUARY)
    assert figure(driver, 'total-cost') == total['rate'] == 15
    assert table_column(driver, 'project-table', 0) == [fixtures.PROJECT_B]
    assert 'project ' + fixtures.PROJECT_B in driver.find_element(
        By.ID, 'identity-summary').text
    browser.screenshot(driver, SCREENSHOTS, 'reader-view')


def test_the_identity_form_sets_the_headers(page, server):
    driver = page(JANUARY)
    driver.find_element(By.ID, 'identity-summary').click()
    driver.find_element(By.ID, 'header-project').send_keys(
        fixtures.PROJECT_A)
    driver.find_element(By.ID, 'header-roles').send_keys('reader')
    rendered_after(driver, driver.find_element(
        By.CSS_SELECTOR, '#noauth-form button').click)
    assert figure(driver, 'total-cost') == 30
    assert table_column(driver, 'project-table', 0) == [fixtures.PROJECT_A]


def test_a_caller_without_rights_gets_a_403_message(page):
    driver = page(JANUARY, project=fixtures.PROJECT_A, roles='nobody')
    kind, text = message(driver)
    assert kind == 'forbidden'
    assert '403' in text
    assert figure(driver, 'total-cost') is None
    browser.screenshot(driver, SCREENSHOTS, 'forbidden')


def test_an_empty_period_says_so(page):
    driver = page({'begin': '2001-03-01', 'end': '2001-03-31'})
    kind, text = message(driver)
    assert kind == 'empty'
    assert 'No rated usage from 2001-03-01 to 2001-03-31' in text
    assert figure(driver, 'total-cost') == 0
    assert table_column(driver, 'project-table', 0) == [
        'Nothing in this period.']


@pytest.mark.parametrize('query, expected', [
    ({'begin': '2015-13-01', 'end': '2015-01-31'}, '"2015-13-01" is not a'),
    ({'begin': '2015-02-01', 'end': '2015-01-31'}, 'ends before it begins'),
    ({'res': 'hourly'}, '"hourly" is not a resolution'),
    ({'f': 'flavor_name'}, '"flavor_name" is not a filter'),
    ({'page': '-20'}, 'is not a page offset'),
])
def test_bad_input_in_the_address_gets_a_message(page, query, expected):
    driver = page(query)
    kind, text = message(driver)
    assert kind == 'bad-input'
    assert expected in text


def test_a_refusal_of_the_api_is_shown(page, server):
    # the period ends at 10000-01-01, a date the API refuses
    driver = page({'begin': '9999-12-01', 'end': '9999-12-31'})
    kind, text = message(driver)
    assert kind == 'bad-input'
    assert 'The API refused the request (400)' in text


def hold_every_slot(url, slots):
    """Requests the server has taken and waits on: their bodies never
    end, so every further request gets the load shedder's 503. One more
    is opened each time the server still answers, up to four times the
    slots: a connection the server has not taken yet (a busy machine, a
    thread still on the browser's idle connections) then leaves no slot
    free for long."""
    port = urllib.parse.urlparse(url).port
    sockets = [_endless_request(port) for _ in range(slots)]
    deadline = time.monotonic() + 20
    while requests.get(url + '/', timeout=5).status_code != 503:
        assert time.monotonic() < deadline, 'the slots were never taken'
        if len(sockets) < 4 * slots:
            sockets.append(_endless_request(port))
        time.sleep(0.05)
    return sockets


def _endless_request(port):
    sock = socket.create_connection(('127.0.0.1', port))
    sock.sendall(b'POST /v2/dataframes HTTP/1.1\r\nHost: x\r\n'
                 b'Content-Type: application/json\r\n'
                 b'Content-Length: 1000\r\n\r\n{"dataframes": ')
    return sock


def test_a_busy_service_gets_a_503_message(page, server):
    driver = page(JANUARY)
    assert driver.execute_script('return document.body.dataset.state') \
        == 'ready'
    held = hold_every_slot(server, SLOTS)
    try:
        rendered = driver.execute_script('return window.ratekeeperUi.rendered')
        driver.find_element(By.ID, 'show').click()
        support_ui.WebDriverWait(driver, 20, poll_frequency=0.05).until(
            lambda d: d.execute_script(
                'return document.body.dataset.state') == 'error')
        kind, text = message(driver)
        assert kind == 'unavailable'
        assert '503' in text and 'Try again in 1 s' in text
        assert table_column(driver, 'project-table', 0) == []  # no stale view
        browser.screenshot(driver, SCREENSHOTS, 'unavailable')
    finally:
        for sock in held:
            sock.close()
    rendered_after(driver, driver.find_element(By.ID, 'show').click)
    assert driver.execute_script(
        'return window.ratekeeperUi.rendered') == rendered + 1
    assert figure(driver, 'total-cost') == 45


def test_keystone_mode_asks_for_credentials(driver):
    with live.running_server(
            DEFAULT__AUTH_STRATEGY='keystone',
            KEYSTONE_AUTHTOKEN__WWW_AUTHENTICATE_URI='http://127.0.0.1:9/v3',
    ) as (url, _env):
        driver.get(url + '/ui/')
        assert browser.wait_rendered(driver) == 'error'
        kind, text = message(driver)
        assert kind == 'auth' and 'Keystone' in text
        assert driver.find_element(By.ID, 'keystone-form').is_displayed()
        assert 'not logged in (Keystone)' in driver.find_element(
            By.ID, 'identity-summary').text
        assert driver.find_element(By.ID, 'ks-url').get_attribute(
            'value') == 'http://127.0.0.1:9/v3'
        assert requests.get(url + '/v2/summary', timeout=10) \
            .status_code == 401  # the page opened no way around the token
        browser.screenshot(driver, SCREENSHOTS, 'keystone-login')
