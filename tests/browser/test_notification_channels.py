"""A member chooses 企业微信 for their notices on the 通知 page, and the organization department reads
the notices that did not get through, on a desktop and at 375 px (a local WeCom stub answers)."""

import pytest
from django.db import transaction
from selenium.webdriver.common.by import By

from partyscore.core.models import Delivery
from partyscore.core.notifications import notify
from tests.browser.conftest import DESKTOP, PHONE, wait_for_text
from tests.browser.test_scoring import log_in
from tests.browser.test_self_assessment import click, no_horizontal_overflow
from tests.builders import build_university
from tests.notify.stubs import WeComStub

pytestmark = pytest.mark.browser


@pytest.fixture
def wecom(settings):
    stub = WeComStub()
    settings.WECOM_API_BASE, settings.WECOM_CORP_ID = stub.base, stub.corp_id
    settings.WECOM_SECRET, settings.WECOM_AGENT_ID = stub.secret, str(stub.agent_id)
    settings.NOTIFY_MAX_RETRIES = 1
    yield stub
    stub.stop()


@pytest.mark.parametrize(("size", "label"), [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_a_member_chooses_wecom_and_the_organization_department_sees_what_failed(
    live_server, append_only_flush, browser, screenshot, wecom, size, label
):
    world = build_university(size=4)
    member = world.member
    log_in(browser, live_server, member, size)
    browser.get(live_server.url + "/notifications/")
    click(browser, "details summary")
    click(browser, "input[name=channels][value=wecom]")
    browser.find_element(By.NAME, "wecom_userid").send_keys("zhangsan")
    assert no_horizontal_overflow(browser)
    screenshot(f"notification-channels-{label}")
    click(browser, ".channels-form button")
    wait_for_text(browser, ".alert-success", "通知渠道已保存")
    member.refresh_from_db()
    assert member.notify_channels == ["wecom"] and member.wecom_userid == "zhangsan"

    with transaction.atomic():  # the stub does not know zhangsan: refused (81013)
        notify([member], "测试通知", "/notifications/")
    assert Delivery.objects.get(channel="wecom").status == "failed"
    log_in(browser, live_server, world.org_department, size)
    browser.get(live_server.url + "/notifications/")
    click(browser, "a[href='/notifications/failed/']")
    wait_for_text(browser, "h1", "发送失败的通知")
    wait_for_text(browser, "td", "81013")
    assert "zhangsan" in browser.find_element(By.TAG_NAME, "table").text
    assert no_horizontal_overflow(browser)
    screenshot(f"notification-failures-{label}")
