"""Properties of the pure formulas and outcome rules in scoring/policy.py, over random ledgers.

The expected totals are computed here in Decimal points straight from POLICIES.md, not with the
module's helpers: Policy A scores each semester as the full base (60) less deductions (floored at 0)
plus contribution (capped at 40), never above 100, then aggregates; Policy B is 80 + every signed
point of the year, floored at 0, uncapped. A veto makes the year 0.
"""

import dataclasses
import random
from collections import defaultdict
from decimal import ROUND_FLOOR, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import policy, rule_kinds
from scoring.points import format_points, to_centi
from scoring.presets import PRESETS

SETTINGS = settings(max_examples=200, deadline=None)

A_TERMS = {
    aggregation: policy.SchemeTerms(
        composition=policy.HUNDRED, base=6000, bonus_cap=4000, floor=0, cap=10000, aggregation=aggregation
    )
    for aggregation in (policy.MEAN, policy.SUM, policy.LAST)
}
B_TERMS = policy.SchemeTerms(
    composition=policy.ADDITIVE, base=8000, bonus_cap=None, floor=0, cap=None, aggregation=policy.SUM
)
SEMESTERS, QUARTERS = [1, 2], [1, 2, 3, 4]
KINDS = ["base", "bonus", "penalty", "veto"]


def entry_strategy(periods):
    """One ledger line: (period, kind, magnitude in centipoints); magnitudes up to 20 points."""
    return st.tuples(st.sampled_from(periods), st.sampled_from(KINDS), st.integers(0, 2000))


def entries_strategy(periods):
    return st.lists(entry_strategy(periods), max_size=30)


def signed(kind, magnitude):
    return {"bonus": magnitude, "veto": 0}.get(kind, -magnitude)


def sums_of(entries):
    """Net PeriodSums per period, the way the recalculation groups the ledger (a reversal is an
    entry with the opposite sign and a veto count of -1)."""
    cells = defaultdict(lambda: defaultdict(int))
    for index, kind, points, count in entries:
        if kind == "veto":
            cells[index]["vetoes"] += count
        else:
            cells[index][kind] += points
    return {index: policy.PeriodSums(**cell) for index, cell in cells.items()}


def as_lines(entries):
    return [(index, kind, signed(kind, magnitude), 1) for index, kind, magnitude in entries]


def reversal_of(line):
    index, kind, points, count = line
    return (index, kind, -points, -count)


def points(centi):
    return Decimal(centi) / 100


def expected_policy_a(lines, aggregation):
    if sum(count for _, kind, _, count in lines if kind == "veto") > 0:
        return Decimal(0)
    semester_scores = []
    for semester in SEMESTERS:
        deductions = -sum(points(p) for i, kind, p, _ in lines if i == semester and kind in ("base", "penalty"))
        contribution = sum(points(p) for i, kind, p, _ in lines if i == semester and kind == "bonus")
        base_part = min(Decimal(60), max(Decimal(0), 60 - deductions))
        bonus_part = min(Decimal(40), max(Decimal(0), contribution))
        semester_scores.append(min(Decimal(100), base_part + bonus_part))
    if aggregation == policy.MEAN:
        total = sum(semester_scores) / len(semester_scores)  # exact: two semesters give thousandths at most
    elif aggregation == policy.SUM:
        total = sum(semester_scores)
    else:
        total = semester_scores[-1]
    return min(Decimal(100), max(Decimal(0), total))


def expected_policy_b(lines):
    if sum(count for _, kind, _, count in lines if kind == "veto") > 0:
        return Decimal(0)
    return max(Decimal(0), 80 + sum(points(p) for _, kind, p, _ in lines if kind != "veto"))


def centi(decimal_points):
    return int(decimal_points * 100)


@SETTINGS
@given(entries=entries_strategy(SEMESTERS), aggregation=st.sampled_from([policy.MEAN, policy.SUM, policy.LAST]))
def test_policy_a_annual_total_is_the_semester_formula_aggregated(entries, aggregation):
    lines = as_lines(entries)
    result = policy.annual_total(A_TERMS[aggregation], sums_of(lines), SEMESTERS)
    expected = expected_policy_a(lines, aggregation)
    assert result.exact == Decimal(expected) * 100  # exact: never rounded before the rules see it
    assert result.total == centi(expected.quantize(Decimal("0.01"), rounding=ROUND_FLOOR))  # shown: cut down
    assert 0 <= result.total <= 10000
    assert all(0 <= score <= 10000 for score in result.period_scores.values())


@SETTINGS
@given(entries=entries_strategy(QUARTERS))
def test_policy_b_annual_total_is_80_plus_signed_points_floored_at_zero(entries):
    lines = as_lines(entries)
    result = policy.annual_total(B_TERMS, sums_of(lines), QUARTERS)
    assert result.total == centi(expected_policy_b(lines))
    assert result.total >= 0


def test_a_semester_without_entries_scores_the_full_base():
    result = policy.annual_total(A_TERMS[policy.MEAN], {}, SEMESTERS)
    assert result.total == 6000
    assert result.period_scores == {1: 6000, 2: 6000}


def test_a_mean_of_63_and_60_is_61_point_5():
    sums = {1: policy.PeriodSums(bonus=300)}
    assert policy.annual_total(A_TERMS[policy.MEAN], sums, SEMESTERS).total == 6150


@st.composite
def schemes(draw):
    """Either composition: Policy A's terms (any aggregation) over semesters, or Policy B's over quarters."""
    if draw(st.booleans()):
        return B_TERMS, QUARTERS
    return A_TERMS[draw(st.sampled_from([policy.MEAN, policy.SUM, policy.LAST]))], SEMESTERS


@SETTINGS
@given(scheme=schemes(), data=st.data())
def test_a_reversal_restores_the_previous_total(scheme, data):
    terms, periods = scheme
    lines = as_lines(data.draw(entries_strategy(periods)))
    before = policy.annual_total(terms, sums_of(lines), periods)
    (wrong,) = as_lines([data.draw(entry_strategy(periods))])
    after = policy.annual_total(terms, sums_of([*lines, wrong, reversal_of(wrong)]), periods)
    assert after.total == before.total
    assert (after.base, after.bonus, after.penalty, after.vetoed) == (
        before.base,
        before.bonus,
        before.penalty,
        before.vetoed,
    )


@SETTINGS
@given(scheme=schemes(), data=st.data())
def test_any_veto_gives_zero(scheme, data):
    terms, periods = scheme
    veto_period = data.draw(st.sampled_from(periods))
    lines = [*as_lines(data.draw(entries_strategy(periods))), (veto_period, "veto", 0, 1)]
    result = policy.annual_total(terms, sums_of(lines), periods)
    assert result.total == 0
    assert result.vetoed


@SETTINGS
@given(scheme=schemes(), data=st.data())
def test_a_reversed_veto_no_longer_zeroes_the_year(scheme, data):
    terms, periods = scheme
    lines = [line for line in as_lines(data.draw(entries_strategy(periods))) if line[1] != "veto"]
    veto = (1, "veto", 0, 1)
    with_reversed_veto = policy.annual_total(terms, sums_of([*lines, veto, reversal_of(veto)]), periods)
    assert not with_reversed_veto.vetoed
    assert with_reversed_veto.total == policy.annual_total(terms, sums_of(lines), periods).total


# ── ranks ─────────────────────────────────────────────────────────────────────────────────────


@SETTINGS
@given(totals=st.dictionaries(st.integers(1, 500), st.integers(0, 12).map(lambda t: t * 500), max_size=40))
def test_competition_ranks_share_ties_start_at_one_and_skip_after_ties(totals):
    ranks = policy.competition_ranks(totals)
    assert set(ranks) == set(totals)
    for member, total in totals.items():
        assert ranks[member] == 1 + sum(1 for other in totals.values() if other > total)
        tied = [m for m, t in totals.items() if t == total]
        assert {ranks[m] for m in tied} == {ranks[member]}
    if totals:
        assert min(ranks.values()) == 1
        ordered = sorted(ranks.values())
        for rank in set(ordered):
            assert ordered.index(rank) + 1 == rank  # the rank after a tie skips the tied places: 1, 2, 2, 4


def test_competition_ranks_example():
    assert policy.competition_ranks({"a": 9000, "b": 8000, "c": 8000, "d": 7000}) == {"a": 1, "b": 2, "c": 2, "d": 4}


# ── outcomes ──────────────────────────────────────────────────────────────────────────────────


def rules_of(preset):
    return [
        policy.Rule(
            code=r["code"],
            kind=r["kind"],
            consequence=r["consequence"],
            label=r["label"],
            applies_to=r["applies_to"],
            params=r["params"],
        )
        for r in PRESETS[preset]["rules"]
    ]


RULE_CODES = {preset: {r.code for r in rules_of(preset)} for preset in PRESETS}

member_facts = st.builds(
    policy.MemberFacts,
    member_id=st.just(0),
    total=st.one_of(
        st.none(), st.integers(0, 10000), st.sampled_from([5999, 6000, 7000, 7050, 7500, 7999, 8500, 9000, 9500])
    ),
    scored=st.booleans(),
    is_cadre=st.booleans(),
    is_probationary=st.booleans(),
    category=st.sampled_from(["staff", "student"]),
    item_codes=st.frozensets(st.sampled_from(["B-BASE-ID", "B-BASE-LIFE", "B-ADD-01"]), max_size=2),
)


@st.composite
def branches(draw):
    """A branch's members (distinct ids) and each member's earlier outcome codes."""
    facts = draw(st.lists(member_facts, max_size=25))
    members = [dataclasses.replace(m, member_id=n) for n, m in enumerate(facts, start=1)]
    preset = draw(st.sampled_from(sorted(PRESETS)))
    year = draw(st.integers(2019, 2030))
    earlier = draw(
        st.dictionaries(
            st.tuples(st.integers(1, max(len(members), 1)), st.sampled_from([1, 2])),
            st.sets(st.sampled_from(sorted(RULE_CODES[preset])), min_size=1, max_size=3),
            max_size=len(members),
        )
    )
    history = {(member_id, year - back): codes for (member_id, back), codes in earlier.items()}
    return preset, year, members, history


@SETTINGS
@given(branch=branches(), seed=st.integers(0, 2**32 - 1))
def test_outcomes_depend_on_totals_and_history_alone_not_on_member_order(branch, seed):
    preset, year, members, history = branch
    rules = rules_of(preset)
    first = rule_kinds.evaluate_branch(rules, year, members, history)
    again = rule_kinds.evaluate_branch(rules, year, list(members), {k: set(v) for k, v in history.items()})
    shuffled = list(members)
    random.Random(seed).shuffle(shuffled)
    in_other_order = rule_kinds.evaluate_branch(rules, year, shuffled, history)
    assert first == again == in_other_order
    # nor on the order of the rules: streaks are judged after every rule of this year
    reversed_rules = rule_kinds.evaluate_branch(list(reversed(rules)), year, shuffled, history)
    assert {m: set(f) for m, f in reversed_rules.items()} == {m: set(f) for m, f in first.items()}


@SETTINGS
@given(branch=branches())
def test_unscored_members_get_nothing_and_do_not_change_the_others(branch):
    preset, year, members, history = branch
    rules = rules_of(preset)
    findings = rule_kinds.evaluate_branch(rules, year, members, history)
    for m in members:
        if not m.scored or m.total is None:
            assert findings[m.member_id] == []
    only_scored = [m for m in members if m.scored and m.total is not None]
    without = rule_kinds.evaluate_branch(rules, year, only_scored, history)
    assert {k: v for k, v in findings.items() if k in without} == without


@SETTINGS
@given(total=st.integers(0, 10000))
def test_policy_a_bands_partition_the_scale(total):
    member = policy.MemberFacts(member_id=1, total=total)
    codes = {f.rule_code for f in rule_kinds.evaluate_branch(rules_of("A-staff"), 2025, [member], {})[1]}
    assert ("A-NOT-EXCELLENT" in codes) != ("A-PRIORITY" in codes)
    assert ("A-NOT-EXCELLENT" in codes) == (total < 9000)
    assert not {"A-YELLOW", "A-RED"} <= codes
    assert ("A-YELLOW" in codes) == (6000 <= total <= 7000)
    assert ("A-RED" in codes) == (total < 6000)


# ── points ────────────────────────────────────────────────────────────────────────────────────


@SETTINGS
@given(value=st.integers(-100_000, 100_000))
def test_centipoints_round_trip_through_their_display(value):
    assert to_centi(format_points(value)) == value
    assert to_centi(Decimal(value) / 100) == value


@pytest.mark.parametrize("text", ["0.001", "abc", "NaN", "Infinity", "-Infinity"])
def test_to_centi_refuses_what_is_not_a_whole_number_of_hundredths(text):
    with pytest.raises(ValueError):
        to_centi(text)
