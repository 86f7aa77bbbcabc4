"""Authorization-matrix entries for the branch meetings' URLs (merged into MATRIX): a meeting of the
whole branch in A1 (own), A2 (another branch) and B1 (another college), each with a photo."""

import datetime

from .common import COLLEGE_A, COMMITTEE, LEDGER_A1, LOGGED_IN, RECORDERS_A1, SCHEME_MANAGERS, Check, scheme_checks

MEETINGS = (
    ("own_meeting", LEDGER_A1, RECORDERS_A1),
    ("other_branch_meeting", COLLEGE_A, COMMITTEE),
    ("other_college_meeting", COMMITTEE, COMMITTEE),
)


def _meeting(meeting, world):
    return {"meeting_id": meeting.pk}


def _meetings(method="GET", recorders=False, data=None, kwargs=_meeting, everyone=None):
    return [
        Check(method, target, everyone or (record if recorders else read), data or {}, kwargs=kwargs)
        for target, read, record in MEETINGS
    ]


def _branches(method="GET", own=LEDGER_A1, college=COLLEGE_A):
    return [
        Check(method, "own_branch", own),
        Check(method, "other_branch", college),
        Check(method, "other_college", COMMITTEE),
    ]


MEETINGS_MATRIX = {
    "meeting_list": _branches(),
    "meeting_new": [
        *_branches(own=RECORDERS_A1, college=COMMITTEE),
        *_branches("POST", own=RECORDERS_A1, college=COMMITTEE),
    ],
    "meeting_detail": [*_meetings(), *_meetings("POST", recorders=True, data={"minutes": "会议记录"})],
    "meeting_attendance": [*_meetings(recorders=True), *_meetings("POST", recorders=True)],
    "meeting_qr": _meetings(recorders=True),
    # Anyone logged in reaches the sign-in page (the link is on the meeting room's screen); who is not
    # expected is refused and told nothing about the meeting.
    "meeting_sign_in": [
        check
        for method in ("GET", "POST")
        for check in _meetings(method, everyone=LOGGED_IN, kwargs=lambda m, w: {"meeting_id": m.pk, "token": "forged"})
    ],
    "evidence_meeting": [
        Check("GET", f"{target}_photo", read, kwargs=lambda a, w: {"attachment_id": a.pk})
        for target, read, _record in MEETINGS
    ],
    "attendance_rule_new": [*scheme_checks(**SCHEME_MANAGERS), *scheme_checks("POST", **SCHEME_MANAGERS)],
    "attendance_rule_edit": [
        check
        for method in ("GET", "POST")
        for check in scheme_checks(
            method, **SCHEME_MANAGERS, kwargs=lambda s, w: {"scheme_id": s.pk, "rule_id": w.attendance_rule_of[s.pk]}
        )
    ],
}


def meeting_targets(world):
    from django.core.files.base import ContentFile

    from reviews import meetings
    from reviews.models import MeetingAttachment
    from scoring.models import AttendanceRule

    from .evidence import PNG

    # Kept by id: a page sweep that removes the rules still has a URL to ask (and gets 404).
    world.attendance_rule_of = dict(AttendanceRule.objects.values_list("scheme_id", "pk"))
    objects = {}
    for key, branch in (
        ("own_meeting", world.A1),
        ("other_branch_meeting", world.A2),
        ("other_college_meeting", world.B1),
    ):
        meeting = meetings.meeting_schedule(
            actor=world.admin,
            branch=branch,
            kind="general",
            date=datetime.date.today(),
            starts_at=datetime.time(0, 0),
            ends_at=datetime.time(0, 1),
            topic=f"{branch.name}党员大会",
        )
        photo = MeetingAttachment(meeting=meeting, name="会场.png", uploaded_by=world.admin)
        photo.file.save("会场.png", ContentFile(PNG), save=False)
        photo.save()
        objects[key], objects[f"{key}_photo"] = meeting, photo
    return objects
