"""Branch meetings (三会一课, 主题党日, 组织生活会): scheduling, attendance for the whole meeting at once,
QR sign-in from phones, and the meeting record (会议记录) — the services and the selectors.

Attendance is scored by the scheme's attendance rules (scoring.AttendanceRule): saving it writes the
lines for the whole meeting in one `entries_record_bulk` (all or nothing), and a later correction
reverses only the lines whose member's attendance changed, then records the new ones.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N

from members import permissions as perms
from partyscore.core.audit import audit_record
from partyscore.core.exceptions import ApplicationError
from scoring import services as scoring
from scoring.exports import DATE, INT, TEXT, WRAP, Column
from scoring.io_selectors import LINE_CHUNK
from scoring.models import AttendanceRule, AttendanceStatus, LedgerEntry, MeetingKind, Period
from scoring.selectors import schemes_in_force

from .models import Meeting, MeetingAttachment, MeetingAttendee

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from django.core.files.uploadedfile import UploadedFile
    from django.db.models import QuerySet

    from members.models import Member, Organization, User
    from scoring.exports import Book, BranchChunk
    from scoring.models import Scheme

# The QR code changes every SLOT seconds; a token is good for its slot and the one after it, so a code
# scanned just before it changes still signs in.
SIGN_IN_SLOT_SECONDS = 30
# Members may sign in from this long before the start until the end.
SIGN_IN_EARLY = datetime.timedelta(minutes=30)


def _require(actor: User, meeting_or_branch: Meeting | Organization, perm: str = perms.ENTRY_RECORD) -> None:
    branch = getattr(meeting_or_branch, "branch", meeting_or_branch)
    if not perms.has_org_perm(actor, perm, branch):
        raise PermissionDenied(_("您无权管理“%(org)s”的会议") % {"org": branch})


# ── scheduling and the record ────────────────────────────────────────────────────────────────


@transaction.atomic
def meeting_schedule(
    *,
    actor: User,
    branch: Organization,
    kind: str,
    date: datetime.date,
    starts_at: datetime.time,
    ends_at: datetime.time,
    topic: str,
    place: str = "",
    whole_branch: bool = True,
    members: Iterable[Member] = (),
) -> Meeting:
    """A secretary or recorder schedules a meeting; the members expected are the whole branch (those
    still in it and not exempted) or the chosen ones."""
    _require(actor, branch)
    current = branch.members.filter(left_on__isnull=True)
    if whole_branch:
        expected = list(current.filter(exempt=False))
    else:
        chosen = {m.pk for m in members}
        expected = list(current.filter(pk__in=chosen))
        if len(expected) != len(chosen):
            raise ApplicationError(_("只能选择本支部的党员"))
    if not expected:
        raise ApplicationError(_("请至少选择一名应到党员"))
    if ends_at <= starts_at:
        raise ApplicationError(_("结束时间应晚于开始时间"))
    meeting = Meeting(
        branch=branch,
        kind=kind,
        date=date,
        starts_at=starts_at,
        ends_at=ends_at,
        topic=(topic or "").strip(),
        place=(place or "").strip(),
        whole_branch=whole_branch,
        scheduled_by=actor,
    )
    meeting.full_clean()
    meeting.save()
    MeetingAttendee.objects.bulk_create([MeetingAttendee(meeting=meeting, member=m) for m in expected])
    audit_record(
        actor=actor,
        action="meeting.schedule",
        target=meeting,
        organization=branch,
        after={
            "kind": kind,
            "date": date,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "topic": meeting.topic,
            "place": meeting.place,
            "whole_branch": whole_branch,
            "expected": sorted(m.number for m in expected),
        },
    )
    return meeting


@transaction.atomic
def meeting_record_save(*, actor: User, meeting: Meeting, minutes: str, files: Sequence[UploadedFile] = ()) -> Meeting:
    """The meeting record: the minutes, and photos or PDFs kept with the meeting."""
    _require(actor, meeting)
    scoring.evidence_check(files)
    before = meeting.minutes
    meeting.minutes = (minutes or "").strip()
    meeting.save(update_fields=["minutes"])
    for upload in files:
        MeetingAttachment.objects.create(meeting=meeting, file=upload, name=upload.name[:200], uploaded_by=actor)
    audit_record(
        actor=actor,
        action="meeting.record_save",
        target=meeting,
        organization=meeting.branch,
        before={"minutes": before},
        after={"minutes": meeting.minutes, "attachments": [f.name for f in files]},
    )
    return meeting


# ── attendance ───────────────────────────────────────────────────────────────────────────────


def _rule_for(
    rules: dict[tuple[int, str, str], AttendanceRule], scheme: Scheme | None, kind: str, status: str
) -> AttendanceRule | None:
    """The scheme's rule for this kind of meeting, else its rule for any meeting, else none."""
    if scheme is None:
        return None
    return rules.get((scheme.pk, kind, status)) or rules.get((scheme.pk, "", status))


@transaction.atomic
def attendance_save(*, actor: User, meeting: Meeting, marks: dict[int, tuple[str, str | None]]) -> Meeting:
    """Save the attendance of every expected member at once. `marks` maps a member's id to
    (status, reason); a leave (请假) needs its reason.

    Only members whose attendance differs from what the ledger holds are touched: their earlier line
    (if any) is reversed, and the line the scheme's rule gives the new status (if any) is recorded
    with the others in one `entries_record_bulk`, which checks every bound for every member first.
    Any refusal names the member and the rule, and nothing is written."""
    _require(actor, meeting)
    attendees = list(
        meeting.attendees.select_related("member__branch", "entry")
        .annotate(entry_reversed=Exists(LedgerEntry.objects.filter(reverses=OuterRef("entry"))))
        .order_by("member__number")
    )
    statuses = set(AttendanceStatus.values)
    unmarked = [a.member.name for a in attendees if marks.get(a.member_id, ("", ""))[0] not in statuses]
    if unmarked:
        raise ApplicationError(_("请为每位应到党员选择出勤情况：%(names)s") % {"names": "、".join(unmarked)})
    unexplained = [
        a.member.name
        for a in attendees
        if marks[a.member_id][0] == AttendanceStatus.EXCUSED and not (marks[a.member_id][1] or "").strip()
    ]
    if unexplained:
        raise ApplicationError(_("请假须写明理由：%(names)s") % {"names": "、".join(unexplained)})

    year = meeting.date.year
    schemes = schemes_in_force(branch=meeting.branch, year=year)
    rules = {
        (r.scheme_id, r.meeting_kind, r.status): r
        for r in AttendanceRule.objects.filter(scheme__in={s.pk for s in schemes.values()}).select_related("item")
    }
    periods = {
        p.kind: p
        for p in Period.objects.filter(
            cycle__year=year, starts_on__lte=meeting.date, ends_on__gte=meeting.date
        ).select_related("cycle")
    }
    label = f"{meeting.get_kind_display()}（{meeting.date:%Y-%m-%d}，{meeting.topic}）"
    lines, gets_line, before, after = [], [], {}, {}
    for attendee in attendees:
        status, reason = marks[attendee.member_id]
        reason = (reason or "").strip() if status == AttendanceStatus.EXCUSED else ""
        number = attendee.member.number
        before[number] = {"status": attendee.status, "reason": attendee.reason}
        after[number] = {"status": status, "reason": reason}
        attendee.status, attendee.reason = status, reason
        if status == attendee.recorded_status:
            continue
        if attendee.entry is not None and not attendee.entry_reversed:
            correction = _("更正%(meeting)s出勤：%(old)s→%(new)s") % {
                "meeting": label,
                "old": AttendanceStatus(attendee.recorded_status).label,
                "new": AttendanceStatus(status).label,
            }
            scoring.entry_reverse(actor=actor, entry=attendee.entry, reason=correction)
        attendee.entry, attendee.recorded_status = None, status
        scheme = schemes.get(attendee.member.category)
        rule = _rule_for(rules, scheme, meeting.kind, status)
        if rule is None:
            continue
        period = periods.get(scheme.period_kind)
        if period is None:
            raise ApplicationError(
                _("%(year)s年度尚未开启，不能为%(member)s记分") % {"year": year, "member": attendee.member.name}
            )
        lines.append(
            scoring.EntryLine(
                attendee.member,
                rule.item,
                period,
                rule.points,
                f"{AttendanceStatus(status).label}{label}",
                meeting.date,
            )
        )
        gets_line.append(attendee)
    if lines:
        try:
            entries = scoring.entries_record_bulk(actor=actor, lines=lines)
        except scoring.BulkEntryRefused as refused:
            raise ApplicationError(
                _("出勤未保存，以下记分未通过检查：%(lines)s")
                % {"lines": "；".join(f"{e.member.name}：{e.message}" for e in refused.errors)}
            ) from refused
        for attendee, entry in zip(gets_line, entries, strict=True):
            attendee.entry = entry
    MeetingAttendee.objects.bulk_update(attendees, ["status", "reason", "recorded_status", "entry"])
    meeting.attendance_saved_at = timezone.now()
    meeting.save(update_fields=["attendance_saved_at"])
    audit_record(
        actor=actor,
        action="meeting.attendance_save",
        target=meeting,
        organization=meeting.branch,
        before=before,
        after=after,
    )
    return meeting


# ── QR sign-in ───────────────────────────────────────────────────────────────────────────────


def sign_in_slot(now: datetime.datetime | None = None) -> int:
    return int((now or timezone.now()).timestamp()) // SIGN_IN_SLOT_SECONDS


def sign_in_token(meeting_id: int, slot: int) -> str:
    """HMAC (keyed by SECRET_KEY) of the meeting and the time slot: nobody can make one for a later slot."""
    return salted_hmac("reviews.meetings.sign_in", f"{meeting_id}:{slot}").hexdigest()[:32]


def sign_in_token_valid(meeting_id: int, token: str, now: datetime.datetime | None = None) -> bool:
    slot = sign_in_slot(now)
    return any(constant_time_compare(token, sign_in_token(meeting_id, s)) for s in (slot, slot - 1))


def sign_in_window(meeting: Meeting) -> tuple[datetime.datetime, datetime.datetime]:
    """(from, until): half an hour before the start until the end, in the site's time zone."""
    start = timezone.make_aware(datetime.datetime.combine(meeting.date, meeting.starts_at))
    end = timezone.make_aware(datetime.datetime.combine(meeting.date, meeting.ends_at))
    return start - SIGN_IN_EARLY, end


def sign_in_check(
    *, actor: User, meeting: Meeting, token: str, now: datetime.datetime | None = None
) -> MeetingAttendee:
    """The member's own row of the meeting, or ApplicationError saying why they cannot sign in. Who is not
    expected learns nothing about the meeting."""
    member = getattr(actor, "member", None)
    if member is None:
        raise ApplicationError(_("您的账号没有对应的党员信息，不能签到"))
    attendee = MeetingAttendee.objects.filter(meeting=meeting, member=member).first()
    if attendee is None:
        raise ApplicationError(_("您不在本次会议的应到名单中，不能签到"))
    if not sign_in_token_valid(meeting.pk, token, now):
        raise ApplicationError(_("签到二维码已过期或无效，请重新扫描会场屏幕上的二维码"))
    opens, closes = sign_in_window(meeting)
    if not opens <= (now or timezone.now()) <= closes:
        raise ApplicationError(_("不在签到时间内：会议开始前 30 分钟至会议结束可以签到"))
    if attendee.signed_in_at is not None:
        raise ApplicationError(
            _("您已于 %(time)s 签到，无须重复签到")
            % {"time": timezone.localtime(attendee.signed_in_at).strftime("%H:%M")}
        )
    return attendee


@transaction.atomic
def meeting_sign_in(
    *, actor: User, meeting: Meeting, token: str, now: datetime.datetime | None = None
) -> MeetingAttendee:
    """A member signs in by the QR code: marked present (the ledger follows when the attendance is saved)."""
    attendee = sign_in_check(actor=actor, meeting=meeting, token=token, now=now)
    before = attendee.status
    attendee.status, attendee.reason = AttendanceStatus.PRESENT, ""
    attendee.signed_in_at = now or timezone.now()
    attendee.save(update_fields=["status", "reason", "signed_in_at"])
    audit_record(
        actor=actor,
        action="meeting.sign_in",
        target=meeting,
        organization=meeting.branch,
        before={"status": before},
        after={"member": attendee.member.number, "status": attendee.status, "signed_in_at": attendee.signed_in_at},
    )
    return attendee


# ── selectors ────────────────────────────────────────────────────────────────────────────────


def _counted(meetings: QuerySet[Meeting]) -> QuerySet[Meeting]:
    def count(status):
        return Count("attendees", filter=Q(attendees__status=status))

    return meetings.annotate(
        expected=Count("attendees"),
        present=count(AttendanceStatus.PRESENT),
        excused=count(AttendanceStatus.EXCUSED),
        absent=count(AttendanceStatus.ABSENT),
    )


def branch_meetings(*, actor: User, branch: Organization, year: int) -> QuerySet[Meeting]:
    """The branch's meetings of the year, newest first, with their attendance counted."""
    _require(actor, branch, perms.LEDGER_VIEW)
    return _counted(Meeting.objects.filter(branch=branch, date__year=year))


def meeting_get(*, actor: User, meeting_id: int, perm: str = perms.LEDGER_VIEW) -> Meeting:
    meeting = Meeting.objects.select_related("branch", "scheduled_by").filter(pk=meeting_id).first()
    if meeting is None or not perms.has_org_perm(actor, perm, meeting.branch):
        raise PermissionDenied(_("您无权查看该会议"))
    return meeting


def meeting_attendees(*, meeting: Meeting) -> QuerySet[MeetingAttendee]:
    return meeting.attendees.select_related("member").order_by("member__number")


def meeting_attachment_get(*, actor: User, attachment_id: int) -> MeetingAttachment:
    """A meeting's file, for whoever sees the meeting."""
    attachment = MeetingAttachment.objects.select_related("meeting__branch").filter(pk=attachment_id).first()
    if attachment is None or not perms.has_org_perm(actor, perms.LEDGER_VIEW, attachment.meeting.branch):
        raise PermissionDenied(_("您无权查看该会议附件"))
    return attachment


def member_meetings(*, member: Member, year: int) -> list[MeetingAttendee]:
    """The meetings of the year a member was expected at, with their attendance (for the points card)."""
    if not datetime.MINYEAR <= year <= datetime.MAXYEAR:  # the card answers any ?year=, even -1
        return []
    return list(
        MeetingAttendee.objects.filter(member=member, meeting__date__year=year)
        .select_related("meeting")
        .order_by("meeting__date", "meeting__starts_at")
    )


def points_card_meetings(*, member: Member, year: int) -> dict[str, list[MeetingAttendee]]:
    """The points card's section (registered in ReviewsConfig.ready): one query."""
    return {"attendances": member_meetings(member=member, year=year)}


def workbook_meetings(*, branches: Iterable[int], year: int) -> Iterator[dict[str, Any]]:
    """The year's meetings of `branches` (ids), in branch and date order, as dicts: one query, streamed."""
    return (
        Meeting.objects.filter(branch_id__in=branches, date__year=year)
        .order_by("branch__path", "date", "starts_at", "id")
        .values("id", "branch_id", "branch__name", "kind", "date", "starts_at", "ends_at", "topic", "place", "minutes")
        .iterator(chunk_size=LINE_CHUNK)
    )


def workbook_attendees(*, branches: Iterable[int], year: int) -> Iterator[tuple[Any, ...]]:
    """(meeting id, member name, status, reason, branch id) of every member expected at those
    meetings, in the meetings' order and by member number: one query, streamed."""
    return (
        MeetingAttendee.objects.filter(meeting__branch_id__in=branches, meeting__date__year=year)
        .order_by("meeting__branch__path", "meeting__date", "meeting__starts_at", "meeting_id", "member__number")
        .values_list("meeting_id", "member__name", "status", "reason", "meeting__branch_id")
        .iterator(chunk_size=LINE_CHUNK)
    )


# ── the workbook's 会议记录 sheet ─────────────────────────────────────────────────────────────


def _names(attendees: Iterable[tuple[Any, ...]], status: str, with_reason: bool = False) -> str:
    return "、".join(
        f"{name}（{reason}）" if with_reason and reason else name
        for _meeting, name, attended, reason, _branch in attendees
        if attended == status
    )


MEETING_COLUMNS = (
    Column(N("日期"), DATE, 11),
    Column(N("时间"), TEXT, 12),
    Column(N("党支部"), TEXT, 16),
    Column(N("会议类型"), TEXT, 12),
    Column(N("主题"), WRAP, 24),
    Column(N("地点"), TEXT, 14),
    Column(N("应到"), INT, 6),
    Column(N("实到"), INT, 6),
    Column(N("出席"), WRAP, 24),
    Column(N("请假（理由）"), WRAP, 24),
    Column(N("缺席"), WRAP, 18),
    Column(N("会议记录"), WRAP, 40),
)


def write_meetings_sheet(book: Book, *, organization: Organization, year: int, chunk: BranchChunk) -> None:
    """The branch workbook's sheet 会议记录 (registered in ReviewsConfig.ready; docs/formats.md). Two
    queries for the whole chunk of branches (scoring.exports.BranchChunk)."""
    sheet = book.sheet(_("会议记录"), MEETING_COLUMNS)
    sheet.title(_("%(org)s %(year)s年度会议记录") % {"org": organization.name, "year": year})
    sheet.header()
    kinds = {kind: str(label) for kind, label in MeetingKind.choices}
    attendees = chunk.rows(
        "reviews.attendees", lambda ids: workbook_attendees(branches=ids, year=year), lambda row: row[-1]
    )
    pending = next(attendees, None)
    meetings = chunk.rows(
        "reviews.meetings", lambda ids: workbook_meetings(branches=ids, year=year), lambda row: row["branch_id"]
    )
    for meeting in meetings:
        expected = []
        while pending is not None and pending[0] == meeting["id"]:
            expected.append(pending)
            pending = next(attendees, None)
        present = sum(1 for row in expected if row[2] == AttendanceStatus.PRESENT)
        sheet.line(
            [
                meeting["date"],
                f"{meeting['starts_at']:%H:%M}—{meeting['ends_at']:%H:%M}",
                meeting["branch__name"],
                kinds.get(meeting["kind"], meeting["kind"]),
                meeting["topic"],
                meeting["place"],
                len(expected),
                present,
                _names(expected, AttendanceStatus.PRESENT),
                _names(expected, AttendanceStatus.EXCUSED, with_reason=True),
                _names(expected, AttendanceStatus.ABSENT),
                meeting["minutes"],
            ]
        )
    sheet.autofilter()
    sheet.done()
