"""Every number on the dashboards equals a count made here from the data the test wrote."""

import datetime

import pytest
from django.urls import reverse

from partyscore.dashboards import scope, selectors
from scoring.models import OutcomeRule

from .helpers import (
    at_or_above,
    histogram,
    numbers,
    of,
    panel_done,
    plan_numbers,
    pledges_approved,
    pledges_submitted,
    self_done,
    share_limit,
    sheet_values,
    unchanged,
    with_consequence,
    workbook,
)

C = OutcomeRule.Consequence


def november(world):
    return datetime.date(world.year, 11, 21)


def test_the_committee_dashboard_counts_progress_per_branch_and_college(dash_world, login):
    w, plan = dash_world, dash_world.plan
    response = login(w.org_department).get(reverse("dashboard_org", args=[w.U.pk]))
    assert response.status_code == 200
    rows = response.context["progress"]["by_id"]
    s1 = w.period_s1.pk
    for branch, code in ((w.A1, "A1"), (w.A2, "A2"), (w.B1, "B1")):
        items, row = of(plan, code), rows[branch.pk]
        assert row.expected == len(items)
        assert row.pledges_submitted.done == len(pledges_submitted(items))
        assert row.pledges_approved.done == len(pledges_approved(items))
        assert row.self_periods[s1].done == len(self_done(items))
        assert row.panel_periods[s1].done == len(panel_done(items))
        assert row.determination.done == (len(items) if code == "A1" else 0)
    assert rows[w.A1.pk].mass_forms == 3 and rows[w.A2.pk].mass_forms == 0
    assert (rows[w.A1.pk].objections, rows[w.A1.pk].objections_pending) == (1, 1)
    a1_follow_ups = rows[w.A1.pk].follow_ups
    assert (a1_follow_ups.done, a1_follow_ups.expected) == (1, len(w.follow_ups))
    college = rows[w.A.pk]
    a = of(plan, "A1") + of(plan, "A2")
    assert college.expected == len(a) and college.pledges_submitted.done == len(pledges_submitted(a))
    assert college.self_periods[s1].done == len(self_done(a)) and college.branches == 2
    assert college.branches_decided == 2  # A1 and A2 decided; B1 is preparing
    top = rows[w.U.pk]
    assert top.expected == len(plan) and top.panel_periods[s1].done == len(panel_done(plan))
    funnel = {stage["name"]: stage["value"] for stage in response.context["progress"]["funnel"]}
    assert funnel == {
        "应参与记分": len(plan),
        "已提交承诺": len(pledges_submitted(plan)),
        "承诺已审核": len(pledges_approved(plan)),
        "已年度评定": len(of(plan, "A1")),
        "评定结果已公示": len(of(plan, "A1")),
    }
    page = response.content.decode()
    assert f'已提交承诺：<span class="figure">{len(pledges_submitted(plan))}</span>' in page


def test_the_results_count_bands_outcomes_and_the_share_cap(dash_world, login):
    w, plan = dash_world, dash_world.plan
    response = login(w.org_department).get(reverse("dashboard_org", args=[w.U.pk]))
    results = response.context["results"]
    assert [h["value"] for h in results["histogram"]] == histogram(plan)
    shown = {c["code"]: c["value"] for c in results["consequences"]}
    for code in (C.RED, C.YELLOW, C.PRIORITY, C.NOT_EXCELLENT):
        assert shown[code] == len(with_consequence(plan, code))
    rows = results["by_id"]
    for branch, code in ((w.A1, "A1"), (w.A2, "A2"), (w.B1, "B1")):
        items, row = of(plan, code), rows[branch.pk]
        assert row.scored == len(items)
        assert row.bins == histogram(items)
        total = sum(p.total for p in items)
        assert row.mean == (2 * total + len(items)) // (2 * len(items))  # half up
        assert row.consequence_cells() == [len(with_consequence(items, c)) for c in scope.RESULT_CONSEQUENCES]
        [check] = row.share
        high = len(at_or_above(items, 9500))
        assert (check["count"], check["limit"], check["ok"]) == (high, share_limit(items), high <= share_limit(items))
    assert rows[w.U.pk].share_broken == sum(
        1 for code in ("A1", "A2", "B1") if len(at_or_above(of(plan, code), 9500)) > share_limit(of(plan, code))
    )
    this_year = results["history"][-1]
    assert this_year["year"] == w.year and this_year["scored"] == len(plan)
    assert [c["value"] for c in this_year["consequences"]] == [
        len(with_consequence(plan, c)) for c in scope.RESULT_CONSEQUENCES
    ]
    assert all(h["scored"] == 0 for h in results["history"][:-1])


def test_fairness_flags_name_the_branches_and_what_is_behind_them(dash_world, settings):
    w, plan = dash_world, dash_world.plan
    settings.DASHBOARD_SETTINGS = {"MIN_MEMBERS": 2, "HIGH_SCORE_SHARE": 0.5, "UNCHANGED_SHARE": 0.5}
    data = selectors.org_dashboard(actor=w.org_department, org=w.U, year=w.year, today=november(w))
    flags = {(f["code"], f["branch"].code): f for f in data["fairness"]["flags"]}
    for code in ("A1", "A2", "B1"):
        items = of(plan, code)
        compared, same = unchanged(items)
        expect = len(compared) >= 2 and len(same) >= 0.5 * len(compared)
        assert (("self_unchanged", code) in flags) == expect, code
        high = at_or_above(items, 9500)
        assert (("high_scores", code) in flags) == (len(high) >= 0.5 * len(items)), code
    # A2 decided without any objection or mass opinion; A1 has both; B1 has not finished.
    assert ("silent", "A2") in flags and ("silent", "A1") not in flags and ("silent", "B1") not in flags
    # A1 publicized pledges (10 April) and its results (2 days after the meeting) on time; A2 neither;
    # B1 has not publicized its pledges.
    assert ("publicity", "A1") not in flags
    assert [r[:2] for r in flags[("publicity", "A2")]["records"]] == [
        ("党员承诺公示", "missing"),
        ("年度积分结果公示", "missing"),
    ]
    assert [r[:2] for r in flags[("publicity", "B1")]["records"]] == [("党员承诺公示", "missing")]
    summary = {s["code"]: s["value"] for s in data["fairness"]["summary"]}
    assert summary["publicity"] == 2 and summary["silent"] == 1
    # After the masses' deadline (10 December) B1's silence counts too.
    later = selectors.org_dashboard(actor=w.org_department, org=w.U, year=w.year, today=datetime.date(w.year, 12, 20))
    assert ("silent", "B1") in {(f["code"], f["branch"].code) for f in later["fairness"]["flags"]}


def test_overdue_steps_are_flagged_only_after_their_deadline(dash_world):
    w = dash_world
    s1 = w.period_s1.pk

    def a1_on(day):
        data = selectors.org_dashboard(actor=w.org_department, org=w.U, year=w.year, today=day)
        return data["progress"]["by_id"][w.A1.pk]

    before = a1_on(datetime.date(w.year, 6, 1))  # self-assessment due 30 June, panel 15 July
    assert not before.self_periods[s1].overdue and not before.panel_periods[s1].overdue
    assert before.pledges_submitted.overdue  # pledges were due 31 March and some are missing
    after = a1_on(datetime.date(w.year, 7, 20))
    assert after.self_periods[s1].overdue and after.panel_periods[s1].overdue
    assert not after.determination.overdue  # A1 decided
    b1 = selectors.org_dashboard(actor=w.org_department, org=w.U, year=w.year, today=datetime.date(w.year + 1, 1, 2))[
        "progress"
    ]["by_id"][w.B1.pk]
    assert b1.determination.overdue  # the meeting was due 31 December


@pytest.mark.parametrize(
    "metric,params,select",
    [
        ("expected", {}, lambda items: items),
        ("pledges_submitted", {}, pledges_submitted),
        ("pledges_approved", {}, pledges_approved),
        ("pledges_missing", {}, lambda items: [p for p in items if p.pledge in ("none", "draft", "mixed")]),
        ("self", "s1", self_done),
        ("self_missing", "s1", lambda items: [p for p in items if p.self_score is None]),
        ("panel", "s1", panel_done),
        ("panel_missing", "s1", lambda items: [p for p in items if not p.panel]),
        ("bin", {"bin": 1}, lambda items: [p for p in items if 6000 <= p.total < 7000]),
        ("bin", {"bin": 8}, lambda items: [p for p in items if p.total >= 10000]),
        ("consequence", {"consequence": "yellow"}, lambda items: with_consequence(items, C.YELLOW)),
        ("share", {"at": "95"}, lambda items: at_or_above(items, 9500)),
        ("determined", {}, lambda items: [p for p in items if p.determined]),
        ("publicized", {}, lambda items: [p for p in items if p.branch == "A1"]),
        ("self_unchanged", {}, lambda items: unchanged(items)[1]),
    ],
)
def test_each_number_drills_down_to_exactly_its_members_and_exports_them(dash_world, login, metric, params, select):
    w, plan = dash_world, dash_world.plan
    params = {"period": w.period_s1.pk} if params == "s1" else params
    client = login(w.gb_secretary)
    query = {"metric": metric, "year": w.year, **params}
    response = client.get(reverse("dashboard_drill", args=[w.A.pk]), query)
    college = of(plan, "A1") + of(plan, "A2")
    assert numbers(response.context["page"]) == plan_numbers(select(college))
    one_branch = client.get(reverse("dashboard_drill", args=[w.A.pk]), {**query, "org": w.A2.pk})
    assert numbers(one_branch.context["page"]) == plan_numbers(select(of(plan, "A2")))
    export = client.get(reverse("dashboard_drill_export", args=[w.A.pk]), query)
    rows = sheet_values(workbook(export), "名单")
    assert sorted(r[1] for r in rows[2:]) == plan_numbers(select(college))


def test_the_follow_up_drill_down_separates_done_from_open(dash_world, login):
    w = dash_world
    client = login(w.secretary)
    url = reverse("dashboard_drill", args=[w.A1.pk])
    done = [f.member.number for f in w.follow_ups if f.status == "done"]
    still_open = [f.member.number for f in w.follow_ups if f.status == "open"]
    assert numbers(client.get(url, {"metric": "follow_ups", "status": "done"}).context["page"]) == sorted(done)
    assert numbers(
        client.get(url, {"metric": "follow_ups", "status": "open", "kind": "talk_secretary"}).context["page"]
    ) == sorted(still_open)


def test_the_secretarys_to_do_and_branch_table(dash_world, login):
    w, plan = dash_world, dash_world.plan
    items = of(plan, "A1")
    response = login(w.secretary).get(reverse("dashboard_branch", args=[w.A1.pk]))
    assert response.status_code == 200
    todo = {item["what"]: item for item in response.context["items"]}
    assert todo["未办结的异议"]["count"] == 1
    assert todo["待审核的承诺"]["count"] == sum(1 for p in items if p.pledge == "submitted")
    talks = [f for f in w.follow_ups if f.status == "open"]
    assert todo["待办谈话"]["count"] == len(talks)
    assert todo["待办谈话"]["due"] == min(f.due_on for f in talks)
    assert todo["年度工作报告"]["detail"] == "未填写"
    table = {r["member"].number: r for r in response.context["table"]}
    assert sorted(table) == plan_numbers(items)
    for p in items:
        row = table[p.member.number]
        assert row["total"].total == p.total and row["determined"] is True
        assert {o.consequence for o in row["outcomes"]} == p.consequences
        assert row["follow_ups"] == sum(1 for f in w.follow_ups if f.member_id == p.member.pk and f.status == "open")
    assert table[w.a1_members[0].number]["objections"] == 1
    steps = response.context["charts"]["steps"]
    assert steps["series"][0]["data"][0]["value"] == len(pledges_submitted(items))
    assert [h["value"] for h in response.context["results"]["histogram"]] == histogram(items)


def test_the_member_sees_their_own_standing_and_their_rank_only_if_the_branch_shows_it(dash_world, login):
    w = dash_world
    member = w.a1_members[-1]
    mine = next(p for p in w.plan if p.member == member)
    from scoring.models import MemberYearTotal

    MemberYearTotal.objects.filter(member=member, year=w.year).update(rank=2)
    client = login(member.user)
    page = client.get(reverse("dashboard_me"))
    assert page.context["total"].total == mine.total and not page.context["show_rank"]
    assert {o.consequence for o in page.context["outcomes"]} == mine.consequences
    assert "my-rank" not in page.content.decode()
    w.A1.show_board_to_members = True
    w.A1.save()
    page = client.get(reverse("dashboard_me"))
    assert page.context["show_rank"] and 'class="fs-2 fw-bold my-rank">2<' in page.content.decode()
    body = page.content.decode()
    others = [m.name for m in w.a1_members if m != member] + [m.name for m in w.a2_members]
    assert not [name for name in others if name in body]
    assert page.context["periods"][0]["value"] == mine.total / 100


def test_the_college_board_lists_only_branches_that_show_their_board(dash_world, login):
    w, plan = dash_world, dash_world.plan
    w.A2.show_board_to_members = True
    w.A2.save()
    response = login(w.gb_secretary).get(reverse("college_board", args=[w.A.pk]))
    groups = {g["branch"].code: g for g in response.context["groups"]}
    assert set(groups) == {"A1", "A2"}
    assert groups["A1"]["rows"] == [] and groups["A1"]["hidden_count"] == len(of(plan, "A1"))
    assert sorted(r.member.number for r in groups["A2"]["rows"]) == plan_numbers(of(plan, "A2"))
    body = response.content.decode()
    assert not [p.member.name for p in of(plan, "A1") if p.member.name in body]
    assert all(p.member.name in body for p in of(plan, "A2"))
    printable = login(w.gb_secretary).get(reverse("college_board", args=[w.A.pk]), {"print": "1"})
    assert "print-view" in printable.content.decode()


def test_the_dashboard_export_holds_the_same_numbers(dash_world, login):
    w, plan = dash_world, dash_world.plan
    response = login(w.org_department).get(reverse("dashboard_export", args=[w.U.pk]))
    book = workbook(response)
    distribution = sheet_values(book, "总分分布")[2:]
    assert [row[1] for row in distribution] == histogram(plan)
    progress = {row[0].strip("\u3000"): row for row in sheet_values(book, "进度")[2:]}
    assert progress["甲一支部"][1] == len(of(plan, "A1"))
    assert progress["甲一支部"][3] == len(pledges_submitted(of(plan, "A1")))
