"""Ordinary input never gives a 500: the cases found by hand, one test each.

The sweeps that try every list page, name field and missing row automatically are in
tests/security/test_hostile_input.py.
"""

import datetime
import io

import pytest
from django.urls import reverse

from tests.builders import add_members
from tests.dashboards.conftest import populate


@pytest.fixture
def dash_world(world):
    populate(world)
    return world


def test_the_branch_dashboard_shows_a_member_with_no_year_total(dash_world, login):
    """A member imported mid-year has no stored total yet: the table shows a dash, not a 500."""
    w = dash_world
    newcomer = add_members(w.A1, 1, start=900)[0]
    response = login(w.secretary).get(reverse("dashboard_branch", args=[w.A1.pk]))
    assert response.status_code == 200
    row = next(r for r in response.context["table"] if r["member"].pk == newcomer.pk)
    assert row["total"] is None
    body = response.content.decode()
    cells = body.split(f'data-member="{newcomer.pk}"')[1].split("</tr>")[0]
    assert cells.count("—") >= 2  # no total, no rank


@pytest.fixture
def io_world(world):
    from tests.io.conftest import io_world as build

    return build.__wrapped__(world)


# "A1-00001 " is 9 characters: the apostrophe of the first name lands on character 31, where the cut
# used to leave it at the end of the sheet name; the others are the same name twice after the cut,
# apostrophes at both ends, "History", Excel's forbidden characters, control characters and emoji.
ODD_NAMES = [
    "张" * 21 + "'s",
    "'" + "李" * 40,
    "李" * 40 + "'",
    "History",
    "a[b]:c*d?e/f\\g",
    "x\x01y\x1fz",
    "😀" * 20,
    "   ",
    "'",
    "''''",
]


def test_any_member_name_makes_valid_unique_sheet_names(io_world, login):
    from members.models import Member
    from tests.io.conftest import open_xlsx

    w = io_world
    members = list(Member.objects.filter(branch=w.A1).order_by("number"))
    for member, name in zip(members, ODD_NAMES, strict=False):
        Member.objects.filter(pk=member.pk).update(name=name)
    # Numbers may be 32 characters: three that differ only past the cut give the same 31-character start.
    for n, extra in enumerate(add_members(w.A1, 3, start=800)):
        Member.objects.filter(pk=extra.pk).update(number="S" * 31 + str(n), name="'王'")
    client = login(w.secretary)
    response = client.post(reverse("export_org", args=[w.A1.pk]), {"kind": "branch_workbook", "year": w.year})
    assert response.status_code == 200
    names = open_xlsx(response.content).sheetnames
    assert len(names) == 1 + len(members) + 3 + 2  # 汇总, the members, 年度评定, 会议记录
    assert len({name.casefold() for name in names}) == len(names)
    for name in names:
        assert 0 < len(name.encode("utf-16-le")) // 2 <= 31, name
        assert not name.startswith("'") and not name.endswith("'"), name
        assert not set(name) & set("[]:*?/\\") and name.isprintable(), name
        assert name.casefold() != "history"
    college = login(w.gb_secretary).post(
        reverse("export_org", args=[w.A.pk]), {"kind": "branch_workbook", "year": w.year}
    )
    assert college.status_code == 200
    for member in members:
        client = login(w.secretary)
        response = client.post(reverse("export_member", args=[member.pk]), {"year": w.year})
        assert response.status_code == 200, member.name
        assert len(open_xlsx(response.content).sheetnames) == 1


def _write_from_another_connection(connection):
    """What a login does: write, through a second connection to the same database."""
    import sqlite3

    other = sqlite3.connect(connection.settings_dict["NAME"], uri=True, timeout=0.2)
    try:
        other.execute("UPDATE members_organization SET name = name")
        other.commit()
    except sqlite3.OperationalError as error:
        return str(error)
    finally:
        other.close()
    return "written"


@pytest.mark.parametrize("kind", ["branch_workbook", "flat_ledger"])
def test_a_failed_export_releases_the_database_at_once(transactional_db, append_only_flush, monkeypatch, kind):
    """Under `make run` an export that failed part way left SQLite locked and every login got 503
    for minutes: the writer's unfinished stream lived on in the exception's traceback."""
    from django.db import connection

    from scoring import exports
    from tests.builders import build_university
    from tests.io.conftest import io_world

    if connection.vendor != "sqlite":
        pytest.skip("the lock is SQLite's")
    w = io_world.__wrapped__(build_university())
    add_members(w.A1, 3, start=500)

    def fail_on_second_line(self, values, calls=[]):  # noqa: B006 — counts the calls of one test
        calls.append(values)
        if len(calls) == 2:
            raise RuntimeError("the writer failed part way")
        return original(self, values)

    original = exports.Sheet.line
    monkeypatch.setattr("scoring.io_selectors.LINE_CHUNK", 2)  # streams longer than a chunk, as in a real branch
    monkeypatch.setattr(exports.Sheet, "line", fail_on_second_line)
    assert _write_from_another_connection(connection) == "written"
    try:
        exports.WRITERS[kind](io.BytesIO(), organization=w.A1, year=w.year)
    except RuntimeError as error:
        kept = error  # as the error page and the log keep it, for a while
    assert kept.__traceback__ is not None
    assert _write_from_another_connection(connection) == "written"


def test_an_export_job_that_stopped_fails_visibly_and_asking_again_builds_it_anew(
    io_world, login, settings, tmp_path, broker_down, time_machine
):
    """With no Redis the job was never taken up (or its worker died): it stayed "running" for ever
    and asking again redirected to it."""
    from django.utils import timezone

    from scoring.models import ExportJob

    settings.EXPORT_ASYNC_THRESHOLD, settings.MEDIA_ROOT = 1, tmp_path
    time_machine.move_to(timezone.now(), tick=False)
    w = io_world
    client = login(w.secretary)
    data = {"kind": "board", "year": w.year}
    first = client.post(reverse("export_org", args=[w.A1.pk]), data)
    job = ExportJob.objects.get(owner=w.secretary)
    assert first["Location"] == reverse("export_job", args=[job.pk])
    ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.RUNNING)  # a worker took it, then died
    # Within the limit the same request still finds the job under way.
    assert client.post(reverse("export_org", args=[w.A1.pk]), data)["Location"] == first["Location"]
    time_machine.shift(datetime.timedelta(minutes=settings.EXPORT_STALE_MINUTES + 1))
    page = client.get(reverse("export_job", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED and "导出已中断" in job.error
    assert "导出已中断" in page.content.decode()
    again = client.post(reverse("export_org", args=[w.A1.pk]), data)
    fresh = ExportJob.objects.filter(owner=w.secretary).latest("id")
    assert fresh.pk != job.pk and fresh.status == ExportJob.Status.PENDING
    assert again["Location"] == reverse("export_job", args=[fresh.pk])
