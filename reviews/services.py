"""Every move of the review pipeline: one service per transition, each checking the actor's role
and scope and the object's current status, writing the change and an audit event in one
transaction, and notifying whoever must act next once it commits."""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any, NamedTuple

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from members import permissions as perms
from members.models import Member, Organization
from members.selectors import users_with_perm
from partyscore.core.audit import audit_record
from partyscore.core.exceptions import ApplicationError
from partyscore.core.notifications import notify
from partyscore.core.transitions import transition
from scoring import policy
from scoring import services as scoring
from scoring.models import Cycle, LedgerEntry, MemberOutcome, MemberYearTotal, OutcomeRule, Scheme
from scoring.points import divide_centi, format_points, to_centi
from scoring.recalculation import recalculate_branch, terms_of
from scoring.selectors import deadlines_for, scheme_for_member, schemes_in_force

from . import grades as grading
from . import pipeline
from .models import (
    AnnualReport,
    Declaration,
    Determination,
    DeterminationLine,
    FollowUp,
    FulfilmentReport,
    MassEvaluation,
    MassRating,
    MassResult,
    Objection,
    ObjectionAttachment,
    PanelConfirmation,
    PanelScore,
    Pledge,
    Publicity,
    ReviewSettings,
    SelfAssessment,
    SelfClaim,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from decimal import Decimal

    from django.core.files.uploadedfile import UploadedFile
    from django.db import models
    from django.db.models import QuerySet
    from django.db.models.fields.files import FieldFile

    from members.models import User
    from scoring.models import Period, RuleItem

FOLLOW_UP_DAYS = 30
log = logging.getLogger(__name__)

# The answers to a second, identical submission, whether it came after the first or at the same instant.
PLEDGE_DUPLICATE = gettext_noop("该承诺已保存，请勿重复提交")
FULFILMENT_DUPLICATE = gettext_noop("本月践诺情况已提交，请勿重复提交")
DECLARATION_DUPLICATE = gettext_noop("该申报已提交，请勿重复提交")
OBJECTION_DUPLICATE = gettext_noop("您已就此提出异议，正在办理中")
MASS_DUPLICATE = gettext_noop("您已提交过本年度的评议")
PANEL_CONFLICT = gettext_noop("评分已被他人修改，请刷新后重试")
DETERMINATION_CONFLICT = gettext_noop("评定已被他人修改，请刷新后重试")


# ── shared ───────────────────────────────────────────────────────────────────────────────────


def _require(actor: User, perm: str, org: Organization, message: str | None = None) -> None:
    if not perms.has_org_perm(actor, perm, org):
        raise PermissionDenied(message or _("您无权对“%(org)s”执行此操作") % {"org": org})


def _require_self(actor: User, member: Member) -> None:
    if member.user_id is None or member.user_id != actor.pk:
        raise PermissionDenied(_("只能由党员本人操作"))


def _serialize(obj: models.Model) -> None:
    """Lock `obj`'s row until the transaction ends, so that a check-then-insert under it cannot
    interleave with a concurrent twin (PostgreSQL; SQLite has one writer at a time anyway). NO KEY
    UPDATE: rows that merely reference it (ledger entries, scores) can still be inserted meanwhile."""
    type(obj).objects.select_for_update(no_key=True).filter(pk=obj.pk).values_list("pk").get()


def _create_once(model: type[models.Model], duplicate: str, **fields: object) -> models.Model:
    """Insert a row that a unique constraint allows once; when a concurrent twin got there first
    the violation becomes the ordinary 'already submitted' refusal, not an error page."""
    try:
        with transaction.atomic():
            return model.objects.create(**fields)
    except IntegrityError as error:
        raise ApplicationError(_(duplicate)) from error


def _audit(
    actor: User | None,
    action: str,
    obj: models.Model,
    member: Member,
    before: str | None = None,
    reason: str = "",
    **after: object,
) -> None:
    audit_record(
        actor=actor,
        action=action,
        target=obj,
        organization=member.branch,
        reason=reason,
        before={"status": before} if before else None,
        after={"member": member.pk, "status": getattr(obj, "status", None), **after},
    )


def review_settings(scheme: Scheme | None) -> ReviewSettings:
    if scheme is None:
        return ReviewSettings()
    found = ReviewSettings.objects.filter(scheme=scheme).first()
    return found or ReviewSettings(scheme=scheme)


def review_settings_reserved(scheme: Scheme) -> tuple[str, ...]:
    """The fields the committee fixes: read-only on a college's or branch's scheme."""
    return () if scheme.owner.kind == Organization.Kind.COMMITTEE else ReviewSettings.RESERVED


def review_settings_copy(source: Scheme, target: Scheme) -> None:
    """A derived scheme, a new version and next year's scheme start with the source's settings
    (registered in ReviewsConfig.ready as one of scoring.SCHEME_COPY_EXTRAS)."""
    found = ReviewSettings.objects.filter(scheme=source).first()
    if found is not None:
        ReviewSettings.objects.create(scheme=target, **{f: getattr(found, f) for f in ReviewSettings.FIELDS})


def _derivatives(scheme: Scheme) -> list[int]:
    """Every scheme derived from `scheme`, at any depth (college, then branch)."""
    found, layer = [], [scheme.pk]
    while layer:
        layer = list(Scheme.objects.filter(derived_from_id__in=layer).values_list("pk", flat=True))
        found += layer
    return found


@transaction.atomic
def review_settings_save(*, actor: User, scheme: Scheme, data: dict[str, Any], reason: str) -> ReviewSettings:
    """Change a scheme's 评议流程设置, for whoever manages the scheme at its level. A college or
    branch may choose only what the policies leave to it; the committee's values of the reserved
    fields go down to every scheme derived from its own."""
    _require(actor, perms.SCHEME_MANAGE, scheme.owner)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("请填写修改理由"))
    current = review_settings(scheme)
    before = {f: getattr(current, f) for f in ReviewSettings.FIELDS}
    reserved = review_settings_reserved(scheme)
    changed_reserved = [f for f in reserved if f in data and data[f] != before[f]]
    if changed_reserved:
        raise ApplicationError(
            _("“%(field)s”由校党委统一规定，学院和支部不能修改")
            % {"field": ReviewSettings._meta.get_field(changed_reserved[0]).verbose_name}
        )
    for field in ReviewSettings.FIELDS:
        if field in data and field not in reserved:
            setattr(current, field, data[field])
    current.full_clean()
    after = {f: getattr(current, f) for f in ReviewSettings.FIELDS}
    if after == before:
        raise ApplicationError(_("设置没有变化"))
    current.save()
    passed_down = 0
    if not reserved:
        values = {f: after[f] for f in ReviewSettings.RESERVED}
        derived = _derivatives(scheme)
        existing = set(ReviewSettings.objects.filter(scheme_id__in=derived).values_list("scheme_id", flat=True))
        passed_down = ReviewSettings.objects.filter(scheme_id__in=existing).update(**values)
        missing = [pk for pk in derived if pk not in existing]
        ReviewSettings.objects.bulk_create(
            [
                ReviewSettings(scheme_id=pk, **{**{f: before[f] for f in ReviewSettings.FIELDS}, **values})
                for pk in missing
            ]
        )
        passed_down += len(missing)
    audit_record(
        actor=actor,
        action="review_settings.save",
        target=scheme,
        organization=scheme.owner,
        before=before,
        after={**after, "derived_schemes_updated": passed_down},
        reason=reason,
    )
    return current


def pledge_audience(*, branch: Organization, year: int) -> str:
    """承诺公示范围 of the branch's scheme in force: branch, college or university."""
    return review_settings(next(iter(schemes_in_force(branch=branch, year=year).values()), None)).pledge_audience


def pipeline_of(member: Member, year: int) -> str:
    """The review pipeline of the member's scheme in force (先锋亮绩 or 亮化记分)."""
    scheme = scheme_for_member(member=member, year=year)
    if scheme is None:
        raise ApplicationError(_("本支部尚无已批准的评分细则"))
    return scheme.pipeline


def _member_user(member: Member) -> list[User]:
    return [member.user] if member.user_id else []


def period_deadline(period: Period, code: str, organization: Organization) -> datetime.date:
    """The date of `code` as it applies at `organization` (a college may have moved it)."""
    found = next((d for d in deadlines_for(organization=organization, cycle=period.cycle) if d.code == code), None)
    return found.due_on if found else period.ends_on


# ── decisions in bulk (批量审核) ─────────────────────────────────────────────────────────────


class Decision(NamedTuple):
    """One row of a batch decision: the object's id, pass or return, and the row's own reason."""

    id: int
    approve: bool
    reason: str = ""


class BatchRefused(ApplicationError):
    """Some rows of a batch decision were refused, so nothing was decided. `errors` maps each refused
    row's id to a message that names the row."""

    def __init__(self, errors: dict[int, str]) -> None:
        super().__init__(_("有 %(n)s 项未能办理，全部未作决定") % {"n": len(errors)})
        self.errors = errors


def _decide_batch(
    *,
    actor: User,
    branch: Organization,
    objects: QuerySet[Any],
    decisions: Iterable[Decision],
    decide: Callable[[Any, Decision], Any],
    describe: Callable[[Any], str],
) -> list[Any]:
    """Take each decision through the single-decision service `decide(obj, decision)`, so each is
    checked, audited and notified exactly as if taken alone; all or nothing. `objects` is the branch's
    queryset: an id outside it (another branch's, forged, gone) refuses the batch."""
    _require(actor, perms.MEMBERS_REVIEW, branch)
    decisions = list(decisions)
    if not decisions:
        raise ApplicationError(_("请至少选择一项"))
    ids = [d.id for d in decisions]
    if len(set(ids)) != len(ids):
        raise ApplicationError(_("同一项不能重复选择"))
    found = objects.filter(member__branch=branch).in_bulk(ids)
    if len(found) != len(ids):
        raise ApplicationError(
            _("所选的 %(n)s 项不在本支部的待审核列表中，全部未作决定") % {"n": len(ids) - len(found)}
        )
    errors, done = {}, []
    for decision in decisions:
        obj = found[decision.id]
        try:  # each service is atomic on its own: a refusal rolls back its savepoint and the next row runs
            done.append(decide(obj, decision))
        except ApplicationError as error:
            errors[decision.id] = _("%(row)s：%(message)s") % {"row": describe(obj), "message": error.message}
    if errors:
        raise BatchRefused(errors)
    return done


@transaction.atomic
def pledges_decide_batch(*, actor: User, branch: Organization, decisions: Iterable[Decision]) -> list[Pledge]:
    """Approve or return many pledges of `branch` at once (see `_decide_batch`)."""
    return _decide_batch(
        actor=actor,
        branch=branch,
        decisions=decisions,
        objects=Pledge.objects.select_related("member__branch", "member__user"),
        decide=lambda pledge, d: pledge_decide(actor=actor, pledge=pledge, approve=d.approve, reason=d.reason),
        describe=lambda pledge: f"{pledge.member.name} · {pledge.get_kind_display()}",
    )


@transaction.atomic
def fulfilment_decide_batch(
    *, actor: User, branch: Organization, decisions: Iterable[Decision]
) -> list[FulfilmentReport]:
    """Verify or return many fulfilment reports (践诺情况) of `branch` at once."""
    return _decide_batch(
        actor=actor,
        branch=branch,
        decisions=decisions,
        objects=FulfilmentReport.objects.select_related("member__branch", "member__user", "period"),
        decide=lambda report, d: fulfilment_decide(actor=actor, report=report, verify=d.approve, answer=d.reason),
        describe=lambda report: f"{report.member.name} · {report.period}",
    )


@transaction.atomic
def declarations_verify_batch(*, actor: User, branch: Organization, decisions: Iterable[Decision]) -> list[Declaration]:
    """Pass or refuse many declarations (加分申报) of `branch` at once."""
    return _decide_batch(
        actor=actor,
        branch=branch,
        decisions=decisions,
        objects=Declaration.objects.select_related("member__branch", "member__user", "item"),
        decide=lambda declaration, d: declaration_verify(
            actor=actor, declaration=declaration, approve=d.approve, answer=d.reason
        ),
        describe=lambda declaration: f"{declaration.member.name} · {declaration.item.title}",
    )


# ── pledges (公开承诺 / 先锋承诺书) ──────────────────────────────────────────────────────────


@transaction.atomic
def pledge_save(
    *, actor: User, member: Member, year: int, kind: str, content: str, pledge: Pledge | None = None
) -> Pledge:
    _require_self(actor, member)
    content = (content or "").strip()
    if not content:
        raise ApplicationError(_("请填写承诺内容"))
    _serialize(member)
    if pledge is None:
        if not pledges_open(member=member, year=year):
            raise ApplicationError(_("本年度承诺已提交，不能再新增；如需修改，请待支部退回后再改"))
        if Pledge.objects.filter(member=member, year=year, kind=kind, content=content).exists():
            raise ApplicationError(_(PLEDGE_DUPLICATE))
        pledge = Pledge(member=member, year=year)
    elif pledge.status not in ("draft", "returned"):
        raise ApplicationError(_("已提交的承诺不能修改"))
    pledge.kind, pledge.content = kind, content
    pledge.full_clean()
    pledge.save()
    _audit(actor, "pledge.save", pledge, member, kind=kind)
    return pledge


def pledges_open(*, member: Member, year: int) -> bool:
    """A member may add pledges until the year's are handed in (again, once the branch returns one)."""
    statuses = set(Pledge.objects.filter(member=member, year=year).values_list("status", flat=True))
    return not statuses or bool(statuses & {Pledge.Status.DRAFT, Pledge.Status.RETURNED})


@transaction.atomic
def pledge_delete(*, actor: User, pledge: Pledge) -> None:
    """A draft (or returned) pledge may be withdrawn by its member; a handed-in one may not."""
    member = pledge.member
    _require_self(actor, member)
    _serialize(member)
    pledge = Pledge.objects.select_for_update().get(pk=pledge.pk)
    if pledge.status not in (Pledge.Status.DRAFT, Pledge.Status.RETURNED):
        raise ApplicationError(_("已提交的承诺不能删除"))
    _audit(actor, "pledge.delete", pledge, member, before=pledge.status, kind=pledge.kind)
    pledge.delete()


@transaction.atomic
def pledges_submit(*, actor: User, member: Member, year: int) -> list[Pledge]:
    """Hand in the year's pledges. B needs at least one concrete-deed pledge (实事承诺); A a
    written vanguard pledge (先锋承诺书)."""
    _require_self(actor, member)
    pledges = list(Pledge.objects.select_for_update().filter(member=member, year=year))
    drafts = [p for p in pledges if p.status in ("draft", "returned")]
    if not drafts:
        raise ApplicationError(_("没有待提交的承诺"))
    kinds = {p.kind for p in pledges}
    member_pipeline = pipeline_of(member, year)
    if member_pipeline == Scheme.Pipeline.TALLY and Pledge.Kind.DEED not in kinds:
        raise ApplicationError(_("每名党员至少要作出 1 件实事承诺"))
    if member_pipeline == Scheme.Pipeline.VANGUARD and Pledge.Kind.VANGUARD not in kinds:
        raise ApplicationError(_("请填写先锋承诺书"))
    for pledge in drafts:
        before = pledge.status
        transition(pledge, "submit")
        pledge.save(update_fields=["status"])
        _audit(actor, "pledge.submit", pledge, member, before)
    notify(
        users_with_perm(organization=member.branch, perm=perms.MEMBERS_REVIEW),
        gettext_noop("%(name)s 提交了承诺，请审核"),
        reverse("branch_reviews", args=[member.branch_id]),
        {"name": member.name},
    )
    return drafts


@transaction.atomic
def pledge_decide(*, actor: User, pledge: Pledge, approve: bool, reason: str = "") -> Pledge:
    member = pledge.member
    _require(actor, perms.MEMBERS_REVIEW, member.branch)
    if not approve and not (reason or "").strip():
        raise ApplicationError(_("退回时请写明理由"))
    before = pledge.status
    transition(pledge, "approve" if approve else "return")
    pledge.returned_reason = "" if approve else reason.strip()
    pledge.reviewed_by, pledge.reviewed_at = actor, timezone.now()
    pledge.save()
    _audit(actor, "pledge.approve" if approve else "pledge.return", pledge, member, before, reason)
    notify(
        _member_user(member),
        gettext_noop("您的%(kind)s已%(result)s"),
        reverse("my_pledges"),
        {
            "kind": Pledge.Kind(pledge.kind).label,
            "result": gettext_lazy("通过审核") if approve else gettext_lazy("被退回"),
        },
    )
    return pledge


# ── fulfilment reports (践诺, monthly) and the year-end report (述职) ───────────────────────


@transaction.atomic
def fulfilment_submit(
    *, actor: User, member: Member, period: Period, content: str, evidence: UploadedFile | None = None
) -> FulfilmentReport:
    _require_self(actor, member)
    if period.kind != "month":
        raise ApplicationError(_("践诺情况按月报告"))
    content = (content or "").strip()
    if not content:
        raise ApplicationError(_("请填写践诺情况"))
    if evidence:
        scoring.evidence_check([evidence])
    report = FulfilmentReport.objects.filter(member=member, period=period).first()
    if report is None:
        report = _create_once(
            FulfilmentReport,
            FULFILMENT_DUPLICATE,
            member=member,
            period=period,
            content=content,
            evidence=evidence or "",
        )
        before = None
    elif report.status == FulfilmentReport.Status.SUBMITTED:
        raise ApplicationError(_(FULFILMENT_DUPLICATE))
    else:
        before = report.status
        transition(report, "resubmit")
        report.content = content
        if evidence:
            report.evidence = evidence
        report.save()
    _audit(actor, "fulfilment.submit", report, member, before)
    notify(
        users_with_perm(organization=member.branch, perm=perms.MEMBERS_REVIEW),
        gettext_noop("%(name)s 报告了%(period)s践诺情况，请核实"),
        reverse("branch_reviews", args=[member.branch_id]),
        {"name": member.name, "period": period},
    )
    return report


@transaction.atomic
def fulfilment_decide(*, actor: User, report: FulfilmentReport, verify: bool, answer: str = "") -> FulfilmentReport:
    member = report.member
    _require(actor, perms.MEMBERS_REVIEW, member.branch)
    if not verify and not (answer or "").strip():
        raise ApplicationError(_("退回时请写明理由"))
    before = report.status
    transition(report, "verify" if verify else "return")
    report.answer, report.verified_by = (answer or "").strip(), actor
    report.save()
    _audit(actor, "fulfilment.verify" if verify else "fulfilment.return", report, member, before, answer)
    notify(
        _member_user(member),
        gettext_noop("您%(period)s的践诺报告已%(result)s"),
        reverse("my_reviews"),
        {"period": report.period, "result": gettext_lazy("核实") if verify else gettext_lazy("退回")},
    )
    return report


@transaction.atomic
def annual_report_record(
    *, actor: User, member: Member, year: int, given_on: datetime.date, summary: str
) -> AnnualReport:
    _require(actor, perms.MEMBERS_REVIEW, member.branch)
    summary = (summary or "").strip()
    if not summary:
        raise ApplicationError(_("请填写述职要点"))
    report, _created = AnnualReport.objects.update_or_create(
        member=member, year=year, defaults={"given_on": given_on, "summary": summary, "recorded_by": actor}
    )
    audit_record(
        actor=actor,
        action="annual_report.record",
        target=report,
        organization=member.branch,
        after={"member": member.pk, "given_on": given_on},
    )
    return report


# ── self-assessment (自查自评) ──────────────────────────────────────────────────────────────


def self_assessment_deadline(period: Period, branch: Organization) -> datetime.date:
    code = pipeline.due_for(pipeline.SELF_ASSESSMENT, pipeline.SELF_ASSESSMENT.pipelines, period)
    return period_deadline(period, code, branch) if code else period.ends_on


def self_assessment_closed(
    assessment: SelfAssessment | None, due: datetime.date, *, today: datetime.date | None = None
) -> bool:
    """Past the deadline and not reopened for this member: the form says so before anything is typed."""
    today = today or timezone.localdate()
    reopened = assessment is not None and assessment.reopened_until is not None and today <= assessment.reopened_until
    return today > due and not reopened


@transaction.atomic
def self_assessment_save(
    *,
    actor: User,
    member: Member,
    period: Period,
    claims: Iterable[tuple[RuleItem, Decimal | int | str, str | None, UploadedFile | None]],
    note: str = "",
    submit: bool = False,
    today: datetime.date | None = None,
) -> SelfAssessment:
    """Save the member's claims ([(item, points, note, file)]) and the self-score; `submit` hands
    it in. Late submission is refused unless the secretary reopened it for this member."""
    _require_self(actor, member)
    today = today or timezone.localdate()
    assessment, _created = SelfAssessment.objects.select_for_update().get_or_create(member=member, period=period)
    if assessment.status == SelfAssessment.Status.SUBMITTED:
        raise ApplicationError(_("本期自查自评已提交"))
    due = self_assessment_deadline(period, member.branch)
    if self_assessment_closed(assessment, due, today=today):
        raise ApplicationError(_("已过自查自评截止日期（%(due)s），请联系支部书记开放补交") % {"due": due})
    scheme = scheme_for_member(member=member, year=period.cycle.year)
    # Self-assessment is Policy A's step (亮绩: each semester); Policy B members declare instead.
    if not pipeline.runs_in(pipeline.SELF_ASSESSMENT, scheme, period):
        raise ApplicationError(_("本期无须自查自评"))
    sums = {"base": 0, "bonus": 0, "penalty": 0}
    kept = []
    # A draft saved again without a new file keeps the file already uploaded for that item.
    files_on_file = {c.item_id: c.evidence.name for c in assessment.claims.all() if c.evidence}
    for item, points, claim_note, upload in claims:
        if item.scheme_id != scheme.pk:
            raise ApplicationError(_("“%(item)s”不在本支部已批准的评分细则中") % {"item": item})
        centi = to_centi(points)
        if not 0 <= centi <= scoring.period_limit(item):
            raise ApplicationError(
                _("“%(item)s”本期分值应在 0—%(high)s 分之间")
                % {"item": item.title, "high": format_points(scoring.period_limit(item))}
            )
        if upload:
            scoring.evidence_check([upload])
        if centi and item.kind != "veto":
            sums[item.kind] += item.sign * centi
            kept.append(
                SelfClaim(
                    assessment=assessment,
                    item=item,
                    points=centi,
                    note=claim_note or "",
                    evidence=upload or files_on_file.get(item.pk, ""),
                )
            )
    assessment.claims.all().delete()
    SelfClaim.objects.bulk_create(kept)
    assessment.note = note or ""
    assessment.self_score = policy.period_score(terms_of(scheme), policy.PeriodSums(**sums))
    if submit:
        transition(assessment, "submit", _("本期自查自评已提交"))
        assessment.submitted_at = timezone.now()
    assessment.save()
    _audit(
        actor,
        "self_assessment.submit" if submit else "self_assessment.save",
        assessment,
        member,
        self_score=assessment.self_score,
    )
    return assessment


@transaction.atomic
def self_assessment_reopen(
    *, actor: User, member: Member, period: Period, until: datetime.date, reason: str
) -> SelfAssessment:
    _require(actor, perms.MEMBERS_REVIEW, member.branch)
    if not (reason or "").strip():
        raise ApplicationError(_("请写明开放补交的理由"))
    assessment, _created = SelfAssessment.objects.get_or_create(member=member, period=period)
    before = assessment.status
    transition(assessment, "reopen")
    assessment.reopened_until = until
    assessment.save(update_fields=["status", "reopened_until"])
    _audit(actor, "self_assessment.reopen", assessment, member, before, reason, until=until)
    notify(
        _member_user(member),
        gettext_noop("支部已为您开放%(period)s自查自评补交，截止 %(until)s"),
        reverse("self_assessment", args=[period.pk]),
        {"period": period, "until": until},
    )
    return assessment


# ── member declarations (本人申报, B) ───────────────────────────────────────────────────────


@transaction.atomic
def declaration_submit(
    *,
    actor: User,
    member: Member,
    item: RuleItem,
    period: Period,
    points: Decimal | int | str,
    reason: str,
    evidence: UploadedFile | None = None,
) -> Declaration:
    _require_self(actor, member)
    if not item.member_may_declare:
        raise ApplicationError(_("“%(item)s”不能由本人申报") % {"item": item.title})
    if not (reason or "").strip():
        raise ApplicationError(_("请填写申报事由"))
    if evidence:
        scoring.evidence_check([evidence])
    signed = scoring.entry_check(
        member=member, item=item, period=period, points=points, evidence_count=1 if evidence else 0
    )
    # A member may declare an item twice in a period (two awards), but not the same thing twice.
    _serialize(member)
    if Declaration.objects.filter(
        member=member,
        item=item,
        period=period,
        points=signed,
        reason=reason.strip(),
        status=Declaration.Status.SUBMITTED,
    ).exists():
        raise ApplicationError(_(DECLARATION_DUPLICATE))
    declaration = Declaration.objects.create(
        member=member, item=item, period=period, points=signed, reason=reason.strip(), evidence=evidence or ""
    )
    _audit(actor, "declaration.submit", declaration, member, item=item.code, points=signed)
    notify(
        users_with_perm(organization=member.branch, perm=perms.MEMBERS_REVIEW),
        gettext_noop("%(name)s 申报了“%(item)s”，请审核"),
        reverse("branch_reviews", args=[member.branch_id]),
        {"name": member.name, "item": item.title},
    )
    return declaration


@transaction.atomic
def declaration_verify(*, actor: User, declaration: Declaration, approve: bool, answer: str = "") -> Declaration:
    """The branch committee (支委会) verifies, or, where the scheme's settings say 支部党员大会, the
    secretary records the general meeting's decision with the meeting's record (Policy B: verified
    by the branch committee or the branch general meeting)."""
    member = declaration.member
    _require(actor, perms.MEMBERS_REVIEW, member.branch)
    verifier = review_settings(
        scheme_for_member(member=member, year=declaration.period.cycle.year)
    ).declaration_verifier
    answer = (answer or "").strip()
    if verifier == ReviewSettings.Verifier.MEETING:
        if not perms.has_org_perm(actor, perms.BRANCH_RUN, member.branch):  # a committee member: told, not 403
            raise ApplicationError(_("本支部的本人申报由支部党员大会审核，请由支部书记登记大会的决定"))
        if not answer:
            raise ApplicationError(_("本人申报由支部党员大会审核：请填写大会的日期和决定"))
    if not approve and not answer:
        raise ApplicationError(_("不予通过时请写明理由"))
    before = declaration.status
    transition(declaration, "verify" if approve else "refuse")
    declaration.answer, declaration.verified_by, declaration.verifier = answer, actor, verifier
    declaration.save()
    _audit(
        actor,
        "declaration.verify" if approve else "declaration.reject",
        declaration,
        member,
        before,
        answer,
        verifier=verifier,
    )
    notify(
        _member_user(member),
        gettext_noop("您申报的“%(item)s”%(result)s"),
        reverse("my_reviews"),
        {
            "item": declaration.item.title,
            "result": gettext_lazy("已通过审核，将在支部内公示") if approve else gettext_lazy("未通过"),
        },
    )
    return declaration


def _declaration_confirm(declaration: Declaration, now: datetime.datetime) -> None:
    """After its window: recorded in the ledger unless an objection was upheld or is pending."""
    objections = list(declaration.objections.all())
    if any(o.status in ("upheld", "resolved_upheld") for o in objections):
        return
    if any(o.is_pending for o in objections):
        return  # decided when the objection is
    transition(declaration, "confirm")  # first: a twin confirming it meanwhile records no second line
    declaration.entry = scoring.entry_record(
        actor=declaration.verified_by,
        member=declaration.member,
        item=declaration.item,
        period=declaration.period,
        points=format_points(abs(declaration.points)),
        reason=declaration.reason,
        source=LedgerEntry.Source.DECLARATION,
        verified_by=declaration.verified_by,
        evidence_files=_stored(declaration.evidence),
    )
    declaration.save(update_fields=["entry", "status"])
    _audit(declaration.verified_by, "declaration.confirm", declaration, declaration.member, "publicized")
    notify(
        _member_user(declaration.member),
        gettext_noop("您申报的“%(item)s”公示无异议，已记入台账"),
        reverse("points_card", args=[declaration.member_id]),
        {"item": declaration.item.title},
    )


# ── evidence held elsewhere (佐证材料) ──────────────────────────────────────────────────────


def _stored(field: FieldFile, shown: str | None = None) -> list[tuple[str, str]]:
    """A stored file as a (stored name, shown name) pair for `scoring.entry_record`; [] when empty."""
    if not field:
        return []
    return [(field.name, shown or field.name.rsplit("/", 1)[-1])]


def _self_assessment_evidence(
    member: Member, period: Period, item: RuleItem | None = None
) -> dict[int, list[tuple[str, str]]]:
    """item id → the files the member handed in with the period's submitted self-assessment."""
    claims = SelfClaim.objects.filter(
        assessment__member=member, assessment__period=period, assessment__status=SelfAssessment.Status.SUBMITTED
    ).exclude(evidence="")
    if item is not None:
        claims = claims.filter(item=item)
    found = {}
    for claim in claims:
        found.setdefault(claim.item_id, []).extend(_stored(claim.evidence))
    return found


def _attachments_add(objection: Objection, files: Sequence[UploadedFile], actor: User) -> None:
    scoring.evidence_check(files)
    for upload in files:
        ObjectionAttachment.objects.create(objection=objection, file=upload, name=upload.name[:200], uploaded_by=actor)


def _correction_evidence(objection: Objection) -> list[tuple[str, str]]:
    """What an upheld correction of `objection.entry` rests on: the objection's attachments, the
    disputed line's own files, the member's self-assessment evidence for that item and period, and
    the file of the declaration the line came from."""
    entry = objection.entry
    files = [(a.file.name, a.name) for a in objection.attachments.all()]
    files += [(e.file.name, e.name) for e in entry.evidence.all()]
    files += _self_assessment_evidence(objection.member, entry.period, entry.item).get(entry.item_id, [])
    for declaration in Declaration.objects.filter(entry=entry):
        files += _stored(declaration.evidence)
    return files


# ── panel scoring (考绩, A) ─────────────────────────────────────────────────────────────────


@transaction.atomic
def panel_score_save(
    *,
    actor: User,
    member: Member,
    period: Period,
    scores: dict[RuleItem, Decimal | int | str],
    versions: dict[int, int] | None = None,
) -> list[PanelScore]:
    """One panelist's item-by-item scores ({item: points}) for a member and period.

    `versions` ({item_id: version seen}) guards against silently overwriting a colleague's or
    one's own concurrent change: a stale version is refused with a conflict message."""
    _require(actor, perms.PANEL_SCORE, member.branch)
    if member.user_id == actor.pk:
        raise PermissionDenied(_("考评小组成员不能为自己打分"))
    # One writer per member at a time: a concurrent save waits here, then sees the version the
    # other one wrote (or its confirmation) instead of inserting a twin or overwriting it.
    _serialize(member)
    if PanelConfirmation.objects.filter(member=member, period=period).exists():
        raise ApplicationError(_("该党员本期得分已确认，不能再修改评分"))
    scheme = scheme_for_member(member=member, year=period.cycle.year)
    versions = versions or {}
    saved = []
    for item, points in scores.items():
        if scheme is None or item.scheme_id != scheme.pk:
            raise ApplicationError(_("“%(item)s”不在本支部已批准的评分细则中") % {"item": item})
        centi = to_centi(points)
        if not 0 <= centi <= scoring.period_limit(item):
            raise ApplicationError(
                _("“%(item)s”本期分值应在 0—%(high)s 分之间")
                % {"item": item.title, "high": format_points(scoring.period_limit(item))}
            )
        score = (
            PanelScore.objects.select_for_update()
            .filter(panelist=actor, member=member, period=period, item=item)
            .first()
        )
        if score is None:
            if versions.get(item.pk) not in (None, 0):
                raise ApplicationError(_(PANEL_CONFLICT))
            score = PanelScore(panelist=actor, member=member, period=period, item=item, points=centi)
        else:
            if item.pk in versions and versions[item.pk] != score.version:
                raise ApplicationError(_(PANEL_CONFLICT))
            score.points, score.version = centi, score.version + 1
        score.save()
        saved.append(score)
    _audit(
        actor,
        "panel.score",
        saved[0] if saved else member,
        member,
        period=period.pk,
        scores={s.item.code: s.points for s in saved},
    )
    return saved


def panel_combine(*, member: Member, period: Period, combination: str) -> tuple[dict[RuleItem, int], int]:
    """Per item, the panelists' scores combined by the scheme's setting (in centipoints)."""
    by_item = {}
    panelists = set()
    for score in PanelScore.objects.filter(member=member, period=period).select_related("item"):
        by_item.setdefault(score.item, {})[score.panelist_id] = score.points
        panelists.add(score.panelist_id)
    combined = {}
    for item, given in by_item.items():
        values = [given.get(p, 0) for p in panelists]  # a panelist who left an item blank gave it 0
        if combination == ReviewSettings.PanelCombination.MEDIAN:
            ordered, middle = sorted(values), len(values) // 2
            combined[item] = (
                ordered[middle] if len(values) % 2 else divide_centi(ordered[middle - 1] + ordered[middle], 2)
            )
        else:
            combined[item] = divide_centi(sum(values), len(values))
    return combined, len(panelists)


@transaction.atomic
def panel_confirm(
    *, actor: User, member: Member, period: Period, decided: dict[RuleItem, Decimal | int | str] | None = None
) -> PanelConfirmation:
    """The secretary confirms the member's period score: ledger entries with source 'panel'
    bring each item to the combined panel score. With the 'secretary' setting, `decided`
    ({item: points}) is the secretary's own decision after seeing the panel's scores."""
    _require(actor, perms.BRANCH_RUN, member.branch)
    _serialize(member)  # no panelist's save, nor a second confirmation, slips in between
    if PanelConfirmation.objects.filter(member=member, period=period).exists():
        raise ApplicationError(_("该党员本期得分已确认"))
    scheme = scheme_for_member(member=member, year=period.cycle.year)
    combination = review_settings(scheme).panel_combination
    combined, panelists = panel_combine(member=member, period=period, combination=combination)
    if combination == ReviewSettings.PanelCombination.SECRETARY:
        if decided is None:
            raise ApplicationError(_("请填写支部书记确定的各项分值"))
        try:
            combined = {item: to_centi(points) for item, points in decided.items()}
        except ValueError as error:
            raise ApplicationError(_("分值须为数字，最多两位小数")) from error
    elif panelists == 0:
        raise ApplicationError(_("考评小组尚未评分"))
    claimed = _self_assessment_evidence(member, period)
    for item, value in combined.items():
        scoring.entry_adjust_to(
            actor=actor,
            member=member,
            item=item,
            period=period,
            magnitude=value,
            reason=_("考评小组评分（%(period)s）") % {"period": period},
            source=LedgerEntry.Source.PANEL,
            recalculate=False,
            evidence_files=claimed.get(item.pk, []),
        )
    confirmation = PanelConfirmation.objects.create(
        member=member, period=period, confirmed_by=actor, combined={i.code: v for i, v in combined.items()}
    )
    recalculate_branch(branch=member.branch, year=period.cycle.year)
    _audit(actor, "panel.confirm", confirmation, member, period=period.pk, combined=confirmation.combined)
    notify(
        _member_user(member),
        gettext_noop("您%(period)s的考评得分已确认"),
        reverse("points_card", args=[member.pk]),
        {"period": period},
    )
    return confirmation


# ── mass evaluation (评绩, A) ───────────────────────────────────────────────────────────────


@transaction.atomic
def mass_evaluation_submit(
    *,
    actor: User,
    branch: Organization,
    year: int,
    panel_rating: int,
    branch_rating: int,
    comments: str,
    ratings: dict[int, tuple[int, str | None]],
    today: datetime.date | None = None,
) -> MassEvaluation:
    """A representative's one form for the branch's year: a rating of each member and of the
    panel's and branch's scoring. The branch only ever sees aggregates."""
    _require(actor, perms.MASS_EVALUATE, branch, _("您不是本支部的群众代表"))
    today = today or timezone.localdate()
    due = mass_window_closes(branch=branch, year=year)
    if today > due or MassResult.objects.filter(branch=branch, year=year).exists():
        raise ApplicationError(_("群众评议已于 %(due)s 截止") % {"due": due})
    if MassEvaluation.objects.filter(representative=actor, branch=branch, year=year).exists():
        raise ApplicationError(_(MASS_DUPLICATE))
    members = {m.pk: m for m in Member.objects.filter(branch=branch, left_on__isnull=True, exempt=False)}
    if set(ratings) - set(members):
        raise ApplicationError(_("评议名单有误，请刷新后重试"))
    evaluation = _create_once(
        MassEvaluation,
        MASS_DUPLICATE,
        representative=actor,
        branch=branch,
        year=year,
        panel_rating=panel_rating,
        branch_rating=branch_rating,
        comments=(comments or "").strip(),
    )
    MassRating.objects.bulk_create(
        [
            MassRating(evaluation=evaluation, member_id=member_id, rating=rating, comment=(comment or "")[:300])
            for member_id, (rating, comment) in ratings.items()
        ]
    )
    audit_record(
        actor=actor, action="mass.submit", target=evaluation, organization=branch, after={"ratings": len(ratings)}
    )
    return evaluation


def mass_window_closes(*, branch: Organization, year: int) -> datetime.date:
    """The last day answers are taken: the A-MASSES deadline in force at the branch, else 31 December."""
    cycle = Cycle.objects.filter(year=year).first()
    due = next(
        (d.due_on for d in (deadlines_for(organization=branch, cycle=cycle) if cycle else []) if d.code == "A-MASSES"),
        None,
    )
    return due or datetime.date(year, 12, 31)


def _rounded(value: float | Decimal | None) -> str | None:
    return f"{value:.2f}" if value is not None else None


@transaction.atomic
def mass_results_freeze(
    *, actor: User, branch: Organization, year: int, today: datetime.date | None = None
) -> MassResult | None:
    """The branch's results, computed once after the window has closed and never again; None while
    it is open. Below the minimum number of answers only the count is kept. The figures carry no
    order of answering and no dates: members by number, comments sorted by their text."""
    if not perms.has_org_perm(actor, perms.MASS_RESULTS_VIEW, branch):
        raise PermissionDenied(_("您无权查看群众评议结果"))
    frozen = MassResult.objects.filter(branch=branch, year=year).first()
    if frozen is not None:
        return frozen
    closes = mass_window_closes(branch=branch, year=year)
    if (today or timezone.localdate()) <= closes:
        return None
    Organization.objects.select_for_update().filter(pk=branch.pk).first()  # one freezer at a time
    frozen = MassResult.objects.filter(branch=branch, year=year).first()
    if frozen is not None:
        return frozen
    evaluations = MassEvaluation.objects.filter(branch=branch, year=year)
    count = evaluations.count()
    needed = review_settings(next(iter(schemes_in_force(branch=branch, year=year).values()), None)).mass_min_answers
    figures = {}
    if count >= needed:
        averages = evaluations.aggregate(panel=Avg("panel_rating"), branch=Avg("branch_rating"))
        rows = (
            MassRating.objects.filter(evaluation__in=evaluations)
            .values("member__name", "member__number")
            .annotate(avg=Avg("rating"), poor=Count("id", filter=Q(rating=MassEvaluation.Rating.POOR)))
            .order_by("member__number")
        )
        figures = {
            "panel": _rounded(averages["panel"]),
            "branch": _rounded(averages["branch"]),
            "members": [{"name": r["member__name"], "avg": _rounded(r["avg"]), "poor": r["poor"]} for r in rows],
            "comments": sorted(c for c in evaluations.values_list("comments", flat=True) if c),
        }
    result = MassResult.objects.create(
        branch=branch, year=year, closed_on=closes, answers=count, needed=needed, figures=figures
    )
    audit_record(
        actor=actor,
        action="mass.freeze",
        target=result,
        organization=branch,
        after={"answers": count, "needed": needed, "published": result.published},
    )
    return result


# ── publicity (公示) ─────────────────────────────────────────────────────────────────────────


@transaction.atomic
def publicity_open(
    *,
    actor: User,
    branch: Organization,
    year: int,
    kind: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    period: Period | None = None,
    audience: str = "branch",
) -> Publicity:
    _require(actor, perms.BRANCH_RUN, branch)
    if ends_at <= starts_at:
        raise ApplicationError(_("公示结束时间须晚于开始时间"))
    if kind == Publicity.Kind.PLEDGES:  # the scheme's setting decides who sees the branch's pledges
        audience = pledge_audience(branch=branch, year=year)
    publicity = Publicity(
        branch=branch,
        year=year,
        kind=kind,
        period=period,
        audience=audience,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=actor,
    )
    if kind == Publicity.Kind.ANNUAL:
        publicity.determination = Determination.objects.filter(branch=branch, year=year, status="decided").first()
        if publicity.determination is None:
            raise ApplicationError(_("年度积分结果须在党员大会评定后公示"))
    if kind in (Publicity.Kind.FULFILMENT,) and (period is None or period.kind != "month"):
        raise ApplicationError(_("请选择公示的月份"))
    if kind == Publicity.Kind.SCORES:
        # The window shows the scores as they stood when it opened, not as they move afterwards.
        recalculate_branch(branch=branch, year=year)
        publicity.snapshot = [
            {"member": t.member_id, "name": t.member.name, "total": t.total, "rank": t.rank}
            for t in MemberYearTotal.objects.filter(branch=branch, year=year)
            .select_related("member")
            .order_by("rank", "member__number")
        ]
    publicity.full_clean()
    publicity.save()
    if kind == Publicity.Kind.DECLARATIONS:
        pending = list(Declaration.objects.filter(member__branch=branch, period__cycle__year=year, status="verified"))
        if not pending:
            raise ApplicationError(_("没有待公示的本人申报"))
        for declaration in pending:
            transition(declaration, "publicize")
            declaration.publicity = publicity
            declaration.save(update_fields=["status", "publicity"])
    audit_record(
        actor=actor,
        action="publicity.open",
        target=publicity,
        organization=branch,
        after={"kind": kind, "starts_at": starts_at, "ends_at": ends_at, "audience": audience},
    )
    audience_users = {m.user for m in Member.objects.filter(branch=branch, user__isnull=False).select_related("user")}
    # The branch's mass representatives may object to anyone's line while a window is open: tell them too.
    audience_users |= set(users_with_perm(organization=branch, perm=perms.MASS_EVALUATE))
    notify(
        audience_users,
        gettext_noop("%(branch)s%(kind)s（%(start)s 至 %(end)s），如有异议请在公示期内提出"),
        reverse("publicity_detail", args=[publicity.pk]),
        {
            "branch": branch.name,
            "kind": Publicity.Kind(publicity.kind).label,
            "start": timezone.localtime(starts_at).date(),
            "end": timezone.localtime(ends_at).date(),
        },
    )
    return publicity


def publicity_close_due(*, now: datetime.datetime | None = None) -> int:
    """Scheduled: close every window that has ended, confirming its unchallenged declarations."""
    now = now or timezone.now()
    closed = 0
    for publicity_id in Publicity.objects.filter(ends_at__lte=now, closed_at__isnull=True).values_list("pk", flat=True):
        with transaction.atomic():
            publicity = Publicity.objects.select_for_update().get(pk=publicity_id)
            if publicity.closed_at is not None:
                continue
            for declaration in publicity.declarations.filter(status="publicized").select_related(
                "member__branch", "item", "period__cycle", "verified_by"
            ):
                try:
                    with transaction.atomic():
                        _declaration_confirm(declaration, now)
                except (ApplicationError, PermissionDenied) as error:
                    # e.g. the verifier has since left the role, or a cap was reached meanwhile: the
                    # branch decides by hand; one declaration never stops the others or the window.
                    log.warning("declaration %s not confirmed: %s", declaration.pk, error)
                    notify(
                        users_with_perm(organization=declaration.member.branch, perm=perms.BRANCH_RUN),
                        gettext_noop("%(name)s 申报的“%(item)s”公示期满但未能自动记分：%(error)s"),
                        reverse("branch_reviews", args=[declaration.member.branch_id]),
                        {
                            "name": declaration.member.name,
                            "item": declaration.item.title,
                            "error": getattr(error, "message", error),
                        },
                    )
            publicity.closed_at = now
            publicity.save(update_fields=["closed_at"])
            audit_record(actor=None, action="publicity.close", target=publicity, organization=publicity.branch)
            closed += 1
    return closed


# ── objections (异议) ────────────────────────────────────────────────────────────────────────


def _objection_target_open(
    member: Member,
    entry: LedgerEntry | None,
    declaration: Declaration | None,
    publicity: Publicity | None,
    determination: Determination | None,
    now: datetime.datetime,
    days: int,
) -> bool:
    if publicity is not None:
        return publicity.is_open(now)
    if declaration is not None:
        return declaration.publicity is not None and declaration.publicity.is_open(now)
    if determination is not None:
        return Publicity.objects.filter(determination=determination, starts_at__lte=now, ends_at__gt=now).exists()
    if entry is not None:
        recent = entry.recorded_at >= now - datetime.timedelta(days=days)
        window = Publicity.objects.filter(
            branch=member.branch, year=entry.year, starts_at__lte=now, ends_at__gt=now
        ).exists()
        return recent or window
    return False


def objection_target_check(
    *, actor: User, member: Member, entry: LedgerEntry | None = None, declaration: Declaration | None = None
) -> None:
    """A ledger entry is read only by the member concerned and those who may see the ledger; a
    declaration by others only once it is under publicity. A mass representative objects to what
    was made public (publicity windows, determinations), never to a line of the ledger."""
    if member.user_id == actor.pk or perms.has_org_perm(actor, perms.LEDGER_VIEW, member.branch):
        return
    if entry is not None:
        raise PermissionDenied(_("台账记录只有党员本人和有权查看台账的人可以查看"))
    if declaration is not None and not (declaration.publicity_id and declaration.publicity.has_started()):
        raise PermissionDenied(_("该申报尚未公示"))


@transaction.atomic
def objection_raise(
    *,
    actor: User,
    member: Member,
    reason: str,
    entry: LedgerEntry | None = None,
    declaration: Declaration | None = None,
    publicity: Publicity | None = None,
    determination: Determination | None = None,
    attachments: Sequence[UploadedFile] = (),
) -> Objection:
    """The member (or a mass representative of the branch) objects, within the window, with
    `attachments` (images or PDF) as proof."""
    if not (member.user_id == actor.pk or perms.has_org_perm(actor, perms.MASS_EVALUATE, member.branch)):
        raise PermissionDenied(_("只有党员本人或本支部群众代表可以提出异议"))
    targets = [t for t in (entry, declaration, publicity, determination) if t is not None]
    if len(targets) != 1:
        raise ApplicationError(_("请选择一项异议对象"))
    if (entry is not None and entry.member_id != member.pk) or (
        declaration is not None and declaration.member_id != member.pk
    ):
        raise ApplicationError(_("异议对象与党员不符"))
    for target in (publicity, determination):
        if target is not None and target.branch_id != member.branch_id:
            raise ApplicationError(_("异议对象与党员不符"))
    objection_target_check(actor=actor, member=member, entry=entry, declaration=declaration)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("请写明异议理由"))
    now = timezone.now()
    year = entry.year if entry else declaration.period.cycle.year if declaration else targets[0].year
    config = review_settings(scheme_for_member(member=member, year=year))
    if not _objection_target_open(member, entry, declaration, publicity, determination, now, config.publicity_days):
        raise ApplicationError(_("已过公示期或异议期限，不能再提出异议"))
    objection = _create_once(
        Objection,
        OBJECTION_DUPLICATE,
        raised_by=actor,
        member=member,
        branch=member.branch,
        year=year,
        entry=entry,
        declaration=declaration,
        publicity=publicity,
        determination=determination,
        reason=reason,
        due_on=timezone.localdate() + datetime.timedelta(days=config.objection_answer_days),
    )
    _attachments_add(objection, attachments, actor)
    _audit(
        actor,
        "objection.raise",
        objection,
        member,
        reason=reason,
        **({"attachments": [upload.name for upload in attachments]} if attachments else {}),
    )
    notify(
        users_with_perm(organization=member.branch, perm=perms.OBJECTIONS_HANDLE),
        gettext_noop("%(name)s 的积分有异议，请在 %(due)s 前调查核实"),
        reverse("objection_detail", args=[objection.pk]),
        {"name": member.name, "due": objection.due_on},
    )
    return objection


def _uphold_effect(actor: User, objection: Objection, corrected_points: Decimal | int | str | None) -> None:
    """An upheld objection corrects the ledger: the disputed entry is reversed (and re-recorded
    at the corrected value when one is given); a disputed declaration is rejected, and its points
    reversed when it was confirmed while the objection was escalated."""
    if objection.entry is not None and not LedgerEntry.objects.filter(reverses=objection.entry).exists():
        reason = _("异议成立，更正：%(reason)s") % {"reason": objection.reason[:100]}
        objection.correction = scoring.entry_reverse(actor=actor, entry=objection.entry, reason=reason)
        if corrected_points not in (None, ""):
            # In the same transaction as the reversal: refused (no evidence, out of bounds), neither stays.
            scoring.entry_record(
                actor=actor,
                member=objection.member,
                item=objection.entry.item,
                period=objection.entry.period,
                points=corrected_points,
                reason=reason,
                source=LedgerEntry.Source.CORRECTION,
                evidence_files=_correction_evidence(objection),
            )
    declaration = objection.declaration
    if declaration is not None and declaration.status in ("submitted", "verified", "publicized", "confirmed"):
        confirmed = declaration.status == Declaration.Status.CONFIRMED  # confirmed while the objection went up
        transition(declaration, "overturn" if confirmed else "reject")
        if confirmed:
            reason = _("异议成立，撤销申报加分：%(reason)s") % {"reason": objection.reason[:100]}
            scoring.entry_reverse(actor=actor, entry=declaration.entry, reason=reason)
        declaration.answer = _("异议成立：%(answer)s") % {"answer": objection.answer or objection.decision}
        declaration.save(update_fields=["status", "answer"])


def _declaration_settle(objection: Objection) -> None:
    """A declaration whose window closed while this objection was pending is decided with it."""
    declaration = objection.declaration
    if (
        declaration is not None
        and declaration.status == Declaration.Status.PUBLICIZED
        and declaration.publicity is not None
        and declaration.publicity.closed_at is not None
    ):
        _declaration_confirm(declaration, timezone.now())


@transaction.atomic
def objection_answer(
    *,
    actor: User,
    objection: Objection,
    uphold: bool,
    answer: str,
    corrected_points: Decimal | int | str | None = None,
    evidence: Sequence[UploadedFile] = (),
) -> Objection:
    """The branch investigates and answers (upheld → the ledger is corrected, the corrected line
    with the evidence it rests on: see `_correction_evidence`; `evidence` are files the secretary
    adds on the objection page)."""
    _require(actor, perms.OBJECTIONS_HANDLE, objection.branch)
    if not (answer or "").strip():
        raise ApplicationError(_("请填写调查核实意见"))
    before = objection.status
    transition(objection, "uphold" if uphold else "reject")
    objection.answer, objection.answered_by = answer.strip(), actor
    _attachments_add(objection, evidence, actor)
    if uphold:
        _uphold_effect(actor, objection, corrected_points)
    objection.save()
    if not uphold:
        _declaration_settle(objection)
    _audit(
        actor,
        "objection.uphold" if uphold else "objection.reject",
        objection,
        objection.member,
        before,
        answer,
        **({"evidence": [upload.name for upload in evidence]} if evidence else {}),
    )
    notify(
        [objection.raised_by],
        gettext_noop("您对%(name)s积分的异议，支部答复：%(result)s"),
        reverse("objection_detail", args=[objection.pk]),
        {"name": objection.member.name, "result": Objection.Status(objection.status).label},
    )
    return objection


@transaction.atomic
def objection_escalate(*, actor: User, objection: Objection, reason: str) -> Objection:
    """Still dissatisfied: the organization department verifies it."""
    if objection.raised_by_id != actor.pk:
        raise PermissionDenied(_("只有提出异议的人可以提请组织部核实"))
    if not (reason or "").strip():
        raise ApplicationError(_("请写明提请理由"))
    before = objection.status
    transition(objection, "escalate")
    objection.escalation_reason = reason.strip()
    config = review_settings(scheme_for_member(member=objection.member, year=objection.year))
    objection.due_on = timezone.localdate() + datetime.timedelta(days=config.objection_answer_days)
    objection.save()
    _audit(actor, "objection.escalate", objection, objection.member, before, reason)
    committee = Organization.objects.get(path=objection.branch.ancestor_paths()[0])
    notify(
        users_with_perm(organization=committee, perm=perms.OVERSEE),
        gettext_noop("%(name)s 的积分异议已提请组织部核实，期限 %(due)s"),
        reverse("objection_detail", args=[objection.pk]),
        {"name": objection.member.name, "due": objection.due_on},
    )
    return objection


@transaction.atomic
def objection_resolve(
    *,
    actor: User,
    objection: Objection,
    uphold: bool,
    decision: str,
    corrected_points: Decimal | int | str | None = None,
    evidence: Sequence[UploadedFile] = (),
) -> Objection:
    _require(actor, perms.OVERSEE, objection.branch)
    if not (decision or "").strip():
        raise ApplicationError(_("请填写核实意见"))
    before = objection.status
    transition(objection, "resolve_uphold" if uphold else "resolve_reject")
    objection.decision, objection.decided_by = decision.strip(), actor
    _attachments_add(objection, evidence, actor)
    if uphold:
        _uphold_effect(actor, objection, corrected_points)
    objection.save()
    if not uphold:
        _declaration_settle(objection)
    _audit(
        actor,
        "objection.resolve",
        objection,
        objection.member,
        before,
        decision,
        upheld=uphold,
        **({"evidence": [upload.name for upload in evidence]} if evidence else {}),
    )
    notify(
        [objection.raised_by],
        gettext_noop("组织部已核实您的异议：%(result)s"),
        reverse("objection_detail", args=[objection.pk]),
        {"result": Objection.Status(objection.status).label},
    )
    return objection


# ── the year-end determination (定绩) ──────────────────────────────────────────────────────


def share_cap_problems(branch: Organization, year: int) -> list[str]:
    """Chinese descriptions of every share cap the branch's current totals break (A: 5% at ≥95):
    who is in the way, highest first, and what the branch may do about it."""
    scored = list(
        MemberYearTotal.objects.filter(branch=branch, year=year, scored=True, total__isnull=False)
        .select_related("member")
        .order_by("-total", "member__number")
    )
    totals = [t.total for t in scored]
    problems = []
    for scheme in set(schemes_in_force(branch=branch, year=year).values()):
        for row in scheme.outcome_rules.filter(kind=OutcomeRule.Kind.SHARE_CAP):
            check = policy.share_cap_check(row, totals)
            above = "、".join(
                _("%(name)s（%(total)s 分）") % {"name": t.member.name, "total": format_points(t.total)}
                for t in scored
                if t.total >= check.threshold
            )
            sentence = _(
                "%(label)s：现有 %(count)s 人，上限 %(limit)s 人（%(members)s）。请支委会逐条核实这些党员的"
                "加分记录：不实或超出标准的，在台账中冲销更正（记分变动后比例自动重算）；核实无误仍超出比例的，"
                "请报上级党组织研究"
            ) % {"label": row.label, "count": check.count, "limit": check.limit, "members": above}
            # The cap is judged over the whole branch: a staff and a student scheme carrying the
            # same rule give the same sentence, said once.
            if not check.ok and sentence not in problems:
                problems.append(sentence)
    return problems


@transaction.atomic
def determination_prepare(*, actor: User, branch: Organization, year: int) -> Determination:
    """Open (or return) the draft for the branch meeting; the totals are refreshed from the ledger."""
    _require(actor, perms.BRANCH_RUN, branch)
    _serialize(branch)  # two secretaries opening it at once get the same draft
    current = Determination.objects.filter(branch=branch, year=year).exclude(status="reopened").first()
    if current is not None:
        return current
    version = (
        Determination.objects.filter(branch=branch, year=year)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
        or 0
    ) + 1
    recalculate_branch(branch=branch, year=year)
    determination = Determination.objects.create(branch=branch, year=year, version=version)
    audit_record(actor=actor, action="determination.prepare", target=determination, organization=branch)
    return determination


def _snapshot(branch: Organization, year: int) -> list[dict[str, Any]]:
    rows = (
        MemberYearTotal.objects.filter(branch=branch, year=year)
        .select_related("member")
        .order_by("rank", "member__number")
    )
    outcomes = {}
    for o in MemberOutcome.objects.filter(branch=branch, year=year).select_related("rule").order_by("rule_code"):
        outcomes.setdefault(o.member_id, []).append(
            {"code": o.rule_code, "consequence": o.consequence, "rule_kind": o.rule.kind, "reason": o.reason}
        )
    return [
        {
            "member": r.member_id,
            "number": r.member.number,
            "name": r.member.name,
            "total": r.total,
            "rank": r.rank,
            "scored": r.scored,
            "outcomes": outcomes.get(r.member_id, []),
        }
        for r in rows
    ]


def snapshot_checksum(snapshot: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(snapshot, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


FOLLOW_UPS = {
    # consequence → [(follow-up kind, handled by the committee rather than the branch)]
    OutcomeRule.Consequence.YELLOW: [(FollowUp.Kind.WARNING_YELLOW, False), (FollowUp.Kind.TALK_SECRETARY, False)],
    OutcomeRule.Consequence.RED: [(FollowUp.Kind.WARNING_RED, False)],
    OutcomeRule.Consequence.PROBATION: [(FollowUp.Kind.PROBATION, False)],
    OutcomeRule.Consequence.UNQUALIFIED: [(FollowUp.Kind.UNQUALIFIED, False)],
    OutcomeRule.Consequence.NOT_PROMOTED: [(FollowUp.Kind.NOT_PROMOTED, True)],
}


def _follow_ups_for(outcome: dict[str, Any]) -> list[tuple[str, bool]]:
    if outcome["consequence"] == OutcomeRule.Consequence.TALK:
        # A cadre's reminder talk is the organization department's (rank rule); others the branch's.
        if outcome["rule_kind"] == OutcomeRule.Kind.RANK_LAST:
            return [(FollowUp.Kind.TALK_REMINDER, True)]
        return [(FollowUp.Kind.TALK_ADMONISH, False)]
    return FOLLOW_UPS.get(outcome["consequence"], [])


@transaction.atomic
def determination_decide(
    *,
    actor: User,
    determination: Determination,
    meeting_date: datetime.date,
    members_expected: int,
    members_present: int,
    decision: str,
    lock_version: int,
    grades: dict[int, str],
) -> Determination:
    """Record the branch meeting's decision: totals and each scored member's democratic-evaluation
    grade (`grades`: member id → EvaluationGrade) frozen with a checksum, archived per member,
    follow-ups created. Refused while objections are open, a share cap is broken or a grade is
    missing or forbidden by the outcomes (grades.py)."""
    branch, year = determination.branch, determination.year
    _require(actor, perms.BRANCH_RUN, branch)
    locked = Determination.objects.select_for_update().get(pk=determination.pk)
    if locked.lock_version != lock_version:
        raise ApplicationError(_(DETERMINATION_CONFLICT))
    transition(locked, "decide")
    if members_present > members_expected or members_present * 2 <= members_expected:
        raise ApplicationError(_("到会人数须超过应到人数的一半，党员大会方可作出决定"))
    pending = Objection.objects.filter(branch=branch, year=year, status__in=Objection.PENDING).count()
    if pending:
        raise ApplicationError(_("还有 %(n)s 项异议未办结，不能作出评定") % {"n": pending})
    recalculate_branch(branch=branch, year=year)
    problems = share_cap_problems(branch, year)
    if problems:
        raise ApplicationError(_("不符合比例要求，不能作出评定：%(problems)s") % {"problems": "；".join(problems)})
    snapshot = _snapshot(branch, year)
    schemes = grading.member_schemes(branch, year)
    problems = grading.grade_problems(
        snapshot, grades, schemes=schemes, naming_excellence=grading.schemes_naming_excellence(set(schemes.values()))
    )
    if problems:
        raise ApplicationError(_("不能作出评定：%(problems)s") % {"problems": "；".join(problems)})
    for row in snapshot:
        row["grade"] = grades[row["member"]] if row["scored"] else ""
    locked.snapshot, locked.checksum = snapshot, snapshot_checksum(snapshot)
    locked.meeting_date, locked.members_expected, locked.members_present = (
        meeting_date,
        members_expected,
        members_present,
    )
    locked.decision = (decision or "").strip()
    locked.decided_by, locked.decided_at = actor, timezone.now()
    locked.lock_version += 1
    locked.save()
    DeterminationLine.objects.bulk_create(
        [
            DeterminationLine(
                determination=locked,
                member_id=row["member"],
                total=row["total"],
                rank=row["rank"],
                outcomes=row["outcomes"],
                grade=row["grade"],
            )
            for row in snapshot
        ]
    )
    committee = Organization.objects.get(path=branch.ancestor_paths()[0])
    due = meeting_date + datetime.timedelta(days=FOLLOW_UP_DAYS)
    # A follow-up already done under an earlier, reopened version of this year's decision is not repeated.
    done = set(
        FollowUp.objects.filter(
            determination__branch=branch, determination__year=year, status=FollowUp.Status.DONE
        ).values_list("member_id", "kind", "rule_code")
    )
    follow_ups = [
        FollowUp(
            member_id=row["member"],
            determination=locked,
            kind=kind,
            rule_code=outcome["code"],
            reason=outcome["reason"][:300],
            responsible=committee if by_committee else branch,
            due_on=due,
        )
        for row in snapshot
        for outcome in row["outcomes"]
        for kind, by_committee in _follow_ups_for(outcome)
        if (row["member"], kind, outcome["code"]) not in done
    ]
    FollowUp.objects.bulk_create(follow_ups, ignore_conflicts=True)
    audit_record(
        actor=actor,
        action="determination.decide",
        target=locked,
        organization=branch,
        before={"status": "draft"},
        after={
            "status": "decided",
            "checksum": locked.checksum,
            "members": len(snapshot),
            "follow_ups": len(follow_ups),
            "grades": _grade_counts(snapshot),
        },
    )
    members = Member.objects.filter(pk__in=[row["member"] for row in snapshot], user__isnull=False)
    notify(
        [m.user for m in members.select_related("user")],
        gettext_noop("%(branch)s党员大会已评定%(year)s年度积分"),
        reverse("my_reviews"),
        {"branch": branch.name, "year": year},
    )
    return locked


def _grade_counts(snapshot: list[dict[str, Any]]) -> dict[str, int]:
    counts = {}
    for row in snapshot:
        if row["grade"]:
            counts[row["grade"]] = counts.get(row["grade"], 0) + 1
    return counts


@transaction.atomic
def determination_reopen(*, actor: User, determination: Determination, reason: str) -> Determination:
    """Only the organization department reopens a decided determination, with a reason."""
    _require(actor, perms.OVERSEE, determination.branch, _("只有组织部可以重新开启年度评定"))
    if not (reason or "").strip():
        raise ApplicationError(_("请写明重新开启的理由"))
    locked = Determination.objects.select_for_update().get(pk=determination.pk)
    transition(locked, "reopen", _("只有已评定的结果可以重新开启"))
    locked.reopened_by, locked.reopen_reason = actor, reason.strip()
    locked.lock_version += 1
    locked.save()
    # Its results are withdrawn: so are the follow-ups not yet done (the next version creates its own).
    withdrawn, _deleted = locked.follow_ups.filter(status=FollowUp.Status.OPEN).delete()
    audit_record(
        actor=actor,
        action="determination.reopen",
        target=locked,
        organization=locked.branch,
        before={"status": "decided"},
        after={"status": "reopened", "follow_ups_withdrawn": withdrawn},
        reason=reason,
    )
    notify(
        users_with_perm(organization=locked.branch, perm=perms.BRANCH_RUN),
        gettext_noop("组织部重新开启了%(branch)s%(year)s年度评定：%(reason)s"),
        reverse("determination", args=[locked.branch_id, locked.year]),
        {"branch": locked.branch.name, "year": locked.year, "reason": reason},
    )
    return locked


@transaction.atomic
def follow_up_record(*, actor: User, follow_up: FollowUp, record: str, done_on: datetime.date) -> FollowUp:
    """Record how a talk, warning or proposal was handled (by whoever is responsible for it)."""
    perm = perms.OVERSEE if follow_up.responsible.kind == Organization.Kind.COMMITTEE else perms.BRANCH_RUN
    _require(actor, perm, follow_up.responsible if perm == perms.OVERSEE else follow_up.member.branch)
    if not (record or "").strip():
        raise ApplicationError(_("请填写办理记录"))
    transition(follow_up, "complete", _("该事项已办理"))
    follow_up.record, follow_up.done_by, follow_up.done_on = record.strip(), actor, done_on
    follow_up.save()
    _audit(actor, "follow_up.done", follow_up, follow_up.member, "open", kind=follow_up.kind)
    return follow_up


# The status change a follow-up may be completed with (members.models.MemberStatusEvent kinds).
FOLLOW_UP_STATUS_KINDS = {
    FollowUp.Kind.PROBATION: ("probation_extended", "probation_cancelled", "full_membership"),
    FollowUp.Kind.UNQUALIFIED: ("persuaded_to_leave", "removed", "expelled", "withdrew"),
}


@transaction.atomic
def follow_up_complete(
    *,
    actor: User,
    follow_up: FollowUp,
    record: str,
    done_on: datetime.date,
    status_kind: str = "",
    until: datetime.date | None = None,
) -> FollowUp:
    """Record the follow-up as done and, in the same step, the status change it calls for
    (延长预备期 or 取消预备党员资格 for a probation proposal, 劝退/除名… for 不合格 disposal)."""
    from members.services import member_status_record

    if status_kind:
        if status_kind not in FOLLOW_UP_STATUS_KINDS.get(follow_up.kind, ()):
            raise ApplicationError(_("该事项不能记录这项身份变化"))
        reason = _("%(kind)s（%(basis)s）：%(record)s") % {
            "kind": follow_up.get_kind_display(),
            "basis": follow_up.reason,
            "record": (record or "").strip(),
        }
        if not (record or "").strip():
            raise ApplicationError(_("请填写办理记录"))
        member_status_record(
            actor=actor,
            member=follow_up.member,
            kind=status_kind,
            occurred_on=done_on,
            reason=reason[:300],
            until=until,
        )
    return follow_up_record(actor=actor, follow_up=follow_up, record=record, done_on=done_on)
