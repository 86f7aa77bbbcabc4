import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.browser.conftest import DESKTOP, PHONE, resources_outside, wait_for_text
from tests.builders import PASSWORD, build_university
from tests.test_authorization_matrix import add_scoring

pytestmark = pytest.mark.browser


def log_in(browser, live_server, user, size):
    browser.set_window_size(*size)
    browser.delete_all_cookies()
    browser.get(live_server.url + "/accounts/login/")
    browser.find_element(By.ID, "id_username").send_keys(user.username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for_text(browser, "h1", "您好")


def test_a_member_reads_their_points_card_on_a_phone(live_server, append_only_flush, browser, screenshot):
    world = build_university(size=6)
    add_scoring(world)
    member = world.a1_members[3]
    log_in(browser, live_server, member.user, PHONE)
    browser.find_element(By.LINK_TEXT, "我的积分卡").click()
    wait_for_text(browser, "h1", "积分卡")
    assert "61" in browser.find_element(By.CSS_SELECTOR, ".points-summary").text
    assert "志愿服务" in browser.find_element(By.CSS_SELECTOR, "table.card-lines").text
    screenshot("member-points-card-phone")
    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    assert resources_outside(browser, live_server.url) == []


def test_a_secretary_records_an_entry_and_sees_it_on_the_board(live_server, append_only_flush, browser, screenshot):
    world = build_university(size=6)
    _reference, _schemes, _entries, period = add_scoring(world)
    log_in(browser, live_server, world.secretary, DESKTOP)
    browser.get(f"{live_server.url}/ledger/{world.A1.pk}/record/")
    target = world.a1_members[5]
    item = _schemes["A1"].items.get(code="A-C04")
    for field, value in (("id_member", target.pk), ("id_item", item.pk), ("id_period", period.pk)):
        Select(browser.find_element(By.ID, field)).select_by_value(str(value))
    browser.find_element(By.ID, "id_points").send_keys("4")
    browser.find_element(By.ID, "id_reason").send_keys("结对帮扶两名学生")
    screenshot("secretary-record-entry-desktop")
    button = browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", button)
    button.click()
    wait_for_text(browser, ".alert-success", "已为")
    browser.get(f"{live_server.url}/board/{world.A1.pk}/")
    first = browser.find_element(By.CSS_SELECTOR, "table.board-table tbody tr")
    assert target.name in first.text and "64" in first.text  # (64 + 60) / 2 = 62; semester 1 shows 64
    screenshot("secretary-board-desktop")
    assert resources_outside(browser, live_server.url) == []


def test_the_entry_form_offers_only_the_chosen_members_own_items(live_server, append_only_flush, browser, screenshot):
    """A branch with staff and student members: choosing a staff member hides the student items."""
    from members.models import Member
    from scoring import services as scoring
    from tests.builders import add_members

    world = build_university(size=6)
    _reference, schemes, _entries, period = add_scoring(world)
    student_scheme = scoring.scheme_preset_load(
        actor=world.org_department, preset="A-student", year=period.cycle.year, owner=world.U
    )
    student = add_members(world.A1, 1, start=90, category=Member.Category.STUDENT)[0]
    log_in(browser, live_server, world.secretary, PHONE)
    browser.get(f"{live_server.url}/ledger/{world.A1.pk}/record/")
    items = browser.find_element(By.ID, "id_item")

    def offered():
        return {
            o.get_attribute("value")
            for o in items.find_elements(By.TAG_NAME, "option")
            if o.get_attribute("value") and o.is_enabled()
        }

    staff_items = {str(pk) for pk in schemes["A1"].items.values_list("pk", flat=True)}
    student_items = {str(pk) for pk in student_scheme.items.values_list("pk", flat=True)}
    assert offered() == staff_items | student_items
    Select(browser.find_element(By.ID, "id_member")).select_by_value(str(world.a1_members[5].pk))
    assert offered() == staff_items
    Select(browser.find_element(By.ID, "id_member")).select_by_value(str(student.pk))
    assert offered() == student_items
    screenshot("entry-form-student-items-phone")


def test_a_secretary_edits_an_outcome_rule_parameter_by_parameter_on_a_phone(
    live_server, append_only_flush, browser, screenshot
):
    """The rule editor shows the chosen kind's parameters as number fields, says what the kind does,
    and shows a wrong parameter's error beside its field, at 375 px."""
    from django.urls import reverse

    from scoring import services as scoring

    world = build_university(size=6)
    reference, _schemes, _entries, _period = add_scoring(world)
    draft = scoring.scheme_derive(actor=world.secretary, source=reference, owner=world.A1)
    log_in(browser, live_server, world.secretary, PHONE)
    browser.get(live_server.url + reverse("rule_new", args=[draft.pk]))
    Select(browser.find_element(By.ID, "id_kind")).select_by_value("share_cap")

    def shown(name):
        return browser.find_element(By.NAME, name).is_displayed()

    assert shown("at_or_above") and shown("share")
    assert not any(shown(name) for name in ("lower", "below", "of", "years", "every_years"))
    assert "比例上限" in browser.find_element(By.CSS_SELECTOR, "#id_kind + .form-text").text
    screenshot("secretary-outcome-rule-phone")
    for name, value in (("code", "X-SHARE"), ("label", "高分比例"), ("at_or_above", "95"), ("share", "150")):
        browser.find_element(By.NAME, name).send_keys(value)
    Select(browser.find_element(By.ID, "id_consequence")).select_by_value("share_cap")
    button = browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", button)
    button.click()
    wait_for_text(browser, ".invalid-feedback", "100")
    share_box = browser.find_element(By.NAME, "share").find_element(By.XPATH, "./ancestor::div[@class='mb-3']")
    assert "100" in share_box.find_element(By.CSS_SELECTOR, ".invalid-feedback").text
    assert shown("share") and not shown("lower")  # the posted kind's fields stay the ones shown
    browser.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", share_box)
    screenshot("secretary-outcome-rule-error-phone")
    assert browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth") <= 0
    field = browser.find_element(By.NAME, "share")
    field.clear()
    field.send_keys("5")
    button = browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", button)
    button.click()
    wait_for_text(browser, ".alert-success", "已保存")
    assert draft.outcome_rules.get(code="X-SHARE").params == {"at_or_above": 95, "share": "0.05"}
