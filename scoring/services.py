"""Every write to schemes, cycles and the ledger: atomic, permission-checked and audited."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, Sum
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members import permissions as perms
from members.models import Organization
from partyscore.core.audit import AuditRecord, audit_record, audit_record_many
from partyscore.core.exceptions import ApplicationError
from partyscore.core.queue import enqueue
from partyscore.core.transitions import transition

from .ledger_chain import ledger_append, ledger_append_each
from .models import (
    AttendanceRule,
    Cycle,
    Deadline,
    EntryEvidence,
    LedgerEntry,
    OutcomeRule,
    Period,
    PeriodKind,
    PeriodReopening,
    RuleItem,
    Scheme,
    quarter_name,
)
from .points import format_points, to_centi
from .presets import DEADLINES, PRESETS
from .recalculation import NET, recalculate_branch, recalculate_year, year_chunks

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Sequence

    from django.core.files.uploadedfile import UploadedFile

    from members.models import Member, User

SCHEME_FIELDS = [
    "name",
    "year",
    "member_category",
    "composition",
    "pipeline",
    "base_points",
    "bonus_cap",
    "floor",
    "cap",
    "aggregation",
    "period_kind",
    "status",
    "version",
    "is_sample",
]
ITEM_FIELDS = [
    "kind",
    "code",
    "title",
    "description",
    "points_min",
    "points_max",
    "cap_per_period",
    "cap_per_year",
    "times_per_period",
    "evidence_required",
    "member_may_declare",
    "order",
]
RULE_FIELDS = ["code", "kind", "consequence", "label", "applies_to", "params", "order"]
ATTENDANCE_FIELDS = ["meeting_kind", "status", "item", "points"]

EVIDENCE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"}
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024


def _require(actor: User, perm: str, org: Organization, message: str | None = None) -> None:
    if not perms.has_org_perm(actor, perm, org):
        raise PermissionDenied(message or _("您无权对“%(org)s”执行此操作") % {"org": org})


# ── schemes ──────────────────────────────────────────────────────────────────────────────────

# What the apps above scoring keep per scheme, copied with it: functions (source, target), appended
# in their AppConfig.ready (reviews: the scheme's 评议流程设置).
SCHEME_COPY_EXTRAS = []


def scheme_copy_children(source: Scheme, target: Scheme) -> None:
    """Copy a scheme's items, outcome rules and attendance rules onto `target` (a derived scheme, a
    new version, next year's scheme): one copy, so nothing a scheme holds is left behind."""
    items = RuleItem.objects.bulk_create(
        [RuleItem(scheme=target, **model_to_dict(i, fields=ITEM_FIELDS)) for i in source.items.all()]
    )
    OutcomeRule.objects.bulk_create(
        [OutcomeRule(scheme=target, **model_to_dict(r, fields=RULE_FIELDS)) for r in source.outcome_rules.all()]
    )
    _create_attendance_rules(
        target,
        items,
        [
            {"meeting_kind": r.meeting_kind, "status": r.status, "item_code": r.item.code, "points": r.points}
            for r in source.attendance_rules.select_related("item")
        ],
    )
    for copy_extra in SCHEME_COPY_EXTRAS:
        copy_extra(source, target)


def _create_attendance_rules(scheme: Scheme, items: Iterable[RuleItem], rules: Iterable[dict[str, Any]]) -> None:
    """Attendance rules name their item by code, so a copied scheme's rules point at its own items."""
    by_code = {i.code: i for i in items}
    AttendanceRule.objects.bulk_create(
        [
            AttendanceRule(
                scheme=scheme,
                meeting_kind=r["meeting_kind"],
                status=r["status"],
                item=by_code[r["item_code"]],
                points=r["points"],
            )
            for r in rules
        ]
    )


def _attendance_dict(rule: AttendanceRule) -> dict[str, str]:
    return {
        "meeting_kind": rule.meeting_kind,
        "status": rule.status,
        "item": rule.item.code,
        "points": str(rule.points),
    }


@transaction.atomic
def scheme_preset_load(*, actor: User, preset: str, year: int, owner: Organization) -> Scheme:
    """Publish one of the policies' presets as an approved reference scheme of `owner` (the committee)."""
    _require(actor, perms.SCHEME_MANAGE, owner)
    _require(actor, perms.SCHEME_APPROVE, owner)
    data = dict(PRESETS[preset])
    items, rules, attendance = data.pop("items"), data.pop("rules"), data.pop("attendance")
    version = (
        Scheme.objects.filter(owner=owner, year=year, member_category=data["member_category"])
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
        or 0
    ) + 1
    scheme = Scheme(
        owner=owner,
        year=year,
        version=version,
        is_sample=True,
        status=Scheme.Status.APPROVED,
        created_by=actor,
        decided_by=actor,
        decided_at=timezone.now(),
        **data,
    )
    scheme.full_clean()
    scheme.save()
    created = RuleItem.objects.bulk_create([RuleItem(scheme=scheme, order=n, **i) for n, i in enumerate(items)])
    OutcomeRule.objects.bulk_create([OutcomeRule(scheme=scheme, order=n, **r) for n, r in enumerate(rules)])
    _create_attendance_rules(scheme, created, attendance)
    audit_record(
        actor=actor,
        action="scheme.publish",
        target=scheme,
        organization=owner,
        after={**model_to_dict(scheme, fields=SCHEME_FIELDS), "preset": preset},
    )
    return scheme


@transaction.atomic
def scheme_derive(*, actor: User, source: Scheme, owner: Organization) -> Scheme:
    """A branch (or college) drafts its detailed rules (评分细则) from a scheme above it."""
    _require(actor, perms.SCHEME_MANAGE, owner)
    if source.status != Scheme.Status.APPROVED:
        raise ApplicationError(_("只能依据已批准的评分标准制定细则"))
    if source.owner.path == owner.path or not owner.path.startswith(source.owner.path):
        raise ApplicationError(_("只能依据上级组织的评分标准制定细则"))
    version = (
        Scheme.objects.filter(owner=owner, year=source.year, member_category=source.member_category)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
        or 0
    ) + 1
    fields = model_to_dict(source, fields=SCHEME_FIELDS)
    fields.update(
        status=Scheme.Status.DRAFT,
        version=version,
        is_sample=False,
        name=f"{owner.name}{source.get_member_category_display()}党员评分细则",
    )
    scheme = Scheme.objects.create(owner=owner, derived_from=source, created_by=actor, **fields)
    scheme_copy_children(source, scheme)
    audit_record(
        actor=actor,
        action="scheme.derive",
        target=scheme,
        organization=owner,
        after={"from": source.pk, "version": version},
    )
    return scheme


@transaction.atomic
def scheme_new_version(*, actor: User, scheme: Scheme) -> Scheme:
    """An approved scheme is frozen; a change starts a new draft version."""
    _require(actor, perms.SCHEME_MANAGE, scheme.owner)
    if scheme.status != Scheme.Status.APPROVED:
        raise ApplicationError(_("只有已批准的标准需要新建版本，草稿可直接修改"))
    latest = (
        Scheme.objects.filter(owner=scheme.owner, year=scheme.year, member_category=scheme.member_category)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )
    fields = model_to_dict(scheme, fields=SCHEME_FIELDS)
    fields.update(status=Scheme.Status.DRAFT, version=latest + 1)
    draft = Scheme.objects.create(owner=scheme.owner, derived_from=scheme.derived_from, created_by=actor, **fields)
    scheme_copy_children(scheme, draft)
    audit_record(
        actor=actor,
        action="scheme.new_version",
        target=draft,
        organization=scheme.owner,
        after={"from": scheme.pk, "version": draft.version},
    )
    return draft


def _require_editable(actor: User, scheme: Scheme) -> None:
    _require(actor, perms.SCHEME_MANAGE, scheme.owner)
    if scheme.is_frozen:
        raise ApplicationError(_("已提交或已批准的评分标准不能修改；如需修改请新建版本"))


@transaction.atomic
def scheme_update(*, actor: User, scheme: Scheme, data: dict[str, Any]) -> Scheme:
    _require_editable(actor, scheme)
    before = model_to_dict(scheme, fields=SCHEME_FIELDS)
    for name in (
        "name",
        "composition",
        "pipeline",
        "base_points",
        "bonus_cap",
        "floor",
        "cap",
        "aggregation",
        "period_kind",
    ):
        if name in data:
            setattr(scheme, name, data[name])
    scheme.full_clean()
    scheme.save()
    audit_record(
        actor=actor,
        action="scheme.update",
        target=scheme,
        organization=scheme.owner,
        before=before,
        after=model_to_dict(scheme, fields=SCHEME_FIELDS),
    )
    return scheme


@transaction.atomic
def item_save(*, actor: User, scheme: Scheme, data: dict[str, Any], item: RuleItem | None = None) -> RuleItem:
    """Add an item to a draft scheme, or change one."""
    _require_editable(actor, scheme)
    before = model_to_dict(item, fields=ITEM_FIELDS) if item else None
    item = item or RuleItem(scheme=scheme)
    for name in ITEM_FIELDS:
        if name in data:
            setattr(item, name, data[name])
    if item.kind == RuleItem.Kind.VETO:
        item.points_min = item.points_max = Decimal(0)
    item.full_clean()
    item.save()
    audit_record(
        actor=actor,
        action="scheme.item_save",
        target=item,
        organization=scheme.owner,
        before=before,
        after=model_to_dict(item, fields=ITEM_FIELDS),
    )
    return item


@transaction.atomic
def item_remove(*, actor: User, item: RuleItem) -> None:
    _require_editable(actor, item.scheme)
    if item.entries.exists():
        raise ApplicationError(_("该项目已有记分记录，不能删除"))
    if item.attendance_rules.exists():
        raise ApplicationError(_("会议考勤记分规则用到该项目，请先修改或删除那条规则"))
    before = model_to_dict(item, fields=ITEM_FIELDS)
    audit_record(actor=actor, action="scheme.item_remove", target=item, organization=item.scheme.owner, before=before)
    item.delete()


@transaction.atomic
def outcome_rule_save(
    *, actor: User, scheme: Scheme, data: dict[str, Any], rule: OutcomeRule | None = None
) -> OutcomeRule:
    _require_editable(actor, scheme)
    before = model_to_dict(rule, fields=RULE_FIELDS) if rule else None
    rule = rule or OutcomeRule(scheme=scheme)
    for name in RULE_FIELDS:
        if name in data:
            setattr(rule, name, data[name])
    rule.full_clean()
    rule.save()
    audit_record(
        actor=actor,
        action="scheme.rule_save",
        target=rule,
        organization=scheme.owner,
        before=before,
        after=model_to_dict(rule, fields=RULE_FIELDS),
    )
    return rule


@transaction.atomic
def outcome_rule_remove(*, actor: User, rule: OutcomeRule) -> None:
    _require_editable(actor, rule.scheme)
    audit_record(
        actor=actor,
        action="scheme.rule_remove",
        target=rule,
        organization=rule.scheme.owner,
        before=model_to_dict(rule, fields=RULE_FIELDS),
    )
    rule.delete()


@transaction.atomic
def attendance_rule_save(
    *, actor: User, scheme: Scheme, data: dict[str, Any], rule: AttendanceRule | None = None
) -> AttendanceRule:
    """Add or change what a meeting's attendance records under a draft scheme."""
    _require_editable(actor, scheme)
    before = _attendance_dict(rule) if rule else None
    rule = rule or AttendanceRule(scheme=scheme)
    for name in ATTENDANCE_FIELDS:
        if name in data:
            setattr(rule, name, data[name])
    if (
        AttendanceRule.objects.filter(scheme=scheme, meeting_kind=rule.meeting_kind, status=rule.status)
        .exclude(pk=rule.pk)
        .exists()
    ):
        raise ApplicationError(_("该会议类型的这种出勤情况已有规则，请修改原规则"))
    rule.full_clean()
    rule.save()
    audit_record(
        actor=actor,
        action="scheme.attendance_rule_save",
        target=rule,
        organization=scheme.owner,
        before=before,
        after=_attendance_dict(rule),
    )
    return rule


@transaction.atomic
def attendance_rule_remove(*, actor: User, rule: AttendanceRule) -> None:
    _require_editable(actor, rule.scheme)
    audit_record(
        actor=actor,
        action="scheme.attendance_rule_remove",
        target=rule,
        organization=rule.scheme.owner,
        before=_attendance_dict(rule),
    )
    rule.delete()


@transaction.atomic
def scheme_submit(*, actor: User, scheme: Scheme) -> Scheme:
    _require(actor, perms.SCHEME_MANAGE, scheme.owner)
    transition(scheme, "submit")
    if not scheme.items.exists():
        raise ApplicationError(_("评分标准至少要有一个评分项目"))
    scheme.submitted_at = timezone.now()
    scheme.save(update_fields=["status", "submitted_at"])
    audit_record(actor=actor, action="scheme.submit", target=scheme, organization=scheme.owner)
    return scheme


def _require_approver(actor: User, scheme: Scheme) -> None:
    """The general branch above the owner (or the committee) approves; nobody approves their own."""
    parent = scheme.owner.parent or scheme.owner
    if scheme.owner.kind == Organization.Kind.COMMITTEE or not perms.has_org_perm(actor, perms.SCHEME_APPROVE, parent):
        raise PermissionDenied(_("只有上级党组织可以审批该评分细则"))


@transaction.atomic
def scheme_approve(*, actor: User, scheme: Scheme) -> Scheme:
    _require_approver(actor, scheme)
    transition(scheme, "approve")
    scheme.decided_by, scheme.decided_at, scheme.returned_reason = actor, timezone.now(), ""
    scheme.save(update_fields=["status", "decided_by", "decided_at", "returned_reason"])
    audit_record(actor=actor, action="scheme.approve", target=scheme, organization=scheme.owner)
    recalculate_later(organization=scheme.owner, year=scheme.year)
    return scheme


@transaction.atomic
def scheme_return(*, actor: User, scheme: Scheme, reason: str) -> Scheme:
    _require_approver(actor, scheme)
    if not (reason or "").strip():
        raise ApplicationError(_("退回时请写明理由"))
    transition(scheme, "return")
    scheme.decided_by, scheme.decided_at, scheme.returned_reason = actor, timezone.now(), reason.strip()
    scheme.save(update_fields=["status", "decided_by", "decided_at", "returned_reason"])
    audit_record(actor=actor, action="scheme.return", target=scheme, organization=scheme.owner, reason=reason)
    return scheme


def recalculate_later(*, organization: Organization, year: int) -> None:
    """One background task per chunk of the branches under `organization` (recalculation.year_chunks),
    sent when the transaction commits. If the broker is down the nightly recalculation of open years
    catches up."""
    for chunk in year_chunks(organization):
        enqueue("scoring.tasks.recalculate_branches_task", [branch.pk for branch in chunk], year)


# ── cycles and periods ───────────────────────────────────────────────────────────────────────


def second_semester_default(year: int) -> datetime.date:
    """第二学期 starts on 1 August unless the committee sets another date for the year."""
    return datetime.date(year, 8, 1)


def _second_semester_check(year: int, starts_on: datetime.date) -> None:
    """Both semesters of the scoring year keep at least a month: the second starts from 1 February
    to 1 December of the year (a 春季/秋季 university sets, say, 1 September)."""
    if not datetime.date(year, 2, 1) <= starts_on <= datetime.date(year, 12, 1):
        raise ApplicationError(_("第二学期开始日期须在%(y)s年2月1日至12月1日之间") % {"y": year})


def _periods_for(
    year: int, second_semester_starts: datetime.date
) -> list[tuple[str, int, str, datetime.date, datetime.date]]:
    """Semesters (by default Jan–Jul and Aug–Dec), quarters and months of a calendar year."""
    d = datetime.date
    first_ends = second_semester_starts - datetime.timedelta(days=1)
    periods = [
        (PeriodKind.SEMESTER, 1, _("%(y)s年第一学期") % {"y": year}, d(year, 1, 1), first_ends),
        (PeriodKind.SEMESTER, 2, _("%(y)s年第二学期") % {"y": year}, second_semester_starts, d(year, 12, 31)),
        (PeriodKind.YEAR, 1, _("%(y)s年度") % {"y": year}, d(year, 1, 1), d(year, 12, 31)),
    ]
    for q in range(1, 5):
        end = d(year, 3 * q, 30 if 3 * q in (6, 9) else 31)
        periods.append((PeriodKind.QUARTER, q, quarter_name(year, q), d(year, 3 * q - 2, 1), end))
    for m in range(1, 13):
        end = (d(year + 1, 1, 1) if m == 12 else d(year, m + 1, 1)) - datetime.timedelta(days=1)
        periods.append((PeriodKind.MONTH, m, _("%(y)s年%(m)s月") % {"y": year, "m": m}, d(year, m, 1), end))
    return periods


@transaction.atomic
def cycle_open(
    *,
    actor: User,
    year: int,
    committee: Organization,
    deadline_sets: Collection[str] = ("A", "B"),
    second_semester_starts: datetime.date | None = None,
) -> Cycle:
    """Open a scoring year with every period and the default deadlines of the chosen policies;
    the second semester starts on `second_semester_starts` (default 1 August)."""
    _require(actor, perms.CYCLE_MANAGE, committee)
    if Cycle.objects.filter(year=year).exists():
        raise ApplicationError(_("%(y)s年度已经开启") % {"y": year})
    second_semester_starts = second_semester_starts or second_semester_default(year)
    _second_semester_check(year, second_semester_starts)
    cycle = Cycle.objects.create(year=year, opened_by=actor)
    Period.objects.bulk_create(
        [
            Period(cycle=cycle, kind=k, index=i, name=n, starts_on=s, ends_on=e)
            for k, i, n, s, e in _periods_for(year, second_semester_starts)
        ]
    )
    Deadline.objects.bulk_create(
        [
            Deadline(
                cycle=cycle,
                organization=committee,
                code=code,
                title=title,
                due_on=datetime.date(year + (1 if next_year else 0), month, day),
            )
            for key in deadline_sets
            for code, title, month, day, next_year in DEADLINES[key]
        ]
    )
    audit_record(
        actor=actor,
        action="cycle.open",
        target=cycle,
        organization=committee,
        after={
            "year": year,
            "deadlines": list(deadline_sets),
            "second_semester_starts": second_semester_starts.isoformat(),
        },
    )
    # The year's and the next year's partitions (PostgreSQL), created after this transaction: a
    # partition locks the whole ledger and audit log while it is made.
    enqueue("scoring.tasks.year_partitions_task", year, year + 1)
    return cycle


@transaction.atomic
def semesters_set(
    *, actor: User, cycle: Cycle, committee: Organization, second_semester_starts: datetime.date, reason: str
) -> tuple[Period, Period]:
    """The committee moves the boundary between the year's two semesters (学期起止). Refused once a
    semester is locked, and while a ledger line dated within its semester would fall outside it
    (it must be reversed and recorded again first). Deadlines stay where they are: they move on the
    deadlines page."""
    _require(actor, perms.CYCLE_MANAGE, committee)
    if not (reason or "").strip():
        raise ApplicationError(_("调整学期起止日期须写明理由"))
    _second_semester_check(cycle.year, second_semester_starts)
    first, second = Period.objects.select_for_update().filter(cycle=cycle, kind=PeriodKind.SEMESTER).order_by("index")
    if second.starts_on == second_semester_starts:
        raise ApplicationError(_("第二学期开始日期没有变化"))
    if first.is_locked or second.is_locked:
        raise ApplicationError(_("学期已锁定，不能再调整起止日期"))
    first_ends = second_semester_starts - datetime.timedelta(days=1)
    # Lines dated within their semester that the move would leave outside it (a line recorded late
    # for an earlier semester, 补录, is dated outside it already and stays as it is).
    stray = (
        LedgerEntry.objects.filter(
            Q(period=first, occurred_on__gt=first_ends, occurred_on__lte=first.ends_on)
            | Q(period=second, occurred_on__gte=second.starts_on, occurred_on__lt=second_semester_starts)
        )
        .select_related("member")
        .order_by("occurred_on", "id")
    )
    count = stray.count()
    if count:
        example = stray.first()
        raise ApplicationError(
            _(
                "有 %(n)s 条记分记录的发生日期将落在所属学期之外（如%(member)s %(date)s的记录），"
                "请先冲销并按新的学期重新记录，再调整起止日期"
            )
            % {"n": count, "member": example.member.name, "date": example.occurred_on.isoformat()}
        )
    before = {"first_ends_on": first.ends_on.isoformat(), "second_starts_on": second.starts_on.isoformat()}
    first.ends_on, second.starts_on = first_ends, second_semester_starts
    first.save(update_fields=["ends_on"])
    second.save(update_fields=["starts_on"])
    audit_record(
        actor=actor,
        action="cycle.semesters",
        target=cycle,
        organization=committee,
        before=before,
        after={"first_ends_on": first.ends_on.isoformat(), "second_starts_on": second.starts_on.isoformat()},
        reason=reason,
    )
    return first, second


@transaction.atomic
def deadline_move(
    *, actor: User, cycle: Cycle, code: str, organization: Organization, due_on: datetime.date, reason: str
) -> Deadline:
    """The committee, or a general branch for its own subtree, moves a deadline of the year.
    A branch keeps the dates set above it."""
    if organization.kind == Organization.Kind.BRANCH:
        raise ApplicationError(_("党支部不能调整上级规定的时间节点"))
    perm = perms.CYCLE_MANAGE if organization.kind == Organization.Kind.COMMITTEE else perms.SCHEME_APPROVE
    _require(actor, perm, organization)
    if not (reason or "").strip():
        raise ApplicationError(_("调整时间节点须写明理由"))
    base = Deadline.objects.filter(cycle=cycle, code=code, organization__parent__isnull=True).first()
    if base is None:
        raise ApplicationError(_("没有这个时间节点"))
    deadline, created = Deadline.objects.get_or_create(
        cycle=cycle, organization=organization, code=code, defaults={"title": base.title, "due_on": due_on}
    )
    before = None if created else deadline.due_on
    deadline.due_on = due_on
    deadline.save(update_fields=["due_on"])
    audit_record(
        actor=actor,
        action="deadline.move",
        target=deadline,
        organization=organization,
        reason=reason,
        before={"due_on": before},
        after={"code": code, "due_on": due_on},
    )
    return deadline


def period_open_for(period: Period, branch: Organization, today: datetime.date | None = None) -> bool:
    """A period takes entries while its year is open and it is not locked, or a locked period
    was reopened for this branch until a date not yet past."""
    if not period.cycle.is_open:
        return False
    if not period.is_locked:
        return True
    return PeriodReopening.objects.filter(
        period=period, branch=branch, until__gte=today or timezone.localdate()
    ).exists()


@transaction.atomic
def period_reopen_for_branch(
    *, actor: User, period: Period, branch: Organization, until: datetime.date, reason: str
) -> PeriodReopening:
    """The branch secretary opens a locked period again for their own branch (补录), with a reason."""
    _require(actor, perms.BRANCH_RUN, branch, _("只有支部书记可以为本支部重新开放周期"))
    if not (reason or "").strip():
        raise ApplicationError(_("重新开放周期须写明理由"))
    if not period.is_locked:
        raise ApplicationError(_("该周期未锁定，无须重新开放"))
    reopening, _created = PeriodReopening.objects.update_or_create(
        period=period, branch=branch, defaults={"until": until, "reason": reason.strip(), "reopened_by": actor}
    )
    audit_record(
        actor=actor,
        action="period.reopen_branch",
        target=reopening,
        organization=branch,
        reason=reason,
        after={"period": period.pk, "until": until},
    )
    return reopening


@transaction.atomic
def period_lock(*, actor: User, period: Period, committee: Organization) -> Period:
    _require(actor, perms.CYCLE_MANAGE, committee)
    if period.is_locked:
        raise ApplicationError(_("该周期已锁定"))
    period.locked_at, period.locked_by = timezone.now(), actor
    period.save(update_fields=["locked_at", "locked_by"])
    audit_record(actor=actor, action="period.lock", target=period, organization=committee)
    return period


@transaction.atomic
def period_reopen(*, actor: User, period: Period, committee: Organization, reason: str) -> Period:
    _require(actor, perms.CYCLE_MANAGE, committee)
    if not (reason or "").strip():
        raise ApplicationError(_("重新开放周期须写明理由"))
    period.locked_at, period.locked_by = None, None
    period.save(update_fields=["locked_at", "locked_by"])
    audit_record(actor=actor, action="period.reopen", target=period, organization=committee, reason=reason)
    return period


# ── the ledger ───────────────────────────────────────────────────────────────────────────────


def evidence_check(files: Iterable[UploadedFile]) -> None:
    """Uploaded evidence must be images or PDF within the size limit."""
    for upload in files:
        if upload.size > EVIDENCE_MAX_BYTES:
            raise ApplicationError(_("佐证材料“%(name)s”超过 10 MB") % {"name": upload.name})
        if getattr(upload, "content_type", None) not in EVIDENCE_TYPES:
            raise ApplicationError(_("佐证材料“%(name)s”类型不支持，只接受图片或 PDF") % {"name": upload.name})


def period_limit(item: RuleItem) -> int:
    """The most an item may total in one period: its cap, else its maximum times its count."""
    if item.cap_per_period is not None:
        return to_centi(item.cap_per_period)
    return to_centi(item.points_max) * (item.times_per_period or 1)


def entry_check(
    *,
    member: Member,
    item: RuleItem,
    period: Period,
    points: Decimal | int | str,
    evidence_count: int = 0,
    occurred_on: datetime.date | None = None,
) -> int:
    """Every bound on a new entry; returns the signed centipoints or raises ApplicationError."""
    from .selectors import scheme_for_member

    same_item = LedgerEntry.objects.filter(member=member, item=item)
    return _entry_bounds(
        member=member,
        item=item,
        period=period,
        points=points,
        evidence_count=evidence_count,
        scheme=scheme_for_member(member=member, year=period.cycle.year),
        period_open=period_open_for(period, member.branch),
        times=same_item.filter(period=period).aggregate(n=Sum(NET))["n"] or 0,
        used_period=abs(same_item.filter(period=period).aggregate(s=Sum("points"))["s"] or 0),
        used_year=abs(same_item.filter(year=period.cycle.year).aggregate(s=Sum("points"))["s"] or 0),
        occurred_on=occurred_on,
    )


# Lazy: said in the language of the request that records the entry.
BRANCH_CLOSED = gettext_lazy("该党员所在的“%(branch)s”已于 %(date)s 撤销，不能再记分")


def _entry_bounds(
    *,
    member: Member,
    item: RuleItem,
    period: Period,
    points: Decimal | int | str,
    evidence_count: int,
    scheme: Scheme | None,
    period_open: bool,
    times: int,
    used_period: int,
    used_year: int,
    occurred_on: datetime.date | None = None,
) -> int:
    """The rules of `entry_check` over facts already read: the scheme in force, whether the period
    takes entries, and the times and points (magnitudes, centipoints) the item already has for the
    member in the period and the year. One set of rules for a single entry and a batch."""
    if member.left_on is not None and member.left_on < period.starts_on:
        raise ApplicationError(_("该党员已离开党组织，不能记分"))
    if member.branch.is_closed_on(occurred_on or timezone.localdate()):
        raise ApplicationError(BRANCH_CLOSED % {"branch": member.branch, "date": member.branch.closed_on})
    if member.exempt:
        raise ApplicationError(_("该党员已免于记分"))
    if not period_open:
        raise ApplicationError(_("“%(period)s”已锁定，不能再记分") % {"period": period})
    if scheme is None or item.scheme_id != scheme.pk:
        raise ApplicationError(_("“%(item)s”不在本支部已批准的评分细则中") % {"item": item})
    if period.kind != scheme.period_kind:
        raise ApplicationError(_("本细则按%(kind)s记分，请选择对应的周期") % {"kind": scheme.get_period_kind_display()})
    try:
        magnitude = to_centi(points)
    except ValueError as error:
        raise ApplicationError(_("分值须为数字，最多两位小数")) from error
    low, high = to_centi(item.points_min), to_centi(item.points_max)
    if not low <= magnitude <= high:
        raise ApplicationError(
            _("“%(item)s”每次分值应在 %(low)s—%(high)s 分之间")
            % {"item": item.title, "low": format_points(low), "high": format_points(high)}
        )
    if item.evidence_required and not evidence_count:
        raise ApplicationError(_("“%(item)s”须上传佐证材料") % {"item": item.title})
    if item.times_per_period is not None and times >= item.times_per_period:
        raise ApplicationError(_("“%(item)s”每期最多记 %(n)s 次") % {"item": item.title, "n": item.times_per_period})
    for cap, used, label in ((item.cap_per_period, used_period, _("本期")), (item.cap_per_year, used_year, _("本年"))):
        if cap is not None and used + magnitude > to_centi(cap):
            raise ApplicationError(
                _("“%(item)s”%(scope)s累计不能超过 %(cap)s 分（已记 %(used)s 分）")
                % {"item": item.title, "scope": label, "cap": format_points(to_centi(cap)), "used": format_points(used)}
            )
    return item.sign * magnitude


class EntryLine(NamedTuple):
    """One line of a batch for `entries_record_bulk`; `points` is the magnitude, as in entry_record."""

    member: object
    item: object
    period: object
    points: object
    reason: str
    occurred_on: datetime.date | None = None


class LineError(NamedTuple):
    index: int  # the line's place in the batch
    member: object
    message: str


class BulkEntryRefused(ApplicationError):
    """Some lines of a batch were refused: nothing was written. `errors` names each line's member and rule."""

    def __init__(self, errors: list[LineError]) -> None:
        super().__init__(_("有 %(n)s 条记分未通过检查，全部未记入") % {"n": len(errors)})
        self.errors = errors


@transaction.atomic
def entries_record_bulk(
    *, actor: User, lines: Iterable[EntryLine], source: str = LedgerEntry.Source.RECORDER, recalculate: bool = True
) -> list[LedgerEntry]:
    """Record many ledger lines at once (a meeting's attendance, one item for many members): every
    line checked as `entry_record` checks one, counting the lines before it in the batch toward the
    item's times and caps; all or nothing (BulkEntryRefused lists every refused line); one audit event
    per line; totals refreshed once per branch and year. The queries do not grow with the lines."""
    from .selectors import schemes_in_force

    lines = list(lines)
    if not lines:
        raise ApplicationError(_("请至少选择一名党员"))
    branches = {line.member.branch_id: line.member.branch for line in lines}
    for branch in branches.values():
        _require(actor, perms.ENTRY_RECORD, branch, _("您不能为本支部以外的党员记分"))
    years = {line.period.cycle.year for line in lines}
    schemes = {(b, y): schemes_in_force(branch=branch, year=y) for b, branch in branches.items() for y in years}
    open_for = {
        (line.period.pk, b): period_open_for(line.period, branches[b])
        for line in lines
        for b in [line.member.branch_id]
    }
    member_ids, item_ids = {line.member.pk for line in lines}, {line.item.pk for line in lines}
    already = LedgerEntry.objects.filter(member_id__in=member_ids, item_id__in=item_ids, year__in=years)
    times, used_period, used_year = defaultdict(int), defaultdict(int), defaultdict(int)
    for row in already.values("member_id", "item_id", "period_id", "year").annotate(n=Sum(NET), s=Sum("points")):
        key = (row["member_id"], row["item_id"])
        times[(*key, row["period_id"])] += row["n"] or 0
        used_period[(*key, row["period_id"])] += row["s"] or 0
        used_year[(*key, row["year"])] += row["s"] or 0
    errors, entries, now = [], [], timezone.now()
    for index, line in enumerate(lines):
        member, item, period = line.member, line.item, line.period
        key = (member.pk, item.pk)
        reason = (line.reason or "").strip()
        try:
            if not reason:
                raise ApplicationError(_("请填写记分事由"))
            signed = _entry_bounds(
                member=member,
                item=item,
                period=period,
                points=line.points,
                evidence_count=0,
                scheme=schemes[(member.branch_id, period.cycle.year)].get(member.category),
                period_open=open_for[(period.pk, member.branch_id)],
                times=times[(*key, period.pk)],
                used_period=abs(used_period[(*key, period.pk)]),
                used_year=abs(used_year[(*key, period.cycle.year)]),
                occurred_on=line.occurred_on,
            )
        except ApplicationError as error:
            errors.append(LineError(index, member, error.message))
            continue
        # This line counts for the lines after it.
        times[(*key, period.pk)] += 1
        used_period[(*key, period.pk)] += signed
        used_year[(*key, period.cycle.year)] += signed
        entries.append(
            LedgerEntry(
                member=member,
                item=item,
                period=period,
                year=period.cycle.year,
                kind=item.kind,
                points=signed,
                reason=reason,
                source=source,
                recorded_by=actor,
                occurred_on=line.occurred_on or timezone.localdate(),
                recorded_at=now,
            )
        )
    if errors:
        raise BulkEntryRefused(errors)
    ledger_append_each(entries)
    audit_record_many(
        [
            AuditRecord(
                actor=actor,
                action="ledger.record",
                target=entry,
                organization=branches[entry.member.branch_id],
                reason=entry.reason,
                after={
                    "member": entry.member_id,
                    "item": entry.item.code,
                    "period": entry.period_id,
                    "points": entry.points,
                    "source": source,
                    "hash": entry.hash,
                },
            )
            for entry in entries
        ]
    )
    if recalculate:
        for branch_id, year in sorted({(e.member.branch_id, e.year) for e in entries}):
            recalculate_branch(branch=branches[branch_id], year=year)
    return entries


@transaction.atomic
def entry_record(
    *,
    actor: User,
    member: Member,
    item: RuleItem,
    period: Period,
    points: Decimal | int | str,
    reason: str,
    source: str = LedgerEntry.Source.RECORDER,
    occurred_on: datetime.date | None = None,
    evidence: Sequence[UploadedFile] = (),
    verified_by: User | None = None,
    recalculate: bool = True,
    evidence_on_file: int = 0,
    evidence_files: Iterable[tuple[str, str]] = (),
) -> LedgerEntry:
    """Record one ledger line for a member, after every check, and refresh the branch's totals.

    `evidence_files` are files already stored elsewhere ((stored name, shown name): a declaration's
    file, an objection's attachments, the member's self-assessment evidence) that the line rests
    on: they count toward an item's evidence requirement and are attached to the line by
    reference. `evidence_on_file` counts evidence held elsewhere that is not attached."""
    _require(actor, perms.ENTRY_RECORD, member.branch, _("您不能为本支部以外的党员记分"))
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("请填写记分事由"))
    evidence_check(evidence)
    evidence_files = _distinct_files(evidence_files)
    signed = entry_check(
        member=member,
        item=item,
        period=period,
        points=points,
        evidence_count=len(evidence) + len(evidence_files) + evidence_on_file,
        occurred_on=occurred_on,
    )
    entry = ledger_append(
        LedgerEntry(
            member=member,
            item=item,
            period=period,
            year=period.cycle.year,
            kind=item.kind,
            points=signed,
            reason=reason,
            source=source,
            recorded_by=actor,
            verified_by=verified_by,
            occurred_on=occurred_on or timezone.localdate(),
        )
    )
    for upload in evidence:
        EntryEvidence.objects.create(entry=entry, file=upload, name=upload.name[:200], uploaded_by=actor)
    _attach_stored(entry, evidence_files, actor)
    audit_record(
        actor=actor,
        action="ledger.record",
        target=entry,
        organization=member.branch,
        reason=reason,
        after={
            "member": member.pk,
            "item": item.code,
            "period": period.pk,
            "points": signed,
            "source": source,
            "hash": entry.hash,
            **_evidence_note(evidence_files),
        },
    )
    if recalculate:
        recalculate_branch(branch=member.branch, year=entry.year)
    return entry


def _distinct_files(files: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """(stored name, shown name) pairs without blanks or repeats, in their order."""
    seen, kept = set(), []
    for stored, shown in files:
        if stored and stored not in seen:
            seen.add(stored)
            kept.append((stored, shown or stored.rsplit("/", 1)[-1]))
    return kept


def _evidence_note(files: list[tuple[str, str]]) -> dict[str, list[str]]:
    return {"evidence": [shown for _stored, shown in files]} if files else {}


def _attach_stored(entry: LedgerEntry, files: Iterable[tuple[str, str]], actor: User) -> None:
    EntryEvidence.objects.bulk_create(
        [EntryEvidence(entry=entry, file=stored, name=shown[:200], uploaded_by=actor) for stored, shown in files]
    )


@transaction.atomic
def entry_adjust_to(
    *,
    actor: User,
    member: Member,
    item: RuleItem,
    period: Period,
    magnitude: int,
    reason: str,
    source: str,
    recalculate: bool = True,
    evidence_files: Iterable[tuple[str, str]] = (),
) -> LedgerEntry | None:
    """Bring an item's net total for the period to `magnitude` (a confirmed panel score) by
    appending the difference; nothing is written when it already stands there. `evidence_files`
    (stored name, shown name) — the member's self-assessment evidence — go with the line."""
    _require(actor, perms.ENTRY_RECORD, member.branch, _("您不能为本支部以外的党员记分"))
    if not period_open_for(period, member.branch):
        raise ApplicationError(_("“%(period)s”已锁定，不能再记分") % {"period": period})
    if not 0 <= magnitude <= period_limit(item):
        raise ApplicationError(
            _("“%(item)s”本期分值应在 0—%(high)s 分之间")
            % {"item": item.title, "high": format_points(period_limit(item))}
        )
    current = abs(
        LedgerEntry.objects.filter(member=member, item=item, period=period).aggregate(s=Sum("points"))["s"] or 0
    )
    if magnitude == current:
        return None
    if item.cap_per_year is not None:
        year_used = abs(
            LedgerEntry.objects.filter(member=member, item=item, year=period.cycle.year).aggregate(s=Sum("points"))["s"]
            or 0
        )
        if year_used - current + magnitude > to_centi(item.cap_per_year):
            raise ApplicationError(
                _("“%(item)s”本年累计不能超过 %(cap)s 分")
                % {"item": item.title, "cap": format_points(to_centi(item.cap_per_year))}
            )
    sign = item.sign or 1
    entry = ledger_append(
        LedgerEntry(
            member=member,
            item=item,
            period=period,
            year=period.cycle.year,
            kind=item.kind,
            points=sign * (magnitude - current),
            reason=reason,
            source=source,
            recorded_by=actor,
            verified_by=actor,
            occurred_on=min(timezone.localdate(), period.ends_on),
        )
    )
    evidence_files = _distinct_files(evidence_files)
    _attach_stored(entry, evidence_files, actor)
    audit_record(
        actor=actor,
        action="ledger.record",
        target=entry,
        organization=member.branch,
        reason=reason,
        after={
            "member": member.pk,
            "item": item.code,
            "period": period.pk,
            "points": entry.points,
            "source": source,
            "adjusted_to": magnitude,
            "hash": entry.hash,
            **_evidence_note(evidence_files),
        },
    )
    if recalculate:
        recalculate_branch(branch=member.branch, year=entry.year)
    return entry


@transaction.atomic
def entry_reverse(*, actor: User, entry: LedgerEntry, reason: str) -> LedgerEntry:
    """Correct a line by appending its reversal (once), never by editing it."""
    member = entry.member
    _require(actor, perms.ENTRY_RECORD, member.branch, _("您不能更正本支部以外的记录"))
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("请填写更正理由"))
    if entry.reverses_id is not None:
        raise ApplicationError(_("冲销记录不能再冲销"))
    if LedgerEntry.objects.filter(reverses=entry).exists():
        raise ApplicationError(_("该记录已被冲销"))
    if not period_open_for(entry.period, member.branch) and not perms.has_org_perm(
        actor, perms.CYCLE_MANAGE, member.branch
    ):
        raise ApplicationError(_("“%(period)s”已锁定，只有组织部可以更正") % {"period": entry.period})
    reversal = ledger_append(
        LedgerEntry(
            member=member,
            item=entry.item,
            period=entry.period,
            year=entry.year,
            kind=entry.kind,
            points=-entry.points,
            reason=reason,
            source=LedgerEntry.Source.CORRECTION,
            recorded_by=actor,
            occurred_on=timezone.localdate(),
            reverses=entry,
        )
    )
    audit_record(
        actor=actor,
        action="ledger.reverse",
        target=reversal,
        organization=member.branch,
        reason=reason,
        after={"reverses": entry.pk, "points": reversal.points, "hash": reversal.hash},
    )
    recalculate_branch(branch=member.branch, year=entry.year)
    return reversal


def recalculate(*, year: int, organization: Organization | None = None) -> int:
    """Recompute every branch under `organization` (default: all) for `year`, chunk by chunk
    (recalculation.recalculate_year); returns members done."""
    return recalculate_year(year=year, organization=organization)


@transaction.atomic
def board_visibility_set(*, actor: User, branch: Organization, visible: bool) -> Organization:
    """The branch decides whether its members see the points board (积分榜)."""
    _require(actor, perms.ROSTER_MANAGE, branch)
    branch.show_board_to_members = bool(visible)
    branch.save(update_fields=["show_board_to_members"])
    audit_record(
        actor=actor,
        action="board.visibility",
        target=branch,
        organization=branch,
        after={"show_board_to_members": branch.show_board_to_members},
    )
    return branch
