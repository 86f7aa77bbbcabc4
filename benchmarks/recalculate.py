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
import os
import platform
import random
import statistics
import subprocess
import time
from collections import defaultdict

from benchmarks.common import django_setup, median_seconds, write_section

COLLEGES = 10
BRANCHES = 300  # the default --branches
GOAL = 3  # the whole year's recalculation within ×3 the raw aggregate (issue 18)
PLANS_PER_CATEGORY = 2000  # distinct entry patterns; each member follows one of them
SAMPLE = 20
STEP = 25  # magnitudes are multiples of 0.25 point, so two semesters can sum to an odd centipoint


def scored_year(today):
    """The latest year whose two semesters (Jan 1, Aug 1) have both started, so both are counted."""
    return today.year if today >= datetime.date(today.year, 8, 1) else today.year - 1


# ── building the university ──────────────────────────────────────────────────────────────────


def build_tree(admin, branch_count):
    """The committee, COLLEGES colleges (fewer for fewer branches) and `branch_count` branches dealt
    out over them."""
    from members.models import Organization
    from members.services import organization_create

    committee = organization_create(actor=admin, name="基准大学党委", code="U", kind=Organization.Kind.COMMITTEE)
    colleges = [
        organization_create(actor=admin, name=f"学院{c}", code=f"C{c}", kind="general_branch", parent=committee)
        for c in range(min(COLLEGES, branch_count))
    ]
    branches = [
        organization_create(
            actor=admin,
            name=f"支部{b % len(colleges)}-{b}",
            code=f"C{b % len(colleges)}-{b}",
            kind="branch",
            parent=colleges[b % len(colleges)],
        )
        for b in range(branch_count)
    ]
    return committee, branches


def build_members(branches, members_total, rng):
    """Staff and student members (about 40% staff), with some cadres and probationary members."""
    from members.models import Member

    probation_start = datetime.date(2025, 9, 1)
    rows = []
    for n in range(members_total):
        branch = branches[n % len(branches)]
        probationary = rng.random() < 0.06
        rows.append(
            Member(
                number=f"M{n:07d}",
                name=f"党员{n}",
                branch=branch,
                category=Member.Category.STAFF if rng.random() < 0.4 else Member.Category.STUDENT,
                is_cadre=rng.random() < 0.05,
                status=Member.Status.PROBATIONARY if probationary else Member.Status.FULL,
                probation_start=probation_start if probationary else None,
            )
        )
    Member.objects.bulk_create(rows, batch_size=5000)
    return list(Member.objects.values_list("pk", "category", "branch_id"))


def item_table(scheme):
    """(id, kind, code, title, min, max, cap per period, times per period) in centipoints."""
    from scoring.points import to_centi

    return [
        (
            i.pk,
            i.kind,
            i.code,
            i.title,
            to_centi(i.points_min),
            to_centi(i.points_max),
            None if i.cap_per_period is None else to_centi(i.cap_per_period),
            i.times_per_period,
        )
        for i in scheme.items.all()
    ]


def make_plans(items, entries, semester_days, rng):
    """PLANS_PER_CATEGORY entry patterns: (semester 0/1, item id, kind, signed centipoints, day offset,
    reason). Every entry is within its item's bounds and its per-period cap and count."""
    from scoring.models import RuleItem

    base = [i for i in items if i[1] == RuleItem.Kind.BASE]
    bonus = [i for i in items if i[1] == RuleItem.Kind.BONUS]
    assert base and bonus and len(base) + len(bonus) == len(items), "Policy A has only base and bonus items"
    plans = []
    for _ in range(PLANS_PER_CATEGORY):
        base_share = rng.uniform(0.05, 0.55)  # how often this member loses points rather than gains
        used, times, plan = defaultdict(int), defaultdict(int), []
        while len(plan) < entries:
            semester = rng.randrange(2)
            pool = base if rng.random() < base_share else bonus
            item_id, kind, code, title, low, high, cap, most = rng.choice(pool)
            magnitude = low + int((high - low) * rng.random() ** 3) // STEP * STEP  # mostly small
            key = (semester, item_id)
            if (most is not None and times[key] >= most) or (cap is not None and used[key] + magnitude > cap):
                continue
            used[key] += magnitude
            times[key] += 1
            sign = 1 if kind == RuleItem.Kind.BONUS else -1
            plan.append(
                (semester, item_id, kind, sign * magnitude, rng.randrange(semester_days[semester]), f"{code} {title}")
            )
        plans.append(plan)
    return plans


def insert_ledger(members, plans_by_category, semesters, year, admin, rng):
    """Bulk-insert every member's entries; no query per row. Returns the number of rows."""
    from django.db import transaction

    from scoring.ledger_chain import ledger_append_many
    from scoring.models import LedgerEntry

    sources = [LedgerEntry.Source.RECORDER, LedgerEntry.Source.PANEL, LedgerEntry.Source.DECLARATION]
    day = [
        [s.starts_on + datetime.timedelta(days=d) for d in range((s.ends_on - s.starts_on).days + 1)] for s in semesters
    ]
    period_ids = [s.pk for s in semesters]

    def rows():
        for member_id, category, _branch in members:
            plan = plans_by_category[category][rng.randrange(PLANS_PER_CATEGORY)]
            for (semester, item_id, kind, points, offset, reason), source in zip(plan, itertools.cycle(sources)):
                yield LedgerEntry(
                    member_id=member_id,
                    item_id=item_id,
                    period_id=period_ids[semester],
                    year=year,
                    kind=kind,
                    points=points,
                    reason=reason,
                    source=source,
                    recorded_by_id=admin.pk,
                    occurred_on=day[semester][offset],
                )

    count = 0
    generator = rows()
    with transaction.atomic():
        while chunk := list(itertools.islice(generator, 100_000)):
            ledger_append_many(chunk, actor=admin, reason="基准数据")
            count += len(chunk)
    return count


def build(members_total, branch_count, entries_per_member, year, rng):
    from members.models import Member
    from scoring.models import Period, PeriodKind
    from scoring.services import cycle_open, scheme_preset_load
    from tests.builders import make_user

    admin = make_user("bench-admin")
    admin.is_superuser = True
    admin.save()
    committee, branches = build_tree(admin, branch_count)
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
    mean of the two semesters as shown: cut down to a centipoint."""
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


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    except OSError:
        pass
    return f"{model or platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def commit():
    """The commit measured (`git rev-parse --short HEAD`), marked when the tree has changes."""
    from benchmarks.common import ROOT

    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()  # noqa: S603, S607

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return f"{head}+changes" if git("status", "--porcelain", "--untracked-files=no") else head


def load_average():
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def measure(connection, year, branch, repeat):
    """The whole year (its first run counted, then the median of `repeat`), one branch as after a
    single change (counted, then the median of 5), and the baseline (a warm-up, then the median of
    `repeat`)."""
    from scoring.recalculation import recalculate_branch
    from scoring.services import recalculate

    def full():
        return recalculate(year=year)

    def one():
        return recalculate_branch(branch=branch, year=year)

    figures = {}
    figures["full_queries"], first = counting(connection, full)
    print(f"  full recalculation, first run: {first:.2f} s, {figures['full_queries']:,} queries", flush=True)
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
    load_before = load_average()
    figures = measure(connection, year, branch, repeat=args.repeat)
    load_after = load_average()

    rows = baseline_rows(connection, year)
    sample = verify_sample(connection, members, semesters, year, rng)
    stored = verify_all_from_baseline(rows, semesters, year)
    outcomes = MemberOutcome.objects.filter(year=year).count()
    assert MemberYearTotal.objects.filter(year=year).count() == len(members)
    totals = sorted(t / 100 for t in stored.values())
    ratio = figures["full"] / figures["baseline"]
    verdict = "met" if ratio <= GOAL else "not met"
    elapsed = time.perf_counter() - started

    lines = [
        ("what", "time"),
        ("---", "---"),
        (
            f"whole year, {len(branches):,} branches in {chunks} chunk{'s' if chunks > 1 else ''}: "
            "`recalculate(year=…)`",
            f"{figures['full']:.2f} s ({figures['full_queries']:,} queries)",
        ),
        (
            "baseline: one raw `SELECT member_id, period_id, kind, SUM(points) … WHERE year = %s "
            "GROUP BY member_id, period_id, kind`, fetched",
            f"{figures['baseline']:.2f} s",
        ),
        (f"ratio whole year / baseline (goal ≤ ×{GOAL})", f"×{ratio:.1f}: {verdict}"),
        (
            f"one branch of {branch_members} members, as after a single change: `recalculate_branch`",
            f"{figures['branch'] * 1000:.0f} ms ({figures['branch_queries']} queries)",
        ),
    ]
    table = "\n".join("| " + " | ".join(line) + " |" for line in lines)
    section = f"""
Run on {datetime.date.today()} at commit {commit()} ({machine()}, {connection.vendor}; load average
{load_before} before the measurements, {load_after} after), year {year}: {len(branches):,} branches in
{min(COLLEGES, len(branches))} colleges, {len(members):,} members (staff and students) under the Policy A
reference schemes, {entries:,} ledger entries ({args.entries_per_member} per member), {len(rows):,} grouped
rows, chunks of about {settings.RECALCULATION_CHUNK_MEMBERS:,} members; after `ANALYZE`. Medians of
{args.repeat} after a first run (one branch: of 5).

{table}

Besides reading the sums, the recalculation applies the schemes' floors and caps, ranks members,
evaluates the outcome rules and replaces the stored rows ({len(stored):,} totals and {outcomes:,}
outcomes per run here). Checked: {SAMPLE} random members' totals recomputed from their raw ledger
rows, and all {len(stored):,} stored totals against Policy A applied to the baseline's rows, match
exactly (totals from {totals[0]:g} to {totals[-1]:g}, median {statistics.median(totals):g}).
"""
    if args.dry_run:
        print(section)
    else:
        write_section("recalculate", section)
    print(
        f"recalculate {figures['full']:.2f} s ({figures['full_queries']} queries, {chunks} chunks) "
        f"vs raw GROUP BY {figures['baseline']:.2f} s = x{ratio:.1f} (goal x{GOAL}: {verdict}); "
        f"one branch {figures['branch'] * 1000:.0f} ms; load {load_before} -> {load_after}; "
        f"{len(sample)} sampled totals verified; whole run {elapsed:.0f} s"
    )


if __name__ == "__main__":
    main()
