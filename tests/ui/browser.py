"""Headless Chromium from Debian, driven by Selenium through Debian's
chromedriver (nothing is downloaded), for the cost page's tests and
benchmark."""
import os
import shutil

from selenium import webdriver
from selenium.webdriver.chrome import service as chrome_service
from selenium.webdriver.support import ui as support_ui

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu',
         '--disable-background-networking', '--disable-component-update',
         '--no-first-run', '--disable-dev-shm-usage',
         '--window-size=1280,1100']


def missing():
    """Why no browser can run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not shutil.which(path):
            return '%s is not installed (make system-packages)' % path
    return None


def start(download_dir):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_experimental_option('prefs', {
        'download.default_directory': str(download_dir),
        'download.prompt_for_download': False})
    driver = webdriver.Chrome(
        service=chrome_service.Service(CHROMEDRIVER), options=options)
    # headless Chromium saves downloads only when told where
    driver.execute_cdp_cmd('Page.setDownloadBehavior', {
        'behavior': 'allow', 'downloadPath': str(download_dir)})
    return driver


def wait_rendered(driver, timeout=30):
    """Until the page has finished its render (ready or error)."""
    support_ui.WebDriverWait(driver, timeout, poll_frequency=0.05).until(
        lambda d: d.execute_script('return document.body.dataset.state')
        in ('ready', 'error'))
    return driver.execute_script('return document.body.dataset.state')


def screenshot(driver, folder, name):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name + '.png')
    driver.save_screenshot(path)
    return path
