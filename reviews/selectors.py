"""Reads of the review pipeline, each scoped to the acting user."""

from collections import Counter

from django.core.exceptions import PermissionDenied
from django.db.models import Avg, Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from members import permissions as perms
from members.models import Member
from scoring.models import Cycle, MemberYearTotal, Period
from scoring.selectors import current_period, member_record_visible, schemes_in_force, upcoming_deadlines

from .models import (
    AnnualReport,
    Declaration,
    Determination,
    FollowUp,
    FulfilmentReport,
    MassEvaluation,
    MassRating,
    Notification,
    Objection,
    PanelConfirmation,
    PanelScore,
    Pledge,
    Publicity,
    SelfAssessment,
    SelfClaim,
)
from .services import review_settings, self_assessment_deadline


def member_due(*, member, year, today=None):
    """What the member has to do next, with dates: the phone home page's list."""
    today = today or timezone.localdate()
    schemes = schemes_in_force(branch=member.branch, year=year)
    scheme = schemes.get(member.category)
    due = []
    if scheme is None or member.exempt:
        return due
    pledges = list(Pledge.objects.filter(member=member, year=year))
    if not pledges or any(p.status in ("draft", "returned") for p in pledges):
        due.append({"what": _("提交年度承诺"), "url": reverse("my_pledges"), "when": None})
    period = current_period(year=year, kind=scheme.period_kind, today=today)
    if scheme.composition == "hundred" and period is not None:
        done = SelfAssessment.objects.filter(member=member, period=period, status="submitted").exists()
        if not done:
            due.append(
                {
                    "what": _("%(period)s自查自评") % {"period": period},
                    "url": reverse("self_assessment", args=[period.pk]),
                    "when": self_assessment_deadline(period, member.branch),
                }
            )
    if scheme.composition == "additive":
        month = current_period(year=year, kind="month", today=today)
        if month and not FulfilmentReport.objects.filter(member=member, period=month).exists():
            due.append(
                {
                    "what": _("%(period)s践诺情况报告") % {"period": month},
                    "url": reverse("fulfilment_new"),
                    "when": month.ends_on,
                }
            )
    return due


def my_pipeline(*, member, year):
    return {
        "pledges": Pledge.objects.filter(member=member, year=year),
        "declarations": Declaration.objects.filter(member=member, period__cycle__year=year).select_related(
            "item", "period"
        ),
        "fulfilment": FulfilmentReport.objects.filter(member=member, period__cycle__year=year).select_related("period"),
        "assessments": SelfAssessment.objects.filter(member=member, period__cycle__year=year).select_related("period"),
        "objections": Objection.objects.filter(member=member, year=year),
        "follow_ups": FollowUp.objects.filter(member=member, determination__year=year),
        "determinations": member.determinations.filter(determination__year=year).select_related("determination"),
        "annual_report": AnnualReport.objects.filter(member=member, year=year).first(),
        "publicities": Publicity.objects.filter(branch=member.branch, year=year, starts_at__lte=timezone.now()),
    }


def branch_todo(*, actor, branch, year, today=None):
    """The secretary's to-do for the branch's year, and every member's status in each step."""
    if not perms.has_org_perm(actor, perms.LEDGER_VIEW, branch):
        raise PermissionDenied(_("您无权查看该支部的评议工作"))
    today = today or timezone.localdate()
    members = list(Member.objects.filter(branch=branch, left_on__isnull=True).order_by("number"))
    schemes = schemes_in_force(branch=branch, year=year)
    kinds = {s.period_kind for s in schemes.values()}
    periods = {k: current_period(year=year, kind=k, today=today) for k in kinds}
    period_ids = [p.pk for p in periods.values() if p]
    submitted = set(
        SelfAssessment.objects.filter(member__branch=branch, period_id__in=period_ids, status="submitted").values_list(
            "member_id", flat=True
        )
    )
    confirmed = set(
        PanelConfirmation.objects.filter(member__branch=branch, period_id__in=period_ids).values_list(
            "member_id", flat=True
        )
    )
    pledged = Counter(
        Pledge.objects.filter(member__branch=branch, year=year, status="approved").values_list("member_id", flat=True)
    )
    totals = {t.member_id: t for t in MemberYearTotal.objects.filter(branch=branch, year=year)}
    rows = [
        {
            "member": m,
            "pledges": pledged.get(m.pk, 0),
            "self": m.pk in submitted,
            "panel": m.pk in confirmed,
            "total": totals.get(m.pk),
        }
        for m in members
    ]
    return {
        "rows": rows,
        "periods": periods,
        "pledges": Pledge.objects.filter(member__branch=branch, year=year, status="submitted").select_related("member"),
        "fulfilment": FulfilmentReport.objects.filter(
            member__branch=branch, period__cycle__year=year, status="submitted"
        ).select_related("member", "period"),
        "declarations": Declaration.objects.filter(
            member__branch=branch, period__cycle__year=year, status__in=("submitted", "verified")
        ).select_related("member", "item", "period"),
        "objections": Objection.objects.filter(branch=branch, year=year, status__in=Objection.PENDING).select_related(
            "member"
        ),
        "publicities": Publicity.objects.filter(branch=branch, year=year),
        "determination": Determination.objects.filter(branch=branch, year=year).exclude(status="reopened").first(),
        "follow_ups": FollowUp.objects.filter(
            determination__branch=branch, determination__year=year, status="open"
        ).select_related("member"),
        "self_missing": [m for m in members if m.pk not in submitted and not m.exempt],
        "deadlines": [d for d, _days in upcoming_deadlines(organization=branch, cycle=Cycle.objects.get(year=year),
                                                            today=today)][:5],
        "publicity_periods": Period.objects.filter(cycle__year=year, kind__in=("month", "quarter")).order_by(
            "kind", "index"),
        "scheme": next(iter(schemes.values()), None),
        "all_periods": Period.objects.filter(cycle__year=year).exclude(kind="month"),
    }


def declaration_evidence_get(*, actor, declaration_id):
    """A declaration with its file, for whoever sees the member's record (the member, the branch's ledger)."""
    declaration = Declaration.objects.select_related("member__branch").filter(pk=declaration_id).first()
    if declaration is None or not member_record_visible(actor=actor, member=declaration.member):
        raise PermissionDenied(_("您无权查看该佐证材料"))
    return declaration


def self_claim_evidence_get(*, actor, claim_id):
    """A self-assessment line with its file, for whoever sees the member's record."""
    claim = SelfClaim.objects.select_related("assessment__member__branch").filter(pk=claim_id).first()
    if claim is None or not member_record_visible(actor=actor, member=claim.assessment.member):
        raise PermissionDenied(_("您无权查看该佐证材料"))
    return claim


def fulfilment_evidence_get(*, actor, report_id):
    """A fulfilment report with its file, for whoever sees the member's record."""
    report = FulfilmentReport.objects.select_related("member__branch").filter(pk=report_id).first()
    if report is None or not member_record_visible(actor=actor, member=report.member):
        raise PermissionDenied(_("您无权查看该佐证材料"))
    return report


def objection_get(*, actor, objection_id):
    objection = (
        Objection.objects.select_related("member__branch", "entry__item", "declaration__item", "raised_by", "branch")
        .filter(pk=objection_id)
        .first()
    )
    if objection is None or not (
        objection.raised_by_id == actor.pk
        or objection.member.user_id == actor.pk
        or perms.has_org_perm(actor, perms.OBJECTIONS_HANDLE, objection.branch)
        or perms.has_org_perm(actor, perms.OVERSEE, objection.branch)
    ):
        raise PermissionDenied(_("您无权查看该异议"))
    return objection


def publicity_visible(*, actor, publicity):
    if perms.has_org_perm(actor, perms.LEDGER_VIEW, publicity.branch):
        return True
    if not publicity.has_started():
        return False
    if publicity.audience == "university":
        return True
    member = getattr(actor, "member", None)
    if member is None and not perms.has_org_perm(actor, perms.MASS_EVALUATE, publicity.branch):
        return False
    if publicity.audience == "college" and member is not None:
        return member.branch.parent_id == publicity.branch.parent_id
    return (member is not None and member.branch_id == publicity.branch_id) or perms.has_org_perm(
        actor, perms.MASS_EVALUATE, publicity.branch
    )


def publicity_get(*, actor, publicity_id):
    publicity = Publicity.objects.select_related("branch", "period", "determination").filter(pk=publicity_id).first()
    if publicity is None or not publicity_visible(actor=actor, publicity=publicity):
        raise PermissionDenied(_("该公示不对您公开或尚未开始"))
    return publicity


def publicity_content(*, publicity):
    """The results the window shows, by kind."""
    branch, year, kind = publicity.branch, publicity.year, publicity.kind
    if kind == Publicity.Kind.PLEDGES:
        return Pledge.objects.filter(member__branch=branch, year=year, status="approved").select_related("member")
    if kind == Publicity.Kind.FULFILMENT:
        return FulfilmentReport.objects.filter(
            member__branch=branch, period=publicity.period, status="verified"
        ).select_related("member")
    if kind == Publicity.Kind.DECLARATIONS:
        return publicity.declarations.select_related("member", "item")
    if kind == Publicity.Kind.ANNUAL:
        return publicity.determination.snapshot if publicity.determination else []
    return publicity.snapshot  # scores, as they stood when the window opened


def mass_summary(*, actor, branch, year):
    """Aggregates only, and only once enough representatives answered; names never."""
    if not perms.has_org_perm(actor, perms.MASS_RESULTS_VIEW, branch):
        raise PermissionDenied(_("您无权查看群众评议结果"))
    evaluations = MassEvaluation.objects.filter(branch=branch, year=year)
    count = evaluations.count()
    scheme = next(iter(schemes_in_force(branch=branch, year=year).values()), None)
    needed = review_settings(scheme).mass_min_answers
    summary = {"count": count, "needed": needed, "ready": count >= needed}
    if summary["ready"]:
        summary.update(evaluations.aggregate(panel=Avg("panel_rating"), branch=Avg("branch_rating")))
        summary["members"] = (
            MassRating.objects.filter(evaluation__in=evaluations)
            .values("member__name")
            .annotate(avg=Avg("rating"), n=Count("id"), poor=Count("id", filter=Q(rating=1)))
            .order_by("member__number")
        )
        summary["comments"] = sorted(c for c in evaluations.values_list("comments", flat=True) if c)
    if perms.has_org_perm(actor, perms.OVERSEE, branch):
        summary["answers"] = evaluations.select_related("representative").prefetch_related("ratings__member")
    return summary


def panel_status(*, branch, period):
    """For each member: how many panelists scored them, and whether the secretary confirmed."""
    scored = dict(
        PanelScore.objects.filter(member__branch=branch, period=period)
        .values("member_id")
        .annotate(n=Count("panelist", distinct=True))
        .values_list("member_id", "n")
    )
    confirmed = set(
        PanelConfirmation.objects.filter(member__branch=branch, period=period).values_list("member_id", flat=True)
    )
    members = Member.objects.filter(branch=branch, left_on__isnull=True, exempt=False).order_by("number")
    return [{"member": m, "panelists": scored.get(m.pk, 0), "confirmed": m.pk in confirmed} for m in members]


def follow_ups_visible(*, actor):
    branches = perms.orgs_with_perm(actor, perms.BRANCH_RUN)
    committees = perms.orgs_with_perm(actor, perms.OVERSEE)
    return (
        FollowUp.objects.filter(Q(determination__branch__in=branches) | Q(responsible__in=committees))
        .select_related("member__branch", "responsible", "done_by")
        .distinct()
    )


def unread_count(*, user):
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def escalation_units(*, actor):
    """The units whose escalations the actor sees: branches they run, colleges whose rules they
    approve, and (for the organization department) the committee."""
    return list(perms.orgs_with_perm(actor, perms.BRANCH_RUN).filter(kind="branch")) + list(
        perms.scope_roots(actor, perms.SCHEME_APPROVE).exclude(kind="branch"))


def escalations_for(*, units):
    from .models import Escalation

    return Escalation.objects.filter(organization__in=units).select_related("subject", "organization").order_by(
        "resolved_on", "due_on")
