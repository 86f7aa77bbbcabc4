"""Writes of the supervision and reporting pages: spot checks (随机抽查), commendations and
criticisms of branches (通报表彰/通报批评), and annual work reports (工作报告).

Each service is keyword-only, atomic, checks the actor's permission at the organization it acts
on and the object's state, and writes an audit event in the same transaction.
"""

from __future__ import annotations

import random
import secrets
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from members import permissions as perms
from members.models import Organization
from members.selectors import users_with_perm
from partyscore.core.audit import audit_record
from partyscore.core.exceptions import ApplicationError
from partyscore.core.transitions import transition
from scoring.models import LedgerEntry

from . import reports
from . import scope as scope_reads
from .models import BranchCommendation, SpotCheck, SpotCheckItem, WorkReport

if TYPE_CHECKING:
    import datetime
    from collections.abc import Iterable

    from django.db.models import QuerySet

    from members.models import User

SPOT_CHECK_EMPTY = gettext_lazy("该支部本年度没有台账记录，无法抽查")
SPOT_CHECK_CLOSED = gettext_lazy("该抽查已完成，不能再修改")
NOTE_REQUIRED = gettext_lazy("存在问题时请写明核查说明")
REASON_REQUIRED = gettext_lazy("请写明事由")
REPORT_SUBMITTED = gettext_lazy("工作报告已上报，不能修改；如需修改请由上级退回")
REPORT_STALE = gettext_lazy("工作报告已被他人修改，请刷新后重试")


def _require(actor: User, perm: str, org: Organization, message: str | None = None) -> None:
    if not perms.has_org_perm(actor, perm, org):
        raise PermissionDenied(message or _("您无权对“%(org)s”执行此操作") % {"org": org})


# ── spot checks (随机抽查) ───────────────────────────────────────────────────────────────────


@transaction.atomic
def spot_check_draw(*, actor: User, branch: Organization, year: int, size: int, seed: str | None = None) -> SpotCheck:
    """Draw `size` random ledger lines of the branch's year for review. The seed is stored, so the
    same draw can be reproduced from the same lines."""
    _require(actor, perms.OVERSEE, branch, _("只有组织部可以随机抽查"))
    if branch.kind != Organization.Kind.BRANCH:
        raise ApplicationError(_("请选择一个党支部进行抽查"))
    most = scope_reads.setting("SPOT_CHECK_MAX")
    if not 1 <= size <= most:
        raise ApplicationError(_("抽查条数应在 1—%(most)s 之间") % {"most": most})
    ids = sorted(LedgerEntry.objects.filter(year=year, member__branch=branch).values_list("pk", flat=True))
    if not ids:
        raise ApplicationError(SPOT_CHECK_EMPTY)
    seed = seed or secrets.token_hex(8)
    chosen = random.Random(seed).sample(ids, min(size, len(ids)))  # noqa: S311 — a sample, not a secret
    check = SpotCheck.objects.create(branch=branch, year=year, requested=size, seed=seed, created_by=actor)
    SpotCheckItem.objects.bulk_create([SpotCheckItem(spot_check=check, entry_id=pk) for pk in sorted(chosen)])
    audit_record(
        actor=actor,
        action="spot_check.draw",
        target=check,
        organization=branch,
        after={"year": year, "requested": size, "seed": seed, "entries": sorted(chosen)},
    )
    return check


@transaction.atomic
def spot_check_review(*, actor: User, item: SpotCheckItem, verdict: str, note: str = "") -> SpotCheckItem:
    check = SpotCheck.objects.select_for_update(of=("self",)).select_related("branch").get(pk=item.spot_check_id)
    _require(actor, perms.OVERSEE, check.branch, _("只有组织部可以记录抽查结果"))
    if check.status != SpotCheck.Status.OPEN:
        raise ApplicationError(SPOT_CHECK_CLOSED)
    if verdict not in (SpotCheckItem.Verdict.OK, SpotCheckItem.Verdict.PROBLEM):
        raise ApplicationError(_("请选择核查结果"))
    note = (note or "").strip()
    if verdict == SpotCheckItem.Verdict.PROBLEM and not note:
        raise ApplicationError(NOTE_REQUIRED)
    before = item.verdict
    item.verdict, item.note, item.reviewed_by, item.reviewed_at = verdict, note[:300], actor, timezone.now()
    item.full_clean()
    item.save(update_fields=["verdict", "note", "reviewed_by", "reviewed_at"])
    audit_record(
        actor=actor,
        action="spot_check.review",
        target=item,
        organization=check.branch,
        before={"verdict": before},
        after={"entry": item.entry_id, "verdict": verdict, "note": item.note},
    )
    return item


@transaction.atomic
def spot_check_close(*, actor: User, spot_check: SpotCheck, conclusion: str) -> SpotCheck:
    check = SpotCheck.objects.select_for_update(of=("self",)).select_related("branch").get(pk=spot_check.pk)
    _require(actor, perms.OVERSEE, check.branch, _("只有组织部可以完成抽查"))
    transition(check, "close", SPOT_CHECK_CLOSED)
    conclusion = (conclusion or "").strip()
    if not conclusion:
        raise ApplicationError(_("请填写抽查结论"))
    pending = check.items.filter(verdict=SpotCheckItem.Verdict.PENDING).count()
    if pending:
        raise ApplicationError(_("还有 %(n)s 条记录未核查") % {"n": pending})
    check.conclusion, check.closed_by, check.closed_at = conclusion, actor, timezone.now()
    check.save(update_fields=["status", "conclusion", "closed_by", "closed_at"])
    problems = check.items.filter(verdict=SpotCheckItem.Verdict.PROBLEM).count()
    audit_record(
        actor=actor,
        action="spot_check.close",
        target=check,
        organization=check.branch,
        before={"status": "open"},
        after={"status": "closed", "problems": problems},
        reason=conclusion,
    )
    _notify(
        users_with_perm(organization=check.branch, perm=perms.BRANCH_RUN),
        gettext_noop("组织部完成了对%(branch)s台账的随机抽查：%(conclusion)s"),
        reverse("spot_check_detail", args=[check.pk]),
        {"branch": check.branch.name, "conclusion": conclusion[:100]},
    )
    return check


# ── commending and criticising a branch (通报表彰 / 通报批评) ───────────────────────────────────


@transaction.atomic
def commendation_record(
    *, actor: User, branch: Organization, year: int, kind: str, reason: str, loses_award_eligibility: bool = False
) -> BranchCommendation:
    _require(actor, perms.OVERSEE, branch, _("只有组织部可以通报表彰或批评"))
    if branch.kind == Organization.Kind.COMMITTEE:
        raise ApplicationError(_("请选择党支部或党总支"))
    if kind not in BranchCommendation.Kind.values:
        raise ApplicationError(_("请选择通报类别"))
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(REASON_REQUIRED)
    if loses_award_eligibility and kind != BranchCommendation.Kind.CRITICISE:
        raise ApplicationError(_("只有通报批评可以取消评先评优资格"))
    notice = BranchCommendation(
        branch=branch,
        year=year,
        kind=kind,
        reason=reason,
        loses_award_eligibility=bool(loses_award_eligibility),
        created_by=actor,
    )
    notice.full_clean()
    notice.save()
    audit_record(
        actor=actor,
        action=f"branch.{kind}",
        target=notice,
        organization=branch,
        reason=reason,
        after={"year": year, "kind": kind, "loses_award_eligibility": notice.loses_award_eligibility},
    )
    _notify(
        users_with_perm(organization=branch, perm=perms.BRANCH_RUN)
        if branch.is_branch
        else users_with_perm(organization=branch, perm=perms.SCHEME_APPROVE),
        gettext_noop("%(kind)s：%(branch)s，%(reason)s"),
        reverse("dashboard_branch", args=[branch.pk])
        if branch.is_branch
        else reverse("dashboard_org", args=[branch.pk]),
        {"kind": BranchCommendation.Kind(kind).label, "branch": branch.name, "reason": reason[:100]},
    )
    return notice


# ── annual work reports (工作报告) ─────────────────────────────────────────────────────────────


def _receivers(org: Organization) -> QuerySet[User] | list[User]:
    """Who reads the report: the general branch's secretary for a branch, the committee's
    organization department for a college."""
    if org.parent is None:
        return []
    perm = perms.SCHEME_APPROVE if org.kind == Organization.Kind.BRANCH else perms.OVERSEE
    return users_with_perm(organization=org.parent, perm=perm)


@transaction.atomic
def work_report_save(
    *,
    actor: User,
    organization: Organization,
    year: int,
    summary: str,
    lock_version: int = 0,
    submit: bool = False,
    today: datetime.date | None = None,
) -> WorkReport:
    """Save (and with `submit`, hand in) the unit's report. On submission the unit's own figures are
    frozen into the report."""
    may_write, _may_return = reports.report_permissions(actor, organization)
    if not may_write:
        raise PermissionDenied(_("您无权填写“%(org)s”的工作报告") % {"org": organization})
    summary = (summary or "").strip()
    if not summary:
        raise ApplicationError(_("请填写工作总结"))
    report = WorkReport.objects.select_for_update().filter(organization=organization, year=year).first()
    before = None
    if report is None:
        report = WorkReport(organization=organization, year=year, updated_by=actor)
    else:
        before = report.status
        if report.status == WorkReport.Status.SUBMITTED:
            raise ApplicationError(REPORT_SUBMITTED)
        if report.lock_version != lock_version:
            raise ApplicationError(REPORT_STALE)
    report.summary, report.updated_by, report.updated_at = summary, actor, timezone.now()
    report.lock_version += 1
    if submit:
        scope = scope_reads.scope_for(actor=actor, org=organization, year=year, today=today)
        report.figures = reports.report_figures(scope)
        transition(report, "submit", REPORT_SUBMITTED)
        report.submitted_by, report.submitted_at = actor, timezone.now()
        report.returned_reason = ""
    report.full_clean()
    report.save()
    audit_record(
        actor=actor,
        action="work_report.submit" if submit else "work_report.save",
        target=report,
        organization=organization,
        before={"status": before} if before else None,
        after={"status": report.status, "year": year},
    )
    if submit:
        _notify(
            _receivers(organization),
            gettext_noop("%(org)s上报了%(year)s年度工作报告"),
            reverse("work_report", args=[organization.pk, year]),
            {"org": organization.name, "year": year},
        )
    return report


@transaction.atomic
def work_report_return(*, actor: User, report: WorkReport, reason: str) -> WorkReport:
    """The receiving level sends a submitted report back with a reason."""
    report = WorkReport.objects.select_for_update(of=("self",)).select_related("organization__parent").get(pk=report.pk)
    _may_write, may_return = reports.report_permissions(actor, report.organization)
    if not may_return:
        raise PermissionDenied(_("只有上级党组织可以退回工作报告"))
    transition(report, "return", _("只有已上报的工作报告可以退回"))
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("退回时请写明理由"))
    report.returned_reason = reason
    report.lock_version += 1
    report.save(update_fields=["status", "returned_reason", "lock_version"])
    audit_record(
        actor=actor,
        action="work_report.return",
        target=report,
        organization=report.organization,
        before={"status": "submitted"},
        after={"status": "returned"},
        reason=reason,
    )
    writer = perms.BRANCH_RUN if report.organization.is_branch else perms.SCHEME_APPROVE
    _notify(
        users_with_perm(organization=report.organization, perm=writer),
        gettext_noop("%(org)s%(year)s年度工作报告被退回：%(reason)s"),
        reverse("work_report", args=[report.organization_id, report.year]),
        {"org": report.organization.name, "year": report.year, "reason": reason[:100]},
    )
    return report


def _notify(users: Iterable[User], template: str, url: str, params: dict[str, object]) -> None:
    from partyscore.core.notifications import notify

    notify(list(users), template, url, params)
