"""A whole year under a frozen clock: the right people are reminded on the right days, never twice,
and what is late goes one level up on time."""

import datetime
import zoneinfo
from collections import Counter

import pytest
import time_machine

from members import services as member_services
from members import tree
from members.models import Role
from partyscore.core.models import Notification
from reviews import rhythm, services
from reviews.models import Escalation, Objection, Reminder
from scoring import services as scoring
from scoring.models import Cycle, Period
from scoring.selectors import scheme_for_member
from tests.builders import make_user

YEAR = 2027
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(day, hour=7):
    return time_machine.travel(datetime.datetime.combine(day, datetime.time(hour), SHANGHAI), tick=False)


def days(start, end):
    day = start
    while day <= end:
        yield day
        day += datetime.timedelta(days=1)


@pytest.fixture
def year_world(world):
    """A1 and A2 run Policy A (the committee's reference, A1 with its own approved rules);
    college B runs Policy B."""
    with at(datetime.date(YEAR, 1, 1)):
        scoring.cycle_open(actor=world.admin, year=YEAR, committee=world.U)
        reference = scoring.scheme_preset_load(actor=world.admin, preset="A-staff", year=YEAR, owner=world.U)
        scoring.scheme_preset_load(actor=world.admin, preset="B", year=YEAR, owner=world.B)
        derived = scoring.scheme_derive(actor=world.admin, source=reference, owner=world.A1)
        scoring.scheme_submit(actor=world.admin, scheme=derived)
        scoring.scheme_approve(actor=world.admin, scheme=derived)
        world.b1_secretary = make_user("b1sec")
        member_services.role_assign(
            actor=world.admin,
            user=world.b1_secretary,
            organization=world.B1,
            role=Role.BRANCH_SECRETARY,
            starts_on=datetime.date(YEAR, 1, 1),
        )
    return world


def reminder_days(user, code):
    return sorted((r.lead_days, r.sent_on) for r in Reminder.objects.filter(user=user, code=code))


def test_a_year_of_reminders_and_escalations(year_world):
    w = year_world
    member, b1_member = w.member, w.b1_members[0].user
    for day in days(datetime.date(YEAR, 1, 1), datetime.date(YEAR + 1, 1, 12)):
        with at(day):
            if day == datetime.date(YEAR, 3, 29):  # the member hands in the pledge between two reminders
                services.pledge_save(
                    actor=member, member=member.member, year=YEAR, kind="vanguard", content="立足岗位作表率"
                )
                services.pledges_submit(actor=member, member=member.member, year=YEAR)
            rhythm.run_reminders()
            if day.day in (1, 15):
                assert rhythm.run_reminders() == (0, 0), f"a second run on {day} repeated something"

    # The pledge (due Mar 31): reminded 7 and 3 days before, then handed in: no 1-day reminder,
    # and nothing escalated.
    assert reminder_days(member, "A-PLEDGES") == [(3, datetime.date(YEAR, 3, 28)), (7, datetime.date(YEAR, 3, 24))]
    assert not Escalation.objects.filter(subject=member, code="A-PLEDGES").exists()
    # The first semester's self-assessment (due Jun 30) was never handed in: 7, 3 and 1 days
    # before, then reported to the branch secretary on Jul 1.
    assert reminder_days(member, "A-S1-SELF") == [
        (1, datetime.date(YEAR, 6, 29)),
        (3, datetime.date(YEAR, 6, 27)),
        (7, datetime.date(YEAR, 6, 23)),
    ]
    escalation = Escalation.objects.get(subject=member, code="A-S1-SELF")
    assert escalation.organization == w.A1 and escalation.created_on == datetime.date(YEAR, 7, 1)
    assert Notification.objects.filter(
        user=w.secretary, message__contains="逾期未办", created_at__date=datetime.date(YEAR, 7, 1)
    ).exists()
    # The branch meeting (Dec 31) never held: the secretary is reminded, the college hears on Jan 1.
    assert [lead for lead, _day in reminder_days(w.secretary, "A-MEETING")] == [1, 3, 7]
    meeting = Escalation.objects.get(subject=w.secretary, code="A-MEETING")
    assert meeting.organization == w.A and meeting.created_on == datetime.date(YEAR + 1, 1, 1)
    # Policy B: the monthly fulfilment report for January (due Feb 5) is a B member's, not A's.
    assert reminder_days(b1_member, "B-M01")[0] == (1, datetime.date(YEAR, 2, 4))
    assert not Reminder.objects.filter(user=member, code__startswith="B-").exists()
    assert not Reminder.objects.filter(user=b1_member, code__startswith="A-").exists()
    # The B secretary is reminded of the quarterly publicity of scores.
    assert Reminder.objects.filter(
        user=w.b1_secretary, code="B-Q1", lead_days=7, sent_on=datetime.date(YEAR, 4, 3)
    ).exists()
    # Never the same reminder twice, and one digest per person per day.
    assert Reminder.objects.values("user", "year", "code", "lead_days").distinct().count() == Reminder.objects.count()
    per_day = Counter(
        (n.user_id, n.created_at.astimezone(SHANGHAI).date())
        for n in Notification.objects.filter(message__startswith="待办提醒")
    )
    assert max(per_day.values()) == 1


def test_days_missed_while_the_worker_was_down_are_made_up_once(year_world):
    member = year_world.member
    with at(datetime.date(YEAR, 6, 20)):
        rhythm.run_reminders()
    # Nothing ran from Jun 21 to Jun 28; on Jun 29 the nearest lead is sent, once.
    with at(datetime.date(YEAR, 6, 29)):
        rhythm.run_reminders()
        rhythm.run_reminders()
    sent = Reminder.objects.filter(user=member, code="A-S1-SELF")
    assert {r.lead_days for r in sent} == {1, 3, 7}
    assert Notification.objects.filter(user=member, message__contains="第一学期党员自查自评").count() == 1


def test_a_college_moves_a_deadline_for_its_branches_only(year_world):
    w = year_world
    cycle = Period.objects.filter(cycle__year=YEAR).first().cycle
    with pytest.raises(Exception, match="党支部不能调整"):
        scoring.deadline_move(
            actor=w.secretary,
            cycle=cycle,
            code="A-S1-SELF",
            organization=w.A1,
            due_on=datetime.date(YEAR, 7, 10),
            reason="x",
        )
    scoring.deadline_move(
        actor=w.gb_secretary,
        cycle=cycle,
        code="A-S1-SELF",
        organization=w.A,
        due_on=datetime.date(YEAR, 7, 10),
        reason="暑期实践推迟",
    )
    with at(datetime.date(YEAR, 6, 23)):
        rhythm.run_reminders()
    assert not Reminder.objects.filter(user=w.member, code="A-S1-SELF").exists()  # A1 now due Jul 10
    with at(datetime.date(YEAR, 7, 3)):
        rhythm.run_reminders()
    assert Reminder.objects.filter(user=w.member, code="A-S1-SELF", lead_days=7).exists()
    # The late-submission check follows the moved date in A, the committee's elsewhere.
    semester = Period.objects.get(cycle=cycle, kind="semester", index=1)
    assert services.self_assessment_deadline(semester, w.A1) == datetime.date(YEAR, 7, 10)
    assert services.self_assessment_deadline(semester, w.B1) == datetime.date(YEAR, 6, 30)


def test_an_unanswered_objection_goes_to_the_organization_department(year_world):
    w = year_world
    member = w.member.member
    period = Period.objects.get(cycle__year=YEAR, kind="semester", index=1)
    with at(datetime.date(YEAR, 3, 1)):
        item = scheme_for_member(member=member, year=YEAR).items.get(code="A-C02")
        entry = scoring.entry_record(
            actor=w.secretary, member=member, item=item, period=period, points=1, reason="志愿服务"
        )
        objection = services.objection_raise(actor=w.member, member=member, reason="应为 3 分", entry=entry)
    with at(objection.due_on):
        assert rhythm.escalate_overdue_objections() == 0
    with at(objection.due_on + datetime.timedelta(days=1)):
        assert rhythm.escalate_overdue_objections() == 1
        assert rhythm.escalate_overdue_objections() == 0
    objection.refresh_from_db()
    assert objection.status == Objection.Status.ESCALATED and "逾期未答复" in objection.escalation_reason


def test_periods_lock_after_their_grace_and_refuse_new_entries(year_world, settings):
    settings.PERIOD_LOCK_GRACE_DAYS = 10
    with at(datetime.date(YEAR, 8, 10)):
        assert (
            rhythm.lock_ended_periods() == 0
            or not Period.objects.get(cycle__year=YEAR, kind="semester", index=1).is_locked
        )
    with at(datetime.date(YEAR, 8, 11)):
        rhythm.lock_ended_periods()
    assert Period.objects.get(cycle__year=YEAR, kind="semester", index=1).is_locked
    assert not Period.objects.get(cycle__year=YEAR, kind="semester", index=2).is_locked


def test_a_closed_branch_has_no_more_duties_from_its_closing_day(year_world):
    """B1 is merged into A1 on 1 June: the day before, its secretary owes the quarterly publicity
    (college B runs Policy B); from that day nothing is asked of the closed branch (and the roles
    held there ended with it)."""
    w = year_world
    closing = datetime.date(YEAR, 6, 1)
    cycle = Cycle.objects.get(year=YEAR)

    def owed_on(day):
        with at(day):
            found = rhythm.Tree(YEAR, day)
            owed = rhythm.duties(found, cycle, rhythm.effective_deadlines(found, cycle))
        return w.B1.pk in {b.pk for b in found.branches}, any(d.user_id == w.b1_secretary.pk for d in owed)

    assert owed_on(closing - datetime.timedelta(days=1)) == (True, True)
    with at(closing):
        tree.organization_merge(actor=w.org_department, source=w.B1, target=w.A1, merged_on=closing, reason="合并")
    assert owed_on(closing - datetime.timedelta(days=1))[0] is True  # the branch's past stays
    assert owed_on(closing) == (False, False)
