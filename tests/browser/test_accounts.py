"""A secretary resets a member's forgotten password on a phone and the member logs in with it;
on a desktop the secretary opens a mass representative's account while appointing them."""

import datetime

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from members.models import User
from tests.browser.conftest import DESKTOP, PHONE, wait_for_text
from tests.browser.test_scoring import log_in
from tests.browser.test_self_assessment import click, no_horizontal_overflow
from tests.builders import build_university

pytestmark = pytest.mark.browser


def test_the_secretary_resets_a_forgotten_password_and_the_member_logs_in_with_it(
    live_server, append_only_flush, browser, screenshot
):
    world = build_university(size=4)
    member = world.a1_members[3]
    log_in(browser, live_server, world.secretary, PHONE)
    browser.get(f"{live_server.url}/members/{member.pk}/")
    click(browser, "button[data-bs-target='#password-reset']")
    wait_for_text(browser, "#password-reset", "一次性密码")
    browser.find_element(By.NAME, "reason").send_keys("本人来电，忘记密码")
    click(browser, "#password-reset button[type=submit]")
    wait_for_text(browser, "h1", "已重置密码")
    password = browser.find_element(By.ID, "one-time-password").text
    assert no_horizontal_overflow(browser)
    screenshot("password-reset-phone")

    browser.delete_all_cookies()
    browser.get(live_server.url + "/accounts/login/")
    browser.find_element(By.ID, "id_username").send_keys(member.user.username)
    browser.find_element(By.ID, "id_password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for_text(browser, "h1", "修改密码")  # the one-time password must be changed first


def test_the_secretary_opens_a_mass_representatives_account_while_appointing(
    live_server, append_only_flush, browser, screenshot
):
    world = build_university(size=4)
    log_in(browser, live_server, world.secretary, DESKTOP)
    browser.get(f"{live_server.url}/orgs/{world.A1.pk}/roles/")
    browser.find_element(By.NAME, "username").send_keys("qz2001")
    browser.find_element(By.NAME, "full_name").send_keys("李群众")
    Select(browser.find_element(By.NAME, "role")).select_by_value("mass_representative")
    start = browser.find_element(By.NAME, "starts_on")
    browser.execute_script("arguments[0].value = arguments[1]", start, datetime.date.today().isoformat())
    screenshot("open-account-desktop")
    click(browser, "main form:not(.collapse) button[type=submit]")
    wait_for_text(browser, "h1", "已开立账号并任命")
    assert User.objects.get(username="qz2001").check_password(browser.find_element(By.ID, "one-time-password").text)
    screenshot("open-account-password-desktop")
