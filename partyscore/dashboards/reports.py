"""Annual work reports (工作报告): the figures, the draft and who may write, return or read them."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext as _

from members import permissions as perms
from members.models import Organization
from scoring.models import (
    OutcomeRule,
)
from scoring.points import format_points

from .models import WorkReport
from .scope import bin_label, deadlines_by_code, scope_for
from .supervision import figures

if TYPE_CHECKING:
    import datetime

    from members.models import User

    from .scope import Scope

# ── annual work reports (工作报告) ─────────────────────────────────────────────────────────────


def report_figures(scope: Scope) -> dict[str, Any]:
    """The unit's own figures for its report: plain values (stored with the report on submission)."""
    data = figures(scope)
    prog, res = data["progress"], data["results"]
    row, result = prog["by_id"][scope.org.pk], res["by_id"][scope.org.pk]
    labels = dict(OutcomeRule.Consequence.choices)
    steps = [(_("提交承诺"), row.pledges_submitted), (_("承诺审核"), row.pledges_approved)]
    for period in prog["periods"]:
        steps += [
            (_("%(p)s自查自评") % {"p": period.name}, row.self_periods[period.pk]),
            (_("%(p)s考评确认") % {"p": period.name}, row.panel_periods[period.pk]),
        ]
    steps += [
        (_("群众评议（份）"), row.mass),
        (_("按时公示（项）"), row.publicity),
        (_("年度评定"), row.determination),
        (_("后续处理"), row.follow_ups),
    ]
    return {
        "organization": scope.org.name,
        "year": scope.year,
        "branches": row.branches,
        "expected": row.expected,
        "scored": result.scored,
        "mean": format_points(result.mean),
        "distribution": [{"label": bin_label(i), "n": n} for i, n in enumerate(result.bins)],
        "outcomes": [
            {"label": str(labels[c]), "n": n} for c, n in sorted(result.consequences.items(), key=lambda kv: kv[0]) if n
        ],
        "share_broken": result.share_broken,
        "steps": [
            {
                "label": str(label),
                "done": s.done,
                "expected": s.expected,
                "overdue": s.overdue,
                "due": s.due.isoformat() if s.due else "",
            }
            for label, s in steps
            if s.applicable
        ],
        "objections": row.objections,
        "mass_forms": row.mass_forms,
        "publicity_problems": [
            {"title": t, "problem": k, "due": d.isoformat()} for t, k, d, _h in row.publicity_problems
        ],
        "decided": row.branches_decided,
    }


def report_draft(figures: dict[str, Any]) -> str:
    """A first draft of the summary, written from the figures, for the secretary to edit."""
    steps = "；".join(
        f"{s['label']} {s['done']}/{s['expected']}" + ("（逾期）" if s["overdue"] else "") for s in figures["steps"]
    )
    outcomes = "、".join(f"{o['label']} {o['n']} 人" for o in figures["outcomes"]) or _("无")
    return _(
        "%(org)s%(year)s年度党员积分管理工作总结\n\n"
        "一、基本情况：应参与记分党员 %(expected)s 名，参与记分 %(scored)s 名，年度平均分 %(mean)s 分。\n"
        "二、积分结果：%(outcomes)s。\n"
        "三、各环节完成情况：%(steps)s。\n"
        "四、异议与群众评议：收到异议 %(objections)s 件，群众评议表 %(mass)s 份。\n"
        "五、存在的问题和下一步打算：\n"
    ) % {
        "org": figures["organization"],
        "year": figures["year"],
        "expected": figures["expected"],
        "scored": figures["scored"],
        "mean": figures["mean"],
        "outcomes": outcomes,
        "steps": steps,
        "objections": figures["objections"],
        "mass": figures["mass_forms"],
    }


def report_permissions(actor: User, org: Organization) -> tuple[bool, bool]:
    """(may write and submit, may return) the report of `org`."""
    if org.kind == Organization.Kind.BRANCH:
        may_write = perms.has_org_perm(actor, perms.BRANCH_RUN, org)
        may_return = org.parent is not None and perms.has_org_perm(actor, perms.SCHEME_APPROVE, org.parent)
    elif org.kind == Organization.Kind.GENERAL_BRANCH:
        may_write = perms.has_org_perm(actor, perms.SCHEME_APPROVE, org)
        may_return = org.parent is not None and perms.has_org_perm(actor, perms.OVERSEE, org.parent)
    else:
        may_write = may_return = False
    return may_write, may_return


def work_report_view(
    *, actor: User, org: Organization, year: int, today: datetime.date | None = None
) -> dict[str, Any]:
    """The report page of a branch or general branch: the stored report (if any), the figures (frozen
    once submitted, live before) and what the actor may do."""
    scope = scope_for(actor=actor, org=org, year=year, today=today)
    report = WorkReport.objects.filter(organization=org, year=year).select_related("submitted_by", "updated_by").first()
    frozen = report is not None and report.status == WorkReport.Status.SUBMITTED and report.figures
    figures = report.figures if frozen else report_figures(scope)
    may_write, may_return = report_permissions(actor, org)
    due = deadlines_by_code(scope).get("A-REPORT")
    return {
        "scope": scope,
        "report": report,
        "figures": figures,
        "frozen": bool(frozen),
        "due": due,
        "may_write": may_write and (report is None or report.status != WorkReport.Status.SUBMITTED),
        "may_return": may_return and report is not None and report.status == WorkReport.Status.SUBMITTED,
        "draft": report.summary if report else report_draft(figures),
        "late": _report_late(report, due, scope.today),
    }


def _report_late(report: WorkReport | None, due: datetime.date | None, today: datetime.date) -> bool:
    if due is None:
        return False
    if report is not None and report.submitted_at is not None and report.status == WorkReport.Status.SUBMITTED:
        return timezone.localtime(report.submitted_at).date() > due
    return today > due


def work_reports_overview(
    *, actor: User, org: Organization, year: int, today: datetime.date | None = None
) -> dict[str, Any]:
    """Who has submitted and who is late, for every branch and general branch under `org`: two
    queries after the scope."""
    scope = scope_for(actor=actor, org=org, year=year, today=today)
    reports = {
        r.organization_id: r
        for r in WorkReport.objects.filter(organization_id__in=[o.pk for o in scope.orgs], year=year).select_related(
            "submitted_by"
        )
    }
    due = deadlines_by_code(scope).get("A-REPORT")
    rows = []
    for o in scope.orgs:
        if o.kind == Organization.Kind.COMMITTEE:
            continue
        report = reports.get(o.pk)
        submitted = report is not None and report.status == WorkReport.Status.SUBMITTED
        rows.append(
            {
                "org": o,
                "report": report,
                "submitted": submitted,
                "late": _report_late(report, due, scope.today),
                "status": report.get_status_display() if report else _("未填写"),
            }
        )
    counts = Counter("submitted" if r["submitted"] else "late" if r["late"] else "pending" for r in rows)
    return {"scope": scope, "rows": rows, "due": due, "counts": counts}
