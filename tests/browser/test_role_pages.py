import pytest
from selenium.webdriver.common.by import By

from tests.browser.conftest import PHONE, wait_for_text
from tests.browser.test_csp import violations
from tests.builders import PASSWORD, build_university

pytestmark = pytest.mark.browser


def test_the_roles_page_fits_a_phone_and_asks_before_revoking(live_server, append_only_flush, browser, screenshot):
    world = build_university()
    browser.set_window_size(*PHONE)
    browser.delete_all_cookies()
    browser.get(live_server.url + "/")
    browser.find_element(By.ID, "id_username").send_keys(world.secretary.username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for_text(browser, "h1", "您好")
    violations(browser)  # forget the console of the pages before
    browser.get(f"{live_server.url}/orgs/{world.A1.pk}/roles/")
    wait_for_text(browser, "h1", "甲一支部 · 角色任命")

    # Revoking is two steps: the button only unfolds the reason and the confirming button.
    panel = world.panel.role_assignments.get()
    confirm = browser.find_element(By.CSS_SELECTOR, f"#revoke-{panel.pk} button[type=submit]")
    assert not confirm.is_displayed()
    browser.find_element(By.CSS_SELECTOR, f"[data-bs-target='#revoke-{panel.pk}']").click()
    wait_for_text(browser, f"#revoke-{panel.pk}", "确认撤销")
    screenshot("secretary-roles-phone")

    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the roles page is {overflow}px wider than the phone"
    assert violations(browser) == [], "the roles page breaks the Content-Security-Policy"
