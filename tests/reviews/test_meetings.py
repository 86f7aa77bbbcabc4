"""Branch meetings: scheduling, attendance for the whole meeting (the scheme's attendance rules, written
through entries_record_bulk, all or nothing, corrections reversing only what changed), QR sign-in
with every refusal, the meeting record and its files, the 会议记录 sheet and the points card."""

import datetime
import io

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from members.models import Member
from partyscore.core.exceptions import ApplicationError
from partyscore.core.models import AuditEvent
from reviews import meetings
from reviews.models import Meeting, MeetingAttendee
from scoring import services as scoring
from scoring.exports import write_branch_workbook
from scoring.models import AttendanceRule, LedgerEntry, Period
from tests.builders import add_members
from tests.matrix.evidence import PNG

from .pages import SHANGHAI, YEAR, html


def schedule(world, *, kind="general", day=(3, 5), start=(14, 0), end=(16, 0), members=None, topic="学习党章"):
    return meetings.meeting_schedule(
        actor=world.secretary,
        branch=world.A1,
        kind=kind,
        date=datetime.date(YEAR, *day),
        starts_at=datetime.time(*start),
        ends_at=datetime.time(*end),
        topic=topic,
        place="学院会议室",
        whole_branch=members is None,
        members=members or (),
    )


def marks(world, meeting, **by_index):
    """Everyone present except those given: {index: (status, reason)} by position in world.m."""
    chosen = {m.pk: ("present", "") for m in (a.member for a in meeting.attendees.all())}
    for index, mark in by_index.items():
        chosen[world.m[int(index[1:])].pk] = mark
    return chosen


def lines_of(member):
    return list(LedgerEntry.objects.filter(member=member).order_by("id"))


# ── scheduling ───────────────────────────────────────────────────────────────────────────────


def test_a_meeting_of_the_whole_branch_expects_every_member_still_in_it_and_not_exempted(a_year, clock):
    w = a_year
    w.m[3].exempt, w.m[3].exemption_reason = True, "年老体弱"
    w.m[3].save()
    meeting = schedule(w)
    assert sorted(a.member.number for a in meeting.attendees.all()) == sorted(m.number for m in w.m if m != w.m[3])
    event = AuditEvent.objects.get(action="meeting.schedule")
    assert event.after["topic"] == "学习党章" and event.after["whole_branch"] is True
    assert w.m[3].number not in event.after["expected"]


def test_a_meeting_of_chosen_members_and_its_refusals(a_year):
    w = a_year
    meeting = schedule(w, members=[w.m[1], w.m[2]], kind="committee")
    assert {a.member for a in meeting.attendees.all()} == {w.m[1], w.m[2]}
    assert not meeting.whole_branch
    with pytest.raises(ApplicationError, match="只能选择本支部的党员"):
        schedule(w, members=[w.m[1], w.a2_members[0]])
    with pytest.raises(ApplicationError, match="结束时间应晚于开始时间"):
        schedule(w, start=(16, 0), end=(15, 0))
    with pytest.raises(PermissionDenied):
        meetings.meeting_schedule(
            actor=w.member,
            branch=w.A1,
            kind="general",
            date=datetime.date(YEAR, 3, 5),
            starts_at=datetime.time(9),
            ends_at=datetime.time(10),
            topic="x",
        )
    assert Meeting.objects.count() == 1


def test_the_schedule_page_keeps_what_was_typed_on_a_refusal_and_schedules(a_year, login):
    w = a_year
    client = login(w.secretary)
    url = reverse("meeting_new", args=[w.A1.pk])
    assert client.get(url).status_code == 200
    data = {
        "kind": "lecture",
        "date": f"{YEAR}-03-05",
        "starts_at": "14:00",
        "ends_at": "13:00",
        "topic": "专题党课",
        "place": "报告厅",
        "expected": "chosen",
        "members": [],
    }
    page = client.post(url, data)
    assert page.status_code == 400
    assert "请至少选择一名应到党员" in html(page) and "专题党课" in html(page)
    data["members"] = [w.m[1].pk, w.m[4].pk]
    page = client.post(url, data)
    assert page.status_code == 400 and "结束时间应晚于开始时间" in html(page)
    data["ends_at"] = "16:00"
    response = client.post(url, data)
    meeting = Meeting.objects.get()
    assert response["Location"] == reverse("meeting_detail", args=[meeting.pk])
    assert meeting.get_kind_display() == "党课" and meeting.attendees.count() == 2
    listing = html(client.get(reverse("meeting_list", args=[w.A1.pk])))
    assert "专题党课" in listing
    assert reverse("meeting_list", args=[w.A1.pk]) in html(client.get(reverse("branch_reviews", args=[w.A1.pk])))
    assert reverse("meeting_list", args=[w.A1.pk]) in html(client.get(reverse("home")))


# ── attendance → ledger ──────────────────────────────────────────────────────────────────────


def test_policy_a_an_unexcused_absence_deducts_two_points_on_a_b01_and_nothing_else_is_written(a_year, clock):
    w = a_year
    clock(3, 5, 17)
    meeting = schedule(w)
    meetings.attendance_save(
        actor=w.secretary, meeting=meeting, marks=marks(w, meeting, m2=("excused", "出差"), m3=("absent", ""))
    )
    [line] = LedgerEntry.objects.filter(member__branch=w.A1)
    assert (line.member, line.item.code, line.points, line.period) == (w.m[3], "A-B01", -200, w.s1)
    assert line.occurred_on == datetime.date(YEAR, 3, 5) and line.recorded_by == w.secretary
    assert "缺席支部党员大会" in line.reason and "学习党章" in line.reason
    row = MeetingAttendee.objects.get(meeting=meeting, member=w.m[3])
    assert (row.status, row.recorded_status, row.entry) == ("absent", "absent", line)
    excused = MeetingAttendee.objects.get(meeting=meeting, member=w.m[2])
    assert (excused.status, excused.reason, excused.entry) == ("excused", "出差", None)
    event = AuditEvent.objects.get(action="meeting.attendance_save")
    assert event.before[w.m[3].number] == {"status": "", "reason": ""}
    assert event.after[w.m[3].number] == {"status": "absent", "reason": ""}
    assert event.after[w.m[2].number] == {"status": "excused", "reason": "出差"}
    assert AuditEvent.objects.filter(action="ledger.record", target_id=str(line.pk)).count() == 1
    assert w.m[3].year_totals.get(year=YEAR).period_scores["1"] == 5800  # 60 less 2


def test_policy_b_an_unexcused_absence_deducts_one_point_on_b_base_life(b_year, clock):
    w = b_year
    meeting = schedule(w, kind="theme_day", day=(5, 20))
    meetings.attendance_save(actor=w.recorder, meeting=meeting, marks=marks(w, meeting, m4=("absent", "")))
    [line] = LedgerEntry.objects.filter(member__branch=w.A1)
    assert (line.member, line.item.code, line.points, line.period) == (w.m[4], "B-BASE-LIFE", -100, w.q[2])
    assert w.m[4].year_totals.get(year=YEAR).total == 7900


def test_a_rule_for_the_meetings_own_kind_wins_and_presence_may_earn_a_contribution(a_year):
    w = a_year
    draft = scoring.scheme_new_version(actor=w.secretary, scheme=w.scheme)
    scoring.attendance_rule_save(
        actor=w.secretary,
        scheme=draft,
        data={"meeting_kind": "lecture", "status": "absent", "item": draft.items.get(code="A-B01"), "points": 3},
    )
    scoring.attendance_rule_save(
        actor=w.secretary,
        scheme=draft,
        data={"meeting_kind": "", "status": "present", "item": draft.items.get(code="A-C05"), "points": 1},
    )
    scoring.scheme_submit(actor=w.secretary, scheme=draft)
    scoring.scheme_approve(actor=w.gb_secretary, scheme=draft)
    meeting = schedule(w, kind="lecture")
    meetings.attendance_save(actor=w.secretary, meeting=meeting, marks=marks(w, meeting, m3=("absent", "")))
    lines = {e.member: (e.item.code, e.points) for e in LedgerEntry.objects.filter(member__branch=w.A1)}
    assert lines[w.m[3]] == ("A-B01", -300)
    assert lines[w.m[1]] == ("A-C05", 100)
    assert len(lines) == 5


def test_refusals_name_the_member_and_write_nothing(a_year):
    w = a_year
    meeting = schedule(w)
    with pytest.raises(ApplicationError, match="请假须写明理由：" + w.m[2].name):
        meetings.attendance_save(actor=w.secretary, meeting=meeting, marks=marks(w, meeting, m2=("excused", " ")))
    unmarked = marks(w, meeting)
    del unmarked[w.m[1].pk]
    with pytest.raises(ApplicationError, match="请为每位应到党员选择出勤情况：" + w.m[1].name):
        meetings.attendance_save(actor=w.secretary, meeting=meeting, marks=unmarked)
    # A-B01 caps at 20 a semester: 19 already deducted, the absence's 2 would pass it.
    item = w.scheme.items.get(code="A-B01")
    for points in (5, 5, 5, 4):
        scoring.entry_record(
            actor=w.secretary,
            member=w.m[3],
            item=item,
            period=w.s1,
            points=points,
            reason="缺席",
            occurred_on=datetime.date(YEAR, 2, 1),
        )
    rows, events = LedgerEntry.objects.count(), AuditEvent.objects.count()
    with pytest.raises(ApplicationError) as refused:
        meetings.attendance_save(
            actor=w.secretary, meeting=meeting, marks=marks(w, meeting, m3=("absent", ""), m4=("absent", ""))
        )
    assert refused.value.message.startswith("出勤未保存")
    assert f"{w.m[3].name}：“按时参加组织生活和“三会一课””本期累计不能超过 20 分" in refused.value.message
    assert w.m[4].name not in refused.value.message
    assert (LedgerEntry.objects.count(), AuditEvent.objects.count()) == (rows, events)
    assert set(meeting.attendees.values_list("status", flat=True)) == {""}
    with pytest.raises(PermissionDenied):
        meetings.attendance_save(actor=w.panel, meeting=meeting, marks=marks(w, meeting))


def test_a_correction_reverses_and_re_records_only_what_changed(a_year):
    w = a_year
    meeting = schedule(w)
    meetings.attendance_save(
        actor=w.secretary, meeting=meeting, marks=marks(w, meeting, m3=("absent", ""), m4=("excused", "生病"))
    )
    first = lines_of(w.m[3])[0]
    untouched = LedgerEntry.objects.exclude(member__in=[w.m[3], w.m[4]]).count()
    meetings.attendance_save(
        actor=w.secretary, meeting=meeting, marks=marks(w, meeting, m3=("excused", "补假"), m4=("absent", ""))
    )
    three, four = lines_of(w.m[3]), lines_of(w.m[4])
    assert [(e.points, e.reverses_id) for e in three] == [(-200, None), (200, first.pk)]
    assert "更正支部党员大会" in three[1].reason and "缺席→请假" in three[1].reason
    assert [(e.item.code, e.points, e.reverses_id) for e in four] == [("A-B01", -200, None)]
    assert LedgerEntry.objects.exclude(member__in=[w.m[3], w.m[4]]).count() == untouched == 0
    # Saving again as it stands writes nothing more.
    count = LedgerEntry.objects.count()
    meetings.attendance_save(
        actor=w.secretary, meeting=meeting, marks=marks(w, meeting, m3=("excused", "补假，已说明"), m4=("absent", ""))
    )
    assert LedgerEntry.objects.count() == count
    assert MeetingAttendee.objects.get(meeting=meeting, member=w.m[3]).reason == "补假，已说明"
    assert AuditEvent.objects.filter(action="meeting.attendance_save").count() == 3


def test_the_attendance_page_saves_and_keeps_what_was_typed_on_a_refusal(a_year, login):
    w = a_year
    meeting = schedule(w)
    client = login(w.secretary)
    url = reverse("meeting_attendance", args=[meeting.pk])
    page = html(client.get(url))
    assert "全部出席" in page and page.count('type="radio"') == 3 * 5
    data = {f"status-{m.pk}": "present" for m in w.m}
    data |= {f"status-{w.m[2].pk}": "excused", f"reason-{w.m[2].pk}": "", f"status-{w.m[3].pk}": "absent"}
    response = client.post(url, data)
    assert response.status_code == 400
    assert "请假须写明理由" in html(response)
    assert f'id="status-{w.m[3].pk}-absent" value="absent" checked' in html(response)
    data[f"reason-{w.m[2].pk}"] = "外出培训"
    assert client.post(url, data)["Location"] == reverse("meeting_detail", args=[meeting.pk])
    detail = html(client.get(reverse("meeting_detail", args=[meeting.pk])))
    assert "外出培训" in detail and "缺席" in detail
    assert LedgerEntry.objects.get(member=w.m[3]).points == -200


@pytest.mark.parametrize("size", [20, 80])  # a branch of 80 members in one request
def test_saving_a_whole_meetings_attendance_takes_the_same_queries_at_any_size(
    a_year, login, django_assert_num_queries, size
):
    w = a_year
    add_members(w.A1, size - len(w.m), start=300)
    meeting = schedule(w)
    members = [a.member for a in meeting.attendees.all()]
    assert len(members) == size
    data = {f"status-{m.pk}": "absent" if n % 3 == 0 else "present" for n, m in enumerate(members)}
    client = login(w.secretary)
    url = reverse("meeting_attendance", args=[meeting.pk])
    with django_assert_num_queries(ATTENDANCE_QUERIES):
        assert client.post(url, data).status_code == 302
    assert LedgerEntry.objects.count() == len(range(0, size, 3))


# PostgreSQL adds one advisory lock each for the ledger's and the audit log's chains and the totals.
ATTENDANCE_QUERIES = 44 if connection.vendor == "sqlite" else 47


# ── QR sign-in ───────────────────────────────────────────────────────────────────────────────


def test_a_member_signs_in_by_the_qr_code_and_the_secretary_sees_it(a_year, clock, login):
    w = a_year
    meeting = schedule(w)
    clock(3, 5, 14)
    secretary = login(w.secretary)
    screen = html(secretary.get(reverse("meeting_qr", args=[meeting.pk])))
    token = meetings.sign_in_token(meeting.pk, meetings.sign_in_slot())
    url = reverse("meeting_sign_in", args=[meeting.pk, token])
    assert f'data-sign-in-url="http://testserver{url}"' in screen and "<svg" in screen
    member = w.m[4]
    client = login(member.user)
    page = html(client.get(url))
    assert "确认签到" in page and "学习党章" in page
    assert "签到成功" in html(client.post(url))
    row = MeetingAttendee.objects.get(meeting=meeting, member=member)
    assert row.status == "present" and row.signed_in_at is not None and row.recorded_status == ""
    event = AuditEvent.objects.get(action="meeting.sign_in")
    assert event.actor == member.user and event.after["member"] == member.number
    assert not LedgerEntry.objects.filter(member=member).exists()
    secretary = login(w.secretary)  # the same test client, logged in again
    feed = secretary.get(reverse("meeting_attendance", args=[meeting.pk]), HTTP_HX_REQUEST="true")
    assert f'id="signed-in-{member.pk}"' in html(feed) and 'hx-swap-oob="true"' in html(feed)
    assert "已扫码签到 1 / 5 人" in html(feed)
    page = html(secretary.get(reverse("meeting_attendance", args=[meeting.pk])))
    assert f'id="status-{member.pk}-present" value="present" checked' in page


def test_every_sign_in_refusal_says_why_and_changes_nothing(a_year, clock, login):
    w = a_year
    meeting = schedule(w, members=[w.m[3], w.m[4]])

    def attempt(user, token=None):
        token = token or meetings.sign_in_token(meeting.pk, meetings.sign_in_slot())
        response = login(user).post(reverse("meeting_sign_in", args=[meeting.pk, token]))
        assert response.status_code == 400
        return html(response)

    clock(3, 5, 13)  # 13:00, an hour before 14:00
    assert "不在签到时间内" in attempt(w.member)
    clock(3, 5, 16)  # 16:00 is the end: still open
    clock(3, 5, 17)
    assert "不在签到时间内" in attempt(w.member)
    clock(3, 5, 14)
    assert "签到二维码已过期或无效" in attempt(w.member, "0" * 32)
    old = meetings.sign_in_token(meeting.pk, meetings.sign_in_slot() - 2)
    assert "签到二维码已过期或无效" in attempt(w.member, old)
    refused = attempt(w.m[1].user)
    assert "您不在本次会议的应到名单中" in refused and "学习党章" not in refused
    assert "没有对应的党员信息" in attempt(w.mass_rep)
    assert not MeetingAttendee.objects.filter(meeting=meeting).exclude(signed_in_at=None).exists()
    assert not AuditEvent.objects.filter(action="meeting.sign_in").exists()
    # The previous slot's code still works (scanned just before it changed); a second sign-in does not.
    previous = meetings.sign_in_token(meeting.pk, meetings.sign_in_slot() - 1)
    assert login(w.member).post(reverse("meeting_sign_in", args=[meeting.pk, previous])).status_code == 200
    assert "您已于" in attempt(w.member) and "无须重复签到" in attempt(w.member)
    assert AuditEvent.objects.filter(action="meeting.sign_in").count() == 1


def test_the_sign_in_window_opens_half_an_hour_before_the_start(a_year):
    w = a_year
    meeting = schedule(w)
    opens, closes = meetings.sign_in_window(meeting)
    assert opens == datetime.datetime(YEAR, 3, 5, 13, 30, tzinfo=SHANGHAI)
    assert closes == datetime.datetime(YEAR, 3, 5, 16, 0, tzinfo=SHANGHAI)
    # A code shown a second before the window opened is still good when it opens (the previous slot).
    token = meetings.sign_in_token(meeting.pk, meetings.sign_in_slot(opens - datetime.timedelta(seconds=1)))
    assert meetings.sign_in_check(actor=w.member, meeting=meeting, token=token, now=opens).member == w.m[4]
    with pytest.raises(ApplicationError, match="不在签到时间内"):
        meetings.sign_in_check(actor=w.member, meeting=meeting, token=token, now=opens - datetime.timedelta(seconds=1))


def test_an_anonymous_visitor_is_sent_to_log_in_and_back(a_year, client):
    w = a_year
    meeting = schedule(w)
    url = reverse("meeting_sign_in", args=[meeting.pk, "x"])
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].endswith(f"?next={url}")


# ── the meeting record ───────────────────────────────────────────────────────────────────────


def test_the_minutes_and_photos_are_kept_with_the_meeting_and_served_only_to_its_readers(a_year, login):
    w = a_year
    meeting = schedule(w)
    client = login(w.secretary)
    url = reverse("meeting_detail", args=[meeting.pk])
    photo = SimpleUploadedFile("会场照片.png", PNG, content_type="image/png")
    assert client.post(url, {"minutes": "一、学习党章；二、讨论", "files": [photo]}).status_code == 302
    meeting.refresh_from_db()
    assert meeting.minutes == "一、学习党章；二、讨论"
    [attachment] = meeting.attachments.all()
    event = AuditEvent.objects.get(action="meeting.record_save")
    assert event.after == {"minutes": "一、学习党章；二、讨论", "attachments": ["会场照片.png"]}
    file_url = reverse("evidence_meeting", args=[attachment.pk])
    assert file_url in html(client.get(url))
    served = client.get(file_url)
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert served["Cache-Control"] == "private, no-store"
    assert login(w.member).get(file_url).status_code == 403
    assert login(w.a2_members[0].user).get(url).status_code == 403
    bad = SimpleUploadedFile("纪要.html", b"<script>", content_type="text/html")
    page = login(w.secretary).post(url, {"minutes": "改过的记录", "files": [bad]})
    assert page.status_code == 400 and "类型不支持" in html(page) and "改过的记录" in html(page)
    assert login(w.panel).post(url, {"minutes": "x"}).status_code == 403


def test_the_branch_workbook_lists_the_years_meetings(a_year):
    w = a_year
    meeting = schedule(w)
    meetings.attendance_save(
        actor=w.secretary, meeting=meeting, marks=marks(w, meeting, m2=("excused", "出差"), m3=("absent", ""))
    )
    meetings.meeting_record_save(actor=w.secretary, meeting=meeting, minutes="学习党章第一章")
    schedule(w, kind="committee", day=(4, 1), members=[w.m[0], w.m[1]], topic="研究发展党员")
    output = io.BytesIO()
    write_branch_workbook(output, organization=w.A1, year=YEAR)
    sheet = openpyxl.load_workbook(output)["会议记录"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:7] == ("日期", "时间", "党支部", "会议类型", "主题", "地点", "应到")
    first, second = rows[2], rows[3]
    assert first[0].date() == datetime.date(YEAR, 3, 5)
    assert first[1:12] == (
        "14:00—16:00",
        "甲一支部",
        "支部党员大会",
        "学习党章",
        "学院会议室",
        5,
        3,
        "、".join(m.name for m in (w.m[0], w.m[1], w.m[4])),
        f"{w.m[2].name}（出差）",
        w.m[3].name,
        "学习党章第一章",
    )
    assert second[3:8] == ("支委会", "研究发展党员", "学院会议室", 2, 0)


def test_members_see_the_meetings_they_were_expected_at_on_their_points_card(a_year, login):
    w = a_year
    meeting = schedule(w)
    meetings.attendance_save(actor=w.secretary, meeting=meeting, marks=marks(w, meeting, m4=("excused", "生病")))
    schedule(w, kind="committee", members=[w.m[0], w.m[1]], topic="支委会议题")
    card = html(login(w.member).get(reverse("points_card", args=[w.m[4].pk]) + f"?year={YEAR}"))
    assert "参加会议" in card and "支部党员大会：学习党章" in card and "请假（生病）" in card
    assert "支委会议题" not in card


# ── the scheme's attendance rules ────────────────────────────────────────────────────────────


def test_attendance_rules_are_copied_with_a_new_version_and_edited_on_the_scheme_page(a_year, login):
    w = a_year
    [rule] = w.scheme.attendance_rules.all()
    assert (rule.meeting_kind, rule.status, rule.item.code, rule.points) == ("", "absent", "A-B01", 2)
    assert rule.item.scheme == w.scheme  # the derived scheme's own item, not the reference's
    draft = scoring.scheme_new_version(actor=w.secretary, scheme=w.scheme)
    [copied] = draft.attendance_rules.all()
    assert copied.item == draft.items.get(code="A-B01") and copied.points == 2
    client = login(w.secretary)
    page = html(client.get(reverse("scheme_detail", args=[draft.pk])))
    assert "会议考勤记分规则" in page and reverse("attendance_rule_edit", args=[draft.pk, copied.pk]) in page
    new = reverse("attendance_rule_new", args=[draft.pk])
    duplicate = client.post(new, {"meeting_kind": "", "status": "absent", "item": copied.item.pk, "points": "1"})
    assert duplicate.status_code == 400 and "已有规则" in html(duplicate)
    beyond = client.post(new, {"meeting_kind": "life", "status": "absent", "item": copied.item.pk, "points": "9"})
    assert beyond.status_code == 400 and "每次分值应在 1—5 分之间" in html(beyond)
    foreign = client.post(
        new, {"meeting_kind": "life", "status": "absent", "item": w.scheme.items.first().pk, "points": "2"}
    )
    assert foreign.status_code == 400
    assert (
        client.post(
            new, {"meeting_kind": "life", "status": "absent", "item": copied.item.pk, "points": "4"}
        ).status_code
        == 302
    )
    assert AuditEvent.objects.filter(action="scheme.attendance_rule_save").count() == 1
    page = html(client.post(reverse("scheme_part_remove", args=[draft.pk, "item", copied.item.pk]), follow=True))
    assert "会议考勤记分规则用到该项目" in page
    client.post(reverse("scheme_part_remove", args=[draft.pk, "attendance", copied.pk]))
    assert list(draft.attendance_rules.values_list("meeting_kind", flat=True)) == ["life"]
    assert AuditEvent.objects.filter(action="scheme.attendance_rule_remove").count() == 1
    frozen = client.post(
        reverse("attendance_rule_new", args=[w.scheme.pk]),
        {"meeting_kind": "", "status": "present", "item": rule.item.pk, "points": "1"},
    )
    assert frozen.status_code == 400 and "新建版本" in html(frozen)
    assert login(w.panel).get(new).status_code == 403


def test_policy_b_preset_maps_an_absence_to_one_point_on_b_base_life(b_year):
    [rule] = AttendanceRule.objects.filter(scheme=b_year.scheme)
    assert (rule.status, rule.item.code, rule.points) == ("absent", "B-BASE-LIFE", 1)
    reference = b_year.scheme.derived_from
    assert reference.attendance_rules.get().item.scheme == reference


def test_an_absence_in_a_year_not_opened_is_refused_by_name(a_year):
    w = a_year
    meeting = schedule(w)
    Period.objects.filter(cycle__year=YEAR, kind="semester", index=1).update(starts_on=datetime.date(YEAR, 3, 6))
    with pytest.raises(ApplicationError, match=f"尚未开启，不能为{w.m[3].name}记分"):
        meetings.attendance_save(actor=w.secretary, meeting=meeting, marks=marks(w, meeting, m3=("absent", "")))


@pytest.mark.parametrize("count", [1, 4])
def test_the_meeting_pages_the_card_and_the_workbook_take_the_same_queries_at_any_size(
    a_year, login, django_assert_num_queries, count
):
    w = a_year
    for n in range(count):
        meeting = schedule(w, day=(3, 5 + n), topic=f"第{n}次")
        meetings.attendance_save(actor=w.secretary, meeting=meeting, marks=marks(w, meeting, m3=("absent", "")))
        meetings.meeting_record_save(
            actor=w.secretary,
            meeting=meeting,
            minutes="记录",
            files=[SimpleUploadedFile(f"照片{k}.png", PNG, content_type="image/png") for k in range(n + 1)],
        )
    client = login(w.secretary)
    pages = [
        (reverse("meeting_list", args=[w.A1.pk]), 9),
        (reverse("meeting_detail", args=[meeting.pk]), 9),
        (reverse("meeting_attendance", args=[meeting.pk]), 8),
        (reverse("meeting_qr", args=[meeting.pk]), 9),
        (reverse("points_card", args=[w.m[3].pk]), 15),
    ]
    for url, queries in pages:
        client.get(url)
        with django_assert_num_queries(queries):
            assert client.get(url).status_code == 200
    with django_assert_num_queries(9):
        write_branch_workbook(io.BytesIO(), organization=w.A1, year=YEAR)


def test_a_meeting_of_one_party_group_expects_its_members(a_year, login):
    """党小组会: the branch's party groups are offered; choosing one expects its members (not exempted)."""
    w = a_year
    Member.objects.filter(pk__in=[w.m[1].pk, w.m[3].pk]).update(party_group="第一党小组")
    Member.objects.filter(pk=w.m[4].pk).update(party_group="第二党小组")
    client = login(w.secretary)
    url = reverse("meeting_new", args=[w.A1.pk])
    page = html(client.get(url))
    assert "一个党小组" in page and "第一党小组" in page and "第二党小组" in page
    data = {
        "kind": "group",
        "date": f"{YEAR}-03-05",
        "starts_at": "14:00",
        "ends_at": "15:00",
        "topic": "小组学习",
        "expected": "group",
        "party_group": "",
    }
    refused = client.post(url, data)
    assert refused.status_code == 400 and "请选择有党员的党小组" in html(refused) and not Meeting.objects.exists()
    data["party_group"] = "第一党小组"
    assert client.post(url, data).status_code == 302
    meeting = Meeting.objects.get()
    assert {a.member for a in meeting.attendees.all()} == {w.m[1], w.m[3]} and not meeting.whole_branch


def test_a_branch_without_party_groups_is_not_offered_them(a_year, login):
    page = html(login(a_year.secretary).get(reverse("meeting_new", args=[a_year.A1.pk])))
    assert "一个党小组" not in page
