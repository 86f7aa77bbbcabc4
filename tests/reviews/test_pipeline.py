"""One definition of done per pipeline step (reviews/pipeline.py), used alike by the member's to-do
list, the reminders, the escalation and the dashboards: for every step with a deadline, a not-done
and a done case, and every consumer that shows the step must agree on both."""

import datetime

import pytest
from django.urls import reverse

from partyscore.dashboards import drilldown, supervision
from partyscore.dashboards import facts as facts_reads
from partyscore.dashboards import scope as scope_reads
from partyscore.dashboards import selectors as dash_pages
from reviews import pipeline, rhythm, selectors
from reviews.models import (
    Determination,
    Escalation,
    FulfilmentReport,
    MassEvaluation,
    PanelConfirmation,
    Pledge,
    Publicity,
    SelfAssessment,
)
from scoring.io_selectors import schemes_by_branch
from scoring.models import Cycle, Deadline, Period, Scheme

from .pages import YEAR, html


def _period(step, pipelines):
    due = pipeline.dues_of(step, pipelines)[0]
    return due, (Period.objects.get(cycle__year=YEAR, kind=due.period[0], index=due.period[1]) if due.period else None)


def _publicity(w, kind, period):
    start = datetime.datetime.combine(period.ends_on, datetime.time(9), datetime.UTC)
    return Publicity.objects.create(
        branch=w.A1,
        year=YEAR,
        kind=kind,
        period=period,
        starts_at=start,
        ends_at=start + datetime.timedelta(days=5),
        created_by=w.secretary,
    )


def _done(step, w, period):
    """Make `step` done for A1's plain member (or A1, or its representatives)."""
    member = w.member.member
    if step is pipeline.PLEDGES:
        Pledge.objects.create(member=member, year=YEAR, kind="deed", content="实事", status="approved")
    elif step is pipeline.SELF_ASSESSMENT:
        SelfAssessment.objects.create(member=member, period=period, status="submitted", self_score=9000)
    elif step is pipeline.PANEL_SCORING:
        PanelConfirmation.objects.bulk_create(
            [PanelConfirmation(member=m, period=period, confirmed_by=w.secretary) for m in w.m]
        )
    elif step is pipeline.MASS_EVALUATION:
        MassEvaluation.objects.bulk_create(
            [MassEvaluation(representative=r, branch=w.A1, year=YEAR, panel_rating=4, branch_rating=4) for r in w.reps]
        )
    elif step is pipeline.DETERMINATION:
        Determination.objects.create(branch=w.A1, year=YEAR, status="decided")
    elif step is pipeline.FULFILMENT:
        FulfilmentReport.objects.create(member=member, period=period, content="践诺")
    elif step is pipeline.FULFILMENT_PUBLICITY:
        _publicity(w, Publicity.Kind.FULFILMENT, period)
    elif step is pipeline.SCORES_PUBLICITY:
        _publicity(w, Publicity.Kind.SCORES, period)
    else:
        raise AssertionError(f"no done case for {step.key}")


def _responsible(step, w):
    return {
        pipeline.BY_MEMBER: [w.member],
        pipeline.BY_SECRETARY: [w.secretary],
        pipeline.BY_PANEL: [w.panel, w.panel2, w.secretary],
        pipeline.BY_MASS_REPRESENTATIVE: w.reps,
    }[step.responsible]


def _consumers(step, w, due, period):
    """What each consumer says of A1 for the step: {consumer: True when it takes the step as done}."""
    cycle = Cycle.objects.get(year=YEAR)
    deadline = Deadline.objects.get(cycle=cycle, code=due.code)
    tree = rhythm.Tree(YEAR, deadline.due_on)
    users = {u.pk for u in _responsible(step, w)}
    url = step.url(branch=w.A1, period=period, year=YEAR)  # a code may close two steps (a month's 践诺)
    found = rhythm.duties(tree, cycle, rhythm.effective_deadlines(tree, cycle))
    said = {"reminders": not any(d.code == due.code and d.url == url and d.user_id in users for d in found)}
    rhythm.run_reminders(today=deadline.due_on + datetime.timedelta(days=1))
    said["escalation"] = not Escalation.objects.filter(
        code=due.code, url=url, subject_id__in=users, resolved_on__isnull=True
    ).exists()
    if step.responsible == pipeline.BY_MEMBER:
        today = period.starts_on if period else deadline.due_on
        todo = selectors.member_due(member=w.member.member, year=YEAR, today=today)
        said["to-do"] = not any(item["url"] == url for item in todo)
    metric = {pipeline.PLEDGES: "pledges", pipeline.SELF_ASSESSMENT: "self", pipeline.PANEL_SCORING: "panel"}.get(step)
    if metric:
        scope = scope_reads.scope_for(actor=w.org_department, org=w.A1, year=YEAR, today=deadline.due_on)
        params = {"period": period.pk} if period else {}
        _title, _org, missing = drilldown.drill(scope, f"{metric}_missing", params)
        said["dashboard drill-down"] = w.member.member not in missing
        facts = facts_reads.compute_facts(scope, [w.A1.pk], schemes_by_branch(scope.branches, YEAR))[w.A1.pk]
        counted = facts["pledges"][0] if metric == "pledges" else facts[metric].get(str(period.pk), 0)
        when_done = len(w.m) if step is pipeline.PANEL_SCORING else 1  # the panel confirms the whole branch
        assert counted in (0, when_done)
        said["dashboard progress"] = counted == when_done
    if step in (pipeline.FULFILMENT_PUBLICITY, pipeline.SCORES_PUBLICITY):
        later = deadline.due_on + datetime.timedelta(days=1)
        scope = scope_reads.scope_for(actor=w.org_department, org=w.A1, year=YEAR, today=later)
        problems = supervision.figures(scope)["progress"]["by_id"][w.A1.pk].publicity_problems
        said["dashboard progress"] = not any(
            due_on == deadline.due_on and how == "missing" for _title, how, due_on, _held in problems
        )
    return said


STEPS_WITH_DEADLINES = [s for s in pipeline.STEPS if any(s.deadlines.values()) and s is not pipeline.BRANCH_RULES]


@pytest.mark.parametrize("step", STEPS_WITH_DEADLINES, ids=lambda s: s.key)
@pytest.mark.parametrize("done", [False, True], ids=["not done", "done"])
def test_every_consumer_agrees_on_whether_a_step_is_done(request, step, done):
    w = request.getfixturevalue("a_year" if pipeline.VANGUARD in step.pipelines else "b_year")
    pipelines = {w.scheme.pipeline}
    due, period = _period(step, pipelines)
    if done:
        _done(step, w, period)
    said = _consumers(step, w, due, period)
    assert said == dict.fromkeys(said, done), said


@pytest.mark.parametrize(
    ("days_after", "counts"), [(0, True), (pipeline.UNNAMED_PUBLICITY_DAYS + 1, False)], ids=["in time", "too late"]
)
def test_a_publicity_naming_no_quarter_counts_alike_everywhere(b_year, days_after, counts):
    """A quarter's scores publicity recorded without its quarter counts for it when it starts in
    time, on the dashboards as in the reminders and escalation (they used to differ)."""
    w = b_year
    due, period = _period(pipeline.SCORES_PUBLICITY, {w.scheme.pipeline})
    start = datetime.datetime.combine(
        period.ends_on + datetime.timedelta(days=days_after), datetime.time(1), datetime.UTC
    )
    Publicity.objects.create(
        branch=w.A1,
        year=YEAR,
        kind=Publicity.Kind.SCORES,
        period=None,
        starts_at=start,
        ends_at=start + datetime.timedelta(days=5),
        created_by=w.secretary,
    )
    said = _consumers(pipeline.SCORES_PUBLICITY, w, due, period)
    assert said == dict.fromkeys(said, counts), said


def test_a_registry_step_owns_its_codes_once_per_pipeline():
    for step in pipeline.STEPS:
        for dues in step.deadlines.values():
            assert len({d.code for d in dues}) == len(dues), step.key
    assert pipeline.codes_of({Scheme.Pipeline.VANGUARD}).isdisjoint({f"B-M{m:02d}" for m in range(1, 13)})


def test_one_pledge_returned_and_the_others_approved_is_not_done_anywhere(a_year, clock):
    """The bug: the member saw a to-do while nobody was reminded or escalated and the dashboards
    counted the pledges handed in."""
    w = a_year
    member = w.member.member
    Pledge.objects.create(member=member, year=YEAR, kind="vanguard", content="先锋", status="approved")
    Pledge.objects.create(
        member=member, year=YEAR, kind="post", content="岗位", status="returned", returned_reason="请具体一些"
    )
    said = _consumers(pipeline.PLEDGES, w, pipeline.Due("A-PLEDGES"), None)
    assert said == dict.fromkeys(said, False), said
    assert Escalation.objects.get(code="A-PLEDGES", subject=w.member).organization == w.A1


def test_a_policy_a_member_sees_no_monthly_fulfilment_deadline_or_button(a_year, login, clock):
    clock(1, 20)
    w = a_year
    client = login(w.member)
    home = client.get(reverse("home")).content.decode()
    mine = client.get(reverse("my_reviews")).content.decode()
    assert "践诺" not in home and "践诺" not in mine
    assert reverse("fulfilment_new") not in mine
    assert selectors.member_steps(member=w.member.member, year=YEAR) == {
        s.key for s in pipeline.STEPS if Scheme.Pipeline.VANGUARD in s.pipelines
    }


def test_a_policy_b_member_is_offered_the_monthly_report(b_year, login, clock):
    clock(1, 20)
    client = login(b_year.member)
    mine = client.get(reverse("my_reviews")).content.decode()
    assert reverse("fulfilment_new") in mine and "1月践诺情况报告" in mine
    assert "1月份承诺践诺情况公示" in client.get(reverse("home")).content.decode()


def test_a_policy_b_branch_page_offers_no_quarterly_panel_scoring(b_year, login, clock):
    clock(2, 10)
    page = html(login(b_year.secretary).get(reverse("branch_reviews", args=[b_year.A1.pk])))
    assert "/panel/" not in page and "考绩" not in page


def test_a_policy_a_branch_page_offers_its_semester_panel_scoring(a_year, login, clock):
    clock(3, 10)
    page = html(login(a_year.secretary).get(reverse("branch_reviews", args=[a_year.A1.pk])))
    assert reverse("panel_board", args=[a_year.A1.pk, a_year.s1.pk]) in page


def test_the_pipeline_is_the_schemes_field_not_its_composition(a_year, clock):
    """A scheme out of 100 that runs Policy B's pipeline gets B's steps (the field decides)."""
    w = a_year
    Scheme.objects.filter(pk=w.scheme.pk).update(pipeline=Scheme.Pipeline.TALLY)
    clock(1, 20)
    todo = selectors.member_due(member=w.member.member, year=YEAR)
    assert any(item["url"] == reverse("fulfilment_new") for item in todo)
    assert not any("自查自评" in str(item["what"]) for item in todo)


@pytest.mark.parametrize("policy", ["a_year", "b_year"])
def test_the_secretarys_to_do_lists_only_the_branchs_own_steps(db, request, policy, clock):
    """Policy A's branch is not asked to verify monthly 践诺 reports; Policy B's is, and has no
    semester self-assessment or panel scoring to chase."""
    clock(3, 10)
    w = request.getfixturevalue(policy)
    items = [str(i["what"]) for i in dash_pages.branch_dashboard(actor=w.secretary, branch=w.A1, year=YEAR)["items"]]
    steps = pipeline.steps_of({w.scheme.pipeline})
    assert ("待核实的践诺报告" in items) is (pipeline.FULFILMENT in steps)
    assert any("自查自评" in i for i in items) is (pipeline.SELF_ASSESSMENT in steps)
    assert any("考评小组评分" in i for i in items) is (pipeline.PANEL_SCORING in steps)
