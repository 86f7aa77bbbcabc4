"""The year's full recalculation beside one raw GROUP BY of the ledger, at any size.

Builds a committee, 10 colleges, `--branches` branches (300) and `--members` members (30,000; staff
and students) under the Policy A reference schemes, bulk-inserts `--entries-per-member` ledger
entries (40) per member across the two semesters, runs ANALYZE, then times
`scoring.services.recalculate` for the whole year (chunks of whole branches,
scoring/recalculation.py) against the single aggregate query that any recalculation has to read,
and the recalculation of one branch that follows a single change. Checks a sample of stored totals
against the raw rows, and every stored total against Policy A applied to the aggregate's rows.

Run: .venv/bin/python -m benchmarks.recalculate [--members 30000 --branches 300 --entries-per-member 40]
  3,000 members in 300 branches: --members 3000; the province-sized run: --members 300000 --branches 3000
  (DATABASE_URL=postgres://… for PostgreSQL; SQLite in a temporary file by default).
"""

import argparse
import datetime
import itertools
import random
import statistics
import time
from collections import defaultdict

from benchmarks.common import (
    Stamp,
    build_members,
    build_tree,
    django_setup,
    item_table,
    ledger_fields,
    make_admin,
    make_plans,
    median_seconds,
    write_section,
)

COLLEGES = 10
BRANCHES = 300  # the default --branches
GOAL = 3  # the whole year's recalculation within ×3 the raw aggregate (issue 18)
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


def build(members_total, branch_count, entries_per_member, year, rng):
    from members.models import Member
    from scoring.models import Period, PeriodKind
    from scoring.services import cycle_open, scheme_preset_load

    admin = make_admin()
    colleges = min(COLLEGES, branch_count)
    committee, _colleges, branches = build_tree(
        admin, [["mixed"] * (branch_count // colleges + (c < branch_count % colleges)) for c in range(colleges)]
    )
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
    """Run `func` once; return the number of SQL statements it executed (as the query log counts
    them: a COPY too) and its time."""
    from django.test.utils import CaptureQueriesContext

    start = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
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
    """The whole year: its first run (no stored rows yet: every row written), then again with
    nothing changed (every row compared, none written; counted, then the median of `repeat`); one
    branch as after a single change (counted, then the median of 5); and the baseline (a warm-up,
    then the median of `repeat`)."""
    from scoring.recalculation import recalculate_branch
    from scoring.services import recalculate

    def full():
        return recalculate(year=year)

    def one():
        return recalculate_branch(branch=branch, year=year)

    figures = {}
    figures["first_queries"], figures["first"] = counting(connection, full)
    print(f"  first run: {figures['first']:.2f} s, {figures['first_queries']:,} queries", flush=True)
    figures["full_queries"], _ = counting(connection, full)
    figures["full"] = median_seconds(full, repeat=repeat)
    figures["branch_queries"], _ = counting(connection, one)
    figures["branch"] = median_seconds(one, repeat=5)
    baseline_rows(connection, year)
    figures["baseline"] = median_seconds(lambda: baseline_rows(connection, year), repeat=repeat)
    print(
        f"  full {figures['full']:.2f} s, one branch {figures['branch'] * 1000:.0f} ms "
        f"({figures['branch_queries']} queries), baseline {figures['baseline']:.2f} s",
        flush=True,
    )
    return figures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=30000)
    parser.add_argument("--branches", type=int, default=BRANCHES)
    parser.add_argument("--entries-per-member", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement after the first")
    parser.add_argument("--dry-run", action="store_true", help="print the figures, leave docs/performance.md")
    args = parser.parse_args()
    started = time.perf_counter()
    django_setup()
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from scoring.models import MemberOutcome, MemberYearTotal
    from scoring.recalculation import year_chunks

    rng = random.Random(args.seed)
    year = scored_year(timezone.localdate())
    branches, members, semesters, entries = build(args.members, args.branches, args.entries_per_member, year, rng)
    print(
        f"built {len(members):,} members, {entries:,} entries for {year} in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    branch = branches[0]
    branch_members = sum(1 for m in members if m[2] == branch.pk)
    with connection.cursor() as cursor:  # planner statistics, as a database in service has them
        cursor.execute("ANALYZE")
    chunks = len(year_chunks())
    stamp = Stamp()
    figures = measure(connection, year, branch, repeat=args.repeat)
    run_line = stamp.line(connection)

    rows = baseline_rows(connection, year)
    sample = verify_sample(connection, members, semesters, year, rng)
    stored = verify_all_from_baseline(rows, semesters, year)
    outcomes = MemberOutcome.objects.filter(year=year).count()
    assert MemberYearTotal.objects.filter(year=year).count() == len(members)
    totals = sorted(t / 100 for t in stored.values())
    ratio = figures["full"] / figures["baseline"]
    first_ratio = figures["first"] / figures["baseline"]
    verdict = "met" if ratio <= GOAL else "not met"
    first_verdict = "met" if first_ratio <= GOAL else "not met"
    elapsed = time.perf_counter() - started

    lines = [
        ("what", "time"),
        ("---", "---"),
        (
            "baseline: one raw `SELECT member_id, period_id, kind, SUM(points) … WHERE year = %s "
            "GROUP BY member_id, period_id, kind`, fetched",
            f"{figures['baseline']:.2f} s",
        ),
        (
            f"whole year, {len(branches):,} branches in {chunks} chunk{'s' if chunks > 1 else ''}, first run "
            "(no stored rows: every row written): `recalculate(year=…)`",
            f"{figures['first']:.2f} s ({figures['first_queries']:,} queries): ×{first_ratio:.1f}, "
            f"goal ≤ ×{GOAL} {first_verdict}",
        ),
        (
            "whole year again, nothing changed (the nightly run's usual case: every row derived and "
            "compared, none written)",
            f"{figures['full']:.2f} s ({figures['full_queries']:,} queries): ×{ratio:.1f}, goal ≤ ×{GOAL} {verdict}",
        ),
        (
            f"one branch of {branch_members} members, as after a single change: `recalculate_branch`",
            f"{figures['branch'] * 1000:.0f} ms ({figures['branch_queries']} queries)",
        ),
    ]
    table = "\n".join("| " + " | ".join(line) + " |" for line in lines)
    section = f"""
{run_line} Year {year}: {len(branches):,} branches in
{min(COLLEGES, len(branches))} colleges, {len(members):,} members (staff and students) under the Policy A
reference schemes, {entries:,} ledger entries ({args.entries_per_member} per member), {len(rows):,} grouped
rows, chunks of about {settings.RECALCULATION_CHUNK_MEMBERS:,} members; after `ANALYZE`. Medians of
{args.repeat} after a first run (one branch: of 5).

{table}

Besides reading the sums, the recalculation applies the schemes' floors and caps, ranks members,
evaluates the outcome rules, reads the stored rows and writes those that differ ({len(stored):,}
totals and {outcomes:,} outcomes here: all of them in the first run, none again). Checked: {SAMPLE}
random members' totals recomputed from their raw ledger rows, and all {len(stored):,} stored totals
against Policy A applied to the baseline's rows, match exactly (totals from {totals[0]:g} to
{totals[-1]:g}, median {statistics.median(totals):g}).
"""
    if args.dry_run:
        print(section)
    else:  # one section per database and size
        vendor = "" if connection.vendor == "sqlite" else f"_{connection.vendor}"
        write_section(f"recalculate{vendor}_{args.members}", section)
    print(
        f"recalculate {figures['full']:.2f} s ({figures['full_queries']} queries, {chunks} chunks) "
        f"vs raw GROUP BY {figures['baseline']:.2f} s = x{ratio:.1f} (goal x{GOAL}: {verdict}); "
        f"first run {figures['first']:.2f} s = x{first_ratio:.1f}; "
        f"one branch {figures['branch'] * 1000:.0f} ms; "
        f"{len(sample)} sampled totals verified; whole run {elapsed:.0f} s"
    )


if __name__ == "__main__":
    main()
