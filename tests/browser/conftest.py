"""Headless Debian chromium driven through chromedriver, against pytest-django's live server."""

import os
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESKTOP = (1280, 900)
PHONE = (375, 812)


@pytest.fixture(scope="session")
def browser():
    chromium, driver = shutil.which("chromium") or "/usr/bin/chromium", shutil.which("chromedriver")
    if not (Path(chromium).exists() and driver):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver are required in CI (scripts/ensure-browser installs them)")
        pytest.skip("chromium/chromedriver not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--lang=zh-CN",
        "--no-proxy-server",
    ):
        options.add_argument(arg)
    # The console, for the Content-Security-Policy violations chromium reports there (test_csp.py).
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


@pytest.fixture
def screenshot(browser):
    ARTIFACTS.mkdir(exist_ok=True)

    def _shot(name):
        path = ARTIFACTS / f"{name}.png"
        browser.save_screenshot(str(path))
        return path

    return _shot


def wait_for_text(browser, css, text, timeout=10):
    """Wait until an element matching `css` shows `text` (pages load and htmx swaps asynchronously)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def shown(driver):
        return any(text in element.text for element in driver.find_elements(By.CSS_SELECTOR, css))

    # While a page is being replaced, chromium may answer for an element of the old document with
    # a stale-element or a "node does not belong to the document" error: both mean "look again".
    WebDriverWait(browser, timeout, ignored_exceptions=[WebDriverException]).until(
        shown, f"{css} never showed {text!r}"
    )


def resources_outside(browser, origin):
    """URLs the page loaded from anywhere but our own server (must be none: intranets are offline)."""
    urls = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    return [url for url in urls if not url.startswith(origin)]
