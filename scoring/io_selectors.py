"""Reads for the ledger exports: scoped to the acting user, a constant number of queries at any size.

Everything here returns plain values (dicts and tuples), not model instances: a university's
workbook holds 10,000 members and 400,000 lines, and the ledger lines are streamed in order
(`ledger_lines`) rather than loaded. Totals and outcomes are the stored, *proposed* ones
(`MemberYearTotal`, `MemberOutcome`) — the branch meeting's frozen determination (review
pipeline) is not built yet.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, FilteredRelation, Q
from django.utils.translation import gettext as _

from members import permissions as perms
from members.models import Member, Organization

from .models import LedgerEntry, MemberOutcome, MemberYearTotal, OutcomeRule, Period, Scheme

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from django.db.models import QuerySet

    from members.models import User

# Rows fetched at a time: bounds the memory the cursor holds (measured: 500 → 1.8 MB peak, 200 → 1.3 MB).
LINE_CHUNK = 200

MEMBER_FIELDS = (
    "id",
    "number",
    "name",
    "category",
    "status",
    "is_cadre",
    "exempt",
    "left_on",
    "user_id",
    "branch_id",
    "branch__name",
    "branch__code",
    "branch__path",
)
TOTAL_FIELDS = (
    "member_id",
    "scored",
    "base",
    "bonus",
    "penalty",
    "vetoed",
    "period_scores",
    "total",
    "rank",
    "scheme_id",
    "scheme__name",
    "scheme__composition",
    "scheme__period_kind",
)
# The order of the tuples `ledger_lines` yields.
LINE_FIELDS = (
    "id",
    "member_id",
    "occurred_on",
    "period__kind",
    "period__index",
    "period__name",
    "kind",
    "item__code",
    "item__title",
    "points",
    "reason",
    "source",
    "recorded_by__full_name",
    "recorded_by__username",
    "verified_by__full_name",
    "verified_by__username",
    "reverses_id",
    "member__branch_id",
)
LINE_MEMBER_FIELDS = ("member__number", "member__name", "member__branch__name", "member__branch__parent__name")

# Which consequences count as what in the committee's figures (kinds of consequence, not thresholds:
# the thresholds stay in each scheme's outcome rules).
EXCELLENT = {OutcomeRule.Consequence.PRIORITY, OutcomeRule.Consequence.EXCELLENT_ELIGIBLE}
WARNED = {OutcomeRule.Consequence.YELLOW, OutcomeRule.Consequence.RED, OutcomeRule.Consequence.TALK}
UNQUALIFIED = {OutcomeRule.Consequence.UNQUALIFIED, OutcomeRule.Consequence.RED}


def require_ledger_view(*, actor: User, organization: Organization) -> None:
    if not perms.has_org_perm(actor, perms.LEDGER_VIEW, organization):
        raise PermissionDenied(_("您无权导出该党组织的积分台账"))


def require_member_ledger(*, actor: User, member: Member) -> None:
    """The member themself, or anyone who may view their branch's ledger (as the points card)."""
    own = member.user_id is not None and member.user_id == actor.pk
    if not (own or perms.has_org_perm(actor, perms.LEDGER_VIEW, member.branch)):
        raise PermissionDenied(_("您无权导出该党员的积分台账"))


def _in_year(prefix: str = "") -> Callable[[int], Q]:
    """Members who belonged to the party organization during `year` (as recalculation counts them)."""
    return lambda year: Q(**{f"{prefix}left_on__isnull": True}) | Q(**{f"{prefix}left_on__year__gte": year})


def scope_members(*, organization: Organization, year: int) -> QuerySet[Member]:
    return Member.objects.filter(_in_year()(year), branch__path__startswith=organization.path)


def scope_entries(
    *,
    organization: Organization | None = None,
    member: Member | None = None,
    branches: Iterable[int] | None = None,
    year: int,
) -> QuerySet[LedgerEntry]:
    """The year's lines of one member, of the members of `branches` (ids), or of a scope."""
    entries = LedgerEntry.objects.filter(year=year)
    if member is not None:
        return entries.filter(member=member)
    if branches is not None:
        return entries.filter(_in_year("member__")(year), member__branch_id__in=branches)
    return entries.filter(_in_year("member__")(year), member__branch__path__startswith=organization.path)


def export_size(*, kind: str, organization: Organization, year: int) -> int:
    """How many rows an export would write (members, plus ledger lines where it lists them)."""
    if kind == "committee":
        return Organization.objects.filter(path__startswith=organization.path).count()
    members = scope_members(organization=organization, year=year).count()
    if kind in ("branch_workbook", "flat_ledger"):
        return members + scope_entries(organization=organization, year=year).count()
    return members


@dataclass
class YearData:
    """The members of a scope with their stored totals and outcomes for a year."""

    organization: object
    year: int
    members: list = field(default_factory=list)  # dicts of MEMBER_FIELDS, in branch and number order
    totals: dict = field(default_factory=dict)  # member id → dict of TOTAL_FIELDS
    outcomes: dict = field(default_factory=dict)  # member id → [dict(consequence, reason, rule__kind)]
    periods: dict = field(default_factory=dict)  # period kind → [(index, name)] in order

    def period_columns(self) -> list[tuple[str, int, str]]:
        """(kind, index, name) of every period whose score some member's scheme keeps."""
        kinds = {t["scheme__period_kind"] for t in self.totals.values() if t["scheme__period_kind"]}
        return [(kind, index, name) for kind in sorted(kinds) for index, name in self.periods.get(kind, [])]


def periods_by_kind(year: int) -> dict[str, list[tuple[int, str]]]:
    periods = defaultdict(list)
    for kind, index, name in (
        Period.objects.filter(cycle__year=year).order_by("kind", "index").values_list("kind", "index", "name")
    ):
        periods[kind].append((index, name))
    return dict(periods)


def year_data(*, organization: Organization | None = None, member: Member | None = None, year: int) -> YearData:
    """Four queries, whatever the size of the scope."""
    if member is not None:
        members = Member.objects.filter(pk=member.pk)
        totals = MemberYearTotal.objects.filter(member=member, year=year)
        outcomes = MemberOutcome.objects.filter(member=member, year=year)
    else:
        members = scope_members(organization=organization, year=year)
        totals = MemberYearTotal.objects.filter(
            _in_year("member__")(year), year=year, member__branch__path__startswith=organization.path
        )
        outcomes = MemberOutcome.objects.filter(
            _in_year("member__")(year), year=year, member__branch__path__startswith=organization.path
        )
    data = YearData(organization=organization or member.branch, year=year)
    data.members = list(members.order_by("branch__path", "number").values(*MEMBER_FIELDS))
    data.totals = {row["member_id"]: row for row in totals.values(*TOTAL_FIELDS)}
    for row in outcomes.order_by("member_id", "rule__order", "rule_code").values(
        "member_id", "consequence", "reason", "rule__kind"
    ):
        data.outcomes.setdefault(row["member_id"], []).append(row)
    data.periods = periods_by_kind(year)
    return data


def reversed_ids(
    *,
    organization: Organization | None = None,
    member: Member | None = None,
    branches: Iterable[int] | None = None,
    year: int,
) -> set[int]:
    return set(
        scope_entries(organization=organization, member=member, branches=branches, year=year)
        .filter(reverses__isnull=False)
        .values_list("reverses_id", flat=True)
    )


def ledger_lines(
    *,
    organization: Organization | None = None,
    member: Member | None = None,
    branches: Iterable[int] | None = None,
    year: int,
    with_member: bool = False,
) -> Iterator[tuple[Any, ...]]:
    """Every ledger line of the scope as tuples of LINE_FIELDS (+ LINE_MEMBER_FIELDS), streamed in
    member order (branch, number) and, per member, by period and date: one query."""
    fields = LINE_FIELDS + (LINE_MEMBER_FIELDS if with_member else ())
    return (
        scope_entries(organization=organization, member=member, branches=branches, year=year)
        .order_by("member__branch__path", "member__number", "period__starts_on", "period__kind", "occurred_on", "id")
        .values_list(*fields)
        .iterator(chunk_size=LINE_CHUNK)
    )


# ── the branch workbooks: read for a chunk of branches, streamed in branch order ─────────────

STORED = (
    "scored",
    "base",
    "bonus",
    "penalty",
    "vetoed",
    "period_scores",
    "total",
    "rank",
    "scheme_id",
    "scheme__name",
    "scheme__composition",
    "scheme__period_kind",
)


def branch_chunks(
    *, organization: Organization, year: int, members_per_chunk: int
) -> tuple[list[Organization], list[list[tuple[Organization, int]]]]:
    """Every organization of the scope in tree order, and its branches that have members in `year`
    cut into runs of about `members_per_chunk` members ((branch, members) pairs; a larger branch is
    a run of its own). Two queries."""
    orgs = list(Organization.objects.filter(path__startswith=organization.path).order_by("path"))
    counts = dict(
        scope_members(organization=organization, year=year)
        .values("branch_id")
        .annotate(n=Count("id"))
        .values_list("branch_id", "n")
    )
    chunks, run, members = [], [], 0
    for org in orgs:
        if org.kind != Organization.Kind.BRANCH or not counts.get(org.pk):
            continue
        if run and members + counts[org.pk] > members_per_chunk:
            chunks.append(run)
            run, members = [], 0
        run.append((org, counts[org.pk]))
        members += counts[org.pk]
    if run:
        chunks.append(run)
    return orgs, chunks


def branches_in_order(ids: Iterable[int]) -> list[Organization]:
    """The branches of `ids`, in tree order: one query."""
    return list(Organization.objects.filter(pk__in=ids).order_by("path"))


def member_stream(*, branches: Iterable[int], year: int) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(member dict, stored-total dict or None) of the members of `branches` (ids), in branch and
    number order, streamed: one query."""
    members = Member.objects.filter(_in_year()(year), branch_id__in=branches).annotate(
        t=FilteredRelation("year_totals", condition=Q(year_totals__year=year))
    )
    keys = {f"t__{name}": name for name in STORED}
    rows = (
        members.order_by("branch__path", "number")
        .values(*MEMBER_FIELDS, "t__id", *keys)
        .iterator(chunk_size=LINE_CHUNK)
    )
    for row in rows:
        total = None if row["t__id"] is None else {name: row[key] for key, name in keys.items()}
        yield {name: row[name] for name in MEMBER_FIELDS}, total


def outcome_stream(*, branches: Iterable[int], year: int) -> Iterator[tuple[Any, ...]]:
    """(member id, consequence, reason, rule kind, branch id) in the members' order, streamed: one query."""
    return (
        MemberOutcome.objects.filter(_in_year("member__")(year), year=year, member__branch_id__in=branches)
        .order_by("member__branch__path", "member__number", "rule__order", "rule_code")
        .values_list("member_id", "consequence", "reason", "rule__kind", "member__branch_id")
        .iterator(chunk_size=LINE_CHUNK)
    )


def share_cap_rules(*, branches: Iterable[int], year: int) -> list[OutcomeRule]:
    """The share-cap rules of every scheme a year total of `branches` was computed under, in the
    rules' own order (scheme, order, code): one query."""
    schemes = MemberYearTotal.objects.filter(year=year, member__branch_id__in=branches).values("scheme_id")
    return list(
        OutcomeRule.objects.filter(scheme_id__in=schemes, kind=OutcomeRule.Kind.SHARE_CAP).order_by(
            "scheme", "order", "code"
        )
    )


# ── the committee's figures ──────────────────────────────────────────────────────────────────


@dataclass
class OrgFigures:
    """One row of the committee workbook: a branch, or a general branch / committee summed up."""

    org: object
    members: int = 0
    scored: int = 0
    exempt: int = 0
    totals: list = field(default_factory=list)  # centipoints of the scored members
    bands: Counter = field(default_factory=Counter)  # band consequence → members
    excellent: int = 0
    warned: int = 0
    unqualified: int = 0
    share: list = field(default_factory=list)  # (label, count, limit) per share-cap rule in force
    scheme_state: str = ""
    members_with_entries: int = 0
    lines: int = 0

    def add(self, other: OrgFigures) -> None:
        self.members += other.members
        self.scored += other.scored
        self.exempt += other.exempt
        self.totals += other.totals
        self.bands.update(other.bands)
        self.excellent += other.excellent
        self.warned += other.warned
        self.unqualified += other.unqualified
        self.members_with_entries += other.members_with_entries
        self.lines += other.lines


def schemes_by_branch(branches: Iterable[Organization], year: int) -> dict[int, dict[str, Scheme]]:
    """The approved schemes in force per branch and member category, resolved as
    `selectors.schemes_in_force` does (nearest owner, then a category's own scheme, then the
    latest version) but from one query for every branch."""
    approved = list(Scheme.objects.filter(year=year, status=Scheme.Status.APPROVED).select_related("owner"))
    by_path = defaultdict(list)
    for scheme in approved:
        by_path[scheme.owner.path].append(scheme)
    chosen = {}
    for branch in branches:
        candidates = sorted(
            (s for path in branch.ancestor_paths() for s in by_path.get(path, ())),
            key=lambda s: (-s.owner.depth, s.member_category == "all", -s.version),
        )
        in_force = {}
        for scheme in candidates:
            for category in (Member.Category.STAFF, Member.Category.STUDENT):
                if category not in in_force and scheme.member_category in (category, "all"):
                    in_force[category] = scheme
        chosen[branch.pk] = in_force
    return chosen


def committee_figures(*, organization: Organization, year: int) -> tuple[list[Organization], dict[int, OrgFigures]]:
    """Per general branch and branch under `organization`: a constant number of queries."""
    from .policy import share_cap_check

    orgs = list(Organization.objects.filter(path__startswith=organization.path).order_by("path"))
    branches = [o for o in orgs if o.kind == Organization.Kind.BRANCH]
    figures = {o.pk: OrgFigures(org=o) for o in orgs}
    members = scope_members(organization=organization, year=year)
    for row in members.values("branch_id").annotate(n=Count("id"), exempt=Count("id", filter=Q(exempt=True))):
        figures[row["branch_id"]].members, figures[row["branch_id"]].exempt = row["n"], row["exempt"]
    totals = MemberYearTotal.objects.filter(
        _in_year("member__")(year), year=year, member__branch__path__startswith=organization.path
    )
    for branch_id, scored, total in totals.values_list("member__branch_id", "scored", "total"):
        if scored and total is not None:
            figures[branch_id].scored += 1
            figures[branch_id].totals.append(total)
    outcomes = MemberOutcome.objects.filter(
        _in_year("member__")(year), year=year, member__branch__path__startswith=organization.path
    )
    seen = defaultdict(set)
    for member_id, branch_id, consequence, rule_kind in outcomes.values_list(
        "member_id", "member__branch_id", "consequence", "rule__kind"
    ):
        target = figures[branch_id]
        if rule_kind == OutcomeRule.Kind.BAND:
            target.bands[consequence] += 1
        for name, group in (("excellent", EXCELLENT), ("warned", WARNED), ("unqualified", UNQUALIFIED)):
            if consequence in group and member_id not in seen[name]:
                seen[name].add(member_id)
                setattr(target, name, getattr(target, name) + 1)
    entries = scope_entries(organization=organization, year=year)
    for row in entries.values("member__branch_id").annotate(
        lines=Count("id"), members=Count("member_id", distinct=True)
    ):
        figures[row["member__branch_id"]].lines = row["lines"]
        figures[row["member__branch_id"]].members_with_entries = row["members"]
    in_force = schemes_by_branch(branches, year)
    scheme_ids = {s.pk for schemes in in_force.values() for s in schemes.values()}
    share_rules = defaultdict(list)
    for rule in OutcomeRule.objects.filter(scheme_id__in=scheme_ids, kind=OutcomeRule.Kind.SHARE_CAP):
        share_rules[rule.scheme_id].append(rule)
    for branch in branches:
        target, schemes = figures[branch.pk], in_force[branch.pk]
        if not schemes:
            target.scheme_state = _("无已批准的评分标准")
        elif any(s.owner_id == branch.pk for s in schemes.values()):
            target.scheme_state = _("本支部细则已批准")
        else:
            target.scheme_state = _("沿用上级评分标准")
        rules = {r.code: r for s in schemes.values() for r in share_rules[s.pk]}
        for rule in rules.values():
            check = share_cap_check(rule, target.totals)
            target.share.append((rule.label, check.count, check.limit))
    return orgs, figures


def band_consequences(figures: dict[int, OrgFigures]) -> list[str]:
    """The band consequences that occur, in the order the consequence list gives them."""
    present = set()
    for f in figures.values():
        present.update(f.bands)
    return [c for c in OutcomeRule.Consequence.values if c in present]
