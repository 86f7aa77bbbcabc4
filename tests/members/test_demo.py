import datetime
import logging
import zoneinfo

import time_machine
from django.core.management import call_command
from django.utils import timezone

from members import permissions as perms
from members.models import Member, Organization, Role, RoleAssignment, User
from partyscore.demo.university import DEMO_PASSWORD
from scoring.chain_verify import verify
from scoring.models import LedgerEntry


def test_seed_demo_builds_the_documented_university_once_quietly(append_only_flush, caplog):
    """Committed for real (as `make run` does), so the background jobs it starts run inside it."""
    caplog.set_level(logging.INFO)
    call_command("seed_demo")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert not [r for r in caplog.records if r.name.startswith(("celery", "kombu"))]
    _year_in_progress(timezone.localdate().year)
    call_command("seed_demo")
    assert Organization.objects.filter(kind="general_branch").count() == 4
    assert Organization.objects.filter(kind="branch").count() == 16
    assert Member.objects.count() == 800
    assert set(RoleAssignment.objects.values_list("role", flat=True)) == set(Role.values)
    # The README's accounts work and hold the roles it names.
    secretary = User.objects.get(username="T101001")
    assert secretary.check_password(DEMO_PASSWORD)
    law01 = Organization.objects.get(code="LAW-01")
    assert perms.has_org_perm(secretary, perms.ROSTER_MANAGE, law01)
    assert not perms.has_org_perm(secretary, perms.ROSTER_VIEW, Organization.objects.get(code="LAW-02"))
    assert perms.has_org_perm(
        User.objects.get(username="T101006"), perms.ROSTER_VIEW, Organization.objects.get(code="LAW-04")
    )
    assert perms.has_org_perm(User.objects.get(username="zzb01"), perms.AUDIT_VIEW, law01)
    assert not hasattr(User.objects.get(username="qz1011"), "member")
    # The demo ledger is written through the hash chain: `make run` then `verify_ledger` is clean.
    assert verify().intact


def _year_in_progress(year):
    """What the first visit should find: this year's work under way, last year closed."""
    from django.db.models import Count

    from reviews.models import (
        Determination,
        FulfilmentReport,
        MassEvaluation,
        Meeting,
        Objection,
        PanelConfirmation,
        PanelScore,
        Pledge,
        Publicity,
        Rollover,
        SelfAssessment,
    )

    branches = Organization.objects.filter(kind="branch").count()
    assert Determination.objects.filter(year=year - 1, status="decided").count() == branches  # archived
    assert Rollover.objects.filter(from_year=year - 1, to_year=year).exists()
    assert Pledge.objects.filter(year=year, status="approved").exists()
    assert Pledge.objects.filter(year=year, status="submitted").exists()
    assert SelfAssessment.objects.filter(period__cycle__year=year, period__index=1, status="submitted").exists()
    assert PanelScore.objects.filter(period__cycle__year=year).exists()
    assert PanelConfirmation.objects.filter(period__cycle__year=year).exists()
    assert Objection.objects.filter(year=year, status="open", branch__code="LAW-01").count() == 1
    assert MassEvaluation.objects.filter(year=year).exists()
    assert FulfilmentReport.objects.filter(period__cycle__year=year).exists() or timezone.localdate().month == 1
    assert Publicity.objects.filter(year=year, starts_at__lte=timezone.now(), ends_at__gt=timezone.now()).exists()
    # Each branch held last month's general meeting (attendance saved, an absence on the ledger) and
    # has next week's theme party day to come (both fall in the year on the days these tests use).
    held = Meeting.objects.filter(date__lt=timezone.localdate(), attendance_saved_at__isnull=False)
    assert held.count() == branches and held.filter(attendees__status="absent").distinct().count() == branches
    assert LedgerEntry.objects.filter(year=year, reason__startswith="缺席支部党员大会").exists()
    assert Meeting.objects.filter(date__gt=timezone.localdate(), attendance_saved_at__isnull=True).count() == branches
    # Some branches ahead, some behind: the share of members with pledges differs widely.
    shares = sorted(
        n / size
        for n, size in Organization.objects.filter(kind="branch")
        .annotate(n=Count("members__pledges__member", distinct=True), size=Count("members", distinct=True))
        .values_list("n", "size")
    )
    assert shares[0] < 0.6 < shares[-1]


def test_the_demo_is_in_progress_on_any_day_it_is_loaded(db):
    """Loaded in February (no semester over, nothing due yet) the demo is as lively, its dates its own."""
    year = timezone.localdate().year + 3
    with time_machine.travel(datetime.datetime(year, 2, 15, 10, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai")), tick=False):
        call_command("seed_demo", members=200)
        _year_in_progress(year)


def test_make_run_serves_on_the_port_it_is_given():
    import shutil
    import subprocess
    from pathlib import Path

    if shutil.which("make") is None:
        return
    root = Path(__file__).resolve().parents[2]
    planned = subprocess.run(
        ["make", "-n", "run", "PORT=8163"],  # noqa: S607
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "runserver 127.0.0.1:8163" in planned
    default = subprocess.run(["make", "-n", "run"], cwd=root, capture_output=True, text=True, check=True).stdout  # noqa: S607
    assert "runserver 127.0.0.1:8000" in default
