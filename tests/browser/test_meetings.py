"""A branch meeting from end to end in a browser: the secretary schedules it and shows the QR screen, two
members sign in from phones by the QR code's URL, a third signs in while the attendance page is open
(it appears by polling), one is marked excused by hand and one absent, the attendance is saved, and the
ledger and the points cards show it."""

import datetime

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from reviews import meetings
from reviews.models import Meeting, MeetingAttendee
from scoring.models import LedgerEntry
from tests.browser.conftest import DESKTOP, PHONE, resources_outside, wait_for_text
from tests.browser.test_csp import violations
from tests.browser.test_scoring import log_in
from tests.browser.test_self_assessment import click, no_horizontal_overflow
from tests.builders import PASSWORD, build_university
from tests.test_authorization_matrix import add_scoring

pytestmark = pytest.mark.browser


def _set(browser, element_id, value):
    """Date and time inputs take their value in ISO form whatever the browser's locale."""
    browser.execute_script("document.getElementById(arguments[0]).value = arguments[1]", element_id, value)


def _window():
    """A meeting that started ten minutes ago and lasts an hour (kept within today)."""
    now = timezone.localtime()
    start = max(now - datetime.timedelta(minutes=10), now.replace(hour=0, minute=0))
    end = min(now + datetime.timedelta(hours=1), now.replace(hour=23, minute=59))
    return now.date(), start.strftime("%H:%M"), end.strftime("%H:%M")


def sign_in_by_phone(browser, live_server, user, url, screenshot=None):
    """The member opens the QR code's URL on a phone: logs in, comes back to the sign-in page, confirms."""
    browser.set_window_size(*PHONE)
    browser.delete_all_cookies()
    browser.get(url)
    browser.find_element(By.ID, "id_username").send_keys(user.username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for_text(browser, "h1", "会议签到")
    assert no_horizontal_overflow(browser)
    if screenshot:
        screenshot("meeting-sign-in-phone")
    click(browser, ".meeting-sign-in button[type=submit]")
    wait_for_text(browser, ".sign-in-done", "签到成功")
    if screenshot:
        screenshot("meeting-signed-in-phone")


def test_a_meeting_from_scheduling_to_the_points_cards(live_server, append_only_flush, browser, screenshot):
    world = build_university(size=6)
    add_scoring(world)
    m = world.a1_members
    day, start, end = _window()

    log_in(browser, live_server, world.secretary, DESKTOP)
    violations(browser)  # forget what earlier tests of the session logged
    browser.get(f"{live_server.url}/meetings/branch/{world.A1.pk}/")
    click(browser, "main a.btn-party")
    wait_for_text(browser, "h1", "安排会议")
    Select(browser.find_element(By.ID, "id_kind")).select_by_value("general")
    _set(browser, "id_date", day.isoformat())
    _set(browser, "id_starts_at", start)
    _set(browser, "id_ends_at", end)
    browser.find_element(By.ID, "id_topic").send_keys("学习党的二十大精神")
    browser.find_element(By.ID, "id_place").send_keys("法学院 301")
    click(browser, ".meeting-form button[type=submit]")
    wait_for_text(browser, ".alert-success", "已安排会议")
    meeting = Meeting.objects.get()
    assert meeting.attendees.count() == 6

    click(browser, f"a[href='/meetings/{meeting.pk}/qr/']")
    wait_for_text(browser, ".signed-in-count", "已签到 0 / 6 人")
    qr = browser.find_element(By.ID, "meeting-qr")
    assert qr.find_element(By.CSS_SELECTOR, "svg").size["width"] > 200
    url = qr.get_attribute("data-sign-in-url")
    token = meetings.sign_in_token(meeting.pk, meetings.sign_in_slot())
    assert url.endswith(f"/meetings/{meeting.pk}/sign-in/{token}/")
    screenshot("meeting-qr-desktop")
    browser.set_window_size(*PHONE)
    browser.refresh()
    wait_for_text(browser, ".signed-in-count", "已签到")
    assert no_horizontal_overflow(browser)
    screenshot("meeting-qr-phone")

    # Two members sign in from their phones by the QR code's URL.
    sign_in_by_phone(browser, live_server, m[4].user, url, screenshot)
    token = meetings.sign_in_token(meeting.pk, meetings.sign_in_slot())
    url = f"{live_server.url}/meetings/{meeting.pk}/sign-in/{token}/"
    sign_in_by_phone(browser, live_server, m[5].user, url)
    browser.set_window_size(*DESKTOP)
    browser.get(url)
    wait_for_text(browser, ".sign-in-refused", "无须重复签到")
    screenshot("meeting-sign-in-again-desktop")

    # The secretary's attendance page: the two sign-ins are there; a third arrives while it is open.
    log_in(browser, live_server, world.secretary, DESKTOP)
    browser.get(f"{live_server.url}/meetings/{meeting.pk}/attendance/")
    wait_for_text(browser, "#sign-in-feed", "已扫码签到 2 / 6 人")
    for member in (m[4], m[5]):
        assert browser.find_element(By.ID, f"status-{member.pk}-present").is_selected()
    meetings.meeting_sign_in(
        actor=m[1].user, meeting=meeting, token=meetings.sign_in_token(meeting.pk, meetings.sign_in_slot())
    )
    wait_for_text(browser, f"#signed-in-{m[1].pk}", "已签到")
    wait_for_text(browser, "#sign-in-feed", "已扫码签到 3 / 6 人")
    assert browser.find_element(By.ID, f"status-{m[1].pk}-present").is_selected()
    assert violations(browser) == []  # the QR screen, the sign-in pages, the polling: within the policy

    click(browser, "[data-all-present]")
    click(browser, f"#status-{m[3].pk}-excused")
    browser.find_element(By.NAME, f"reason-{m[3].pk}").send_keys("外出参加学术会议")
    click(browser, f"#status-{m[2].pk}-absent")
    assert no_horizontal_overflow(browser)
    screenshot("meeting-attendance-desktop")
    browser.set_window_size(*PHONE)
    assert no_horizontal_overflow(browser)
    screenshot("meeting-attendance-phone")
    browser.set_window_size(*DESKTOP)
    click(browser, "#attendance-form button[type=submit]")
    wait_for_text(browser, ".alert-success", "已保存出勤")
    screenshot("meeting-detail-desktop")

    statuses = dict(MeetingAttendee.objects.filter(meeting=meeting).values_list("member_id", "status"))
    assert statuses == {
        m[0].pk: "present",
        m[1].pk: "present",
        m[2].pk: "absent",
        m[3].pk: "excused",
        m[4].pk: "present",
        m[5].pk: "present",
    }
    [line] = LedgerEntry.objects.filter(reason__contains="学习党的二十大精神")
    assert (line.member, line.item.code, line.points) == (m[2], "A-B01", -200)

    browser.get(f"{live_server.url}/ledger/{world.A1.pk}/")
    wait_for_text(browser, "main", "缺席支部党员大会")
    browser.get(f"{live_server.url}/members/{m[3].pk}/card/")
    wait_for_text(browser, "table.card-meetings", "请假（外出参加学术会议）")
    browser.get(f"{live_server.url}/members/{m[2].pk}/card/")
    wait_for_text(browser, "table.card-meetings", "缺席")
    wait_for_text(browser, "table.card-lines", "缺席支部党员大会")

    log_in(browser, live_server, m[4].user, PHONE)
    browser.get(f"{live_server.url}/members/{m[4].pk}/card/")
    wait_for_text(browser, "table.card-meetings", "出席")
    browser.execute_script("document.querySelector('table.card-meetings').scrollIntoView({behavior: 'instant'})")
    assert no_horizontal_overflow(browser)
    screenshot("meeting-points-card-phone")
    assert resources_outside(browser, live_server.url) == []
