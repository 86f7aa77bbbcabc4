import datetime

from members.models import Member
from members.services import organization_create
from reviews.models import Reminder
from reviews.tasks import daily_rhythm_task
from scoring import services as scoring
from scoring.models import Cycle, MemberYearTotal
from scoring.tasks import recalculate_year_task
from tests.builders import add_members, build_university
from tests.test_authorization_matrix import add_scoring

from .conftest import wait_until


def test_a_reminder_run_goes_through_the_broker(broker):
    world = build_university()
    add_scoring(world)
    cycle = Cycle.objects.get()
    due = datetime.date.today() + datetime.timedelta(days=3)
    scoring.deadline_move(
        actor=world.admin, cycle=cycle, code="A-MEETING", organization=world.U, due_on=due, reason="测试"
    )
    broker()
    daily_rhythm_task.delay()
    wait_until(lambda: Reminder.objects.filter(user=world.secretary, code="A-MEETING").exists(), what="reminder")
    assert Reminder.objects.get(user=world.secretary, code="A-MEETING", lead_days=3).due_on == due


def _state(year):
    return sorted(MemberYearTotal.objects.filter(year=year).values_list("member_id", "total", "rank", "branch_id"))


def test_recalculation_through_the_broker_survives_a_killed_worker(broker, monkeypatch):
    world = build_university()
    _reference, _schemes, _entries, period = add_scoring(world)
    year = period.cycle.year
    # Enough branches that the run takes a while: 60 branches of 20 members under college B.
    for n in range(60):
        branch = organization_create(
            actor=world.admin, name=f"测试支部{n}", code=f"T{n}", kind="branch", parent=world.B
        )
        add_members(branch, 20, start=1)
    scoring.recalculate(year=year)
    expected = _state(year)
    assert len(expected) == Member.objects.count()
    MemberYearTotal.objects.all().delete()

    monkeypatch.setenv("RECALCULATION_CHUNK_MEMBERS", "20")  # the workers' chunks: about a branch each
    first = broker()
    recalculate_year_task.delay(year)
    wait_until(lambda: MemberYearTotal.objects.count() > 0, what="the first branch")
    first.kill()  # mid-run: some branches done, one perhaps half-way, the rest still queued
    done_when_killed = MemberYearTotal.objects.count()
    assert done_when_killed < len(expected), "the run finished before it could be interrupted"
    broker()
    wait_until(lambda: MemberYearTotal.objects.count() == len(expected), timeout=120, what="the rest of the run")
    assert _state(year) == expected  # the same end state as an undisturbed run, no row twice


def test_an_export_job_completes_through_the_broker(broker):
    from scoring.io_services import export_start
    from scoring.models import ExportJob

    world = build_university()
    _reference, _schemes, _entries, period = add_scoring(world)
    broker()
    job = export_start(
        actor=world.org_department,
        kind=ExportJob.Kind.BRANCH_WORKBOOK,
        organization=world.U,
        year=period.cycle.year,
        force_background=True,
    )
    wait_until(lambda: ExportJob.objects.get(pk=job.pk).status == ExportJob.Status.DONE, what="the export job")
    job.refresh_from_db()
    assert job.progress == 100 and job.file and job.file.size > 0
