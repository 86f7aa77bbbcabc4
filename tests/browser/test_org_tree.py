"""The organization department renames a branch and closes it from the tree, on a desktop and at 375 px."""

import pytest
from selenium.webdriver.common.by import By

from members import services
from members.models import Organization
from partyscore.core.models import AuditEvent
from tests.browser.conftest import DESKTOP, PHONE, wait_for_text
from tests.browser.test_scoring import log_in
from tests.browser.test_self_assessment import click, no_horizontal_overflow
from tests.builders import build_university

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("size", "label"), [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_the_organization_department_renames_and_closes_a_branch(
    live_server, append_only_flush, browser, screenshot, size, label
):
    world = build_university(size=4)
    empty = services.organization_create(
        actor=world.admin, parent=world.A, name="甲三支部", code="A3", kind=Organization.Kind.BRANCH
    )
    log_in(browser, live_server, world.org_department, size)
    click(browser, ".home-links a[href='/orgs/']")
    wait_for_text(browser, "h1", "组织架构")
    click(browser, f"li[data-org=A3] a[href='/orgs/{empty.pk}/manage/']")
    wait_for_text(browser, "h1", "甲三支部")
    name = browser.find_element(By.ID, "id_rename-name")
    name.clear()
    name.send_keys("甲三党支部")
    browser.find_element(By.ID, "id_rename-reason").send_keys("按党委文件规范支部名称")
    assert no_horizontal_overflow(browser)
    screenshot(f"org-manage-{label}")
    click(browser, "#org-rename button[type=submit]")
    wait_for_text(browser, ".alert-success", "已更名为甲三党支部")

    click(browser, f"li[data-org=A3] a[href='/orgs/{empty.pk}/manage/']")
    wait_for_text(browser, "h1", "甲三党支部")
    browser.find_element(By.ID, "id_close-reason").send_keys("支部党员已全部转出，经党委研究撤销")
    click(browser, "#org-close button[type=submit]")
    wait_for_text(browser, ".alert-success", "已撤销甲三党支部")
    wait_for_text(browser, "li[data-org=A3]", "已撤销")
    assert no_horizontal_overflow(browser)
    screenshot(f"org-tree-closed-{label}")
    empty.refresh_from_db()
    assert empty.name == "甲三党支部" and empty.closed_on is not None
    assert set(AuditEvent.objects.filter(target_id=str(empty.pk)).values_list("action", flat=True)) >= {
        "organization.rename",
        "organization.close",
    }
