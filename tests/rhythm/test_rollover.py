import datetime

from django.urls import reverse

from reviews import rollover
from reviews.models import Rollover, RolloverBranch
from scoring.models import Cycle, MemberOutcome, MemberYearTotal, Period, Scheme
from tests.test_authorization_matrix import add_scoring


def test_the_committee_opens_the_next_year_in_the_background(world, login, django_capture_on_commit_callbacks):
    _reference, _schemes, _entries, period = add_scoring(world)
    year = period.cycle.year
    before = set(MemberOutcome.objects.filter(year=year).values_list("member_id", "rule_code"))
    client = login(world.org_department)
    with django_capture_on_commit_callbacks(execute=True) as sent:
        response = client.post(reverse("rollover_start"), {"from_year": year})
    job = Rollover.objects.get()
    assert response["Location"] == reverse("rollover_progress", args=[job.pk])
    # One task per branch, and the opened year's partitions (scoring.tasks.year_partitions_task).
    assert len(sent) == job.branches_total + 1 == 4
    # The new year: periods, deadlines, and every member's record, a fresh ledger.
    new = Cycle.objects.get(year=year + 1)
    assert Period.objects.filter(cycle=new, kind="semester").count() == 2 and new.deadlines.exists()
    members = len(world.a1_members) + len(world.a2_members) + len(world.b1_members)
    assert MemberYearTotal.objects.filter(year=year + 1).count() == members
    assert set(MemberYearTotal.objects.filter(year=year + 1, scored=True).values_list("total", flat=True)) == {6000}
    # The committee's reference stays approved; a branch's own rules must be approved again.
    assert Scheme.objects.get(year=year + 1, owner=world.U).status == "approved"
    assert Scheme.objects.get(year=year + 1, owner=world.A1).status == "draft"
    # Everything a scheme holds comes along: items, outcome rules and attendance rules (on its own items).
    for old, new in (
        (Scheme.objects.get(year=year, owner=o), Scheme.objects.get(year=year + 1, owner=o))
        for o in (world.U, world.A1)
    ):
        assert new.items.count() == old.items.count() and new.outcome_rules.count() == old.outcome_rules.count()
        carried = [(r.meeting_kind, r.status, r.item.code, r.points) for r in new.attendance_rules.all()]
        assert carried and carried == [
            (r.meeting_kind, r.status, r.item.code, r.points) for r in old.attendance_rules.all()
        ]
        assert {r.item.scheme_id for r in new.attendance_rules.all()} == {new.pk}
    # Last year's outcomes (the streak rules' history) are untouched.
    assert set(MemberOutcome.objects.filter(year=year).values_list("member_id", "rule_code")) == before
    page = client.get(reverse("rollover_progress", args=[job.pk])).content.decode()
    assert "100%" in page and "3 / 3" in page
    again = client.post(reverse("rollover_start"), {"from_year": year}, follow=True).content.decode()
    assert f"{year + 1}年度已经开启" in again and Rollover.objects.count() == 1


def test_a_branch_done_twice_counts_once(world, django_capture_on_commit_callbacks):
    add_scoring(world)
    with django_capture_on_commit_callbacks(execute=True):
        job = rollover.rollover_start(
            actor=world.org_department, committee=world.U, from_year=datetime.date.today().year
        )
    rollover.rollover_branch(rollover_id=job.pk, branch_id=world.A1.pk)
    assert RolloverBranch.objects.filter(rollover=job).count() == 3
    job.refresh_from_db()
    assert job.finished_at is not None


def test_branches_lost_with_the_broker_are_sent_again_by_the_daily_run(
    world, broker_down, django_capture_on_commit_callbacks
):
    add_scoring(world)
    with django_capture_on_commit_callbacks(execute=True):
        job = rollover.rollover_start(
            actor=world.org_department, committee=world.U, from_year=datetime.date.today().year
        )
    assert not RolloverBranch.objects.exists()
    broker_down()  # Redis is back
    with django_capture_on_commit_callbacks(execute=True):
        assert rollover.rollover_resume() == 3
    job.refresh_from_db()
    assert job.finished_at is not None and job.branches_done.count() == 3


def test_only_the_organization_department_rolls_the_year_over(world, login):
    add_scoring(world)
    assert login(world.secretary).post(reverse("rollover_start")).status_code == 403
    assert not Rollover.objects.exists()


def test_each_person_chooses_whether_notices_also_come_by_email(world, login, mailoutbox):
    from partyscore.core.notifications import notify

    world.member.email = "m@example.edu.cn"
    world.member.save()
    client = login(world.member)
    client.post(reverse("notifications"), {"email": "0"})
    world.member.refresh_from_db()
    assert not world.member.email_notifications
    notify([world.member], "测试通知")
    assert mailoutbox == [] and "测试通知" in client.get(reverse("notifications")).content.decode()
