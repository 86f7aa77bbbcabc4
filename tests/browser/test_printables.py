"""A member reads the handbook of their scheme on a phone and opens the pledge form to print."""

import pytest
from selenium.webdriver.common.by import By

from tests.browser.conftest import DESKTOP, PHONE, wait_for_text
from tests.browser.test_scoring import log_in
from tests.browser.test_self_assessment import no_horizontal_overflow
from tests.builders import build_university
from tests.test_authorization_matrix import add_scoring

pytestmark = pytest.mark.browser


def test_a_member_reads_the_handbook_on_a_phone_and_prints_the_pledges(
    live_server, append_only_flush, browser, screenshot
):
    world = build_university(size=4)
    add_scoring(world)
    member = world.a1_members[3]
    log_in(browser, live_server, member.user, PHONE)
    browser.find_element(By.LINK_TEXT, "积分手册").click()
    wait_for_text(browser, "h1", "积分手册")
    assert browser.find_elements(By.CSS_SELECTOR, "table.handbook-items tbody tr")
    assert no_horizontal_overflow(browser)
    screenshot("handbook-phone")
    browser.set_window_size(*DESKTOP)
    browser.get(f"{live_server.url}/reviews/pledges/print/")
    wait_for_text(browser, ".print-title", "承诺书")
    screenshot("pledges-print-desktop")
