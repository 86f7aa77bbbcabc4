"""The roster import's update mode check page (new / changed old → new / unchanged) at 375 px and on
a desktop; nothing is written until it is confirmed."""

import io

import openpyxl
import pytest
from selenium.webdriver.common.by import By

from members.models import Member
from members.roster import roster_export_dataset
from tests.browser.conftest import DESKTOP, PHONE, wait_for_text
from tests.browser.test_scoring import log_in
from tests.browser.test_self_assessment import click, no_horizontal_overflow
from tests.builders import build_university

pytestmark = pytest.mark.browser


def updated_roster(world, path):
    """The branch's export with one phone corrected, one graduate and one new member."""
    exported = roster_export_dataset(Member.objects.filter(branch=world.A1).order_by("number"))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([*exported.headers, "离开原因", "离开日期"])
    for index, row in enumerate(exported):
        row = [*row, "", ""]
        if index == 3:
            row[exported.headers.index("手机")] = "13900000003"
        if index == 4:
            row[-2:] = ["毕业离校", "2026-07-01"]
        sheet.append(row)
    sheet.append(["N900", "新党员", "A1", "学生", "正式党员", "", "否", "2024-06-01"])
    buffer = io.BytesIO()
    book.save(buffer)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.mark.parametrize(("size", "label"), [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_the_secretary_checks_an_update_then_confirms_it(
    live_server, append_only_flush, browser, screenshot, tmp_path, size, label
):
    world = build_university(size=6)
    upload = updated_roster(world, tmp_path / "roster.xlsx")
    log_in(browser, live_server, world.secretary, size)
    browser.get(f"{live_server.url}/roster/import/")
    wait_for_text(browser, "h1", "导入党员名册")
    click(browser, "input[name=mode][value=update]")
    browser.find_element(By.NAME, "reason").send_keys("2026 年秋季名册核对")
    browser.find_element(By.NAME, "file").send_keys(str(upload))
    assert no_horizontal_overflow(browser)
    screenshot(f"roster-update-upload-{label}")
    click(browser, "main form button[type=submit]")
    wait_for_text(browser, ".roster-update-summary", "新增 1 名，修改 2 名，未变 4 名")
    changed = browser.find_element(By.CSS_SELECTOR, ".roster-changed").text
    assert "13900000003" in changed and "毕业离校" in changed
    assert no_horizontal_overflow(browser)
    screenshot(f"roster-update-check-{label}")
    assert not Member.objects.filter(number="N900").exists()
    click(browser, "main form[action='/roster/import/confirm/'] button[type=submit]")
    wait_for_text(browser, ".alert-success", "已新增 1 名、修改 1 名党员，记录离开 1 名")
    assert Member.objects.filter(number="N900").exists()
    assert Member.objects.get(pk=world.a1_members[4].pk).left_on is not None
