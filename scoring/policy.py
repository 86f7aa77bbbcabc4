"""The scoring formulas and outcome rules as pure functions over plain values (no ORM).

All points here are integers in hundredths (see `scoring.points`), except a year's exact total,
which may be a `Fraction` of them (a mean of period scores). Thresholds in rule params are written
in points (90, 70.5) and converted exactly; every rule compares against the exact total, never a
rounded one. Chinese reading of the seeds: 以上 is "at or
above", 低于 is "strictly below", a range 60—70 includes both ends.
"""

import functools
import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from django.utils.translation import gettext as _

from .points import floor_centi, format_exact, format_points, from_exact_units, to_centi

HUNDRED, ADDITIVE = "hundred", "additive"
MEAN, SUM, LAST = "mean", "sum", "last"


@dataclass(frozen=True)
class SchemeTerms:
    """A scheme's composition, in centipoints."""

    composition: str
    base: int
    bonus_cap: int | None = None
    floor: int = 0
    cap: int | None = None
    aggregation: str = MEAN


@dataclass(frozen=True)
class PeriodSums:
    """Net signed points of one period by category; `vetoes` counts unreversed veto entries."""

    base: int = 0
    bonus: int = 0
    penalty: int = 0
    vetoes: int = 0


def _clamp(value, low, high):
    if high is not None:
        value = min(value, high)
    return max(value, low)


def period_score(terms: SchemeTerms, sums: PeriodSums) -> int:
    """Policy A's semester score: the full base less deductions (and penalties), floored at 0 and
    never above the base, plus contribution capped per period; never above the scheme's cap."""
    base_part = _clamp(terms.base + sums.base + sums.penalty, 0, terms.base)
    bonus_part = _clamp(sums.bonus, 0, terms.bonus_cap)
    return _clamp(base_part + bonus_part, 0, terms.cap)


@dataclass(frozen=True)
class YearResult:
    """`exact` is the year's total as a Fraction of centipoints, what every outcome rule sees;
    `total` is it as shown: cut down to whole hundredths (never rounded up across a band edge)."""

    exact: Fraction
    total: int
    period_scores: dict
    base: int
    bonus: int
    penalty: int
    vetoed: bool


def annual_total(terms: SchemeTerms, sums_by_period: dict, counted_periods: list) -> YearResult:
    """The year's total from the net sums of each period.

    HUNDRED: each counted period is scored by `period_score` (a counted period with no entries
    scores the full base), then combined by the scheme's aggregation.
    ADDITIVE: base + every signed point of the year. Both: floored, capped, and 0 on a veto.
    """
    empty = PeriodSums()
    base = sum(s.base for s in sums_by_period.values())
    bonus = sum(s.bonus for s in sums_by_period.values())
    penalty = sum(s.penalty for s in sums_by_period.values())
    vetoed = sum(s.vetoes for s in sums_by_period.values()) > 0
    if terms.composition == HUNDRED:
        scores = {p: period_score(terms, sums_by_period.get(p, empty)) for p in counted_periods}
        if not scores:
            total = terms.base
        elif terms.aggregation == SUM:
            total = sum(scores.values())
        elif terms.aggregation == LAST:
            total = scores[counted_periods[-1]]
        else:
            total = Fraction(sum(scores.values()), len(scores))
    else:
        scores = {
            p: sums_by_period.get(p, empty).base
            + sums_by_period.get(p, empty).bonus
            + sums_by_period.get(p, empty).penalty
            for p in counted_periods
        }
        total = terms.base + base + bonus + penalty
    exact = Fraction(0 if vetoed else _clamp(total, terms.floor, terms.cap))
    return YearResult(
        exact=exact,
        total=floor_centi(exact),
        period_scores=scores,
        base=base,
        bonus=bonus,
        penalty=penalty,
        vetoed=vetoed,
    )


def competition_ranks(totals: dict) -> dict:
    """Rank by total, highest first; ties share a rank and the next rank skips (1, 2, 2, 4)."""
    ordered = sorted(totals.values(), reverse=True)
    first_place = {}
    for position, total in enumerate(ordered, start=1):
        first_place.setdefault(total, position)
    return {key: first_place[total] for key, total in totals.items()}


# ── outcome rules ────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Rule:
    code: str
    kind: str
    consequence: str
    label: str
    applies_to: str = "all"
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class MemberFacts:
    """What the rules may look at for one member's year. `scored` is False for exempted members
    and those who left the party organization: they get no total-based outcome and no rank.
    `total` is the exact total (int or Fraction of centipoints), never a rounded one."""

    member_id: int
    total: int | Fraction | None
    scored: bool = True
    is_cadre: bool = False
    is_probationary: bool = False
    category: str = "staff"
    item_codes: frozenset = frozenset()  # items with a net recorded entry this year


@dataclass(frozen=True)
class Finding:
    rule_code: str
    consequence: str
    reason: str


@dataclass(frozen=True)
class ShareCheck:
    threshold: int
    limit: int
    count: int

    @property
    def ok(self):
        return self.count <= self.limit


APPLIES_TO = {
    "all": lambda facts: True,
    "cadre": lambda facts: facts.is_cadre,
    "probationary": lambda facts: facts.is_probationary,
    "full": lambda facts: not facts.is_probationary,
    "staff": lambda facts: facts.category == "staff",
    "student": lambda facts: facts.category == "student",
}


def applies(rule: Rule, facts: MemberFacts) -> bool:
    return APPLIES_TO[rule.applies_to](facts)


def band_ends(params: dict) -> tuple:
    """A band's (lower, lower included, upper, upper included), the ends in centipoints or None."""
    lower, upper = params.get("lower"), params.get("upper")
    return (
        None if lower is None else to_centi(lower),
        params.get("lower_inclusive", True),
        None if upper is None else to_centi(upper),
        params.get("upper_inclusive", False),
    )


def in_band(params: dict, total: int, ends: tuple | None = None) -> bool:
    """Whether `total` is in the band of `params` (whose `band_ends` may be given, worked out once)."""
    lower, lower_inclusive, upper, upper_inclusive = ends or band_ends(params)
    if lower is not None and (total < lower or (total == lower and not lower_inclusive)):
        return False
    return upper is None or not (total > upper or (total == upper and not upper_inclusive))


def describe_band(params: dict) -> str:
    lower, upper = params.get("lower"), params.get("upper")
    if lower is not None and upper is not None:
        return _("在 %(lower)s—%(upper)s 分之间") % {"lower": lower, "upper": upper}
    if lower is not None:
        word = _("不低于") if params.get("lower_inclusive", True) else _("高于")
        return f"{word} {lower} " + _("分")
    word = _("不高于") if params.get("upper_inclusive", False) else _("低于")
    return f"{word} {upper} " + _("分")


def _points_text(value) -> str:
    return format_points(to_centi(value))


def describe_band_params(params, rule_labels, item_titles):
    lower, upper = params.get("lower"), params.get("upper")
    low_in, high_in = params.get("lower_inclusive", True), params.get("upper_inclusive", False)
    if lower is not None and upper is not None:
        ends = (
            _("含两端")
            if low_in and high_in
            else _("含 %(n)s 分") % {"n": _points_text(lower)}
            if low_in
            else _("含 %(n)s 分") % {"n": _points_text(upper)}
            if high_in
            else _("不含两端")
        )
        text = _("%(lower)s—%(upper)s 分（%(ends)s）") % {
            "lower": _points_text(lower),
            "upper": _points_text(upper),
            "ends": ends,
        }
    elif lower is not None:
        text = ("≥" if low_in else ">") + _("%(n)s 分") % {"n": _points_text(lower)}
    elif upper is not None:
        text = ("≤" if high_in else "<") + _("%(n)s 分") % {"n": _points_text(upper)}
    else:
        text = ""
    codes = params.get("item_codes") or []
    if codes:
        named = "、".join(f"「{item_titles.get(c, c)}」" for c in codes)
        items = _("记有项目 %(items)s") % {"items": named}
        text = _("%(band)s，或%(items)s") % {"band": text, "items": items} if text else items
    return text


def describe_rank_last_params(params, rule_labels, item_titles):
    return _("低于 %(n)s 分且为本支部最后一名") % {"n": _points_text(params["below"])}


def describe_streak_params(params, rule_labels, item_titles):
    of = params.get("of", "")
    return _("连续 %(years)s 年触发「%(rule)s」") % {"years": params.get("years", 2), "rule": rule_labels.get(of, of)}


def describe_share_cap_params(params, rule_labels, item_titles):
    share = Decimal(str(params["share"])) * 100
    return _("≥%(n)s 分者不超过本支部 %(share)s%%") % {
        "n": _points_text(params["at_or_above"]),
        "share": f"{share.normalize():f}",
    }


def describe_commendation_params(params, rule_labels, item_titles):
    return _("≥%(n)s 分，每 %(every)s 年表彰一次（自 %(anchor)s 年起）") % {
        "n": _points_text(params["at_or_above"]),
        "every": params.get("every_years", 1),
        "anchor": params.get("anchor_year", ""),
    }


@dataclass(frozen=True)
class CountedTotals:
    """A branch's scored totals where only counts are kept (the dashboards' stored branch facts):
    how many members are scored, and how many are at or above each line (centipoints → count)."""

    scored: int
    at_or_above: dict


def share_cap_line(params: dict) -> int:
    """A share cap's line in centipoints (A: 95)."""
    return to_centi(params["at_or_above"])


def share_cap_check(rule, totals) -> ShareCheck:
    """The one reading of a share cap: at most floor(share × scored members) may score at or above
    the line (A: 5% at 95). `rule` is a `Rule` or a stored OutcomeRule; `totals` the branch's scored
    totals, or their `CountedTotals`."""
    line = share_cap_line(rule.params)
    if isinstance(totals, CountedTotals):
        scored, count = totals.scored, totals.at_or_above.get(line, 0)
    else:
        scored, count = len(totals), sum(1 for t in totals if t >= line)
    limit = math.floor(Decimal(str(rule.params["share"])) * scored)
    return ShareCheck(threshold=line, limit=limit, count=count)


@dataclass(frozen=True)
class BranchYear:
    """What the rules of one branch's year see besides a member's own facts: the exact totals of
    every scored member (last place, the share cap), earlier years' rule codes and this year's
    findings so far (streaks)."""

    year: int
    totals: list
    lowest: int | Fraction | None
    history: dict
    findings: dict


# Each kind's evaluation: (member_id, reason) for the scored members the rule applies to.


def evaluate_band(rule, members, branch):
    params = rule.params
    codes = set(params.get("item_codes", ()))
    ends = band_ends(params) if params.get("lower") is not None or params.get("upper") is not None else None

    @functools.cache
    def in_band_reason():  # translated at the first member in the band: most branches have none
        return _("%(label)s：年度总分 %(total)s，%(band)s"), describe_band(params)

    for m in members:
        if ends is not None and in_band(params, m.total, ends):
            pattern, band = in_band_reason()
            yield m.member_id, pattern % {"label": rule.label, "total": format_exact(m.total), "band": band}
        elif codes and (hit_items := sorted(codes & m.item_codes)):
            yield m.member_id, _("%(label)s：记有项目 %(items)s") % {"label": rule.label, "items": "、".join(hit_items)}


def evaluate_rank_last(rule, members, branch):
    below = to_centi(rule.params["below"])
    for m in members:
        if m.total < below and m.total == branch.lowest:
            yield (
                m.member_id,
                _("%(label)s：年度总分 %(total)s，低于 %(below)s 分且为本支部最后一名")
                % {"label": rule.label, "total": format_exact(m.total), "below": rule.params["below"]},
            )


def evaluate_commendation(rule, members, branch):
    every = int(rule.params.get("every_years", 1))
    anchor = int(rule.params.get("anchor_year", branch.year))
    if (branch.year - anchor) % every != 0:
        return
    line = to_centi(rule.params["at_or_above"])
    for m in members:
        if m.total >= line:
            yield (
                m.member_id,
                _("%(label)s：年度总分 %(total)s，不低于 %(at)s 分")
                % {"label": rule.label, "total": format_exact(m.total), "at": rule.params["at_or_above"]},
            )


def evaluate_share_cap(rule, members, branch):
    check = share_cap_check(rule, branch.totals)
    if check.ok:
        return
    reason = _("%(label)s：本支部 %(at)s 分以上 %(count)s 人，超过上限 %(limit)s 人") % {
        "label": rule.label,
        "at": rule.params["at_or_above"],
        "count": check.count,
        "limit": check.limit,
    }
    for m in members:
        if m.total >= check.threshold:
            yield m.member_id, reason


def evaluate_streak(rule, members, branch):
    years, of = int(rule.params.get("years", 2)), rule.params["of"]
    for m in members:
        this_year = any(f.rule_code == of for f in branch.findings[m.member_id])
        earlier = all(of in branch.history.get((m.member_id, branch.year - k), set()) for k in range(1, years))
        if this_year and earlier:
            yield (
                m.member_id,
                _("%(label)s：连续 %(years)s 年符合“%(of)s”") % {"label": rule.label, "years": years, "of": of},
            )


def explain_total(scheme, total, period_names) -> list:
    """How a stored total (MemberYearTotal) is made, in sentences for the points card: Policy A's
    per-period score and how the periods combine, or Policy B's base ± the year's points.
    `period_names` maps a period's index to its name."""
    if scheme is None or total is None or total.total is None:
        return []
    base = to_centi(scheme.base_points)
    deducted, bonus, penalty = -min(total.base, 0), max(total.bonus, 0), -min(total.penalty, 0)
    if scheme.composition == HUNDRED:
        cap = _("（每期最多 %(n)s 分）") % {"n": format_points(to_centi(scheme.bonus_cap))} if scheme.bonus_cap else ""
        lines = [
            _("每期得分 = 基础积分 %(base)s 分 − 基础扣分 − 减分（最低 0 分）+ 贡献积分%(cap)s。")
            % {"base": format_points(base), "cap": cap}
        ]
        scores = total.period_scores or {}
        parts = "、".join(
            _("%(period)s %(score)s 分") % {"period": period_names.get(int(k), k), "score": format_points(v)}
            for k, v in sorted(scores.items(), key=lambda kv: int(kv[0]))
        )
        how = {SUM: _("各期相加"), LAST: _("取最后一期")}.get(scheme.aggregation, _("各期平均"))
        lines.append(
            _("年度总分 = %(how)s（%(parts)s）= %(total)s 分。")
            % {
                "how": how,
                "parts": parts or _("尚无计分的周期，按基础积分计"),
                # The exact mean (89.995), so the sentence adds up; the card shows it cut down beside.
                "total": format_exact(from_exact_units(exact))
                if (exact := getattr(total, "total_exact", None)) is not None
                else format_points(total.total),
            }
        )
    else:
        sentence = _(
            "年度总分 = 基础分 %(base)s − 基础扣分 %(deducted)s + 加分 %(bonus)s − 减分 %(penalty)s = %(total)s 分。"
        )
        lines = [
            sentence
            % {
                "base": format_points(base),
                "deducted": format_points(deducted),
                "bonus": format_points(bonus),
                "penalty": format_points(penalty),
                "total": format_points(total.total),
            }
        ]
    limits = []
    if scheme.floor:
        limits.append(_("最低 %(n)s 分") % {"n": format_points(to_centi(scheme.floor))})
    if scheme.cap is not None:
        limits.append(_("最高 %(n)s 分") % {"n": format_points(to_centi(scheme.cap))})
    if limits:
        lines.append(_("年度总分%(limits)s。") % {"limits": "，".join(limits)})
    if total.vetoed:
        lines.append(_("有一票否决情形，年度总分为 0。"))
    return lines
