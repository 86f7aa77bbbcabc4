"""The whole-year recalculation, chunk by chunk, against the per-branch one and against the policy.

Seeded random universes: branches under Policy A (the committee's reference schemes) and Policy B
(college B's own), a branch with its own schemes (a floor and a cap that bite), members of both
categories, exempt, left during or before the year, probationary and 转正 during or after it,
cadres, transferred members whose old rows are stale, vetoes and reversed entries, ties, a branch
over the 95-point share cap, streaks over earlier years' outcomes, a commendation year and a rule
that names an item. For each, the rows `recalculate_year` stores (in one chunk and in many) equal
(a) those of `recalculate_branch` run for every branch, from the same stored rows before, and
stored as the ORM's bulk_create stores them; and (b) the figures worked out here, member by member
from the raw ledger rows, by `policy.annual_total`, `policy.competition_ranks` and
`rule_kinds.evaluate_branch` alone.
"""

import datetime
import random
from collections import defaultdict

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from members.models import Member, Organization
from members.services import organization_create
from scoring import policy, rule_kinds, services
from scoring.ledger_chain import ledger_append_many
from scoring.models import LedgerEntry, MemberOutcome, MemberYearTotal, OutcomeRule, Period, RuleItem, Scheme
from scoring.points import to_centi, to_exact_units
from scoring.recalculation import chunk_figures, recalculate_branch, recalculate_year
from scoring.selectors import schemes_in_force

from ..builders import add_members
from .helpers import YEAR

TODAY = datetime.date(YEAR + 1, 1, 15)
TOTAL_FIELDS = (
    "member_id",
    "year",
    "branch_id",
    "scheme_id",
    "scored",
    "base",
    "bonus",
    "penalty",
    "vetoed",
    "period_scores",
    "total",
    "total_exact",
    "rank",
)
OUTCOME_FIELDS = ("member_id", "year", "branch_id", "rule_id", "rule_code", "consequence", "reason")


def day_in(rng, year):
    return datetime.date(year, 1, 1) + datetime.timedelta(days=rng.randrange(365))


def add_rule(scheme, code, kind, consequence, label, applies_to="all", **params):
    rule = OutcomeRule(
        scheme=scheme, code=code, kind=kind, consequence=consequence, label=label, applies_to=applies_to, params=params
    )
    rule.order = 100 + OutcomeRule.objects.filter(scheme=scheme).count()
    rule.save()
    return rule


def build_universe(w, seed):
    """Branches, members, schemes, earlier outcomes and a ledger; returns the branches."""
    rng = random.Random(seed)
    admin, org = w.admin, w.org_department
    b_scheme = services.scheme_preset_load(actor=org, preset="B", year=YEAR, owner=w.B)
    C = OutcomeRule.Consequence
    add_rule(
        b_scheme,
        "B-COMMEND",
        "commendation",
        C.COMMENDATION,
        "表彰",
        at_or_above=90,
        every_years=2,
        anchor_year=YEAR - 2,
    )
    add_rule(b_scheme, "B-UNQ-TWICE", "streak", C.NOT_PROMOTED, "连续两年不合格", of="B-UNQUALIFIED", years=2)
    add_rule(b_scheme, "B-SLACK", "band", C.TALK, "不作为", "cadre", upper=50, item_codes=["B-SUB-02"])
    branches = [w.A1, w.A2, w.B1]
    for n in range(3):
        branches.append(
            organization_create(actor=admin, name=f"甲{n + 3}支部", code=f"A{n + 3}", kind="branch", parent=w.A)
        )
    for n in range(2):
        branches.append(
            organization_create(actor=admin, name=f"乙{n + 2}支部", code=f"B{n + 2}", kind="branch", parent=w.B)
        )
    # A branch with its own schemes: Policy A's for its staff with a floor of 65, Policy B's for its
    # students, floored at 50 and capped at 95.
    own = organization_create(actor=admin, name="自定支部", code="A9", kind="branch", parent=w.A)
    branches.append(own)
    Scheme.objects.filter(pk=services.scheme_preset_load(actor=org, preset="A-staff", year=YEAR, owner=own).pk).update(
        floor=65
    )
    own_b = services.scheme_preset_load(actor=org, preset="B", year=YEAR, owner=own)
    Scheme.objects.filter(pk=own_b.pk).update(floor=50, cap=95, member_category="student")

    for branch in branches[3:]:
        add_members(branch, rng.randrange(6, 18), start=1)
    members = list(Member.objects.filter(branch__in=branches))
    for member in members:
        changes = {
            "category": rng.choice(["staff", "student"]) if member.branch_id not in (w.A1.pk, w.A2.pk) else "staff",
            "is_cadre": rng.random() < 0.2,
        }
        roll = rng.random()
        if roll < 0.07:
            changes.update(exempt=True, exemption_reason="年老体弱")
        elif roll < 0.14:
            changes["left_on"] = day_in(rng, YEAR)
        elif roll < 0.18:
            changes["left_on"] = day_in(rng, YEAR - 1)
        elif roll < 0.28:
            changes.update(status="probationary", probation_start=datetime.date(YEAR - 1, 6, 1))
        elif roll < 0.36:
            changes["full_member_on"] = day_in(rng, YEAR)  # 转正 during the year: a full member at its end
        elif roll < 0.40:
            changes["full_member_on"] = day_in(rng, YEAR + 1)  # 转正 after it: probationary for YEAR
        Member.objects.filter(pk=member.pk).update(**changes)

    periods = {(p.kind, p.index): p for p in Period.objects.filter(cycle__year=YEAR)}
    over_cap = branches[3]  # most of its members reach 95: the share cap fires
    entries, plans = [], []
    for member in Member.objects.filter(branch__in=branches).order_by("number"):
        scheme = schemes_in_force(branch=member.branch, year=YEAR).get(member.category)
        if scheme is None or rng.random() < 0.08:
            continue  # no entries at all: a counted period with none scores the full base
        items = list(scheme.items.all())
        # Most entries of the branch over the cap are contributions, most of the branch with its own
        # floors are deductions and penalties.
        lean = {over_cap.pk: RuleItem.Kind.BONUS, own.pk: RuleItem.Kind.PENALTY}.get(member.branch_id)
        if lean == RuleItem.Kind.PENALTY and scheme.composition == Scheme.Composition.HUNDRED:
            lean = RuleItem.Kind.BASE
        if plans and rng.random() < 0.2:
            plan = rng.choice(plans)  # the same entries as another member: a tie
            if plan[0][0].scheme_id != scheme.pk:
                plan = None
        else:
            plan = None
        if plan is None:
            plan = []
            indexes = sorted({k[1] for k in periods if k[0] == scheme.period_kind})
            for _ in range(rng.randrange(8, 16) if lean else rng.randrange(1, 12)):
                item = rng.choice(items)
                if lean and rng.random() < 0.8:
                    item = rng.choice([i for i in items if i.kind == lean])
                high = max(to_centi(item.points_max), 100)
                points = {
                    RuleItem.Kind.BONUS: rng.randrange(1, high * (4 if member.branch_id == over_cap.pk else 3) + 1),
                    RuleItem.Kind.BASE: -rng.randrange(1, high * 3 + 1),
                    RuleItem.Kind.PENALTY: -rng.randrange(1, high * 4 + 1),
                    RuleItem.Kind.VETO: 0,
                }[item.kind]
                if item.kind == RuleItem.Kind.VETO and rng.random() < 0.3:
                    continue  # vetoes rare
                plan.append((item, rng.choice(indexes), points))
            plans.append(plan)
        for item, index, points in plan:
            period = periods[(scheme.period_kind, index)]
            entries.append(
                LedgerEntry(
                    member_id=member.pk,
                    item=item,
                    period=period,
                    year=YEAR,
                    kind=item.kind,
                    points=points,
                    reason="测试",
                    source=LedgerEntry.Source.RECORDER,
                    recorded_by=admin,
                    occurred_on=period.starts_on,
                )
            )
    ledger_append_many(entries, actor=admin, reason="测试数据")
    reversals = [
        LedgerEntry(
            member_id=e.member_id,
            item=e.item,
            period=e.period,
            year=YEAR,
            kind=e.kind,
            points=-e.points,
            reason="更正",
            source=LedgerEntry.Source.CORRECTION,
            recorded_by=admin,
            occurred_on=e.occurred_on,
            reverses=e,
        )
        for e in entries
        if rng.random() < 0.12 or (e.kind == RuleItem.Kind.VETO and rng.random() < 0.4)
    ]
    ledger_append_many(reversals, actor=admin, reason="测试更正")

    # Stored rows as a run before left them, then the changes since: earlier outcomes (streaks),
    # a transfer (the mover's row is stale in the old branch), a member exempted since.
    for branch in branches:
        recalculate_branch(branch=branch, year=YEAR, today=TODAY)
    counted = list(Member.objects.filter(branch__in=branches, left_on__isnull=True))
    rules = {(r.scheme_id, r.code): r for r in OutcomeRule.objects.all()}
    codes = ["A-RED", "A-CADRE-TALK", "B-UNQUALIFIED"]
    history = []
    for member in rng.sample(counted, len(counted) // 2):
        for past in (YEAR - 1, YEAR - 2):
            code = rng.choice(codes)
            rule = next(r for (_s, c), r in rules.items() if c == code)
            history.append(
                MemberOutcome(
                    member=member, year=past, branch=member.branch, rule=rule, rule_code=code, consequence="red"
                )
            )
    MemberOutcome.objects.bulk_create(history)
    movers = rng.sample(counted, 3)
    for mover, to in zip(movers, (w.A2, branches[4], w.B1), strict=True):
        Member.objects.filter(pk=mover.pk).update(branch=to)
    Member.objects.filter(pk=rng.choice(counted).pk).update(exempt=True, exemption_reason="出国")
    return branches


def stored():
    """Every stored row of YEAR, as the database holds it (a raw SELECT: JSON as stored)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(TOTAL_FIELDS)} FROM scoring_memberyeartotal WHERE year = %s ORDER BY member_id",  # noqa: S608
            [YEAR],
        )
        totals = cursor.fetchall()
        cursor.execute(
            f"SELECT {', '.join(OUTCOME_FIELDS)} FROM scoring_memberoutcome WHERE year = %s "  # noqa: S608
            "ORDER BY member_id, rule_code",
            [YEAR],
        )
        return totals, cursor.fetchall()


def after(run):
    """The stored rows after `run`, then back to those before it."""
    point = transaction.savepoint()
    run()
    rows = stored()
    transaction.savepoint_rollback(point)
    return rows


def orm_bulk_create(branches):
    """Per branch: the derived rows stored by the ORM's own delete and bulk_create."""
    for branch in branches:
        rows, outcome_rows = chunk_figures(branches=[branch], year=YEAR, today=TODAY)
        totals, outcomes = [MemberYearTotal(**r) for r in rows], [MemberOutcome(**r) for r in outcome_rows]
        ids = [t.member_id for t in totals]
        MemberYearTotal.objects.filter(year=YEAR).filter(branch=branch).delete()
        MemberYearTotal.objects.filter(year=YEAR, member_id__in=ids).delete()
        MemberOutcome.objects.filter(year=YEAR).filter(branch=branch).delete()
        MemberOutcome.objects.filter(year=YEAR, member_id__in=ids).delete()
        MemberYearTotal.objects.bulk_create(totals)
        MemberOutcome.objects.bulk_create(outcomes)


# ── (b) the figures from the raw ledger rows and the pure functions alone ────────────────────


def from_the_policy(branches):
    """The rows every branch should store, worked out member by member from raw rows."""
    counted = defaultdict(list)
    for p in Period.objects.filter(cycle__year=YEAR, starts_on__lte=TODAY).order_by("index"):
        counted[p.kind].append(p.index)
    totals, outcomes = [], []
    for branch in branches:
        in_force = schemes_in_force(branch=branch, year=YEAR)
        rows, exact, facts = {}, {}, defaultdict(list)
        for m in Member.objects.filter(branch=branch).order_by("number"):
            if m.left_on is not None and m.left_on.year < YEAR:
                continue
            scheme = in_force.get(m.category)
            left = m.left_on is not None and m.left_on.year <= YEAR
            scored = scheme is not None and not m.exempt and not left
            row = dict.fromkeys(TOTAL_FIELDS)
            row.update(member_id=m.pk, year=YEAR, branch_id=branch.pk, scheme_id=scheme and scheme.pk, scored=scored)
            row.update(base=0, bonus=0, penalty=0, vetoed=False, period_scores={})
            sums = defaultdict(lambda: defaultdict(int))
            net = defaultdict(int)
            for index, kind, points, reverses, code in LedgerEntry.objects.filter(member=m, year=YEAR).values_list(
                "period__index", "kind", "points", "reverses_id", "item__code"
            ):
                sign = 1 if reverses is None else -1
                net[code] += sign
                if kind == "veto":
                    sums[index]["vetoes"] += sign
                else:
                    sums[index][kind] += points
            if scheme is not None and not m.exempt:
                terms = policy.SchemeTerms(
                    composition=scheme.composition,
                    base=to_centi(scheme.base_points),
                    bonus_cap=None if scheme.bonus_cap is None else to_centi(scheme.bonus_cap),
                    floor=to_centi(scheme.floor),
                    cap=None if scheme.cap is None else to_centi(scheme.cap),
                    aggregation=scheme.aggregation,
                )
                result = policy.annual_total(
                    terms, {i: policy.PeriodSums(**s) for i, s in sums.items()}, counted[scheme.period_kind]
                )
                exact[m.pk] = result.exact
                row.update(total=result.total, total_exact=to_exact_units(result.exact), vetoed=result.vetoed)
                row.update(base=result.base, bonus=result.bonus, penalty=result.penalty)
                row["period_scores"] = {str(k): v for k, v in result.period_scores.items()}
            rows[m.pk] = row
            if scheme is not None:
                probationary = m.status == Member.Status.PROBATIONARY or (
                    m.full_member_on is not None and m.full_member_on > datetime.date(YEAR, 12, 31)
                )
                facts[scheme.pk].append(
                    policy.MemberFacts(
                        member_id=m.pk,
                        total=exact.get(m.pk),
                        scored=scored,
                        is_cadre=m.is_cadre,
                        is_probationary=probationary,
                        category=m.category,
                        item_codes=frozenset(code for code, n in net.items() if n > 0),
                    )
                )
        ranked = {pk: exact[pk] for pk, row in rows.items() if row["scored"] and row["total"] is not None}
        for pk, rank in policy.competition_ranks(ranked).items():
            rows[pk]["rank"] = rank
        totals += rows.values()
        history = defaultdict(set)
        for member_id, year, code in MemberOutcome.objects.filter(
            member__branch=branch, year__lt=YEAR, year__gte=YEAR - 5
        ).values_list("member_id", "year", "rule_code"):
            history[(member_id, year)].add(code)
        for scheme_id, members in facts.items():
            rule_rows = list(OutcomeRule.objects.filter(scheme_id=scheme_id).order_by("order", "code"))
            rules = [policy.Rule(r.code, r.kind, r.consequence, r.label, r.applies_to, r.params) for r in rule_rows]
            with translation.override(django_settings.LANGUAGE_CODE):
                found = rule_kinds.evaluate_branch(rules, YEAR, members, history, branch_totals=list(ranked.values()))
            by_code = {r.code: r for r in rule_rows}
            for member_id, findings in found.items():
                outcomes += [
                    {
                        "member_id": member_id,
                        "year": YEAR,
                        "branch_id": branch.pk,
                        "rule_id": by_code[f.rule_code].pk,
                        "rule_code": f.rule_code,
                        "consequence": f.consequence,
                        "reason": f.reason[:300],
                    }
                    for f in findings
                ]
    return sorted(totals, key=lambda r: r["member_id"]), sorted(
        outcomes, key=lambda r: (r["member_id"], r["rule_code"])
    )


def read_back():
    totals = list(MemberYearTotal.objects.filter(year=YEAR).order_by("member_id").values(*TOTAL_FIELDS))
    outcomes = list(MemberOutcome.objects.filter(year=YEAR).order_by("member_id", "rule_code").values(*OUTCOME_FIELDS))
    return totals, outcomes


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_whole_year_stores_what_each_branch_and_the_policy_give(scoring_world, settings, seed):
    branches = build_universe(scoring_world, seed)
    assert Organization.objects.filter(kind="branch").count() == len(branches)

    one_chunk = after(lambda: recalculate_year(year=YEAR, today=TODAY))
    settings.RECALCULATION_CHUNK_MEMBERS = 25  # several chunks, of whole branches
    chunked = after(lambda: recalculate_year(year=YEAR, today=TODAY))
    by_branch = after(lambda: [recalculate_branch(branch=b, year=YEAR, today=TODAY) for b in reversed(branches)])
    by_orm = after(lambda: orm_bulk_create(branches))
    assert one_chunk == chunked == by_branch == by_orm
    assert len(one_chunk[0]) > 60 and len(one_chunk[1]) > 60

    recalculate_year(year=YEAR, today=TODAY)
    totals, outcomes = read_back()
    expected_totals, expected_outcomes = from_the_policy(branches)
    assert totals == expected_totals
    assert outcomes == expected_outcomes

    # The universe reaches what it is meant to.
    codes = {o["rule_code"] for o in outcomes}
    assert {"A-SHARE-95", "B-UNQUALIFIED", "B-COMMEND", "B-ADMONISH"} <= codes
    assert codes & {"A-RED-TWO-YEARS", "B-UNQ-TWICE"} and codes & {"A-YELLOW-PROBATION", "A-RED-PROBATION"}
    assert any(t["vetoed"] for t in totals)
    assert any(not t["scored"] and t["total"] is not None for t in totals)  # left during the year
    assert any(t["total"] is None for t in totals)  # exempt
    floored = Scheme.objects.get(owner__code="A9", member_category="student")
    assert any(t["scheme_id"] == floored.pk and t["total"] == 5000 for t in totals)
    ranks = defaultdict(list)
    for t in totals:
        ranks[(t["branch_id"], t["rank"])].append(t)
    assert any(len(tied) > 1 for (_b, rank), tied in ranks.items() if rank is not None)


# ── queries: the same for 3 branches as for 12 in one chunk ──────────────────────────────────

# The chunks' plan, and one chunk: its transaction (2), 6 reads to derive, 4 of the stored rows,
# a DELETE and an insert per table and the branches' marks.
YEAR_QUERIES = 18


@pytest.mark.parametrize("extra", [0, 9])
def test_the_whole_years_queries_do_not_grow_with_its_branches(scoring_world, extra):
    w = scoring_world
    services.scheme_preset_load(actor=w.org_department, preset="B", year=YEAR, owner=w.B)  # a rule naming an item
    for n in range(extra):
        parent = w.A if n % 2 else w.B
        branch = organization_create(actor=w.admin, name=f"支部{n}", code=f"X{n}", kind="branch", parent=parent)
        add_members(branch, 3 + n, start=1)
    member_ids = list(Member.objects.values_list("pk", flat=True))
    recalculate_year(year=YEAR)  # earlier rows to replace, every one unlike what is derived now
    assert MemberYearTotal.objects.filter(year=YEAR).count() == len(member_ids)
    assert MemberOutcome.objects.filter(year=YEAR).exists()
    MemberYearTotal.objects.update(rank=999)
    MemberOutcome.objects.update(reason="旧的依据")
    with CaptureQueriesContext(connection) as queries:
        assert recalculate_year(year=YEAR) == len(member_ids)
    assert len(queries) == YEAR_QUERIES, "\n".join(q["sql"][:120] for q in queries.captured_queries)


# ── only the difference is written ───────────────────────────────────────────────────────────

ROW_WRITES = ("INSERT", "DELETE", "UPDATE", "COPY")


def written_tables(queries):
    return [q["sql"].split()[2 if q["sql"].startswith(("INSERT", "DELETE")) else 1].strip('"') for q in queries]


def test_a_recalculation_writes_only_the_rows_that_changed(scoring_world):
    w = scoring_world
    branches = build_universe(w, 1)
    recalculate_year(year=YEAR, today=TODAY)
    before = {row["member_id"]: row for row in MemberYearTotal.objects.filter(year=YEAR).values("pk", *TOTAL_FIELDS)}
    outcomes_before = set(MemberOutcome.objects.filter(year=YEAR).values_list("pk", flat=True))

    # Nothing changed: no total or outcome is written, only the branches' recalculation marks.
    with CaptureQueriesContext(connection) as queries:
        recalculate_year(year=YEAR, today=TODAY)
    writes = [q for q in queries.captured_queries if q["sql"].startswith(ROW_WRITES)]
    assert written_tables(writes) == ["scoring_branchrecalculation"]
    assert set(MemberOutcome.objects.filter(year=YEAR).values_list("pk", flat=True)) == outcomes_before
    assert dict(MemberYearTotal.objects.filter(year=YEAR).values_list("member_id", "pk")) == {
        m: row["pk"] for m, row in before.items()
    }

    # One member's bonus: their row and their branch's ranks change; every other row is kept as it was.
    member = Member.objects.get(pk=next(m for m, row in before.items() if row["scored"] and row["rank"] == 1))
    item = RuleItem.objects.filter(scheme_id=before[member.pk]["scheme_id"], kind=RuleItem.Kind.BONUS).first()
    period = Period.objects.filter(cycle__year=YEAR, kind=item.scheme.period_kind).order_by("index").first()
    ledger_append_many(
        [
            LedgerEntry(
                member=member,
                item=item,
                period=period,
                year=YEAR,
                kind=item.kind,
                points=-to_centi(item.points_max),
                reason="测试",
                source=LedgerEntry.Source.RECORDER,
                recorded_by=w.admin,
                occurred_on=period.starts_on,
            )
        ],
        actor=w.admin,
        reason="测试",
    )
    recalculate_year(year=YEAR, today=TODAY)
    totals, outcomes = read_back()
    assert (totals, outcomes) == from_the_policy(branches)
    after_rows = {
        row["member_id"]: row for row in MemberYearTotal.objects.filter(year=YEAR).values("pk", *TOTAL_FIELDS)
    }
    changed = {m for m, row in after_rows.items() if {**row, "pk": None} != {**before[m], "pk": None}}
    assert member.pk in changed and changed <= {
        m for m, row in after_rows.items() if row["branch_id"] == member.branch_id
    }
    assert all(after_rows[m]["pk"] == before[m]["pk"] for m in after_rows.keys() - changed)
    assert all(after_rows[m]["pk"] != before[m]["pk"] for m in changed)


def test_the_figures_check_derives_as_of_the_last_recalculation_even_when_no_row_changed(scoring_world, time_machine):
    """A row left alone keeps the time it was written; the branch's mark says when it was derived."""
    from scoring.figures_verify import _as_of
    from scoring.models import BranchRecalculation

    w = scoring_world
    time_machine.move_to(datetime.datetime(YEAR, 12, 1, 12, tzinfo=datetime.UTC))
    recalculate_branch(branch=w.A1, year=YEAR)
    written = MemberYearTotal.objects.filter(branch=w.A1, year=YEAR).values_list("computed_at", flat=True).first()
    time_machine.move_to(datetime.datetime(YEAR, 12, 20, 12, tzinfo=datetime.UTC))
    recalculate_branch(branch=w.A1, year=YEAR)
    assert (
        MemberYearTotal.objects.filter(branch=w.A1, year=YEAR).values_list("computed_at", flat=True).first() == written
    )
    assert BranchRecalculation.objects.get(branch=w.A1, year=YEAR).recalculated_at.day == 20
    assert _as_of(YEAR)[w.A1.pk] == datetime.date(YEAR, 12, 20)
