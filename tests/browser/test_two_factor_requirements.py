"""The organization department requires the second factor of recorders from its home, on a desktop
and at 375 px."""

import pytest
from selenium.webdriver.common.by import By

from members.models import TwoFactorRequirement
from tests.browser.conftest import DESKTOP, PHONE, wait_for_text
from tests.browser.test_scoring import log_in
from tests.browser.test_self_assessment import click, no_horizontal_overflow
from tests.builders import build_university

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("size", "label"), [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_the_organization_department_requires_two_factor_for_recorders(
    live_server, append_only_flush, browser, screenshot, size, label
):
    world = build_university(size=4)
    log_in(browser, live_server, world.org_department, size)
    click(browser, "a[href='/security/two-factor/']")
    wait_for_text(browser, "h1", "两步验证要求")
    click(browser, "input[name=roles][value=recorder]")
    browser.find_element(By.NAME, "reason").send_keys("等级保护测评：记分员须启用两步验证")
    assert no_horizontal_overflow(browser)
    screenshot(f"two-factor-requirements-{label}")
    click(browser, "main form button[type=submit]")
    wait_for_text(browser, ".alert-success", "各账号自下次登录起")
    assert list(TwoFactorRequirement.objects.values_list("role", flat=True)) == ["recorder"]
    assert browser.find_element(By.CSS_SELECTOR, "input[name=roles][value=recorder]").is_selected()
