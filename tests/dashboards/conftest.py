"""A university with a year of review-pipeline data, written straight into the tables.

`dash_world` is the authorization matrix's university (tests/builders.py + add_scoring: colleges A
and B, branches A1, A2, B1 under approved Policy A rules) plus, for every member, a planned state
of each step — pledges, the first semester's self-assessment and panel confirmation, the stored
total and outcomes — and per branch the mass evaluation forms, objections, publicity windows, the
decided determination and follow-ups. `world.plan` keeps what was written, member by member, so
the tests count their expectations from it rather than from the code under test.

Totals and outcomes are written directly (as the recalculation would have stored them), after
every service call that recalculates.
"""

import datetime
from dataclasses import dataclass, field

import pytest
from django.utils import timezone

from members import services as member_services
from members.models import Member, Organization
from reviews.models import (
    Determination,
    DeterminationLine,
    FollowUp,
    MassEvaluation,
    Objection,
    PanelConfirmation,
    Pledge,
    Publicity,
    SelfAssessment,
)
from scoring.models import MemberOutcome, MemberYearTotal, OutcomeRule, Period
from tests.builders import add_members, make_user
from tests.test_authorization_matrix import add_scoring

# Totals (centipoints) handed out in turn; 60.00, 70.00 and 95.00 sit exactly on band edges.
TOTALS = [5500, 6000, 7000, 7050, 8500, 9000, 9500, 10000, 6500, 9600]


@dataclass
class MemberPlan:
    member: Member
    branch: str
    pledge: str  # "none" | "draft" | "submitted" | "approved" | "mixed" (one approved, one returned)
    self_score: int | None  # submitted self-assessment's score, or None when not submitted
    panel: bool
    total: int
    determined: bool = False
    consequences: set = field(default_factory=set)


def band_consequences(total):
    found = set()
    if total < 6000:
        found.add(OutcomeRule.Consequence.RED)
    if 6000 <= total <= 7000:
        found.add(OutcomeRule.Consequence.YELLOW)
    if total >= 9000:
        found.add(OutcomeRule.Consequence.PRIORITY)
    if total < 9000:
        found.add(OutcomeRule.Consequence.NOT_EXCELLENT)
    return found


def populate(world, *, extra_branches=0, extra_members=0):
    """Write the year's data; returns the plan (see the module docstring)."""
    reference, schemes, _entries, period = add_scoring(world)
    world.reference, world.schemes, world.period = reference, schemes, period
    world.year = year = period.cycle.year
    branches = [world.A1, world.A2, world.B1]
    for n in range(extra_branches):
        parent = world.A if n % 2 == 0 else world.B
        branch = member_services.organization_create(
            actor=world.admin, name=f"增{n}支部", code=f"X{n}", kind=Organization.Kind.BRANCH, parent=parent
        )
        add_members(branch, 5)
        branches.append(branch)
    if extra_members:
        for branch in branches:
            add_members(branch, extra_members, start=100)
    rules = {r.consequence: r for r in reference.outcome_rules.all()}
    plan = []
    now = timezone.now()
    members = list(
        Member.objects.filter(branch__in=branches).select_related("branch").order_by("branch__path", "number")
    )
    pledges, assessments, confirmations, totals, outcomes = [], [], [], [], []
    for i, member in enumerate(members):
        kind = ["none", "draft", "submitted", "approved", "mixed", "approved"][i % 6]
        total = TOTALS[i % len(TOTALS)]
        self_score = None if i % 3 == 0 else (total if i % 2 == 0 else total - 500)
        item = MemberPlan(
            member=member, branch=member.branch.code, pledge=kind, self_score=self_score, panel=i % 4 != 1, total=total
        )
        if kind in ("draft", "submitted", "approved"):
            pledges.append(Pledge(member=member, year=year, kind="vanguard", content="承诺", status=kind))
        elif kind == "mixed":
            pledges.append(Pledge(member=member, year=year, kind="vanguard", content="承诺", status="approved"))
            pledges.append(Pledge(member=member, year=year, kind="post", content="岗位", status="returned"))
        if self_score is not None:
            assessments.append(
                SelfAssessment(
                    member=member, period=period, status="submitted", self_score=self_score, submitted_at=now
                )
            )
        if item.panel:
            confirmations.append(PanelConfirmation(member=member, period=period, confirmed_by=world.admin))
        totals.append(
            MemberYearTotal(
                member=member,
                year=year,
                branch=member.branch,
                scheme=reference,
                scored=True,
                total=total,
                period_scores={"1": total},
            )
        )
        item.consequences = band_consequences(total)
        for consequence in item.consequences:
            rule = rules[consequence]
            outcomes.append(
                MemberOutcome(
                    member=member,
                    year=year,
                    branch=member.branch,
                    rule=rule,
                    rule_code=rule.code,
                    consequence=consequence,
                    reason=rule.label,
                )
            )
        plan.append(item)
    Pledge.objects.bulk_create(pledges)
    SelfAssessment.objects.bulk_create(assessments)
    PanelConfirmation.objects.bulk_create(confirmations)
    MemberYearTotal.objects.filter(year=year).delete()
    MemberOutcome.objects.filter(year=year).delete()
    MemberYearTotal.objects.bulk_create(totals)
    MemberOutcome.objects.bulk_create(outcomes)

    # A1: three mass forms, an objection, its pledges publicized, decided, publicized, follow-ups.
    for k in range(3):
        rep = make_user(f"rep{k}")
        MassEvaluation.objects.create(representative=rep, branch=world.A1, year=year, panel_rating=4, branch_rating=4)
    first = world.a1_members[0]
    Objection.objects.create(
        raised_by=first.user,
        member=first,
        branch=world.A1,
        year=year,
        reason="分值有误",
        due_on=datetime.date(year, 12, 31),
    )
    start = timezone.make_aware(datetime.datetime(year, 4, 10))
    Publicity.objects.create(
        branch=world.A1,
        year=year,
        kind=Publicity.Kind.PLEDGES,
        starts_at=start,
        ends_at=start + datetime.timedelta(days=5),
        created_by=world.admin,
    )
    decided_at = timezone.make_aware(datetime.datetime(year, 11, 1, 10))
    determination = Determination.objects.create(
        branch=world.A1,
        year=year,
        status=Determination.Status.DECIDED,
        decided_at=decided_at,
        meeting_date=datetime.date(year, 11, 1),
        decided_by=world.admin,
    )
    Publicity.objects.create(
        branch=world.A1,
        year=year,
        kind=Publicity.Kind.ANNUAL,
        determination=determination,
        starts_at=decided_at + datetime.timedelta(days=2),
        ends_at=decided_at + datetime.timedelta(days=7),
        created_by=world.admin,
    )
    a1 = [p for p in plan if p.branch == "A1"]
    DeterminationLine.objects.bulk_create(
        [DeterminationLine(determination=determination, member=p.member, total=p.total) for p in a1]
    )
    for p in a1:
        p.determined = True
    follow_ups = []
    for n, p in enumerate(p for p in a1 if p.total <= 7000):
        follow_ups.append(
            FollowUp(
                member=p.member,
                determination=determination,
                kind=FollowUp.Kind.TALK_SECRETARY,
                rule_code="A-YELLOW",
                reason="黄色预警",
                responsible=world.A1,
                due_on=datetime.date(year, 1, 31) if n == 0 else datetime.date(year + 1, 1, 31),
                status="done" if n == 1 else "open",
            )
        )
    FollowUp.objects.bulk_create(follow_ups)
    # A2: decided too, but nothing publicized; B1: preparing.
    Determination.objects.create(
        branch=world.A2,
        year=year,
        status=Determination.Status.DECIDED,
        decided_at=decided_at,
        meeting_date=datetime.date(year, 11, 1),
    )
    Determination.objects.create(branch=world.B1, year=year)
    world.plan = plan
    world.branches = branches
    world.follow_ups = follow_ups
    world.period_s1 = Period.objects.get(cycle__year=year, kind="semester", index=1)
    return plan


@pytest.fixture
def dash_world(world):
    populate(world)
    return world
