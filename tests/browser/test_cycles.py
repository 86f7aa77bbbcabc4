"""The organization department moves the year's semester boundary on the 计分年度 page (desktop and phone)."""

import pytest
from selenium.webdriver.common.by import By

from tests.browser.conftest import DESKTOP, PHONE, wait_for_text
from tests.browser.test_scoring import log_in
from tests.browser.test_self_assessment import click, no_horizontal_overflow
from tests.builders import build_university
from tests.test_authorization_matrix import add_scoring

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_committee_moves_the_semester_boundary(live_server, append_only_flush, browser, screenshot, size):
    world = build_university(size=4)
    _reference, _schemes, _entries, period = add_scoring(world)
    cycle = period.cycle
    log_in(browser, live_server, world.org_department, size)
    browser.get(f"{live_server.url}/cycles/")
    wait_for_text(browser, "h1", "计分年度与周期")
    click(browser, "details.semesters summary")
    field = f"id_cycle{cycle.pk}-second_semester_starts"
    browser.execute_script("document.getElementById(arguments[0]).value = arguments[1]", field, f"{cycle.year}-09-01")
    browser.find_element(By.ID, f"id_cycle{cycle.pk}-reason").send_keys("本校实行春季、秋季学期制")
    assert no_horizontal_overflow(browser)
    screenshot(f"cycle-semesters-{'phone' if size == PHONE else 'desktop'}")
    click(browser, "details.semesters button[type=submit]")
    wait_for_text(browser, ".alert-success", f"已调整{cycle.year}年度的学期起止日期")
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "table tbody tr") if "学期" in r.text]
    assert any("01-01—08-31" in r for r in rows) and any("09-01—12-31" in r for r in rows), rows
