"""Reads shared by scoring views, exports and dashboards; scoped to the acting user."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, F, OuterRef, Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from members import permissions as perms
from members.models import Member, Organization
from partyscore.core.choices import choice_labels

from .models import (
    Cycle,
    Deadline,
    EntryEvidence,
    LedgerEntry,
    MemberOutcome,
    MemberYearTotal,
    OutcomeRule,
    Period,
    RuleItem,
    Scheme,
    period_label,
)
from .policy import share_cap_check
from .rule_kinds import describe_params

if TYPE_CHECKING:
    import datetime

    from django.contrib.auth.models import AnonymousUser
    from django.db.models import QuerySet

    from members.models import User

    from .policy import ShareCheck


def schemes_in_force(*, branch: Organization, year: int) -> dict[str, Scheme]:
    """The approved schemes that apply in `branch` for `year`, keyed by member category.

    The nearest owner up the tree wins (a branch's own detailed rules before its college's before
    the committee's reference), then the latest version; a scheme for a category beats one for all.
    """
    candidates = sorted(
        Scheme.objects.filter(
            owner__path__in=branch.ancestor_paths(), year=year, status=Scheme.Status.APPROVED
        ).select_related("owner"),
        key=lambda s: (-s.owner.depth, s.member_category == "all", -s.version),
    )
    chosen = {}
    for scheme in candidates:
        for category in (Member.Category.STAFF, Member.Category.STUDENT):
            if category not in chosen and scheme.member_category in (category, "all"):
                chosen[category] = scheme
    return chosen


def scheme_for_member(*, member: Member, year: int) -> Scheme | None:
    return schemes_in_force(branch=member.branch, year=year).get(member.category)


def current_cycle() -> Cycle | None:
    return Cycle.objects.filter(is_open=True).order_by("-year").first()


def periods_of(*, year: int, kind: str) -> list[Period]:
    return list(Period.objects.filter(cycle__year=year, kind=kind).order_by("index"))


def current_period(*, year: int, kind: str, today: datetime.date | None = None) -> Period | None:
    today = today or timezone.localdate()
    periods = periods_of(year=year, kind=kind)
    return next((p for p in periods if p.starts_on <= today <= p.ends_on), periods[-1] if periods else None)


def visible_schemes(*, actor: User) -> QuerySet[Scheme]:
    """Schemes owned anywhere in the actor's scope, plus every reference scheme above it."""
    scope = perms.orgs_with_perm(actor, perms.LEDGER_VIEW)
    roots = perms.scope_roots(actor, perms.LEDGER_VIEW)
    above = {path for root in roots for path in root.ancestor_paths()}
    return (
        Scheme.objects.filter(Q(owner__in=scope) | Q(owner__path__in=above))
        .select_related("owner", "derived_from")
        .distinct()
    )


def scheme_get(*, actor: User, scheme_id: int) -> Scheme:
    scheme = visible_schemes(actor=actor).filter(pk=scheme_id).first()
    if scheme is None:
        raise PermissionDenied(_("您无权查看该评分标准"))
    return scheme


def scheme_detail(*, scheme: Scheme) -> tuple[list[RuleItem], list[OutcomeRule]]:
    """The scheme's items and rules; each rule carries its parameters as a sentence (`sentence`)."""
    items = list(scheme.items.all())
    rules = list(scheme.outcome_rules.all())
    labels, titles = {r.code: r.label for r in rules}, {i.code: i.title for i in items}
    for rule in rules:
        rule.sentence = describe_params(rule.kind, rule.params, rule_labels=labels, item_titles=titles)
    return items, rules


LEDGER_ORDER = ("-recorded_at", "-id")  # newest first


def ledger_entries(
    *,
    actor: User,
    organization: Organization,
    year: int,
    member_id: int | None = None,
    kind: str = "",
    source: str = "",
    period_id: int | None = None,
) -> QuerySet[LedgerEntry]:
    """Ledger lines for the branch (or subtree), newest first: the filters and the order alone, for
    counting and paging; `ledger_lines` fetches what a line shows."""
    if not perms.has_org_perm(actor, perms.LEDGER_VIEW, organization):
        raise PermissionDenied(_("您无权查看该党组织的积分台账"))
    entries = LedgerEntry.objects.filter(year=year, member__branch__path__startswith=organization.path)
    if member_id:
        entries = entries.filter(member_id=member_id)
    if kind:
        entries = entries.filter(kind=kind)
    if source:
        entries = entries.filter(source=source)
    if period_id:
        entries = entries.filter(period_id=period_id)
    return entries.order_by(*LEDGER_ORDER)


def ledger_lines(entries: QuerySet[LedgerEntry]) -> QuerySet[LedgerEntry]:
    """The lines `entries` selects (`ledger_entries`, or a page of it), in the ledger's order, with
    the member, item, period, recorder and whether a later line reverses each.

    Two steps in one statement: the ids from `entries` (a subquery on the filters, the order and the
    page's LIMIT), then those lines joined to what they show. One statement joining all of it to the
    filters, the recorder's and verifier's accounts and the reversed line cost PostgreSQL more to plan
    than to run (at 5,000 members: 13-15 ms of planning a branch's page, 3 ms of execution); this
    statement plans in about a twentieth of that time (measured side by side)."""
    # A join on the reversal (at most one: `reverses` is one-to-one), not an EXISTS: PostgreSQL
    # evaluated that by hashing the whole year's ledger of the university, whatever the page's scope.
    return (
        LedgerEntry.objects.filter(pk__in=entries.values("pk"))
        .select_related("member", "item", "period", "recorded_by")
        .annotate(is_reversed=Q(reversed_by__isnull=False))
        .order_by(*LEDGER_ORDER)
    )


def ledger_rows(entries: QuerySet[LedgerEntry]) -> list[dict]:
    """What the ledger page shows of the lines `entries` selects (a page of `ledger_entries`), as
    plain values in the ledger's order: `ledger_lines`' one statement read as values, and the lines'
    evidence files in one more.

    The page reads values, not model instances: building a LedgerEntry with its member, item, period
    and recorder (and the evidence's prefetch) cost about 7 ms of CPU for 50 lines, the values 2 ms."""
    rows = list(
        ledger_lines(entries).values(
            "id",
            "occurred_on",
            "member_id",
            "kind",
            "points",
            "reason",
            "source",
            "reverses_id",
            "is_reversed",
            member_name=F("member__name"),
            item_code=F("item__code"),
            item_title=F("item__title"),
            period_kind=F("period__kind"),
            period_index=F("period__index"),
            period_starts_on=F("period__starts_on"),
            period_name=F("period__name"),
            recorder_name=F("recorded_by__full_name"),
            recorder_username=F("recorded_by__username"),
        )
    )
    files: dict[int, list[tuple[int, str]]] = {}
    if rows:
        for entry_id, pk, name in (
            EntryEvidence.objects.filter(entry_id__in=[r["id"] for r in rows])
            .order_by("pk")
            .values_list("entry_id", "pk", "name")
        ):
            files.setdefault(entry_id, []).append((pk, name))
    kinds, sources = choice_labels(LedgerEntry, "kind"), choice_labels(LedgerEntry, "source")
    for row in rows:
        row["period_label"] = period_label(
            row.pop("period_kind"), row.pop("period_index"), row.pop("period_starts_on").year, row.pop("period_name")
        )
        row["kind_label"] = kinds.get(row["kind"], row["kind"])
        row["source_label"] = sources.get(row["source"], row["source"])
        name, username = row.pop("recorder_name"), row.pop("recorder_username")
        row["recorder"] = name or username  # as User.get_full_name says it
        row["evidence"] = files.get(row["id"], [])
    return rows


def entry_get(*, actor: User, entry_id: int) -> LedgerEntry:
    entry = LedgerEntry.objects.select_related("member__branch", "item", "period").filter(pk=entry_id).first()
    if entry is None or not perms.has_org_perm(actor, perms.LEDGER_VIEW, entry.member.branch):
        raise PermissionDenied(_("您无权查看该记录"))
    return entry


def member_record_visible(*, actor: User, member: Member) -> bool:
    """Who sees a member's scoring record (the card, its entries, declarations, self-assessments and
    the files behind them): the member, and whoever sees the branch's ledger."""
    return member.user_id == actor.pk or perms.has_org_perm(actor, perms.LEDGER_VIEW, member.branch)


def entry_evidence_get(*, actor: User, evidence_id: int) -> EntryEvidence:
    """An entry's file, for whoever sees the member's card (or the branch's ledger)."""
    evidence = EntryEvidence.objects.select_related("entry__member__branch").filter(pk=evidence_id).first()
    if evidence is None or not member_record_visible(actor=actor, member=evidence.entry.member):
        raise PermissionDenied(_("您无权查看该佐证材料"))
    return evidence


# Sections that apps above scoring add to the points card (reviews: the meetings the member was
# expected at): (template, callable(member=, year=) → its context), each in a constant number of queries.
POINTS_CARD_SECTIONS = []


def points_card(
    *, actor: User, member: Member, year: int
) -> tuple[MemberYearTotal | None, QuerySet[LedgerEntry], QuerySet[MemberOutcome]]:
    """A member's card (积分卡): the stored total, every ledger line, and the outcomes."""
    if not member_record_visible(actor=actor, member=member):
        raise PermissionDenied(_("您无权查看该党员的积分"))
    total = MemberYearTotal.objects.filter(member=member, year=year).select_related("scheme").first()
    entries = (
        LedgerEntry.objects.filter(member=member, year=year)
        .select_related("item", "period", "recorded_by", "verified_by")
        .prefetch_related("evidence")
        .annotate(is_reversed=Exists(LedgerEntry.objects.filter(reverses=OuterRef("pk"))))
        .order_by("period__index", "occurred_on", "id")
    )
    outcomes = MemberOutcome.objects.filter(member=member, year=year).select_related("rule")
    return total, entries, outcomes


def board_visible(*, actor: User | AnonymousUser, branch: Organization) -> bool:
    if perms.has_org_perm(actor, perms.LEDGER_VIEW, branch):
        return True
    member = getattr(actor, "member", None) if actor.is_authenticated else None
    return bool(branch.show_board_to_members and member is not None and member.branch_id == branch.pk)


def branch_board(
    *, actor: User | AnonymousUser, branch: Organization, year: int
) -> tuple[list[MemberYearTotal], list[tuple[OutcomeRule, ShareCheck]]]:
    """The branch's points board (积分榜): scored members by rank, their outcomes, the share check."""
    if not board_visible(actor=actor, branch=branch):
        raise PermissionDenied(_("本支部积分榜未公开"))
    totals = (
        MemberYearTotal.objects.filter(branch=branch, year=year)
        .select_related("member")
        .prefetch_related(
            Prefetch(
                "member__outcomes",
                queryset=MemberOutcome.objects.filter(year=year).select_related("rule"),
                to_attr="year_outcomes",
            )
        )
        .order_by("rank", "member__number")
    )
    rows = list(totals)
    share_rules = OutcomeRule.objects.filter(
        kind=OutcomeRule.Kind.SHARE_CAP, scheme__in={r.scheme_id for r in rows if r.scheme_id}
    )
    scored = [r.total for r in rows if r.scored and r.total is not None]
    # One check per rule code: a staff and a student scheme carrying the same cap judge the same branch.
    unique = {rule.code: rule for rule in share_rules.order_by("scheme_id")}
    checks = [(rule, share_cap_check(rule, scored)) for rule in unique.values()]
    return rows, checks


def deadlines_for(*, organization: Organization, cycle: Cycle) -> list[Deadline]:
    """The year's deadlines as they apply at `organization`: a date set by a node above it
    (the college over the committee) wins, the nearest one first."""
    paths = organization.ancestor_paths()
    chosen = {}
    for deadline in (
        Deadline.objects.filter(cycle=cycle, organization__path__in=paths)
        .select_related("organization")
        .order_by("organization__depth")
    ):
        chosen[deadline.code] = deadline
    return sorted(chosen.values(), key=lambda d: (d.due_on, d.code))


def upcoming_deadlines(
    *, organization: Organization, cycle: Cycle, today: datetime.date | None = None, within_days: int = 45
) -> list[tuple[Deadline, int]]:
    """The deadlines ahead at `organization`, with the days left, for home pages."""
    today = today or timezone.localdate()
    return [
        (d, (d.due_on - today).days)
        for d in deadlines_for(organization=organization, cycle=cycle)
        if 0 <= (d.due_on - today).days <= within_days
    ]
