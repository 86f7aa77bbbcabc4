"""Thin views of the branch meetings: list, scheduling, the meeting and its record, attendance for the
whole meeting on one page, the QR screen and the member's sign-in page."""

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from members import permissions as perms
from members import selectors as member_selectors
from partyscore.core.evidence_files import evidence_response
from partyscore.core.exceptions import ApplicationError
from scoring.models import AttendanceStatus
from scoring.selectors import current_cycle

from . import meetings
from .meeting_forms import MeetingForm, MeetingRecordForm
from .models import Meeting


def _branch(request, org_id, perm):
    branch = member_selectors.branch_get(actor=request.user, branch_id=org_id, perm=perm)
    if not branch.is_branch:
        raise Http404
    return branch


def _year(request):
    value = request.GET.get("year", "")
    if value.isdigit() and 2000 <= int(value) <= 2100:
        return int(value)
    cycle = current_cycle()
    return cycle.year if cycle else timezone.localdate().year


@login_required
@require_safe
def meeting_list(request, org_id):
    branch = _branch(request, org_id, perms.LEDGER_VIEW)
    year = _year(request)
    return render(
        request,
        "reviews/meeting_list.html",
        {
            "branch": branch,
            "year": year,
            "meetings": meetings.branch_meetings(actor=request.user, branch=branch, year=year),
            "can_schedule": perms.has_org_perm(request.user, perms.ENTRY_RECORD, branch),
        },
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def meeting_new(request, org_id):
    branch = _branch(request, org_id, perms.ENTRY_RECORD)
    members = branch.members.filter(left_on__isnull=True).order_by("number")
    form = MeetingForm(request.POST or None, members=members, initial={"date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            meeting = meetings.meeting_schedule(
                actor=request.user,
                branch=branch,
                kind=data["kind"],
                date=data["date"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                topic=data["topic"],
                place=data["place"],
                whole_branch=data["whole_branch"],
                members=data["members"] or (),
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("已安排会议：%(meeting)s") % {"meeting": meeting})
            return redirect("meeting_detail", meeting_id=meeting.pk)
    return render(
        request, "reviews/meeting_form.html", {"branch": branch, "form": form}, status=400 if form.errors else 200
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def meeting_detail(request, meeting_id):
    """The meeting, its attendance and its record; who may record attendance also keeps the record here."""
    meeting = meetings.meeting_get(actor=request.user, meeting_id=meeting_id)
    can_record = perms.has_org_perm(request.user, perms.ENTRY_RECORD, meeting.branch)
    if request.method == "POST" and not can_record:
        raise PermissionDenied(_("您无权修改该会议记录"))
    form = MeetingRecordForm(request.POST or None, request.FILES or None, initial={"minutes": meeting.minutes})
    if request.method == "POST" and form.is_valid():
        try:
            meetings.meeting_record_save(
                actor=request.user,
                meeting=meeting,
                minutes=form.cleaned_data["minutes"],
                files=form.cleaned_data["files"],
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("已保存会议记录"))
            return redirect("meeting_detail", meeting_id=meeting.pk)
    return render(
        request,
        "reviews/meeting_detail.html",
        {
            "meeting": meeting,
            "attendees": meetings.meeting_attendees(meeting=meeting),
            "attachments": meeting.attachments.all(),
            "form": form,
            "can_record": can_record,
        },
        status=400 if form.errors else 200,
    )


def _marks(post, attendees):
    """Each expected member's (status, reason) as posted."""
    return {
        a.member_id: (post.get(f"status-{a.member_id}", ""), post.get(f"reason-{a.member_id}", "")) for a in attendees
    }


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def meeting_attendance(request, meeting_id):
    """Everyone's attendance on one page. While the meeting runs the sign-in column polls (htmx) and
    fills in as members sign in by the QR code; the secretary corrects by hand and saves once."""
    meeting = meetings.meeting_get(actor=request.user, meeting_id=meeting_id, perm=perms.ENTRY_RECORD)
    attendees = list(meetings.meeting_attendees(meeting=meeting))
    signed_in = sum(1 for a in attendees if a.signed_in_at)
    if request.htmx and request.method != "POST":
        return render(
            request,
            "reviews/_meeting_sign_ins.html",
            {"meeting": meeting, "attendees": attendees, "signed_in": signed_in, "oob": True},
        )
    error, status = None, 200
    if request.method == "POST":
        marks = _marks(request.POST, attendees)
        try:
            meetings.attendance_save(actor=request.user, meeting=meeting, marks=marks)
        except ApplicationError as refusal:
            error, status = refusal.message, 400
            for attendee in attendees:  # show what was typed
                attendee.status, attendee.reason = marks[attendee.member_id]
        else:
            messages.success(request, _("已保存出勤，并按评分细则记分"))
            return redirect("meeting_detail", meeting_id=meeting.pk)
    return render(
        request,
        "reviews/meeting_attendance.html",
        {
            "meeting": meeting,
            "attendees": attendees,
            "error": error,
            "statuses": AttendanceStatus.choices,
            "signed_in": signed_in,
        },
        status=status,
    )


def _qr(url):
    # segno writes the SVG from our own URL (a path and a hex token): no user text reaches it unescaped.
    return mark_safe(segno.make(url, error="m").svg_inline(scale=6, omitsize=True))  # noqa: S308


@login_required
@require_safe
def meeting_qr(request, meeting_id):
    """The sign-in screen shown in the meeting room: a QR code that changes every 30 seconds."""
    meeting = meetings.meeting_get(actor=request.user, meeting_id=meeting_id, perm=perms.ENTRY_RECORD)
    token = meetings.sign_in_token(meeting.pk, meetings.sign_in_slot())
    url = request.build_absolute_uri(reverse("meeting_sign_in", args=[meeting.pk, token]))
    opens, closes = meetings.sign_in_window(meeting)
    context = {
        "meeting": meeting,
        "url": url,
        "qr": _qr(url),
        "open": opens <= timezone.now() <= closes,
        "signed_in": meeting.attendees.filter(signed_in_at__isnull=False).count(),
        "expected": meeting.attendees.count(),
    }
    template = "reviews/_meeting_qr.html" if request.htmx else "reviews/meeting_qr.html"
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def meeting_sign_in(request, meeting_id, token):
    """Where the QR code leads: the member confirms with one button. A refusal says why and changes nothing."""
    meeting = get_object_or_404(Meeting.objects.select_related("branch"), pk=meeting_id)
    error, attendee = None, None
    try:
        if request.method == "POST":
            attendee = meetings.meeting_sign_in(actor=request.user, meeting=meeting, token=token)
        else:
            meetings.sign_in_check(actor=request.user, meeting=meeting, token=token)
    except ApplicationError as refusal:
        error = refusal.message
    return render(
        request,
        "reviews/meeting_sign_in.html",
        {
            "meeting": meeting,
            "error": error,
            "attendee": attendee,
            # Who is not expected is told so, and nothing about the meeting.
            "show_meeting": error is None or meeting.attendees.filter(member__user=request.user).exists(),
        },
        status=400 if error and request.method == "POST" else 200,
    )


@login_required
@require_safe
def evidence_meeting(request, attachment_id):
    """A meeting's photo or file: for whoever sees the meeting."""
    attachment = meetings.meeting_attachment_get(actor=request.user, attachment_id=attachment_id)
    return evidence_response(attachment.file, name=attachment.name, download="download" in request.GET)
