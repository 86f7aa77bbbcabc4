"""Every outcome rule of POLICIES.md, at and on both sides of its boundary.

The rules are the presets' own (scoring/presets.py) turned into policy.Rule objects, so a wrong
threshold or inclusivity in a preset fails here. The last part drives a few of the same cases end
to end: presets loaded and the year opened through the services, entries recorded, then the stored
MemberYearTotal / MemberOutcome rows read back.
"""

import datetime
from decimal import Decimal

import pytest

from members import services as member_services
from members.models import Member
from scoring import policy, rule_kinds
from scoring.models import MemberOutcome, MemberYearTotal
from scoring.points import to_centi
from scoring.presets import PRESETS
from scoring.recalculation import recalculate_branch

from ..builders import add_members
from .helpers import YEAR, exempt, make_probationary, open_year, set_member


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


def member(member_id=1, total="80", **facts):
    return policy.MemberFacts(member_id=member_id, total=None if total is None else to_centi(total), **facts)


def findings_for(preset, members, year=YEAR, history=None):
    """member_id → set of rule codes found."""
    found = rule_kinds.evaluate_branch(rules_of(preset), year, members, history or {})
    return {member_id: {f.rule_code for f in fs} for member_id, fs in found.items()}


def codes_alone(preset, total, **facts):
    """The rule codes for one member scored `total`, among ordinary peers at 80 (so neither the
    5% share nor last place is decided by this member alone)."""
    peers = [member(n, "80") for n in range(2, 40)]
    return findings_for(preset, [member(1, total, **facts), *peers])[1]


# ── Policy A bands ────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("total", "hit"),
    [("0", True), ("59", True), ("89", True), ("89.99", True), ("90", False), ("90.01", False), ("100", False)],
)
def test_a_not_excellent_below_90(total, hit):
    assert ("A-NOT-EXCELLENT" in codes_alone("A-staff", total)) is hit


@pytest.mark.parametrize(("total", "hit"), [("89", False), ("89.99", False), ("90", True), ("94.99", True)])
def test_a_priority_for_awards_at_90_or_above(total, hit):
    assert ("A-PRIORITY" in codes_alone("A-staff", total)) is hit


@pytest.mark.parametrize(
    ("total", "yellow", "red"),
    [
        ("0", False, True),
        ("59", False, True),
        ("59.99", False, True),
        ("60", True, False),
        ("65", True, False),
        ("70", True, False),
        ("70.5", False, False),
        ("71", False, False),
        ("89.99", False, False),
    ],
)
def test_a_two_colour_warning_yellow_60_to_70_inclusive_red_below_60(total, yellow, red):
    codes = codes_alone("A-staff", total)
    assert ("A-YELLOW" in codes) is yellow
    assert ("A-RED" in codes) is red


@pytest.mark.parametrize("preset", ["A-staff", "A-student"])
@pytest.mark.parametrize(
    ("total", "expected"),
    [
        ("59.99", {"A-RED-PROBATION"}),
        ("60", {"A-YELLOW-PROBATION"}),
        ("70", {"A-YELLOW-PROBATION"}),
        ("70.5", set()),
        ("71", set()),
    ],
)
def test_probation_consequences_apply_to_probationary_members_only(preset, total, expected):
    probation_codes = {"A-YELLOW-PROBATION", "A-RED-PROBATION"}
    assert codes_alone(preset, total, is_probationary=True) & probation_codes == expected
    assert codes_alone(preset, total, is_probationary=False) & probation_codes == set()


# ── Policy A: the 5% share at 95 ─────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("scored", "at_95", "flagged"),
    [
        (19, 0, False),
        (19, 1, True),
        (20, 1, False),
        (20, 2, True),
        (21, 1, False),
        (21, 2, True),
    ],
)
def test_a_share_at_95_limit_is_floor_of_5_percent_of_scored_members(scored, at_95, flagged):
    high = [member(n, "95") for n in range(1, at_95 + 1)]
    rest = [member(n, "80") for n in range(at_95 + 1, scored + 1)]
    found = findings_for("A-staff", [*high, *rest])
    share_flags = {m for m, codes in found.items() if "A-SHARE-95" in codes}
    assert share_flags == ({m.member_id for m in high} if flagged else set())
    rule = next(r for r in rules_of("A-staff") if r.code == "A-SHARE-95")
    check = policy.share_cap_check(rule, [m.total for m in [*high, *rest]])
    assert check.limit == {19: 0, 20: 1, 21: 1}[scored]
    assert check.ok is not flagged


def test_a_share_counts_94_99_as_below_95_and_ignores_unscored_members():
    # 19 scored: nobody may be at 95. 94.99 is fine; an exempted or departed member does not count.
    members = [
        member(1, "94.99"),
        *[member(n, "80") for n in range(2, 20)],
        member(20, None, scored=False),
        member(21, "95", scored=False),
    ]
    assert not any("A-SHARE-95" in codes for codes in findings_for("A-staff", members).values())
    # with the twentieth member scored, one at 95 is allowed; the unscored one never counts
    members[19] = member(20, "95")
    found = findings_for("A-staff", members)
    assert not any("A-SHARE-95" in codes for codes in found.values())


# ── Policy A: cadres last in the branch ──────────────────────────────────────────────────────


@pytest.mark.parametrize(("cadre_total", "talk"), [("79", True), ("79.99", True), ("80", False), ("81", False)])
def test_a_cadre_reminder_talk_below_80_and_last(cadre_total, talk):
    members = [member(1, cadre_total, is_cadre=True), member(2, "85"), member(3, "90")]
    assert ("A-CADRE-TALK" in findings_for("A-staff", members)[1]) is talk


def test_a_cadre_at_79_but_not_last_gets_nothing():
    found = findings_for("A-staff", [member(1, "79", is_cadre=True), member(2, "78.99"), member(3, "90")])
    assert "A-CADRE-TALK" not in found[1]
    assert "A-CADRE-TALK" not in found[2]  # the last one is no cadre


def test_a_everyone_tied_at_the_bottom_is_last():
    found = findings_for(
        "A-staff",
        [
            member(1, "70", is_cadre=True),
            member(2, "70", is_cadre=True),
            member(3, "70"),
            member(4, "88", is_cadre=True),
        ],
    )
    assert {m for m, codes in found.items() if "A-CADRE-TALK" in codes} == {1, 2}


def test_a_last_place_is_among_scored_members_only():
    # a departed member (not scored) at 50 does not make the cadre at 75 any less last
    found = findings_for(
        "A-staff",
        [member(1, "75", is_cadre=True), member(2, "90"), member(3, "50", scored=False), member(4, None, scored=False)],
    )
    assert "A-CADRE-TALK" in found[1]
    assert found[3] == found[4] == set()


# ── Policy A: streaks ────────────────────────────────────────────────────────────────────────


def test_a_red_two_years_in_a_row_is_unqualified():
    history = {(1, YEAR - 1): {"A-RED", "A-NOT-EXCELLENT"}}
    assert "A-RED-TWO-YEARS" in findings_for("A-staff", [member(1, "59")], history=history)[1]
    assert "A-RED-TWO-YEARS" in findings_for("A-staff", [member(1, "59.99")], history=history)[1]


@pytest.mark.parametrize(
    ("total", "history"),
    [
        ("60", {(1, YEAR - 1): {"A-RED"}}),  # not red this year
        ("59", {}),  # no earlier result at all
        ("59", {(1, YEAR - 1): {"A-YELLOW"}}),  # last year yellow, not red
        ("59", {(1, YEAR - 2): {"A-RED"}}),  # red two years ago, but last year had no result: broken
        ("59", {(2, YEAR - 1): {"A-RED"}}),  # someone else's history
    ],
)
def test_a_red_streak_broken(total, history):
    assert "A-RED-TWO-YEARS" not in findings_for("A-staff", [member(1, total)], history=history)[1]


def test_a_cadre_talk_two_years_in_a_row_means_no_promotion():
    members = [member(1, "70", is_cadre=True), member(2, "85")]
    found = findings_for("A-staff", members, history={(1, YEAR - 1): {"A-CADRE-TALK"}})
    assert {"A-CADRE-TALK", "A-CADRE-NO-PROMOTION"} <= found[1]


@pytest.mark.parametrize(
    ("members", "history"),
    [
        # last year's talk, but this year not last
        ([member(1, "70", is_cadre=True), member(2, "65")], {(1, YEAR - 1): {"A-CADRE-TALK"}}),
        # last year's talk, this year last but at 80
        ([member(1, "80", is_cadre=True), member(2, "85")], {(1, YEAR - 1): {"A-CADRE-TALK"}}),
        # a talk two years ago and none last year (no result): broken
        ([member(1, "70", is_cadre=True), member(2, "85")], {(1, YEAR - 2): {"A-CADRE-TALK"}}),
        # a non-cadre last twice gets neither
        ([member(1, "70"), member(2, "85")], {(1, YEAR - 1): {"A-CADRE-TALK"}}),
    ],
)
def test_a_cadre_streak_broken(members, history):
    assert "A-CADRE-NO-PROMOTION" not in findings_for("A-staff", members, history=history)[1]


# ── Policy A: commendation ───────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("year", "total", "commended"),
    [
        (2026, "95", True),
        (2026, "100", True),
        (2026, "94.99", False),
        (2025, "95", False),
        (2025, "100", False),
        (2024, "95", True),
        (2018, "95", True),
        (2019, "99", False),
    ],
)
def test_a_staff_commended_every_two_years_from_2018(year, total, commended):
    found = findings_for("A-staff", [member(1, total, category="staff")], year=year)
    assert ("A-COMMEND-STAFF" in found[1]) is commended


@pytest.mark.parametrize(
    ("year", "total", "commended"),
    [(2025, "95", True), (2026, "95", True), (2025, "94.99", False), (2026, "94", False)],
)
def test_a_students_commended_every_year(year, total, commended):
    found = findings_for("A-student", [member(1, total, category="student")], year=year)
    assert ("A-COMMEND-STUDENT" in found[1]) is commended


def test_a_staff_commendation_is_for_staff_only():
    found = findings_for("A-staff", [member(1, "99", category="student")], year=2026)
    assert "A-COMMEND-STAFF" not in found[1]


# ── exempted and departed members ────────────────────────────────────────────────────────────


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_unscored_members_get_no_total_based_outcome(preset):
    found = findings_for(
        preset,
        [
            member(1, None, scored=False, is_cadre=True, is_probationary=True),  # exempted: no total
            member(2, "40", scored=False, is_cadre=True, is_probationary=True, item_codes=frozenset({"B-BASE-ID"})),
            member(3, "85"),
        ],
        history={(2, YEAR - 1): {"A-RED", "A-CADRE-TALK"}},
    )
    assert found[1] == set()
    assert found[2] == set()


# ── Policy B ─────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(("total", "hit"), [("84", False), ("84.99", False), ("85", True), ("120", True)])
def test_b_excellent_at_85_or_above(total, hit):
    assert ("B-EXCELLENT" in codes_alone("B", total)) is hit


@pytest.mark.parametrize(("total", "hit"), [("0", True), ("74", True), ("74.99", True), ("75", False), ("76", False)])
def test_b_admonishment_talk_below_75(total, hit):
    assert ("B-ADMONISH" in codes_alone("B", total)) is hit


@pytest.mark.parametrize("total", ["75", "80", "90"])
def test_b_admonishment_for_not_showing_identity_even_at_75_or_above(total):
    assert "B-ADMONISH" in codes_alone("B", total, item_codes=frozenset({"B-BASE-ID"}))
    assert "B-ADMONISH" not in codes_alone("B", total, item_codes=frozenset({"B-BASE-LIFE", "B-ADD-01"}))


def test_b_admonishment_reason_names_the_item():
    found = rule_kinds.evaluate_branch(rules_of("B"), YEAR, [member(1, "80", item_codes=frozenset({"B-BASE-ID"}))], {})
    (finding,) = [f for f in found[1] if f.rule_code == "B-ADMONISH"]
    assert "B-BASE-ID" in finding.reason
    assert finding.consequence == "talk"


@pytest.mark.parametrize(("total", "hit"), [("0", True), ("59", True), ("59.99", True), ("60", False), ("61", False)])
def test_b_unqualified_candidate_below_60(total, hit):
    assert ("B-UNQUALIFIED" in codes_alone("B", total)) is hit


def test_b_has_no_policy_a_rules():
    codes = codes_alone("B", "50", is_cadre=True, is_probationary=True)
    assert codes == {"B-ADMONISH", "B-UNQUALIFIED"}


def test_reasons_are_chinese_and_carry_the_total():
    found = rule_kinds.evaluate_branch(rules_of("A-staff"), YEAR, [member(1, "65.5")], {})
    reasons = {f.rule_code: f.reason for f in found[1]}
    assert "65.5" in reasons["A-YELLOW"]
    assert "黄色预警" in reasons["A-YELLOW"]


# ── end to end: presets, cycle, ledger, recalculation, stored rows ───────────────────────────


def stored(member, year=YEAR):
    return MemberYearTotal.objects.get(member=member, year=year)


def outcome_codes(member, year=YEAR):
    return set(MemberOutcome.objects.filter(member=member, year=year).values_list("rule_code", flat=True))


def test_e2e_policy_a_bands_ranks_and_last_place(scoring_world, record):
    w = scoring_world
    top, cadre, yellow, red = w.a1_members
    set_member(w, cadre, is_cadre=True)
    for semester in (1, 2):
        record(top, "A-C05", "5", index=semester)
        record(top, "A-C02", "5", index=semester)
        record(red, "A-B04", "10", index=semester)
        record(red, "A-B05", "1.01", index=semester)
    record(yellow, "A-B04", "5", index=1)
    record(yellow, "A-C05", "5", index=2)  # 55 and 65 → 60
    record(cadre, "A-C05", "1", index=1)  # 61 and 60 → 60.5
    assert [stored(m).total for m in (top, cadre, yellow, red)] == [7000, 6050, 6000, 4899]
    assert [stored(m).rank for m in (top, cadre, yellow, red)] == [1, 2, 3, 4]
    assert outcome_codes(top) == {"A-NOT-EXCELLENT", "A-YELLOW"}
    assert outcome_codes(yellow) == {"A-NOT-EXCELLENT", "A-YELLOW"}
    assert outcome_codes(red) == {"A-NOT-EXCELLENT", "A-RED"}
    assert outcome_codes(cadre) == {"A-NOT-EXCELLENT", "A-YELLOW"}  # below 80 but not last: no talk

    set_member(w, red, is_cadre=True)
    make_probationary(w, yellow)
    recalculate_branch(branch=w.A1, year=YEAR)
    assert outcome_codes(red) == {"A-NOT-EXCELLENT", "A-RED", "A-CADRE-TALK"}
    assert outcome_codes(yellow) == {"A-NOT-EXCELLENT", "A-YELLOW", "A-YELLOW-PROBATION"}


def test_e2e_policy_a_priority_and_the_5_percent_share(scoring_world, record):
    w = scoring_world
    first, second, *_ = w.a1_members
    for m in (first, second):
        for semester in (1, 2):
            for code in ("A-C02", "A-C04", "A-C05"):
                record(m, code, "5", index=semester)
            record(m, "A-C05", "5", index=semester)
            record(m, "A-C05", "5", index=semester)  # 60 + 25 = 85 …
        record(m, "A-C02", "5", index=1)  # … 90 in semester 1
    assert stored(first).total == 8750
    record(first, "A-C02", "5", index=2)
    record(first, "A-C04", "5", index=2)  # 95 in semester 2: (90 + 95) / 2 = 92.5
    assert stored(first).total == 9250
    assert outcome_codes(first) == {"A-PRIORITY"}
    record(first, "A-C02", "5", index=1)  # 95 and 95
    assert stored(first).total == 9500
    # 4 scored members: floor(5% × 4) = 0 may be at 95; 2025 is no staff commendation year
    assert outcome_codes(first) == {"A-PRIORITY", "A-SHARE-95"}
    assert "A-SHARE-95" not in outcome_codes(second)


def test_e2e_policy_b_admonishment_for_not_showing_identity(scoring_world, load_b_for_college_b, record):
    w = scoring_world
    shown, hidden, low, good = w.b1_members
    record(hidden, "B-BASE-ID", "1", index=2)
    record(shown, "B-BASE-LIFE", "2", index=1)
    record(low, "B-SUB-01", "4", index=3)
    record(low, "B-SUB-02", "1.01", index=4)  # 80 − 5.01 = 74.99
    record(good, "B-ADD-02", "5", index=1)  # 85
    assert [stored(m).total for m in (shown, hidden, low, good)] == [7800, 7900, 7499, 8500]
    assert outcome_codes(hidden) == {"B-ADMONISH"}
    assert outcome_codes(shown) == set()
    assert outcome_codes(low) == {"B-ADMONISH"}
    assert outcome_codes(good) == {"B-EXCELLENT"}
    assert stored(hidden).scheme == w.b_scheme


def test_e2e_a_reversed_identity_failure_no_longer_admonishes(scoring_world, load_b_for_college_b, record):
    from scoring import services

    w = scoring_world
    hidden = w.b1_members[0]
    entry = record(hidden, "B-BASE-ID", "1", index=1)
    assert "B-ADMONISH" in outcome_codes(hidden)
    services.entry_reverse(actor=w.org_department, entry=entry, reason="记录错误")
    assert outcome_codes(hidden) == set()
    assert stored(hidden).total == 8000


def red_year(w, record, member, year):
    for semester in (1, 2):
        record(member, "A-B04", "20", index=semester, year=year)  # 40 and 40


def test_e2e_red_two_years_in_a_row(scoring_world, record):
    w = scoring_world
    open_year(w, YEAR - 1, presets=("A-staff",))
    twice, once = w.a1_members[3], w.a1_members[2]
    red_year(w, record, twice, YEAR - 1)
    assert outcome_codes(twice, YEAR - 1) == {"A-NOT-EXCELLENT", "A-RED"}
    red_year(w, record, twice, YEAR)
    red_year(w, record, once, YEAR)
    assert outcome_codes(twice) == {"A-NOT-EXCELLENT", "A-RED", "A-RED-TWO-YEARS"}
    assert outcome_codes(once) == {"A-NOT-EXCELLENT", "A-RED"}


def test_e2e_a_year_without_a_result_breaks_the_streak(scoring_world, record):
    w = scoring_world
    open_year(w, YEAR - 2, presets=("A-staff",))  # the year before last; last year was never opened
    m = w.a1_members[3]
    red_year(w, record, m, YEAR - 2)
    red_year(w, record, m, YEAR)
    assert "A-RED" in outcome_codes(m, YEAR - 2)
    assert outcome_codes(m) == {"A-NOT-EXCELLENT", "A-RED"}


def test_e2e_cadre_last_two_years_is_not_promoted(scoring_world, record):
    w = scoring_world
    open_year(w, YEAR - 1, presets=("A-staff",))
    cadre = w.a1_members[3]
    set_member(w, cadre, is_cadre=True)
    for year in (YEAR - 1, YEAR):
        record(cadre, "A-B05", "1", index=1, year=year)  # 59 and 60 → 59.5: last, and red
    assert outcome_codes(cadre, YEAR - 1) == {"A-NOT-EXCELLENT", "A-RED", "A-CADRE-TALK"}
    assert outcome_codes(cadre) == {
        "A-NOT-EXCELLENT",
        "A-RED",
        "A-RED-TWO-YEARS",
        "A-CADRE-TALK",
        "A-CADRE-NO-PROMOTION",
    }


def test_e2e_exempted_and_departed_members_are_neither_scored_nor_ranked(scoring_world, record):
    w = scoring_world
    cadre, gone, resting, plain = w.a1_members
    set_member(w, cadre, is_cadre=True)
    record(cadre, "A-B04", "5", index=1)  # 55 and 60 → 57.5
    record(gone, "A-B04", "20", index=1)  # 40 and 60 → 50, but then leaves the party organization
    set_member(w, gone, left_on=datetime.date(YEAR, 9, 1))
    exempt(w, resting)
    recalculate_branch(branch=w.A1, year=YEAR)
    assert (stored(gone).scored, stored(gone).total, stored(gone).rank) == (False, 5000, None)
    assert (stored(resting).scored, stored(resting).total, stored(resting).rank) == (False, None, None)
    assert outcome_codes(gone) == outcome_codes(resting) == set()
    assert (stored(cadre).rank, stored(plain).rank) == (2, 1)
    assert "A-CADRE-TALK" in outcome_codes(cadre)  # last among the scored


def test_e2e_a_member_who_left_after_the_year_keeps_that_years_rank(scoring_world, record):
    w = scoring_world
    low = w.a1_members[3]
    record(low, "A-B04", "20", index=1)
    set_member(w, low, left_on=datetime.date(YEAR + 1, 3, 1))
    recalculate_branch(branch=w.A1, year=YEAR)
    assert (stored(low).scored, stored(low).total, stored(low).rank) == (True, 5000, 4)
    assert outcome_codes(low) == {"A-NOT-EXCELLENT", "A-RED"}


def test_e2e_last_place_is_judged_across_the_whole_branch(scoring_world, record):
    """A mixed branch: staff under A-staff, students under A-student. Last place is among all
    scored members of the branch, whatever their scheme (POLICIES.md, cadre reminder)."""
    w = scoring_world
    staff_cadre = w.a1_members[3]
    set_member(w, staff_cadre, is_cadre=True)
    record(staff_cadre, "A-B05", "2", index=1)  # 58 and 60 → 59
    (student,) = add_members(w.A1, 1, start=50, category=Member.Category.STUDENT)
    record(student, "A-B06", "10", index=1)  # 50 and 60 → 55: the last of the branch
    assert stored(student).scheme == w.a_student
    assert (stored(staff_cadre).rank, stored(student).rank) == (4, 5)
    assert "A-CADRE-TALK" not in outcome_codes(staff_cadre)
    member_services.member_update(actor=w.org_department, member=student, data={"is_cadre": True})
    recalculate_branch(branch=w.A1, year=YEAR)
    assert "A-CADRE-TALK" in outcome_codes(student)


def test_e2e_the_5_percent_share_counts_every_scored_member_of_the_branch(scoring_world, record):
    """4 staff (A-staff) and 16 students (A-student) in one branch: 20 scored members, so one
    member at 95 is within floor(5% × 20) = 1; a second one is not."""
    w = scoring_world
    add_members(w.A1, 16, start=50, category=Member.Category.STUDENT)
    star = w.a1_members[3]
    for semester in (1, 2):
        for code in ("A-C02", "A-C04", "A-C05", "A-C02", "A-C04", "A-C05", "A-C02"):
            record(star, code, "5", index=semester, recalculate=False)  # 60 + 35 = 95
    recalculate_branch(branch=w.A1, year=YEAR)
    assert stored(star).total == 9500
    assert MemberYearTotal.objects.filter(branch=w.A1, year=YEAR, scored=True).count() == 20
    assert "A-SHARE-95" not in outcome_codes(star)
    second = Member.objects.get(number="A1-00050")
    for semester in (1, 2):
        for code in ("A-C13", "A-C14", "A-C15", "A-C13", "A-C14", "A-C15", "A-C13"):
            record(second, code, "5", index=semester, recalculate=False)
    recalculate_branch(branch=w.A1, year=YEAR)
    assert stored(second).total == 9500
    assert "A-SHARE-95" in outcome_codes(star)
    assert "A-SHARE-95" in outcome_codes(second)


def test_e2e_decimal_totals_are_exact(scoring_world, record):
    w = scoring_world
    m = w.a1_members[3]
    record(m, "A-C05", "1.01", index=1)
    record(m, "A-B05", "1.01", index=2)  # 61.01 and 58.99 → 60 exactly, yellow not red
    assert stored(m).total == 6000
    assert stored(m).period_scores == {"1": 6101, "2": 5899}
    assert outcome_codes(m) == {"A-NOT-EXCELLENT", "A-YELLOW"}
    assert Decimal(stored(m).total) / 100 == Decimal("60")


def test_branch_totals_let_a_schemes_members_be_judged_against_the_whole_branch():
    staff = [member(1, "70", is_cadre=True), member(2, "95")]
    alone = findings_for("A-staff", staff)
    assert "A-CADRE-TALK" in alone[1] and "A-SHARE-95" in alone[2]  # 2 members: nobody may be at 95
    whole = rule_kinds.evaluate_branch(
        rules_of("A-staff"), YEAR, staff, {}, branch_totals=[7000, 9500, 6500, *[8000] * 17]
    )  # 20 scored, one at 65
    assert "A-CADRE-TALK" not in {f.rule_code for f in whole[1]}
    assert "A-SHARE-95" not in {f.rule_code for f in whole[2]}
