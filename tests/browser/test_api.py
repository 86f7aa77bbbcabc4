"""The API's pages in chromium: 接口令牌 (make a token, see it once, revoke it) and the documentation
page, served from our own files, with not one Content-Security-Policy violation, desktop and phone."""

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By

from tests.browser.conftest import DESKTOP, PHONE, resources_outside, wait_for_text
from tests.browser.test_csp import log_in, violations
from tests.builders import build_university

pytestmark = pytest.mark.browser


def test_tokens_page_and_api_docs(live_server, append_only_flush, browser, screenshot):
    world = build_university(size=4)
    browser.set_window_size(*DESKTOP)
    log_in(browser, live_server, world.member)
    violations(browser)
    browser.get(live_server.url + reverse("api_tokens"))
    browser.find_element(By.ID, "id_name").send_keys("微信小程序")
    browser.find_element(By.CSS_SELECTOR, ".api-token-new button[type=submit]").click()
    wait_for_text(browser, ".alert-success", "请立即复制保存")
    raw = browser.find_element(By.CSS_SELECTOR, ".api-token-value").text
    assert raw.startswith("ps_")
    screenshot("api-tokens-desktop")
    browser.set_window_size(*PHONE)
    browser.get(live_server.url + reverse("api_tokens"))
    assert raw not in browser.page_source  # shown once only
    assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
    screenshot("api-tokens-phone")
    browser.find_element(By.CSS_SELECTOR, "table button[type=submit]").click()
    wait_for_text(browser, ".alert", "已撤销令牌")

    for size, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        browser.set_window_size(*size)
        browser.get(live_server.url + reverse("api_docs"))
        wait_for_text(browser, ".swagger-ui .info .title", "PartyScore API", timeout=20)
        wait_for_text(browser, ".opblock-summary-path", "/api/v1/me/card/")
        screenshot(f"api-docs-{name}")
        assert resources_outside(browser, live_server.url) == []
    assert violations(browser) == []
