"""Through chromium: the campus button on the login page, the CAS server's and the OIDC provider's own
login forms, back home logged in; the CAS server's single logout ends the site's session; the site's
logout ends the provider's; an unknown number's page. At desktop size and at 375 px."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import DESKTOP, PHONE, wait_for_text
from tests.browser.test_self_assessment import click, no_horizontal_overflow

from .conftest import CAMPUS_PASSWORD

pytestmark = pytest.mark.browser


def campus_form(browser, who):
    browser.find_element(By.NAME, "username").send_keys(who)
    browser.find_element(By.NAME, "password").send_keys(CAMPUS_PASSWORD[who])
    browser.find_element(By.CSS_SELECTOR, "form [type=submit]").click()


def open_login_page(browser, live_server, size):
    browser.set_window_size(*size)
    browser.delete_all_cookies()
    browser.get(live_server.url + "/accounts/login/")
    wait_for_text(browser, "h1", "登录")
    assert no_horizontal_overflow(browser)


def test_cas_login_and_the_cas_servers_single_logout(live_server, world, browser, screenshot, cas_on):
    open_login_page(browser, live_server, DESKTOP)
    screenshot("campus-login-cas-desktop")
    click(browser, "#campus-cas")
    campus_form(browser, "zhangsan")
    wait_for_text(browser, "h1", "您好")
    # Signing out at the CAS server: it tells the site (single logout), whose session ends with it.
    browser.get(cas_on["url"] + "/logout")
    WebDriverWait(browser, 10).until(lambda _b: not _site_session_alive(browser, live_server))
    assert "/accounts/login/" in browser.current_url


def _site_session_alive(browser, live_server):
    browser.get(live_server.url + "/")
    return "/accounts/login/" not in browser.current_url


def test_oidc_login_logout_and_an_unknown_number_on_a_phone(live_server, world, browser, screenshot, oidc_on):
    open_login_page(browser, live_server, PHONE)
    screenshot("campus-login-oidc-phone")
    click(browser, "#campus-oidc")
    campus_form(browser, "zhangsan")
    wait_for_text(browser, "h1", "您好")
    # The navbar's logout form (folded away at 375 px): on to the provider's end_session, and back.
    browser.execute_script("document.querySelector(\"form[action='/accounts/logout/']\").submit()")
    wait_for_text(browser, "h1", "登录")
    assert browser.current_url.startswith(live_server.url + "/accounts/login/")
    click(browser, "#campus-oidc")  # signed out at the provider too: its form again
    campus_form(browser, "nobody")
    wait_for_text(browser, ".campus-refusal", "未找到与您的学号/工号（X9999）对应的账号")
    assert no_horizontal_overflow(browser)
    screenshot("campus-login-unknown-number-phone")
