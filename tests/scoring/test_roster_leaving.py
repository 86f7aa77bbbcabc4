"""A graduating class marked as left by the roster import's update mode is treated by scoring as a
member who left (not scored or ranked that year, no entries after it), as when recorded on the page."""

import io

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile

from members.models import Member
from members.roster import read_spreadsheet, roster_export_dataset, roster_update
from scoring.models import MemberYearTotal
from scoring.recalculation import recalculate_branch

from .helpers import YEAR


def graduates_file(world, graduates, on):
    exported = roster_export_dataset(Member.objects.filter(branch=world.A1).order_by("number"))
    book = openpyxl.Workbook()
    book.active.append([*exported.headers, "离开原因", "离开日期"])
    for row in exported:
        leaving = ["毕业离校", on] if row[0] in {m.number for m in graduates} else ["", ""]
        book.active.append([*row, *leaving])
    buffer = io.BytesIO()
    book.save(buffer)
    return read_spreadsheet(SimpleUploadedFile("roster.xlsx", buffer.getvalue()))


def test_graduates_left_by_the_import_are_neither_scored_nor_ranked(scoring_world, record):
    w = scoring_world
    cadre, gone, _resting, plain = w.a1_members
    record(gone, "A-B04", "20", index=1)
    result = roster_update(
        actor=w.secretary,
        dataset=graduates_file(w, [gone], f"{YEAR}-09-01"),
        confirm=True,
        reason=f"{YEAR} 届毕业生离校",
    )
    assert result.ok and result.left == 1, result.errors
    recalculate_branch(branch=w.A1, year=YEAR)
    total = MemberYearTotal.objects.get(member=gone, year=YEAR)
    assert (total.scored, total.rank) == (False, None)
    ranked = MemberYearTotal.objects.filter(year=YEAR, member__in=[cadre, plain], rank__isnull=False).count()
    assert ranked == 2
