"""Stored year totals, ranks and outcomes checked against the ledger (`manage.py verify_ledger`).

The hash chains vouch for the ledger; the figures shown on points cards, boards and determinations
are stored rows derived from it (`MemberYearTotal`, `MemberOutcome`), which an UPDATE could change
without touching either chain. Here every branch of every open year is derived again through the
recalculation's own code path (`recalculation.chunk_figures`, what `recalculate_year` and
`recalculate_branch` store), chunk by chunk, as of the day each branch was last recalculated
(`BranchRecalculation`), and each stored figure is compared with the derived one — whatever unit or
form the rows store, since both sides are the same model's fields.

Closed years are not compared: the recalculation reads the members' current category, status and
branch, which may have changed since the year closed (docs/security.md, "Round two").
"""

from collections import defaultdict
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Member

from .models import BranchRecalculation, Cycle, MemberOutcome, MemberYearTotal
from .points import format_exact, format_points, from_exact_units
from .recalculation import chunk_figures, one_of, year_chunks

# The stored columns of a year total that the recalculation derives, in the order reported.
TOTAL_FIELDS = (
    "total",
    "total_exact",
    "rank",
    "base",
    "bonus",
    "penalty",
    "vetoed",
    "period_scores",
    "scored",
    "scheme_id",
    "branch_id",
)
POINT_FIELDS = {"total", "base", "bonus", "penalty"}
OUTCOME_FIELDS = ("consequence", "reason", "rule_id", "branch_id")


@dataclass
class FigureDiff:
    member_id: int
    year: int
    field: str  # a column, "outcome:<rule code>", or "row" for a row present on one side only
    stored: object
    recomputed: object


def field_labels():
    return {
        "total": _("年度总分"),
        "total_exact": _("年度总分（精确值）"),
        "rank": _("支部排名"),
        "base": _("基础分"),
        "bonus": _("加分"),
        "penalty": _("减分"),
        "vetoed": _("一票否决"),
        "period_scores": _("各期得分"),
        "scored": _("参与记分"),
        "scheme_id": _("评分标准"),
        "branch_id": _("所在支部"),
        "row": _("年度积分记录"),
        "consequence": _("结果"),
        "reason": _("依据"),
        "rule_id": _("规则"),
    }


def shown(field, value):
    """A figure as the report prints it: points in the project's display form, absent as '—'."""
    if value is None:
        return "—"
    if field in POINT_FIELDS:
        return format_points(value)
    if field == "total_exact":
        return format_exact(from_exact_units(value))
    return str(value)


def _as_of(year):
    """Per branch, the local date on which its stored rows of `year` were last derived."""
    return {
        branch_id: timezone.localdate(at)
        for branch_id, at in BranchRecalculation.objects.filter(year=year).values_list("branch_id", "recalculated_at")
    }


def verify_figures(years=None):
    """Every stored figure of the open years (or `years`) that differs from the ledger's, as
    FigureDiff rows ordered by year and member. Derived and compared a chunk of branches at a time
    (the recalculation's own chunks, `year_chunks`), so memory does not grow with the university."""
    if years is None:
        years = sorted(Cycle.objects.filter(is_open=True).values_list("year", flat=True))
    diffs = []
    for year in years:
        found, derived_members = defaultdict(list), set()
        for day, branches in _chunks_as_of(year):
            totals, outcomes = chunk_figures(branches=branches, year=year, today=day)
            members = [row["member_id"] for row in totals]
            derived_members.update(members)
            _compare(found, year, totals, outcomes, members)
        # Stored rows of members that no branch counts this year: nothing derives them.
        stored_members = {*MemberYearTotal.objects.filter(year=year).values_list("member_id", flat=True)}
        stored_members |= {*MemberOutcome.objects.filter(year=year).values_list("member_id", flat=True)}
        underived = sorted(stored_members - derived_members)
        if underived:
            _compare(found, year, [], [], underived)
        diffs += [d for member_id in sorted(found) for d in found[member_id]]
    return diffs


def _chunks_as_of(year):
    """(day, branches): the recalculation's chunks of the year, each cut by the day its branches
    were last recalculated (None: never, derived as of today)."""
    as_of = _as_of(year)
    for chunk in year_chunks():
        by_day = defaultdict(list)
        for branch in chunk:
            by_day[as_of.get(branch.pk)].append(branch)
        yield from by_day.items()


def _compare(found, year, totals, outcomes, members):
    """Add to `found` (member id → FigureDiff list) how the stored rows of `members` (ids) differ
    from the derived `totals` and `outcomes` (chunk_figures' rows)."""
    derived_totals = {row["member_id"]: row for row in totals}
    derived_outcomes = {(row["member_id"], row["rule_code"]): row for row in outcomes}
    totals_of = MemberYearTotal.objects.filter(one_of(MemberYearTotal, "member_id", members), year=year)
    outcomes_of = MemberOutcome.objects.filter(one_of(MemberOutcome, "member_id", members), year=year)
    stored_totals = {row["member_id"]: row for row in totals_of.values("member_id", *TOTAL_FIELDS)}
    stored_outcomes = {
        (row["member_id"], row["rule_code"]): row
        for row in outcomes_of.values("member_id", "rule_code", *OUTCOME_FIELDS)
    }
    for member_id in stored_totals.keys() | derived_totals.keys():
        stored, derived = stored_totals.get(member_id), derived_totals.get(member_id)
        if stored is None or derived is None:
            found[member_id].append(FigureDiff(member_id, year, "row", _row_shown(stored), _row_shown(derived)))
            continue
        found[member_id] += [
            FigureDiff(member_id, year, name, stored[name], derived[name])
            for name in TOTAL_FIELDS
            if stored[name] != derived[name]
        ]
    for key in sorted(stored_outcomes.keys() | derived_outcomes.keys()):
        stored, derived = stored_outcomes.get(key), derived_outcomes.get(key)
        member_id, code = key
        if stored is None or derived is None:
            found[member_id].append(
                FigureDiff(
                    member_id,
                    year,
                    f"outcome:{code}",
                    stored and stored["consequence"],
                    derived and derived["consequence"],
                )
            )
            continue
        found[member_id] += [
            FigureDiff(member_id, year, f"outcome:{code}:{name}", stored[name], derived[name])
            for name in OUTCOME_FIELDS
            if stored[name] != derived[name]
        ]


def _row_shown(row):
    return (
        None
        if row is None
        else _("总分 %(total)s，排名 %(rank)s")
        % {"total": shown("total", row["total"]), "rank": shown("rank", row["rank"])}
    )


def describe(diffs):
    """One Chinese line per differing figure: member (number and name), year, field, stored, recomputed."""
    members = {m.pk: m for m in Member.objects.filter(pk__in={d.member_id for d in diffs})}
    labels = field_labels()
    lines = []
    for d in diffs:
        member = members.get(d.member_id)
        who = f"{member.number} {member.name}" if member else f"#{d.member_id}"
        if d.field.startswith("outcome:"):
            _prefix, code, *column = d.field.split(":")
            what = _("积分结果 %(code)s") % {"code": code} + (f"（{labels[column[0]]}）" if column else "")
        else:
            what = labels[d.field]
        lines.append(
            _("不符：%(member)s，%(year)s年，%(field)s：存储为 %(stored)s，按台账重算为 %(recomputed)s")
            % {
                "member": who,
                "year": d.year,
                "field": what,
                "stored": shown(d.field, d.stored),
                "recomputed": shown(d.field, d.recomputed),
            }
        )
    return lines
