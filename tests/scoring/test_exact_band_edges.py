"""Outcome rules see the exact year total, never a rounded one (Policy A's mean of two semesters
may be 89.995: below 90, so no priority and not excellent).

The expected outcomes are worked out here with `fractions.Fraction` straight from POLICIES.md (the
bands as the seeds word them: 以上 at or above, 低于 strictly below, 60—70 both ends included), not
with the module's helpers, and compared with `scoring.policy` for semester (A) and quarter (B)
scores at and around every band edge, a hundredth or a few either side. The database tests check
the stored, shown and ranked totals on whichever database the suite runs on (SQLite by default,
PostgreSQL with DATABASE_URL).
"""

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import policy, rule_kinds
from scoring.models import MemberOutcome, MemberYearTotal
from scoring.points import EXACT_PER_CENTI, format_exact, from_exact_units
from scoring.presets import PRESETS

from .helpers import YEAR

FAST = settings(max_examples=300, deadline=None)

A_TERMS = policy.SchemeTerms(
    composition=policy.HUNDRED, base=6000, bonus_cap=4000, floor=0, cap=10000, aggregation=policy.MEAN
)
B_TERMS = policy.SchemeTerms(
    composition=policy.ADDITIVE, base=8000, bonus_cap=None, floor=0, cap=None, aggregation=policy.SUM
)
A_EDGES = [6000, 7000, 8000, 9000, 9500]  # 60 red, 60—70 yellow, 80 cadre talk, 90 priority, 95 share/commend
B_EDGES = [6000, 7500, 8500]  # 60 unqualified, 75 admonish, 85 excellent


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


def semester_sums(score):
    """The period sums that give a semester score (centipoints, 0—100 points) under Policy A."""
    return policy.PeriodSums(bonus=score - 6000) if score >= 6000 else policy.PeriodSums(base=score - 6000)


def a_total(scores):
    return policy.annual_total(A_TERMS, {i: semester_sums(s) for i, s in enumerate(scores, 1)}, [1, 2])


def expected_a(exact, *, cadre=False, probationary=False, lowest=True, alone=True):
    """Policy A's consequences of an exact total (Fraction of points), from the seed's wording; a
    member `alone` in the branch breaks the 5% share (a limit of 0) at 95 or more."""
    found = set()
    found.add("not_excellent" if exact < 90 else "priority")
    if 60 <= exact <= 70:
        found.add("yellow")
    if exact < 60:
        found.add("red")
    if probationary and exact <= 70:
        found.add("probation")
    if cadre and exact < 80 and lowest:
        found.add("talk")
    if exact >= 95 and (YEAR - 2018) % 2 == 0:
        found.add("commendation")
    if exact >= 95 and alone:
        found.add("share_cap")
    return found


def expected_b(exact):
    found = set()
    if exact >= 85:
        found.add("excellent_eligible")
    if exact < 75:
        found.add("talk")
    if exact < 60:
        found.add("unqualified")
    return found


def consequences(findings):
    return {f.consequence for f in findings}


def one_member(rules, total, **facts):
    return rule_kinds.evaluate_branch(rules, YEAR, [policy.MemberFacts(member_id=1, total=total, **facts)], {})[1]


# ── the worked example of the issue ───────────────────────────────────────────────────────────


def test_semesters_of_89_99_and_90_give_89_995_not_excellent_and_no_priority():
    result = a_total([8999, 9000])
    assert result.exact == Fraction(17999, 2)  # 89.995 points
    assert result.total == 8999  # shown 89.99: cut down, never rounded up to 90
    found = one_member(rules_of("A-staff"), result.exact)
    assert consequences(found) == {"not_excellent"}
    assert "89.995" in next(f.reason for f in found if f.consequence == "not_excellent")


def test_the_exact_value_is_what_the_reason_quotes():
    assert format_exact(Fraction(17999, 2)) == "89.995"
    assert format_exact(9000) == "90"
    assert format_exact(Fraction(21001, 3)) == "70.0033…"  # a mean of three never ends: cut, marked


# ── every band edge, semester and quarter scores around it ───────────────────────────────────

A_GRID = [(edge, d1, d2) for edge in A_EDGES for d1 in range(-3, 4) for d2 in range(-3, 4)]


@pytest.mark.parametrize("cadre,probationary", [(False, False), (True, False), (False, True)])
def test_policy_a_at_every_edge_a_hundredth_or_three_either_side_matches_exact_fractions(cadre, probationary):
    rules = rules_of("A-staff")
    for edge, d1, d2 in A_GRID:
        scores = [edge + d1, edge + d2]
        result = a_total(scores)
        exact = Fraction(sum(scores), 2 * 100)
        assert result.exact / 100 == exact
        assert result.total <= result.exact < result.total + 1  # shown is cut down to a hundredth
        found = one_member(rules, result.exact, is_cadre=cadre, is_probationary=probationary)
        assert consequences(found) == expected_a(exact, cadre=cadre, probationary=probationary), (scores, exact)


@FAST
@given(
    edge=st.sampled_from(A_EDGES),
    spread=st.integers(-3000, 3000),
    off=st.integers(-5, 5),
    cadre=st.booleans(),
    probationary=st.booleans(),
)
def test_policy_a_semesters_far_apart_whose_mean_is_near_an_edge_match_exact_fractions(
    edge, spread, off, cadre, probationary
):
    scores = [min(10000, max(0, edge + spread)), min(10000, max(0, edge - spread + off))]
    result = a_total(scores)
    exact = Fraction(sum(scores), 200)
    found = one_member(rules_of("A-staff"), result.exact, is_cadre=cadre, is_probationary=probationary)
    assert consequences(found) == expected_a(exact, cadre=cadre, probationary=probationary)
    assert math.floor(exact * 100) == result.total


@FAST
@given(
    edge=st.sampled_from(B_EDGES),
    quarters=st.lists(st.integers(-300, 300), min_size=4, max_size=4),
    off=st.integers(-5, 5),
)
def test_policy_b_quarters_around_every_edge_match_exact_fractions(edge, quarters, off):
    # Quarter sums that bring 80 to the edge give or take `off` hundredths.
    shift = edge - 8000 + off - sum(quarters)
    quarters[0] += shift
    sums = {
        i: (policy.PeriodSums(bonus=q) if q >= 0 else policy.PeriodSums(penalty=q)) for i, q in enumerate(quarters, 1)
    }
    result = policy.annual_total(B_TERMS, sums, [1, 2, 3, 4])
    exact = max(Fraction(0), Fraction(8000 + sum(quarters), 100))
    assert result.exact / 100 == exact and result.total == result.exact
    assert consequences(one_member(rules_of("B"), result.exact)) == expected_b(exact)


@FAST
@given(pairs=st.lists(st.tuples(st.integers(-4, 4), st.integers(-4, 4)), min_size=1, max_size=60))
def test_the_5_percent_share_at_95_counts_exact_means(pairs):
    members = []
    exact_totals = {}
    for number, (d1, d2) in enumerate(pairs, 1):
        result = a_total([9500 + d1, 9500 + d2])
        exact_totals[number] = Fraction(9500 * 2 + d1 + d2, 200)
        members.append(policy.MemberFacts(member_id=number, total=result.exact))
    findings = rule_kinds.evaluate_branch(rules_of("A-staff"), YEAR, members, {})
    at_or_above = [n for n, t in exact_totals.items() if t >= 95]
    limit = math.floor(Fraction(5, 100) * len(pairs))
    flagged = {n for n, found in findings.items() if "share_cap" in consequences(found)}
    assert flagged == (set(at_or_above) if len(at_or_above) > limit else set())


@FAST
@given(scores=st.lists(st.tuples(st.integers(8990, 9010), st.integers(8990, 9010)), min_size=2, max_size=20))
def test_ranks_follow_the_exact_totals(scores):
    exact = {n: a_total(list(pair)).exact for n, pair in enumerate(scores)}
    ranks = policy.competition_ranks(exact)
    for n, value in exact.items():
        assert ranks[n] == 1 + sum(1 for other in exact.values() if other > value)


# ── stored, shown and ranked on the database ─────────────────────────────────────────────────


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def bring_semester_to(record, member, index, score, png):
    """Record Policy A contribution lines that bring a staff member's semester to `score` (≥ 60)."""
    bonus = score - 6000
    for code, most in (("A-C02", 500), ("A-C04", 500), ("A-C05", 500), ("A-C03", 1000), ("A-C01", 1000)):
        if bonus <= 0:
            break
        step = min(most, bonus)
        if step < 100 and code in ("A-C02", "A-C04", "A-C05"):
            continue  # below the item's 1-point minimum: leave it to an item that takes it
        extra = {"evidence": [png()]} if code in ("A-C01", "A-C03") else {}
        record(member, code, f"{step / 100:.2f}", index=index, **extra)
        bonus -= step
    assert bonus == 0


def test_a_stored_total_of_89_995_is_shown_89_99_ranked_below_90_and_not_excellent(scoring_world, record, media):
    from ..scoring.test_ledger import png

    w = scoring_world
    below, at = w.a2_members[2], w.a2_members[3]
    bring_semester_to(record, below, 1, 8999, png)
    bring_semester_to(record, below, 2, 9000, png)
    bring_semester_to(record, at, 1, 9000, png)
    bring_semester_to(record, at, 2, 9000, png)
    row, other = MemberYearTotal.objects.get(member=below, year=YEAR), MemberYearTotal.objects.get(member=at, year=YEAR)
    assert row.period_scores == {"1": 8999, "2": 9000}
    assert row.total == 8999 and from_exact_units(row.total_exact) == Fraction(17999, 2)
    assert row.total_exact == 17999 * EXACT_PER_CENTI // 2
    assert other.total == 9000 and other.rank < row.rank
    codes = set(MemberOutcome.objects.filter(member=below, year=YEAR).values_list("rule_code", flat=True))
    assert "A-NOT-EXCELLENT" in codes and "A-PRIORITY" not in codes
    assert "A-PRIORITY" in set(MemberOutcome.objects.filter(member=at, year=YEAR).values_list("rule_code", flat=True))
    # Counting "at or above 90" on the stored, shown totals agrees with the exact ones.
    assert not MemberYearTotal.objects.filter(member=below, year=YEAR, total__gte=9000).exists()
    assert MemberYearTotal.objects.filter(member=below, year=YEAR, total_exact__lt=9000 * EXACT_PER_CENTI).exists()


def test_the_points_card_shows_the_total_cut_down_its_exact_value_and_how_it_is_shown(
    scoring_world, record, media, login
):
    from django.urls import reverse

    from ..scoring.test_ledger import png

    member = scoring_world.a2_members[2]
    bring_semester_to(record, member, 1, 8999, png)
    bring_semester_to(record, member, 2, 9000, png)
    page = (
        login(scoring_world.org_department)
        .get(reverse("points_card", args=[member.pk]) + f"?year={YEAR}")
        .content.decode()
    )
    assert ">89.99<" in page and ">90<" not in page
    assert "精确值 89.995" in page
    assert "多出的位数舍去、不四舍五入" in page
    assert "年度总分 89.995，低于 90 分" in page


def test_the_board_the_summary_export_and_the_dashboard_bins_agree_with_the_exact_total(
    scoring_world, record, media, login
):
    import io

    import openpyxl
    from django.db.models import Count
    from django.urls import reverse

    from partyscore.dashboards.scope import BINS, bin_q
    from scoring import exports

    from ..scoring.test_ledger import png

    w = scoring_world
    below, at = w.a2_members[2], w.a2_members[3]
    bring_semester_to(record, below, 1, 8999, png)
    bring_semester_to(record, below, 2, 9000, png)
    bring_semester_to(record, at, 1, 9000, png)
    bring_semester_to(record, at, 2, 9000, png)
    buffer = io.BytesIO()
    exports.WRITERS["branch_workbook"](buffer, organization=w.A2, year=YEAR)
    summary = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))["汇总"]
    header = next(r for r in summary.iter_rows(values_only=True) if r and r[0] == "序号")
    line = next(r for r in summary.iter_rows(values_only=True) if below.number in r)
    assert line[header.index("年度总分")] == 89.99 and line[header.index("支部排名")] == 2
    assert "不得确定为优秀" in "".join(str(c) for c in line) and "优先" not in "".join(str(c) for c in line)
    board = login(w.org_department).get(reverse("board", args=[w.A2.pk]) + f"?year={YEAR}").content.decode()
    assert board.index(at.name) < board.index(below.name) and "89.99" in board
    bins = MemberYearTotal.objects.filter(year=YEAR, member__in=[below, at]).aggregate(
        **{f"b{i}": Count("id", filter=bin_q(i)) for i in range(len(BINS))}
    )
    assert bins[f"b{BINS.index((85, 90))}"] == 1 and bins[f"b{BINS.index((90, 95))}"] == 1
