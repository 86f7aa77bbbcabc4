import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import DESKTOP, PHONE, resources_outside, wait_for_text
from tests.builders import PASSWORD, build_university

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("label", "size"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_a_secretary_logs_in_and_opens_the_member_list(
    live_server, append_only_flush, browser, screenshot, label, size
):
    world = build_university(size=12)
    browser.set_window_size(*size)
    browser.delete_all_cookies()
    browser.get(live_server.url + "/")
    assert "登录" in browser.title
    browser.find_element(By.ID, "id_username").send_keys(world.secretary.username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for_text(browser, "h1", "您好")
    screenshot(f"secretary-home-{label}")

    browser.find_element(By.LINK_TEXT, "甲一支部").click()
    wait_for_text(browser, "h1", "甲一支部 · 党员名册")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.member-table tbody tr")
    assert len(rows) == 12
    assert world.a1_members[5].name in browser.page_source
    assert "乙一支部" not in browser.page_source

    search = browser.find_element(By.NAME, "q")
    search.send_keys(world.a1_members[7].number)
    browser.find_element(By.CSS_SELECTOR, "form.row button[type=submit]").click()
    WebDriverWait(browser, 10, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda b: (
            [r.text for r in b.find_elements(By.CSS_SELECTOR, "table.member-table tbody tr")] != []
            and len(b.find_elements(By.CSS_SELECTOR, "table.member-table tbody tr")) == 1
        )
    )
    assert world.a1_members[7].name in browser.find_element(By.CSS_SELECTOR, "table.member-table tbody tr").text
    screenshot(f"secretary-member-list-{label}")

    # The page fits the screen: nothing wider than the viewport except inside scrollable tables.
    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page is {overflow}px wider than the {label} screen"
    assert (
        browser.execute_script("return getComputedStyle(document.querySelector('.navbar')).backgroundColor")
        == "rgb(183, 28, 28)"
    ), "Bootstrap and our stylesheet were served"
    assert resources_outside(browser, live_server.url) == []
