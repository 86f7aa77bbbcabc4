"""The year's full recalculation over a 30,000-member university, beside one raw GROUP BY of the ledger.

Builds a committee, 10 colleges, 300 branches and 30,000 members (staff and students) under the
Policy A reference schemes, bulk-inserts 40 ledger entries per member across the two semesters,
then times `scoring.services.recalculate` for the whole year against the single aggregate query
that any recalculation has to read, and checks a sample of stored totals against the raw rows.

Run: .venv/bin/python -m benchmarks.recalculate [--members 30000 --entries-per-member 40]
"""

import argparse
import datetime
import itertools
import random
import statistics
import time
from collections import defaultdict

from benchmarks.common import (
    build_members,
    build_tree,
    django_setup,
    item_table,
    ledger_fields,
    machine,
    make_admin,
    make_plans,
    median_seconds,
    write_section,
)

COLLEGES = 10
BRANCHES = 300
SAMPLE = 20


def scored_year(today):
    """The latest year whose two semesters (Jan 1, Aug 1) have both started, so both are counted."""
    return today.year if today >= datetime.date(today.year, 8, 1) else today.year - 1


# ── building the university ──────────────────────────────────────────────────────────────────


def insert_ledger(members, plans_by_category, semesters, year, admin, rng):
    """Bulk-insert every member's entries; no query per row. Returns the number of rows."""
    from django.db import transaction

    from scoring.ledger_chain import ledger_append_many
    from scoring.models import LedgerEntry

    count = 0
    generator = (
        LedgerEntry(**fields) for fields in ledger_fields(members, plans_by_category, semesters, year, admin.pk, rng)
    )
    with transaction.atomic():
        while chunk := list(itertools.islice(generator, 100_000)):
            ledger_append_many(chunk, actor=admin, reason="基准数据")
            count += len(chunk)
    return count


def build(members_total, entries_per_member, year, rng):
    from members.models import Member
    from scoring.models import Period, PeriodKind
    from scoring.services import cycle_open, scheme_preset_load

    admin = make_admin()
    committee, _colleges, branches = build_tree(admin, [["mixed"] * (BRANCHES // COLLEGES)] * COLLEGES)
    members = build_members(branches, members_total, rng)
    cycle_open(actor=admin, year=year, committee=committee, deadline_sets=("A",))
    schemes = {
        Member.Category.STAFF: scheme_preset_load(actor=admin, preset="A-staff", year=year, owner=committee),
        Member.Category.STUDENT: scheme_preset_load(actor=admin, preset="A-student", year=year, owner=committee),
    }
    semesters = list(Period.objects.filter(cycle__year=year, kind=PeriodKind.SEMESTER).order_by("index"))
    semester_days = [(s.ends_on - s.starts_on).days + 1 for s in semesters]
    plans = {
        category: make_plans(item_table(scheme), entries_per_member, semester_days, rng)
        for category, scheme in schemes.items()
    }
    entries = insert_ledger(members, plans, semesters, year, admin, rng)
    return branches, members, semesters, entries


# ── measuring ────────────────────────────────────────────────────────────────────────────────


def counting(connection, func):
    """Run `func` once; return the number of SQL statements it executed and its time."""
    queries = []
    start = time.perf_counter()
    with connection.execute_wrapper(lambda execute, sql, *rest: queries.append(sql) or execute(sql, *rest)):
        func()
    return len(queries), time.perf_counter() - start


BASELINE_SQL = (
    "SELECT member_id, period_id, kind, SUM(points) FROM scoring_ledgerentry "
    "WHERE year = %s GROUP BY member_id, period_id, kind"
)


def baseline_rows(connection, year):
    with connection.cursor() as cursor:
        cursor.execute(BASELINE_SQL, [year])
        return cursor.fetchall()


# ── checking ─────────────────────────────────────────────────────────────────────────────────


def policy_a_total(rows, semester_ids):
    """Policy A from plain (period id, kind, centipoints) rows, written out independently of
    scoring.policy: each semester min(60, max(0, 60 + base)) + min(40, max(0, bonus)), then the
    mean of the two semesters cut down to a centipoint (a total is never rounded up across a band
    edge: scoring.points.floor_centi)."""
    base = dict.fromkeys(semester_ids, 0)
    bonus = dict.fromkeys(semester_ids, 0)
    for period_id, kind, points in rows:
        assert kind in ("base", "bonus"), kind
        (base if kind == "base" else bonus)[period_id] += points
    scores = [min(6000, max(0, 6000 + base[p])) + min(4000, max(0, bonus[p])) for p in semester_ids]
    return sum(scores) // len(scores)


def verify_sample(connection, members, semesters, year, rng):
    from scoring.models import MemberYearTotal

    semester_ids = [s.pk for s in semesters]
    sample = rng.sample([m[0] for m in members], SAMPLE)
    stored = dict(MemberYearTotal.objects.filter(year=year, member_id__in=sample).values_list("member_id", "total"))
    with connection.cursor() as cursor:
        for member_id in sample:
            cursor.execute(
                "SELECT period_id, kind, points FROM scoring_ledgerentry WHERE member_id = %s AND year = %s",
                [member_id, year],
            )
            expected = policy_a_total(cursor.fetchall(), semester_ids)
            assert stored.get(member_id) == expected, (member_id, stored.get(member_id), expected)
    return sample


def verify_all_from_baseline(rows, semesters, year):
    """Policy A over the baseline's grouped rows gives every stored total (a wider, cheaper check)."""
    from scoring.models import MemberYearTotal

    semester_ids = [s.pk for s in semesters]
    by_member = defaultdict(list)
    for member_id, period_id, kind, points in rows:
        by_member[member_id].append((period_id, kind, points))
    stored = dict(MemberYearTotal.objects.filter(year=year).values_list("member_id", "total"))
    wrong = [m for m, total in stored.items() if total != policy_a_total(by_member.get(m, ()), semester_ids)]
    assert not wrong, f"{len(wrong)} stored totals differ from the baseline, e.g. member {wrong[0]}"
    return stored


def measure(connection, year, branch, repeat):
    """Full and one-branch recalculation: the first run of each counted (and timed when repeat is 0),
    then the median of `repeat` more; and the baseline, median of 3 after a warm-up."""
    from scoring.services import recalculate

    def full():
        return recalculate(year=year)

    def one():
        return recalculate(year=year, organization=branch)

    figures = {}
    figures["full_queries"], figures["full"] = counting(connection, full)
    print(f"  full recalculation, first run: {figures['full']:.2f} s, {figures['full_queries']:,} queries", flush=True)
    if repeat:
        figures["full"] = median_seconds(full, repeat=repeat)
    figures["branch_queries"], _ = counting(connection, one)
    figures["branch"] = median_seconds(one, repeat=3)
    baseline_rows(connection, year)
    figures["baseline"] = median_seconds(lambda: baseline_rows(connection, year), repeat=3)
    print(
        f"  full {figures['full']:.2f} s, one branch {figures['branch'] * 1000:.0f} ms "
        f"({figures['branch_queries']} queries), baseline {figures['baseline']:.2f} s",
        flush=True,
    )
    return figures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=30000)
    parser.add_argument("--entries-per-member", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--dry-run", action="store_true", help="print the figures, leave docs/performance.md")
    args = parser.parse_args()
    started = time.perf_counter()
    django_setup()
    from django.db import connection
    from django.utils import timezone

    from scoring.models import MemberOutcome, MemberYearTotal

    rng = random.Random(args.seed)
    year = scored_year(timezone.localdate())
    branches, members, semesters, entries = build(args.members, args.entries_per_member, year, rng)
    print(
        f"built {len(members):,} members, {entries:,} entries for {year} in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    branch = branches[0]
    branch_members = sum(1 for m in members if m[2] == branch.pk)

    # As migrated, the database has no planner statistics (Django never runs ANALYZE): one full run,
    # it is slow. Then with statistics, a warm-up and the median of 3.
    print("without planner statistics:", flush=True)
    plain = measure(connection, year, branch, repeat=0)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print("after ANALYZE:", flush=True)
    analyzed = measure(connection, year, branch, repeat=3)

    rows = baseline_rows(connection, year)
    sample = verify_sample(connection, members, semesters, year, rng)
    stored = verify_all_from_baseline(rows, semesters, year)
    outcomes = MemberOutcome.objects.filter(year=year).count()
    assert MemberYearTotal.objects.filter(year=year).count() == len(members)
    totals = sorted(t / 100 for t in stored.values())
    per_branch = (analyzed["full_queries"] - 1) / len(branches)  # less the one query listing the branches
    elapsed = time.perf_counter() - started

    def both(render):
        return render(plain), render(analyzed)

    lines = [
        ("what", "as migrated", "after `ANALYZE`"),
        ("---", "---", "---"),
        (
            f"full recalculation, all {len(branches)} branches: `recalculate(year=…)`",
            *both(lambda f: f"{f['full']:.2f} s"),
        ),
        (
            "baseline: one raw `SELECT member_id, period_id, kind, SUM(points) … WHERE year = %s "
            "GROUP BY member_id, period_id, kind`, fetched",
            *both(lambda f: f"{f['baseline']:.2f} s"),
        ),
        ("ratio full / baseline", *both(lambda f: f"{f['full'] / f['baseline']:.0f}×")),
        (
            "queries of the full recalculation",
            f"{plain['full_queries']:,}",
            f"{analyzed['full_queries']:,} ({per_branch:.1f} per branch)",
        ),
        (
            f"one branch of {branch_members} members: `recalculate(year=…, organization=branch)`",
            *both(lambda f: f"{f['branch'] * 1000:.0f} ms ({f['branch_queries']} queries)"),
        ),
    ]
    table = "\n".join("| " + " | ".join(line) + " |" for line in lines)
    plan_note = (
        " Without statistics SQLite drives each branch's two\nledger aggregates from the `year` index, "
        "so every branch reads the whole year's ledger."
        if connection.vendor == "sqlite"
        else ""
    )
    section = f"""
## Recalculation of a year

`benchmarks/recalculate.py` builds a university of {len(branches)} branches in {COLLEGES} colleges with
{len(members):,} members (staff and students) under the Policy A reference schemes, bulk-inserts
{args.entries_per_member} ledger entries per member over the two semesters, then recomputes the
year with `scoring.services.recalculate` beside the one aggregate query any recalculation must read.

Run on {datetime.date.today()} ({machine()}, {connection.vendor}), year {year}:
{len(members):,} members, {entries:,} ledger entries, {len(rows):,} grouped rows. Measured first as
migrated (no planner statistics; one run of the full recalculation), then after `ANALYZE`
(medians of 3 after a warm-up); other figures are medians of 3.

{table}

The baseline only reads the sums: it does not apply the schemes' floors and caps, rank members,
evaluate outcome rules, or replace the stored rows ({len(stored):,} totals and {outcomes:,} outcomes per
run here, each branch in its own transaction).{plan_note}
Checked: {SAMPLE} random members' totals recomputed from their raw ledger rows, and all
{len(stored):,} stored totals against Policy A applied to the baseline's rows, match exactly
(totals from {totals[0]:g} to {totals[-1]:g}, median {statistics.median(totals):g}).
"""
    if args.dry_run:
        print(section)
    else:
        write_section("recalculate", section)
    print(
        f"recalculate {analyzed['full']:.2f} s ({analyzed['full_queries']} queries, {per_branch:.1f}/branch) "
        f"vs raw GROUP BY {analyzed['baseline']:.2f} s = {analyzed['full'] / analyzed['baseline']:.0f}x after "
        f"ANALYZE ({plain['full']:.1f} s vs {plain['baseline']:.2f} s before); "
        f"one branch {analyzed['branch'] * 1000:.0f} ms; "
        f"{len(sample)} sampled totals verified; whole run {elapsed:.0f} s"
    )


if __name__ == "__main__":
    main()
