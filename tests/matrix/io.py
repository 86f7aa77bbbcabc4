"""Authorization-matrix entries for the export/import URLs (merged into MATRIX)."""

import datetime
import io

from .common import A1_ROSTER, COLLEGE_A, COMMITTEE, RECORDERS_A1, Check, member_checks

YEAR = str(datetime.date.today().year)
JOB = {"kwargs": lambda job, world: {"job_id": job.pk}}


def _org_posts(data, own=A1_ROSTER, college=COLLEGE_A, committee=COMMITTEE):
    return [
        Check("POST", "own_branch", own, data),
        Check("POST", "other_branch", college, data),
        Check("POST", "other_college", committee, data),
        Check("POST", "own_college", college, data),
    ]


IO_MATRIX = {
    # Whoever may view some ledger sees the export page, listing only their scope.
    "export_center": [Check(allowed=A1_ROSTER)],
    "export_org": _org_posts({"kind": "branch_workbook", "year": YEAR}),
    "export_member": member_checks("POST", {"year": YEAR}),
    # A background export belongs to whoever asked for it (the secretary here), and to no one else.
    "export_job": [Check("GET", "export_job", {"secretary"}, **JOB)],
    "export_job_download": [Check("GET", "export_job", {"secretary"}, **JOB)],
    "card_import": [Check(allowed=RECORDERS_A1), Check("POST", allowed=RECORDERS_A1)],
    "card_import_confirm": [Check("POST", allowed=RECORDERS_A1, data={"token": "none"})],
    "card_template": [
        Check("GET", "own_branch", RECORDERS_A1),
        Check("GET", "other_branch", COMMITTEE),
        Check("GET", "other_college", COMMITTEE),
        Check("GET", "own_college", set()),
    ],
}


def io_targets(world):
    """Extra objects the entries above name as targets (added to the matrix world)."""
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from scoring.exports import write_board
    from scoring.models import ExportJob

    job = ExportJob(
        owner=world.secretary,
        kind=ExportJob.Kind.BOARD,
        organization=world.A1,
        year=int(YEAR),
        status=ExportJob.Status.DONE,
        progress=100,
        filename="board.xlsx",
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    book = io.BytesIO()
    write_board(book, organization=world.A1, year=int(YEAR))  # a real workbook: its cells are checked for scope
    job.file.save("board.xlsx", ContentFile(book.getvalue()), save=False)
    job.save()
    return {"export_job": job}
