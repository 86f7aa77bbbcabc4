"""A branch secretary corrects a member, records a 转正 and reviews a declaration's evidence,
at 375 px and on a desktop."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from members.models import Member
from members.services import member_update
from reviews import services as review_services
from tests.browser.conftest import DESKTOP, PHONE, wait_for_text
from tests.browser.test_scoring import log_in
from tests.browser.test_self_assessment import click, no_horizontal_overflow
from tests.builders import build_university
from tests.matrix.evidence import PNG
from tests.test_authorization_matrix import add_scoring

pytestmark = pytest.mark.browser


@pytest.fixture
def _uploads_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.parametrize(("size", "label"), [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_the_secretary_edits_a_member_records_full_membership_and_sees_the_evidence(
    live_server, append_only_flush, browser, screenshot, _uploads_in_tmp, size, label
):
    world = build_university(size=6)
    _reference, schemes, _entries, period = add_scoring(world)
    member = member_update(
        actor=world.org_department,
        member=world.a1_members[3],
        data={
            "status": Member.Status.PROBATIONARY,
            "probation_start": period.starts_on.replace(year=period.starts_on.year - 1),
        },
        reason="入党",
    )
    log_in(browser, live_server, world.secretary, size)

    browser.get(f"{live_server.url}/members/{member.pk}/")
    click(browser, f"a[href='/members/{member.pk}/edit/']")
    wait_for_text(browser, "h1", "修改党员信息")
    name = browser.find_element(By.NAME, "name")
    name.clear()
    name.send_keys("王晓明")
    browser.find_element(By.NAME, "phone").send_keys("13912345678")
    browser.find_element(By.NAME, "reason").send_keys("姓名录入有误，据人事处名册更正")
    assert no_horizontal_overflow(browser)
    screenshot(f"member-edit-{label}")
    click(browser, "main form button[type=submit]")
    wait_for_text(browser, ".alert-success", "已保存修改")
    assert "王晓明" in browser.find_element(By.CSS_SELECTOR, "h1").text

    click(browser, f"a[href='/members/{member.pk}/status/']")
    wait_for_text(browser, "h1", "记录党员身份变化")
    Select(browser.find_element(By.NAME, "kind")).select_by_value("full_membership")
    browser.find_element(By.NAME, "reason").send_keys("支部大会讨论通过，学院党委审批同意按期转正")
    assert no_horizontal_overflow(browser)
    screenshot(f"member-status-{label}")
    click(browser, "main form button[type=submit]")
    wait_for_text(browser, ".alert-success", "已记录身份变化")
    wait_for_text(browser, ".status-history", "按期转为正式党员（转正）")
    assert no_horizontal_overflow(browser)
    screenshot(f"member-history-{label}")
    member.refresh_from_db()
    assert member.status == Member.Status.FULL and member.name == "王晓明"

    own = world.a1_members[4]
    item = schemes["A1"].items.get(code="A-C02")
    review_services.declaration_submit(
        actor=own.user,
        member=own,
        item=item,
        period=period,
        points=2,
        reason="社区志愿服务",
        evidence=SimpleUploadedFile("志愿服务证明.png", PNG, content_type="image/png"),
    )
    browser.get(f"{live_server.url}/reviews/branch/{world.A1.pk}/")
    wait_for_text(browser, "h2", "待审核的本人申报")
    thumb = browser.find_element(By.CSS_SELECTOR, ".evidence-thumb")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", thumb)
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", thumb) == 1
    assert no_horizontal_overflow(browser)
    screenshot(f"evidence-preview-{label}")
