"""A Celery worker killed (SIGKILL) in the middle of an export job and of a rollover; a new worker
takes over what the dead one held (the broker hands an unacknowledged task out again after
BROKER_VISIBILITY_TIMEOUT) and the end result is the same as an undisturbed run's."""

import io
import zipfile

import pytest

from members.models import Organization
from members.services import organization_create
from reviews import rollover
from reviews.models import Rollover, RolloverBranch
from scoring import exports
from scoring.io_services import export_start
from scoring.models import ExportJob, MemberYearTotal
from tests.builders import add_members, build_university
from tests.io.test_branch_zip import workbook_cells
from tests.test_authorization_matrix import add_scoring

from .conftest import wait_until

pytestmark = pytest.mark.services


def a_large_university(branches, members):
    """The test university plus `branches` branches of `members` members under college B."""
    world = build_university()
    _reference, _schemes, _entries, period = add_scoring(world)
    for n in range(branches):
        branch = organization_create(
            actor=world.admin, name=f"测试支部{n}", code=f"T{n}", kind="branch", parent=world.B
        )
        add_members(branch, members, start=1)
    return world, period.cycle.year


def cells(content):
    """Every workbook of the zip with every sheet's cell values, in order."""
    archive = zipfile.ZipFile(io.BytesIO(content))
    return {name: workbook_cells(archive.read(name)) for name in archive.namelist()}


def test_an_export_job_survives_a_killed_worker_with_the_same_file(broker):
    world, year = a_large_university(branches=12, members=25)
    undisturbed = io.BytesIO()
    exports.WRITERS[ExportJob.Kind.BRANCH_WORKBOOK](undisturbed, organization=world.U, year=year)

    first = broker()
    job = export_start(
        actor=world.org_department,
        kind=ExportJob.Kind.BRANCH_WORKBOOK,
        organization=world.U,
        year=year,
        force_background=True,
    )
    wait_until(lambda: ExportJob.objects.get(pk=job.pk).status == ExportJob.Status.RUNNING, what="the job to start")
    first.kill()  # mid-file: the sheet being written is lost with the process
    job.refresh_from_db()
    assert job.status == ExportJob.Status.RUNNING and not job.file, "the job finished before it could be killed"
    broker()
    wait_until(
        lambda: ExportJob.objects.get(pk=job.pk).status == ExportJob.Status.DONE,
        timeout=60,
        what="the job to finish on the new worker",
    )
    job.refresh_from_db()
    assert job.progress == 100
    with job.file.open("rb") as handle:
        assert cells(handle.read()) == cells(undisturbed.getvalue())


def _created(rollover_job):
    """What a rollover creates: every member's record for the new year and each branch done once."""
    totals = sorted(
        MemberYearTotal.objects.filter(year=rollover_job.to_year).values_list(
            "member_id", "branch_id", "total", "rank", "scored"
        )
    )
    done = sorted(RolloverBranch.objects.filter(rollover=rollover_job).values_list("branch_id", "members"))
    return totals, done


def test_a_rollover_survives_a_killed_worker_with_the_same_rows(broker):
    from partyscore.celery import app

    world, year = a_large_university(branches=30, members=10)
    job = rollover.rollover_start(actor=world.org_department, committee=world.U, from_year=year)
    app.control.purge()  # no worker yet: the undisturbed run is done here, branch by branch
    for branch_id in Organization.objects.filter(kind=Organization.Kind.BRANCH).values_list("pk", flat=True):
        rollover.rollover_branch(rollover_id=job.pk, branch_id=branch_id)
    expected = _created(job)
    assert len(expected[1]) == job.branches_total and Rollover.objects.get(pk=job.pk).finished_at is not None
    # Undone again, then handed to the workers as the scheduled resume does after an outage.
    MemberYearTotal.objects.filter(year=job.to_year).delete()
    RolloverBranch.objects.filter(rollover=job).delete()
    Rollover.objects.filter(pk=job.pk).update(finished_at=None)

    first = broker()
    assert rollover.rollover_resume() == job.branches_total
    wait_until(lambda: RolloverBranch.objects.filter(rollover=job).exists(), what="the first branch")
    first.kill()
    assert RolloverBranch.objects.filter(rollover=job).count() < job.branches_total, "finished before the kill"
    broker()
    wait_until(
        lambda: Rollover.objects.get(pk=job.pk).finished_at is not None, timeout=90, what="the rest of the rollover"
    )
    assert _created(job) == expected  # the same rows, none twice
