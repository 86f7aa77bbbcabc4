"""The dashboards' pages as data: the committee's and a college's dashboard, the branch secretary's,
the member's and the college board (积分榜), each scoped to the acting user."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import (
    Count,
)
from django.urls import reverse
from django.utils.translation import gettext as _

from members import permissions as perms
from members.models import Member, Organization
from reviews.models import (
    Determination,
    DeterminationLine,
    FollowUp,
    Objection,
)
from scoring.models import (
    MemberOutcome,
    MemberYearTotal,
    Period,
)
from scoring.points import format_points

from .models import BranchCommendation, WorkReport
from .progress import Step
from .reports import report_permissions
from .scope import DONE, RESULT_CONSEQUENCES, TALKS, overdue, scope_for
from .supervision import figures, supervision

if TYPE_CHECKING:
    import datetime

    from django.contrib.auth.models import AnonymousUser

    from members.models import User

    from .scope import Scope

# ── the branch secretary ─────────────────────────────────────────────────────────────────────


def branch_dashboard(
    *, actor: User, branch: Organization, year: int, today: datetime.date | None = None
) -> dict[str, Any]:
    """The secretary's to-do and the branch table: `reviews.selectors.branch_todo` (reused as is)
    plus the branch's progress, results and fairness flags and each member's outcomes, open
    objections and follow-ups: a fixed number of queries whatever the branch's size."""
    from reviews import pipeline
    from reviews import selectors as review_selectors

    todo = review_selectors.branch_todo(actor=actor, branch=branch, year=year, today=today)
    scope = scope_for(actor=actor, org=branch, year=year, today=today)
    data = figures(scope)
    prog, res, flags = data["progress"], data["results"], data["fairness"]
    row, result = prog["by_id"][branch.pk], res["by_id"][branch.pk]
    outcomes = defaultdict(list)
    for outcome in MemberOutcome.objects.filter(branch=branch, year=year).order_by("rule_code"):
        outcomes[outcome.member_id].append(outcome)
    open_objections = Counter(
        Objection.objects.filter(branch=branch, year=year, status__in=Objection.PENDING).values_list(
            "member_id", flat=True
        )
    )
    open_follow_ups = Counter(
        FollowUp.objects.filter(determination__branch=branch, determination__year=year)
        .exclude(status=DONE)
        .values_list("member_id", flat=True)
    )
    lines = set(
        DeterminationLine.objects.filter(
            determination__branch=branch, determination__year=year, determination__status=Determination.Status.DECIDED
        ).values_list("member_id", flat=True)
    )
    table = [
        {
            **r,
            "outcomes": outcomes.get(r["member"].pk, []),
            "objections": open_objections.get(r["member"].pk, 0),
            "follow_ups": open_follow_ups.get(r["member"].pk, 0),
            "determined": r["member"].pk in lines,
        }
        for r in todo["rows"]
    ]
    deadlines = prog["deadlines"]
    scope_today = scope.today
    declarations = list(todo["declarations"])
    objections = list(todo["objections"])
    follow_ups = list(todo["follow_ups"])
    current = [p for p in todo["periods"].values() if p is not None and p.kind != "year"]
    panel_pending = [r["member"] for r in todo["rows"] if not r["panel"] and not r["member"].exempt]
    report = WorkReport.objects.filter(organization=branch, year=year).first()
    report_due = deadlines.get("A-REPORT")
    items = []

    may_see_follow_ups = review_selectors.may_see_follow_ups(actor=actor)
    may_write_report = report_permissions(actor, branch)[0]

    def add(what, count, url, due=None, late=False, detail="", perm=perms.MEMBERS_REVIEW, may=True):
        """`perm` is what acting on the item takes at the branch (the page's own check, as `may`
        where it is not one permission): the item is another role's work for whoever lacks it."""
        items.append(
            {
                "what": what,
                "count": count,
                "url": url,
                "due": due,
                "late": late or (count and overdue(due, scope_today)),
                "detail": detail,
                "may_act": may and perms.has_org_perm(actor, perm, branch),
            }
        )

    reviews_url = reverse("branch_reviews", args=[branch.pk])
    add(_("待审核的本人申报"), len(declarations), reviews_url)
    add(_("待审核的承诺"), len(list(todo["pledges"])), reviews_url, row.pledges_submitted.due)
    pipelines = todo["pipelines"]
    if pipeline.FULFILMENT in pipeline.steps_of(pipelines):  # Policy B's monthly 践诺 only
        add(_("待核实的践诺报告"), len(list(todo["fulfilment"])), reviews_url)
    for period in current:
        self_code = pipeline.due_for(pipeline.SELF_ASSESSMENT, pipelines, period)
        if self_code:
            add(
                _("%(p)s未提交自查自评") % {"p": period.name},
                len(todo["self_missing"]),
                scope.drill_url("self_missing", period=period.pk),
                deadlines.get(self_code),
            )
        panel_code = pipeline.due_for(pipeline.PANEL_SCORING, pipelines, period)
        if panel_code:
            add(
                _("%(p)s考评小组评分待确认") % {"p": period.name},
                len(panel_pending),
                reverse("panel_board", args=[branch.pk, period.pk]),
                deadlines.get(panel_code),
                perm=perms.BRANCH_RUN,
            )
    soonest = min((o.due_on for o in objections), default=None)
    add(
        _("未办结的异议"),
        len(objections),
        reviews_url,
        soonest,
        late=any(o.due_on < scope_today for o in objections),
        perm=perms.OBJECTIONS_HANDLE,
    )
    missing = [p for p in row.publicity_problems if p[1] == "missing"]
    add(
        _("应开未开的公示"),
        len(missing),
        reviews_url,
        detail="；".join(f"{title}（{_('截止')} {due:%m-%d}）" for title, _kind, due, _held in missing),
        perm=perms.BRANCH_RUN,
    )
    determination = todo["determination"]
    if determination is None or determination.status != Determination.Status.DECIDED:
        add(
            _("筹备党员大会（年度评定）"),
            1,
            reverse("determination", args=[branch.pk, year]),
            row.determination.due,
            detail=row.determination_status,
            perm=perms.BRANCH_RUN,
        )
    talks = [f for f in follow_ups if f.kind in TALKS]
    add(
        _("待办谈话"),
        len(talks),
        reverse("follow_ups"),
        min((f.due_on for f in talks), default=None),
        perm=perms.BRANCH_RUN,
        may=may_see_follow_ups,
    )
    add(
        _("其他后续处理"),
        len(follow_ups) - len(talks),
        reverse("follow_ups"),
        min((f.due_on for f in follow_ups if f.kind not in TALKS), default=None),
        perm=perms.BRANCH_RUN,
        may=may_see_follow_ups,
    )
    if report is None or report.status != WorkReport.Status.SUBMITTED:
        add(
            _("年度工作报告"),
            1,
            reverse("work_report", args=[branch.pk, year]),
            report_due,
            detail=report.get_status_display() if report else _("未填写"),
            perm=perms.BRANCH_RUN,
            may=may_write_report,
        )
    return {
        "todo": todo,
        "items": items,
        "table": table,
        "progress": prog,
        "results": res,
        "flags": flags,
        "row": row,
        "result": result,
        "scope": scope,
        "report": report,
        "objections": objections,
        "declarations": declarations,
        "follow_ups": follow_ups,
        "notices": list(BranchCommendation.objects.filter(branch=branch, year=year).order_by("-created_at")),
    }


# ── the member ───────────────────────────────────────────────────────────────────────────────


def member_dashboard(*, actor: User | AnonymousUser, year: int) -> dict[str, Any]:
    """The member's own standing: reuses the points card, `member_due` and `my_pipeline` reads;
    nothing about any other member. The rank is shown only if the branch shows its board."""
    from reviews.selectors import member_due, my_pipeline
    from scoring.selectors import points_card

    member = getattr(actor, "member", None) if actor.is_authenticated else None
    if member is None:
        raise PermissionDenied(_("只有党员本人可以使用此功能"))
    member = Member.objects.select_related("branch").get(pk=member.pk)
    total, _entries, outcomes = points_card(actor=actor, member=member, year=year)
    pipeline = my_pipeline(member=member, year=year)
    periods = []
    if total is not None and total.scheme is not None:
        for period in Period.objects.filter(cycle__year=year, kind=total.scheme.period_kind).order_by("index"):
            score = (total.period_scores or {}).get(str(period.index))
            if score is not None:
                periods.append(
                    {
                        "name": period.name,
                        "value": score / 100,
                        "text": format_points(score),
                        "url": reverse("points_card", args=[member.pk]) + f"?year={year}",
                    }
                )
    return {
        "member": member,
        "year": year,
        "total": total,
        "outcomes": list(outcomes),
        "show_rank": bool(member.branch.show_board_to_members and total is not None and total.rank),
        "due": member_due(member=member, year=year),
        "pledges": list(pipeline["pledges"]),
        "objections": list(pipeline["objections"]),
        "follow_ups": list(pipeline["follow_ups"]),
        "periods": periods,
        "categories": []
        if total is None
        else [
            {"name": _("基础扣分"), "value": total.base / 100, "text": format_points(total.base)},
            {"name": _("加分/贡献"), "value": total.bonus / 100, "text": format_points(total.bonus)},
            {"name": _("减分"), "value": total.penalty / 100, "text": format_points(total.penalty)},
        ],
    }


# ── the college board (积分榜) ────────────────────────────────────────────────────────────────


def college_board(*, actor: User, org: Organization, year: int) -> dict[str, Any]:
    """Every branch of a college (or the university) ranked for publicity: only branches that show
    their board to members are listed by name; the others show their number of scored members only.
    Three queries whatever the size."""
    scope = scope_for(actor=actor, org=org, year=year)
    shown = (
        MemberYearTotal.objects.filter(scope.within("branch_id"), year=year, branch__show_board_to_members=True)
        .select_related("member")
        .order_by("branch__path", "rank", "member__number")
    )
    by_branch = defaultdict(list)
    for row in shown:
        by_branch[row.branch_id].append(row)
    hidden = dict(
        MemberYearTotal.objects.filter(
            scope.within("branch_id"), year=year, branch__show_board_to_members=False, scored=True, total__isnull=False
        )
        .values("branch_id")
        .annotate(n=Count("id"))
        .values_list("branch_id", "n")
    )
    names = {o.pk: o.name for o in scope.orgs}
    groups = []
    for o in scope.orgs:
        if o.kind == Organization.Kind.BRANCH:
            groups.append(
                {
                    "branch": o,
                    "college": names.get(o.parent_id, ""),
                    "public": o.show_board_to_members,
                    "rows": by_branch.get(o.pk, []),
                    "hidden_count": hidden.get(o.pk, 0),
                }
            )
    return {
        "scope": scope,
        "groups": groups,
        "public": sum(1 for g in groups if g["public"]),
        "hidden": sum(1 for g in groups if not g["public"]),
    }


# ── whole pages ──────────────────────────────────────────────────────────────────────────────

DONE_COLOUR, OPEN_COLOUR = "#2e7d32", "#90a4ae"  # overdue items are drawn red by dashboards.js


def _chart(kind: str, items: list[Any], *, name: str = "", extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A chart as plain data for static/js/dashboards.js: every item carries its drill-down URL."""
    return {"kind": kind, "name": str(name), "items": items, **(extra or {})}


def _progress_chart(scope: Scope, prog: dict[str, Any]) -> dict[str, Any]:
    """For each organization directly below the scope's: the share done of each step."""
    children = [o for o in scope.orgs if o.parent_id == scope.org.pk] or [scope.org]
    rows = prog["by_id"]
    steps = [("pledges_submitted", _("提交承诺"), None), ("pledges_approved", _("承诺审核"), None)]
    for period in prog["periods"]:
        steps += [
            ("self_periods", _("%(p)s自评") % {"p": period.name}, period.pk),
            ("panel_periods", _("%(p)s考绩") % {"p": period.name}, period.pk),
        ]
    steps.append(("determination", _("年度评定"), None))
    series = []
    for attr, label, period_id in steps:
        data = []
        for child in children:
            step = getattr(rows[child.pk], attr)
            if period_id is not None:
                step = step.get(period_id, Step(applicable=False))
            data.append(
                {
                    "value": step.percent,
                    "done": step.done,
                    "expected": step.expected,
                    "url": step.url,
                    "overdue": step.overdue,
                }
            )
        series.append({"name": str(label), "data": data})
    return _chart(
        "grouped",
        [],
        name=_("各单位进度（%）"),
        extra={"categories": [c.name for c in children], "series": series, "max": 100},
    )


def _heatmap(scope: Scope, prog: dict[str, Any]) -> dict[str, Any]:
    """Every branch of the scope × every step at a glance: the share done (percent), or -1 when
    the step is overdue. Clicking a cell opens its members; dashboards.js builds the link from
    `drill`, the column's metric and the row's organization, so thousands of cells stay small."""
    columns = [
        {
            "name": _("提交承诺"),
            "attr": "pledges_submitted",
            "metric": "pledges_submitted",
            "missing": "pledges_missing",
            "period": None,
        },
        {
            "name": _("承诺审核"),
            "attr": "pledges_approved",
            "metric": "pledges_approved",
            "missing": "pledges_missing",
            "period": None,
        },
    ]
    for period in prog["periods"]:
        columns += [
            {
                "name": _("%(p)s自评") % {"p": period.name},
                "attr": "self_periods",
                "metric": "self",
                "missing": "self_missing",
                "period": period.pk,
            },
            {
                "name": _("%(p)s考绩") % {"p": period.name},
                "attr": "panel_periods",
                "metric": "panel",
                "missing": "panel_missing",
                "period": period.pk,
            },
        ]
    columns.append(
        {
            "name": _("年度评定"),
            "attr": "determination",
            "metric": "determined",
            "missing": "determined",
            "period": None,
        }
    )
    rows, cells = [], []
    for y, branch in enumerate(scope.branches):
        row = prog["by_id"][branch.pk]
        rows.append({"name": scope.branch_label(branch), "org": branch.pk})
        for x, column in enumerate(columns):
            step = getattr(row, column["attr"])
            if column["period"] is not None:
                step = step.get(column["period"], Step(applicable=False))
            if step.applicable and step.expected:
                cells.append([x, y, -1 if step.overdue else step.percent, step.done, step.expected])
    return _chart(
        "heatmap",
        [],
        name=_("各支部进度一览"),
        extra={
            "columns": [{k: v for k, v in c.items() if k != "attr"} for c in columns],
            "rows": rows,
            "cells": cells,
            "drill": reverse("dashboard_drill", args=[scope.org.pk]),
            "year": scope.year,
            "height": f"{min(38, 10 + 1.5 * len(rows)):g}rem",
            "overdue": _("逾期"),
            "legend": [_("逾期"), _("不足一半"), _("过半"), _("全部完成")],
        },
    )


def org_dashboard(*, actor: User, org: Organization, year: int, today: datetime.date | None = None) -> dict[str, Any]:
    """Everything the committee / general branch dashboard shows: progress, results, fairness and a
    supervision summary, with the charts' data. A fixed number of queries (see the tests)."""
    scope = scope_for(actor=actor, org=org, year=year, today=today)
    data = figures(scope)
    prog, res, flags = data["progress"], data["results"], data["fairness"]
    sup = supervision(scope, data["facts"], lists=False)
    history = res["history"]
    charts = {
        "heatmap": _heatmap(scope, prog),
        "funnel": _chart("funnel", prog["funnel"], name=_("全流程漏斗")),
        "histogram": _chart("bar", res["histogram"], name=_("年度总分分布（人）")),
        "consequences": _chart("bar", res["consequences"], name=_("积分结果（人）")),
        "progress": _progress_chart(scope, prog),
        "history": _chart(
            "grouped",
            [],
            name=_("历年对比（人）"),
            extra={
                "categories": [str(h["year"]) for h in history],
                "series": [
                    {"name": _("参与记分"), "data": [{"value": h["scored"], "url": h["url"]} for h in history]},
                    *[
                        {
                            "name": history[0]["consequences"][i]["name"] if history else "",
                            "data": [
                                {"value": h["consequences"][i]["value"], "url": h["consequences"][i]["url"]}
                                for h in history
                            ],
                        }
                        for i in range(len(RESULT_CONSEQUENCES))
                    ],
                ],
            },
        ),
        "flags": _chart(
            "bar", [{**s, "url": f"#flag-{s['code']}"} for s in flags["summary"]], name=_("公平性信号（支部数）")
        ),
        "follow_ups": _chart(
            "grouped",
            [],
            name=_("谈话与后续处理（件）"),
            extra={
                "categories": [k["name"] for k in sup["by_kind"]],
                "series": [
                    {
                        "name": _("已办理"),
                        "color": DONE_COLOUR,
                        "data": [{"value": k["done"], "url": k["done_url"]} for k in sup["by_kind"]],
                    },
                    {
                        "name": _("待办理"),
                        "color": OPEN_COLOUR,
                        "data": [
                            {"value": k["open"], "url": k["open_url"], "overdue": bool(k["late"])}
                            for k in sup["by_kind"]
                        ],
                    },
                ],
                "stack": True,
            },
        ),
    }
    shown = {org.pk} | {o.pk for o in scope.orgs if o.parent_id == org.pk}
    return {
        "scope": scope,
        "progress": prog,
        "results": res,
        "fairness": flags,
        "supervision": sup,
        "charts": charts,
        "top": prog["by_id"][org.pk],
        "top_result": res["by_id"][org.pk],
        "progress_rows": [r for r in prog["rows"] if r.org.pk in shown],
        "result_rows": [r for r in res["rows"] if r.org.pk in shown],
    }


def branch_charts(data: dict[str, Any]) -> dict[str, Any]:
    row, res = data["row"], data["results"]
    steps = [(_("提交承诺"), row.pledges_submitted), (_("承诺审核"), row.pledges_approved)]
    for period in data["progress"]["periods"]:
        steps += [
            (_("%(p)s自评") % {"p": period.name}, row.self_periods[period.pk]),
            (_("%(p)s考绩") % {"p": period.name}, row.panel_periods[period.pk]),
        ]
    steps.append((_("年度评定"), row.determination))
    return {
        "histogram": _chart("bar", res["histogram"], name=_("本支部年度总分分布（人）")),
        "consequences": _chart("bar", res["consequences"], name=_("积分结果（人）")),
        "steps": _chart(
            "grouped",
            [],
            name=_("各环节完成情况（人）"),
            extra={
                "categories": [str(label) for label, _step in steps],
                "series": [
                    {
                        "name": _("已完成"),
                        "color": DONE_COLOUR,
                        "data": [{"value": s.done, "url": s.url} for _l, s in steps],
                    },
                    {
                        "name": _("未完成"),
                        "color": OPEN_COLOUR,
                        "data": [
                            {"value": max(s.expected - s.done, 0), "url": s.missing_url or s.url, "overdue": s.overdue}
                            for _l, s in steps
                        ],
                    },
                ],
                "stack": True,
            },
        ),
    }


def member_charts(data: dict[str, Any]) -> dict[str, Any]:
    """The member's own period scores (the category totals are shown as figures beside it)."""
    return {"periods": _chart("bar", data["periods"], name=_("各期得分"))} if data["periods"] else {}
