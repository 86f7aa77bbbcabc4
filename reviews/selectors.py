"""Reads of the review pipeline, each scoped to the acting user."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from members import permissions as perms
from members.models import Member, Organization
from partyscore.core.models import Delivery
from scoring.models import Cycle, MemberOutcome, MemberYearTotal, Period, Scheme
from scoring.selectors import (
    current_period,
    deadlines_for,
    member_record_visible,
    schemes_in_force,
    upcoming_deadlines,
)

from . import grades, pipeline
from .models import (
    AnnualReport,
    Declaration,
    Determination,
    EvaluationGrade,
    FollowUp,
    FulfilmentReport,
    MassEvaluation,
    Objection,
    ObjectionAttachment,
    PanelConfirmation,
    PanelScore,
    Pledge,
    Publicity,
    SelfAssessment,
    SelfClaim,
)
from .services import mass_window_closes, period_deadline, pledge_audience

if TYPE_CHECKING:
    import datetime
    from collections.abc import Iterable

    from django.db.models import QuerySet

    from members.models import User
    from scoring.models import Deadline

    from .models import Escalation, MassResult


def member_due(*, member: Member, year: int, today: datetime.date | None = None) -> list[dict[str, Any]]:
    """What the member has to do next, with dates: the phone home page's list. The steps of the
    member's pipeline they act on (reviews/pipeline.py), in the current period, not yet done."""
    today = today or timezone.localdate()
    scheme = schemes_in_force(branch=member.branch, year=year).get(member.category)
    due = []
    if scheme is None or member.exempt:
        return due
    cycle = Cycle.objects.filter(year=year).first()
    deadlines = {d.code: d.due_on for d in deadlines_for(organization=member.branch, cycle=cycle)}
    current = {}  # period kind → the period running today
    for step in pipeline.steps_of({scheme.pipeline}, responsible=pipeline.BY_MEMBER):
        for code in pipeline.dues_of(step, {scheme.pipeline}):
            kind = code.period[0] if code.period else None
            if kind and kind not in current:
                current[kind] = current_period(year=year, kind=kind, today=today)
            period = current.get(kind)
            if code.period and (period is None or period.index != code.period[1]):
                continue
            if member.pk in step.done_subjects(year=year, period=period, branch_ids=[member.branch_id]):
                continue
            due.append(
                {
                    "what": step.todo_title(period),
                    "url": step.url(branch=member.branch, period=period, year=year),
                    "when": deadlines.get(code.code, period.ends_on if period else None),
                }
            )
    return due


def member_steps(*, member: Member, year: int) -> set[str]:
    """The keys of the steps of the member's pipeline, so a page offers only their buttons (no 践诺
    under Policy A)."""
    scheme = schemes_in_force(branch=member.branch, year=year).get(member.category)
    return {s.key for s in pipeline.steps_of({scheme.pipeline} if scheme else set())}


def my_pipeline(*, member: Member, year: int) -> dict[str, Any]:
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


def pipelines_at(*, organization: Organization, year: int) -> set[str]:
    """The review pipelines of the schemes in force at `organization`."""
    return {s.pipeline for s in schemes_in_force(branch=organization, year=year).values()}


def deadlines_ahead(
    *, organization: Organization, cycle: Cycle, pipelines: set[str], today: datetime.date | None = None
) -> list[tuple[Deadline, int]]:
    """The deadlines ahead at `organization` (scoring.selectors.upcoming_deadlines) without the codes of
    pipelines other than `pipelines`: a Policy A branch never sees Policy B's monthly 践诺 dates."""
    foreign = pipeline.codes_of(set(Scheme.Pipeline.values) - pipelines) - pipeline.codes_of(pipelines)
    return [
        (d, days)
        for d, days in upcoming_deadlines(organization=organization, cycle=cycle, today=today)
        if d.code not in foreign
    ]


def branch_todo(*, actor: User, branch: Organization, year: int, today: datetime.date | None = None) -> dict[str, Any]:
    """The secretary's to-do for the branch's year, and every member's status in each step."""
    if not perms.has_org_perm(actor, perms.LEDGER_VIEW, branch):
        raise PermissionDenied(_("您无权查看该支部的评议工作"))
    today = today or timezone.localdate()
    members = list(Member.objects.filter(branch=branch, left_on__isnull=True).order_by("number"))
    schemes = schemes_in_force(branch=branch, year=year)
    pipelines = {s.pipeline for s in schemes.values()}
    kinds = {s.period_kind for s in schemes.values()}
    # The periods the branch reports and publicizes by: Policy B scores by quarter and also reports
    # fulfilment and publicizes monthly (亮化记分: 每月公示).
    reported = kinds | set().union(*(pipeline.period_kinds(s, pipelines) for s in pipeline.steps_of(pipelines)))
    # The panel scores only in its own pipeline's periods (Policy A's semesters, none under B).
    periods = {
        k: current_period(year=year, kind=k, today=today)
        for k in pipeline.period_kinds(pipeline.PANEL_SCORING, pipelines)
    }
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
        "pipelines": pipelines,
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
        "deadlines": [
            d
            for d, _days in deadlines_ahead(
                organization=branch, cycle=Cycle.objects.get(year=year), pipelines=pipelines, today=today
            )
        ][:5],
        # Only the periods of the branch's own policy: Policy B publishes by month and quarter and
        # has no self-assessment; Policy A reopens a semester's self-assessment.
        "publicity_periods": Period.objects.filter(cycle__year=year, kind__in={"month", "quarter"} & reported).order_by(
            "kind", "index"
        ),
        "scheme": next(iter(schemes.values()), None),
        "all_periods": Period.objects.filter(cycle__year=year, kind__in=reported).order_by("kind", "index"),
        "self_periods": Period.objects.filter(
            cycle__year=year, kind__in=pipeline.period_kinds(pipeline.SELF_ASSESSMENT, pipelines)
        ).order_by("index"),
    }


def may_see_objection(*, actor: User, objection: Objection) -> bool:
    """Who may open an objection (its page and every link to it): whoever raised it, the member it
    is about, the branch that answers it and those who oversee that branch."""
    return (
        objection.raised_by_id == actor.pk
        or objection.member.user_id == actor.pk
        or perms.has_org_perm(actor, perms.OBJECTIONS_HANDLE, objection.branch)
        or perms.has_org_perm(actor, perms.OVERSEE, objection.branch)
    )


def declaration_evidence_get(*, actor: User, declaration_id: int) -> Declaration:
    """A declaration with its file, for whoever sees the member's record (the member, the branch's ledger)."""
    declaration = Declaration.objects.select_related("member__branch").filter(pk=declaration_id).first()
    if declaration is None or not member_record_visible(actor=actor, member=declaration.member):
        raise PermissionDenied(_("您无权查看该佐证材料"))
    return declaration


def self_claim_evidence_get(*, actor: User, claim_id: int) -> SelfClaim:
    """A self-assessment line with its file, for whoever sees the member's record."""
    claim = SelfClaim.objects.select_related("assessment__member__branch").filter(pk=claim_id).first()
    if claim is None or not member_record_visible(actor=actor, member=claim.assessment.member):
        raise PermissionDenied(_("您无权查看该佐证材料"))
    return claim


def fulfilment_evidence_get(*, actor: User, report_id: int) -> FulfilmentReport:
    """A fulfilment report with its file, for whoever sees the member's record."""
    report = FulfilmentReport.objects.select_related("member__branch").filter(pk=report_id).first()
    if report is None or not member_record_visible(actor=actor, member=report.member):
        raise PermissionDenied(_("您无权查看该佐证材料"))
    return report


def objection_get(*, actor: User, objection_id: int) -> Objection:
    objection = (
        Objection.objects.select_related("member__branch", "entry__item", "declaration__item", "raised_by", "branch")
        .filter(pk=objection_id)
        .first()
    )
    if objection is None or not may_see_objection(actor=actor, objection=objection):
        raise PermissionDenied(_("您无权查看该异议"))
    return objection


def objection_attachment_get(*, actor: User, attachment_id: int) -> ObjectionAttachment:
    """An objection's file, for whoever may open the objection itself."""
    attachment = ObjectionAttachment.objects.filter(pk=attachment_id).first()
    if attachment is None:
        raise PermissionDenied(_("您无权查看该佐证材料"))
    objection_get(actor=actor, objection_id=attachment.objection_id)
    return attachment


def publicity_visible(*, actor: User, publicity: Publicity) -> bool:
    """Who sees a window: the branch's own people always; others by its audience, which for the
    branch's pledges is the scheme's 承诺公示范围 as it stands now (a narrowed setting hides
    windows already open)."""
    if perms.has_org_perm(actor, perms.LEDGER_VIEW, publicity.branch):
        return True
    if not publicity.has_started():
        return False
    audience = publicity.audience
    if publicity.kind == Publicity.Kind.PLEDGES:
        audience = pledge_audience(branch=publicity.branch, year=publicity.year)
    if audience == "university":
        return True
    member = getattr(actor, "member", None)
    if member is None and not perms.has_org_perm(actor, perms.MASS_EVALUATE, publicity.branch):
        return False
    if audience == "college" and member is not None:
        return member.branch.parent_id == publicity.branch.parent_id
    return (member is not None and member.branch_id == publicity.branch_id) or perms.has_org_perm(
        actor, perms.MASS_EVALUATE, publicity.branch
    )


def publicity_get(*, actor: User, publicity_id: int) -> Publicity:
    publicity = Publicity.objects.select_related("branch", "period", "determination").filter(pk=publicity_id).first()
    if publicity is None or not publicity_visible(actor=actor, publicity=publicity):
        raise PermissionDenied(_("该公示不对您公开或尚未开始"))
    return publicity


def publicity_content(*, actor: User, publicity: Publicity) -> QuerySet[Any] | list[Any]:
    """The results the window shows, by kind: nothing to an actor outside its audience."""
    branch, year, kind = publicity.branch, publicity.year, publicity.kind
    if kind == Publicity.Kind.PLEDGES:
        if not publicity_visible(actor=actor, publicity=publicity):
            return Pledge.objects.none()
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


def may_see_mass_results(*, actor: User, branch: Organization) -> bool:
    """The door of the mass-evaluation results (the page and every link to it)."""
    return perms.has_org_perm(actor, perms.MASS_RESULTS_VIEW, branch)


def mass_summary(*, actor: User, branch: Organization, year: int, result: MassResult | None) -> dict[str, Any]:
    """What the results page shows: the frozen result once the window has closed (`result`, from
    services.mass_results_freeze), before that only how many answered and when it closes. The
    organization department alone also sees each answer, for supervision."""
    if not may_see_mass_results(actor=actor, branch=branch):
        raise PermissionDenied(_("您无权查看群众评议结果"))
    evaluations = MassEvaluation.objects.filter(branch=branch, year=year)
    summary = {"result": result, "closes": mass_window_closes(branch=branch, year=year)}
    if result is None:
        summary["count"] = evaluations.count()
    if perms.has_org_perm(actor, perms.OVERSEE, branch):
        summary["answers"] = (
            evaluations.select_related("representative")
            .prefetch_related("ratings__member")
            .order_by("representative__username")
        )
    return summary


def panelist_work(
    *, actor: User, branch: Organization, year: int, today: datetime.date | None = None
) -> dict[str, Any] | None:
    """A panelist's work in the branch's current assessed period: the members they have not scored
    yet (themself and members already confirmed left out), and the panel's deadline. None when the
    branch has no period to score now."""
    if not perms.has_org_perm(actor, perms.PANEL_SCORE, branch):
        raise PermissionDenied(_("您不是本支部考评小组成员"))
    pipelines = {s.pipeline for s in schemes_in_force(branch=branch, year=year).values()}
    kinds = sorted(pipeline.period_kinds(pipeline.PANEL_SCORING, pipelines))
    period = current_period(year=year, kind=kinds[0], today=today) if kinds else None
    if period is None:
        return None
    members = Member.objects.filter(branch=branch, left_on__isnull=True, exempt=False).exclude(user=actor)
    done = (
        PanelScore.objects.filter(panelist=actor, period=period, member__branch=branch)
        .values("member_id")
        .union(PanelConfirmation.objects.filter(period=period, member__branch=branch).values("member_id"))
    )
    done_ids = set(done.values_list("member_id", flat=True))
    ids = list(members.values_list("pk", flat=True))
    return {
        "period": period,
        "left": sum(1 for pk in ids if pk not in done_ids),
        "members": len(ids),
        "due": period_deadline(period, pipeline.due_for(pipeline.PANEL_SCORING, pipelines, period), branch),
    }


def mass_work(*, actor: User, branch: Organization, year: int) -> dict[str, Any]:
    """A mass representative's evaluation of the branch's year: submitted or not, and by when."""
    if not perms.has_org_perm(actor, perms.MASS_EVALUATE, branch):
        raise PermissionDenied(_("您不是本支部的群众代表"))
    return {
        "submitted": MassEvaluation.objects.filter(representative=actor, branch=branch, year=year).first(),
        "due": mass_window_closes(branch=branch, year=year),
    }


def panel_status(*, branch: Organization, period: Period) -> list[dict[str, Any]]:
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
    assessed = dict(
        SelfAssessment.objects.filter(member__branch=branch, period=period).values_list("member_id", "status")
    )
    members = Member.objects.filter(branch=branch, left_on__isnull=True, exempt=False).order_by("number")
    return [
        {
            "member": m,
            "panelists": scored.get(m.pk, 0),
            "confirmed": m.pk in confirmed,
            "self_assessed": assessed.get(m.pk),
        }
        for m in members
    ]


def panel_next_member(*, branch: Organization, period: Period, after: Member, panelist: User) -> Member | None:
    """The next member on the board (by number, wrapping round) the panelist has not scored yet, never
    the panelist themself; None when every one is scored."""
    scored = set(
        PanelScore.objects.filter(panelist=panelist, period=period, member__branch=branch).values_list(
            "member_id", flat=True
        )
    )
    members = list(
        Member.objects.filter(branch=branch, left_on__isnull=True, exempt=False)
        .exclude(user=panelist)
        .exclude(pk__in=scored)
        .order_by("number")
    )
    return next((m for m in members if m.number > after.number), members[0] if members else None)


def determination_rows(*, branch: Organization, year: int, posted: dict[int, str]) -> list[dict[str, Any]]:
    """The proposed totals for the branch meeting, each with the grades it may record (no 优秀 where
    an outcome forbids it, grades.py) and the one selected: `posted` (member id → grade) after a
    refused submission, else the proposal. Three queries at any size."""
    totals = list(
        MemberYearTotal.objects.filter(branch=branch, year=year)
        .select_related("member")
        .order_by("rank", "member__number")
    )
    outcomes = {}
    for o in MemberOutcome.objects.filter(branch=branch, year=year):
        outcomes.setdefault(o.member_id, []).append(o)
    naming_excellence = grades.schemes_naming_excellence({t.scheme_id for t in totals})
    rows = []
    for t in totals:
        mine = outcomes.get(t.member_id, [])
        consequences = [o.consequence for o in mine]
        bar = grades.excellent_bar(consequences, scheme_names_excellence=t.scheme_id in naming_excellence)
        rows.append(
            {
                "total": t,
                "outcomes": mine,
                "bar": bar,
                "grades": [
                    (v, label) for v, label in EvaluationGrade.choices if not (bar and v == EvaluationGrade.EXCELLENT)
                ],
                "grade": posted.get(t.member_id) or grades.proposed_grade(consequences),
            }
        )
    return rows


def may_see_follow_ups(*, actor: User) -> bool:
    """The door of the follow-up list (the page and every link to it): those who run a branch or
    oversee."""
    return perms.holds_anywhere(actor, perms.BRANCH_RUN) or perms.holds_anywhere(actor, perms.OVERSEE)


def follow_ups_visible(*, actor: User) -> QuerySet[FollowUp]:
    branches = perms.orgs_with_perm(actor, perms.BRANCH_RUN)
    committees = perms.orgs_with_perm(actor, perms.OVERSEE)
    return (
        FollowUp.objects.filter(Q(determination__branch__in=branches) | Q(responsible__in=committees))
        .select_related("member__branch", "responsible", "done_by")
        .distinct()
    )


def escalation_units(*, actor: User) -> list[Organization]:
    """The units whose escalations the actor sees: branches they run, colleges whose rules they
    approve, and (for the organization department) the committee."""
    return list(perms.orgs_with_perm(actor, perms.BRANCH_RUN).filter(kind="branch")) + [
        o for o in perms.scope_roots(actor, perms.SCHEME_APPROVE) if o.kind != "branch"
    ]


def escalations_for(*, units: Iterable[Organization]) -> QuerySet[Escalation]:
    from .models import Escalation

    return (
        Escalation.objects.filter(organization__in=units)
        .select_related("subject", "organization")
        .order_by("resolved_on", "due_on")
    )


def sees_delivery_failures(*, actor: User) -> bool:
    """The organization department (the committee's audit readers) sees notices that failed to go out."""
    if actor.is_superuser:
        return True
    return perms.orgs_with_perm(actor, perms.AUDIT_VIEW).filter(kind=Organization.Kind.COMMITTEE).exists()


def delivery_failures(*, actor: User) -> QuerySet[Delivery]:
    """Deliveries that failed or are still being retried, newest first, with their notice and person."""
    if not sees_delivery_failures(actor=actor):
        raise PermissionDenied(_("您无权查看通知发送记录"))
    return Delivery.objects.filter(status__in=[Delivery.Status.FAILED, Delivery.Status.RETRYING]).select_related(
        "notification__user"
    )
