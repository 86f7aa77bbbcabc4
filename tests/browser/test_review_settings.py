"""The 评议流程设置 page of a branch's scheme (the committee's fields read-only) and a save with its
reason, in chromium at desktop and phone width."""

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from reviews.models import ReviewSettings
from scoring import services as scoring
from tests.browser.conftest import DESKTOP, PHONE, wait_for_text
from tests.browser.test_mass_results import fits, log_in
from tests.builders import build_university

pytestmark = pytest.mark.browser


def submit(browser):
    button = browser.find_element(By.CSS_SELECTOR, ".review-settings-form button[type=submit]")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", button)
    button.click()


def test_the_branch_edits_its_review_settings_at_desktop_and_phone(live_server, append_only_flush, browser, screenshot):
    world = build_university(size=4)
    year = timezone.localdate().year
    scoring.cycle_open(actor=world.org_department, year=year, committee=world.U)
    reference = scoring.scheme_preset_load(actor=world.org_department, preset="B", year=year, owner=world.U)
    derived = scoring.scheme_derive(actor=world.secretary, source=reference, owner=world.A1)

    log_in(browser, live_server, world.secretary)
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        browser.set_window_size(*size)
        browser.get(f"{live_server.url}/schemes/{derived.pk}/")
        browser.get(browser.find_element(By.LINK_TEXT, "评议流程设置").get_attribute("href"))
        wait_for_text(browser, "h1", "评议流程设置")
        assert not browser.find_element(By.ID, "id_publicity_days").is_enabled()
        screenshot(f"review-settings-branch-{name}")
        fits(browser, f"the review settings page ({name})")

    Select(browser.find_element(By.ID, "id_declaration_verifier")).select_by_visible_text("支部党员大会")
    submit(browser)
    wait_for_text(browser, ".invalid-feedback", "请填写修改理由")  # nothing typed is lost
    assert Select(browser.find_element(By.ID, "id_declaration_verifier")).first_selected_option.text == "支部党员大会"
    browser.find_element(By.ID, "id_reason").send_keys("支部党员大会决定由大会审核申报")
    submit(browser)
    wait_for_text(browser, ".alert", "评议流程设置已保存")
    screenshot("review-settings-saved-phone")
    fits(browser, "the saved review settings page (phone)")
    assert ReviewSettings.objects.get(scheme=derived).declaration_verifier == "meeting"
