"""Branch work in bulk, in a real browser: the secretary ticks 全选 on the pledges list and returns
them, is refused for the rows without a reason, then approves them all (phone and desktop); the
recorder picks every 教职工 member on the bulk entry page, is refused for points out of bounds, and
records them all."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from reviews import services as reviews
from reviews.models import Pledge
from scoring.models import LedgerEntry
from tests.browser.conftest import DESKTOP, PHONE, resources_outside, wait_for_text
from tests.browser.test_scoring import log_in
from tests.browser.test_self_assessment import click, no_horizontal_overflow
from tests.builders import add_members, build_university
from tests.test_authorization_matrix import add_scoring

pytestmark = pytest.mark.browser
TO_TOP = "arguments[0].scrollIntoView({block: 'start', behavior: 'instant'})"  # for the screenshot


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_secretary_decides_the_pledges_in_bulk(live_server, append_only_flush, browser, screenshot, size):
    world = build_university(size=7)
    _reference, _schemes, _entries, period = add_scoring(world)
    pledgers = world.a1_members[2:7]
    for member in pledgers:
        reviews.pledge_save(
            actor=member.user,
            member=member,
            year=period.cycle.year,
            kind="vanguard",
            content="立足岗位作表率，带头完成教学科研任务",
        )
        reviews.pledges_submit(actor=member.user, member=member, year=period.cycle.year)
    name = "phone" if size == PHONE else "desktop"
    log_in(browser, live_server, world.secretary, size)
    browser.get(f"{live_server.url}/reviews/branch/{world.A1.pk}/")
    click(browser, "label[for=pick-all-pledges]")
    boxes = browser.find_elements(By.CSS_SELECTOR, "#batch-pledges input[name=ids]")
    assert len(boxes) == 5 and all(box.is_selected() for box in boxes)
    first = Pledge.objects.get(member=pledgers[0])
    browser.find_element(By.NAME, f"reason_{first.pk}").send_keys("请写明具体事项")
    click(browser, "#batch-pledges button[value=return]")
    wait_for_text(browser, ".alert", "有 4 项未能办理，全部未作决定")
    errors = browser.find_elements(By.CSS_SELECTOR, "#batch-pledges .batch-error")
    assert len(errors) == 4 and all("退回时请写明理由" in e.text for e in errors)
    assert browser.find_element(By.NAME, f"reason_{first.pk}").get_attribute("value") == "请写明具体事项"
    assert all(box.is_selected() for box in browser.find_elements(By.CSS_SELECTOR, "#batch-pledges input[name=ids]"))
    assert no_horizontal_overflow(browser)
    browser.execute_script(TO_TOP, browser.find_element(By.ID, "batch-pledges"))
    screenshot(f"batch-pledges-refused-{name}")
    assert set(Pledge.objects.filter(member__in=pledgers).values_list("status", flat=True)) == {"submitted"}
    click(browser, "#batch-pledges button[value=approve]")
    wait_for_text(browser, ".alert-success", "已审核 5 项承诺")
    assert set(Pledge.objects.filter(member__in=pledgers).values_list("status", flat=True)) == {"approved"}
    screenshot(f"batch-pledges-approved-{name}")
    assert resources_outside(browser, live_server.url) == []


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_recorder_records_one_item_for_every_staff_member(live_server, append_only_flush, browser, screenshot, size):
    world = build_university(size=6)
    _reference, schemes, _entries, period = add_scoring(world)
    students = add_members(world.A1, 2, start=90, category="student")
    name = "phone" if size == PHONE else "desktop"
    log_in(browser, live_server, world.recorder, size)
    browser.get(f"{live_server.url}/ledger/{world.A1.pk}/")
    click(browser, f"a[href='/ledger/{world.A1.pk}/record/bulk/']")
    wait_for_text(browser, "h1", "批量记分")
    item = schemes["A1"].items.get(code="A-C04")
    Select(browser.find_element(By.ID, "id_item")).select_by_value(str(item.pk))
    Select(browser.find_element(By.ID, "id_period")).select_by_value(str(period.pk))
    browser.find_element(By.ID, "id_points").send_keys("9")
    browser.find_element(By.ID, "id_reason").send_keys("结对帮扶困难学生")
    click(browser, "button[data-pick-group=staff]")
    ticked = [
        b.get_attribute("value")
        for b in browser.find_elements(By.CSS_SELECTOR, "input[name=members]")
        if b.is_selected()
    ]
    assert set(ticked) == {str(m.pk) for m in world.a1_members}  # the students are left out
    click(browser, "form.entry-bulk button[type=submit]")
    wait_for_text(browser, ".alert-danger", "有 6 条记分未通过检查，全部未记入")
    errors = browser.find_elements(By.CSS_SELECTOR, ".member-error")
    assert len(errors) == 6 and all("每次分值应在 1—5 分之间" in e.text for e in errors)
    assert browser.find_element(By.ID, "id_reason").get_attribute("value") == "结对帮扶困难学生"
    assert not LedgerEntry.objects.filter(item=item).exists()
    assert no_horizontal_overflow(browser)
    browser.execute_script(TO_TOP, browser.find_element(By.CSS_SELECTOR, ".member-picker"))
    screenshot(f"bulk-entry-refused-{name}")
    points = browser.find_element(By.ID, "id_points")
    points.clear()
    points.send_keys("3")
    click(browser, "form.entry-bulk button[type=submit]")
    wait_for_text(browser, ".alert-success", "已为 6 名党员记分")
    assert LedgerEntry.objects.filter(item=item, points=300).count() == 6
    assert not LedgerEntry.objects.filter(member__in=students).exists()
    screenshot(f"bulk-entry-done-{name}")
    assert resources_outside(browser, live_server.url) == []
