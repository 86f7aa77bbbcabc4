"""The year's results per branch: scored members, bins, consequences, share caps, year over year."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from members.models import Organization
from scoring.models import (
    OutcomeRule,
)
from scoring.points import format_points, to_centi
from scoring.policy import CountedTotals, share_cap_check

from .facts import _history_years
from .scope import BINS, RESULT_CONSEQUENCES, bin_label, setting

# ── results ──────────────────────────────────────────────────────────────────────────────────


@dataclass
class ResultRow:
    org: Organization
    scored: int = 0
    total_sum: int = 0  # centipoints
    bins: list = field(default_factory=lambda: [0] * len(BINS))
    consequences: Counter = field(default_factory=Counter)
    high: int = 0  # scored at or above setting HIGH_SCORE
    share: list = field(default_factory=list)  # dicts: label, threshold, count, limit, ok, url
    share_broken: int = 0  # branches (or 1 for a branch) breaking a share cap
    commended: int = 0
    criticised: int = 0
    loses_awards: bool = False

    @property
    def mean(self):
        """The mean total in centipoints, exact (rounded half up)."""
        if not self.scored:
            return None
        return int((Decimal(self.total_sum) / self.scored).to_integral_value(rounding="ROUND_HALF_UP"))

    @property
    def is_branch(self):
        return self.org.kind == Organization.Kind.BRANCH

    def consequence_cells(self):
        return [self.consequences.get(c, 0) for c in RESULT_CONSEQUENCES]


def share_rules(in_force):
    """scheme id → its share-cap rules (one query)."""
    scheme_ids = {s.pk for schemes in in_force.values() for s in schemes.values()}
    by_scheme = defaultdict(list)
    for rule in OutcomeRule.objects.filter(scheme_id__in=scheme_ids, kind=OutcomeRule.Kind.SHARE_CAP):
        by_scheme[rule.scheme_id].append(rule)
    return by_scheme


def results(scope, facts, in_force, rules):
    """Distribution, outcome counts, share checks and notices per branch, summed up the tree, and
    year over year: from the stored counts (no query)."""
    high = str(to_centi(setting("HIGH_SCORE")))
    rows = {o.pk: ResultRow(org=o) for o in scope.orgs}
    for branch in scope.branches:
        row, f = rows[branch.pk], facts[branch.pk]
        row.scored, row.total_sum, row.bins = f["scored"], f["total_sum"], list(f["bins"])
        row.high = f["at"].get(high, 0)
        row.consequences = Counter(f["consequences"])
        notices = f["notices"]
        row.commended, row.criticised = notices.get("commend", 0), notices.get("criticise", 0)
        row.loses_awards = bool(notices.get("loses"))
        seen = set()
        counted = CountedTotals(scored=row.scored, at_or_above={int(at): n for at, n in f["at"].items()})
        for scheme in in_force.get(branch.pk, {}).values():
            for rule in rules.get(scheme.pk, ()):
                if rule.code in seen:
                    continue
                seen.add(rule.code)
                check = share_cap_check(rule, counted)
                row.share.append(
                    {
                        "label": rule.label,
                        "threshold": check.threshold,
                        "count": check.count,
                        "limit": check.limit,
                        "ok": check.ok,
                        "url": scope.drill_url("share", org=branch.pk, at=format_points(check.threshold)),
                    }
                )
        row.share_broken = int(any(not s["ok"] for s in row.share))
    in_scope = {o.pk for o in scope.orgs}
    for org in sorted(scope.orgs, key=lambda o: -o.depth):
        if org.pk == scope.org.pk or org.parent_id not in in_scope:
            continue
        parent, child = rows[org.parent_id], rows[org.pk]
        parent.scored += child.scored
        parent.total_sum += child.total_sum
        parent.bins = [a + b for a, b in zip(parent.bins, child.bins, strict=True)]
        parent.consequences.update(child.consequences)
        parent.high += child.high
        parent.share_broken += child.share_broken
        parent.commended += child.commended
        parent.criticised += child.criticised
    top = rows[scope.org.pk]
    histogram = [
        {"name": bin_label(i), "value": top.bins[i], "url": scope.drill_url("bin", bin=i)} for i in range(len(BINS))
    ]
    present = [c for c in OutcomeRule.Consequence.values if top.consequences.get(c)]
    labels = dict(OutcomeRule.Consequence.choices)
    by_consequence = [
        {
            "name": str(labels[c]),
            "code": c,
            "value": top.consequences[c],
            "url": scope.drill_url("consequence", consequence=c),
        }
        for c in present
    ]
    return {
        "rows": [rows[o.pk] for o in scope.orgs],
        "by_id": rows,
        "histogram": histogram,
        "consequences": by_consequence,
        "history": year_over_year(scope, facts, top),
        "columns": [str(labels[c]) for c in RESULT_CONSEQUENCES],
    }


def year_over_year(scope, facts, top):
    """The last HISTORY_YEARS years: scored members, mean total and outcome counts. Each year's
    figures are by the branch members belonged to that year."""
    labels = dict(OutcomeRule.Consequence.choices)
    rows = []
    for year in [*_history_years(scope.year), scope.year]:
        if year == scope.year:
            n, total_sum, outcomes = top.scored, top.total_sum, top.consequences
        else:
            n, total_sum, outcomes = 0, 0, Counter()
            for branch in scope.branches:
                cell = facts[branch.pk]["history"].get(str(year))
                if cell:
                    n += cell.get("n", 0)
                    total_sum += cell.get("total_sum", 0)
                    outcomes.update(cell["consequences"])
        mean = int((Decimal(total_sum) / n).to_integral_value(rounding="ROUND_HALF_UP")) if n else None
        rows.append(
            {
                "year": year,
                "scored": n,
                "mean": mean,
                "mean_text": format_points(mean),
                "url": scope.drill_url("scored", year=year),
                "consequences": [
                    {
                        "name": str(labels[c]),
                        "code": c,
                        "value": outcomes.get(c, 0),
                        "url": scope.drill_url("consequence", year=year, consequence=c),
                    }
                    for c in RESULT_CONSEQUENCES
                ],
            }
        )
    return rows
