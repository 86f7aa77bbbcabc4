"""The committee dashboard over a 30,000-member university, beside the raw aggregate SQL it needs.

Builds a committee, 10 colleges, 300 branches and 30,000 members under the Policy A reference
schemes (benchmarks/recalculate.py's tree), then bulk-inserts a year of review-pipeline data the
way the services leave it — stored totals and outcomes for this year and the two before, pledges,
self-assessments and panel confirmations, mass evaluation forms, objections, publicity windows,
decided determinations with their lines, follow-ups, spot checks and notices — and renders the
committee dashboard as the organization department through the test client.

Reported, in the same run: the whole request (median of 5 after a warm-up), its query count, the
selector alone (no template), and the baseline: the very SQL statements the page executed, replayed
raw through a cursor (no ORM, no Python aggregation, no template). Measured as migrated (no
planner statistics) and again after ANALYZE.

Run: .venv/bin/python -m benchmarks.dashboard [--members 30000 --branches 300] [--dry-run]
"""

import argparse
import datetime
import random
import time

from benchmarks.common import (
    Stamp,
    branch_reviews,
    build_members,
    build_tree,
    django_setup,
    make_admin,
    median_seconds,
    member_reviews,
    stored_results,
    write_section,
)
from benchmarks.recalculate import COLLEGES

HISTORY = 2  # years of stored totals before the dashboard's


def build(members_total, branches_total, year, rng):
    from django.db import transaction

    from members.models import Role
    from members.services import role_assign
    from scoring.models import Period
    from scoring.services import cycle_open, scheme_preset_load
    from tests.builders import make_user

    admin = make_admin()
    committee, _colleges, branches = build_tree(admin, [["mixed"] * (branches_total // COLLEGES)] * COLLEGES)
    members = build_members(branches, members_total, rng)
    years = range(year - HISTORY, year + 1)
    for y in years:
        cycle_open(actor=admin, year=y, committee=committee)
    presets = (("staff", "A-staff"), ("student", "A-student"))
    schemes = {
        y: {c: scheme_preset_load(actor=admin, preset=p, year=y, owner=committee) for c, p in presets} for y in years
    }
    viewer = make_user("bench-zzb")
    role_assign(
        actor=admin, user=viewer, organization=committee, role=Role.ORG_DEPARTMENT, starts_on=datetime.date(2020, 1, 1)
    )
    reps = [make_user(f"bench-rep{k}") for k in range(3)]
    s1 = Period.objects.get(cycle__year=year, kind="semester", index=1)
    with transaction.atomic():
        totals = [t for t in stored_results(members, schemes, years, rng) if t[3] == year]
        member_reviews(totals, s1, admin, rng)
        branch_reviews(branches, totals, year, admin, reps, rng)
    return committee, branches, members, viewer


def _captured(connection, func):
    """Run `func` once; return the SQL statements it executed (with their parameters)."""
    captured = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        func()
    return captured


def _replay(connection, statements):
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            if cursor.description:
                cursor.fetchall()


def measure(connection, client, url, actor, committee, branches, year):
    """Cold (nothing stored), warm (stored counts current) and after a change in one branch; the
    selector alone; and the baseline: the aggregate SQL a cold page runs, replayed raw."""
    from members.models import User
    from partyscore.dashboards import selectors
    from partyscore.dashboards import services as services
    from partyscore.dashboards.models import BranchYearFacts

    def get():
        assert client.get(url).status_code == 200

    def cold():
        BranchYearFacts.objects.all().delete()
        start = time.perf_counter()
        get()
        return time.perf_counter() - start

    cold_times = [cold() for _ in range(3)]
    BranchYearFacts.objects.all().delete()
    cold_sql = _captured(connection, get)
    aggregates = [(sql, params) for sql, params in cold_sql if "GROUP BY" in sql or "COUNT(" in sql]
    warm_sql = _captured(connection, get)
    warm = median_seconds(get)
    # A fresh user each time, as each request has (permissions are cached on the user object).
    selector = median_seconds(
        lambda: selectors.org_dashboard(actor=User.objects.get(pk=actor.pk), org=committee, year=year)
    )
    changed = []
    for k in range(3):
        services.commendation_record(actor=actor, branch=branches[k * 7], year=year, kind="commend", reason="基准")
        start = time.perf_counter()
        get()
        changed.append(time.perf_counter() - start)
    _replay(connection, aggregates)
    raw = median_seconds(lambda: _replay(connection, aggregates))
    slowest = []
    with connection.cursor() as cursor:
        for sql, params in aggregates:
            start = time.perf_counter()
            cursor.execute(sql, params)
            rows = len(cursor.fetchall())
            slowest.append((time.perf_counter() - start, rows, sql))
    slowest.sort(reverse=True)
    return {
        "cold": sorted(cold_times)[1],
        "cold_queries": len(cold_sql),
        "warm": warm,
        "warm_queries": len(warm_sql),
        "changed": sorted(changed)[1],
        "selector": selector,
        "raw": raw,
        "aggregates": len(aggregates),
        "slowest": slowest[:3],
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=30000)
    parser.add_argument("--branches", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--dry-run", action="store_true", help="print the figures, leave docs/performance.md")
    args = parser.parse_args()
    started = time.perf_counter()
    stamp = Stamp()
    django_setup()
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from scoring.models import MemberOutcome, MemberYearTotal

    rng = random.Random(args.seed)
    year = datetime.date.today().year
    committee, branches, members, viewer = build(args.members, args.branches, year, rng)
    built = time.perf_counter() - started
    print(f"built {len(members):,} members in {len(branches)} branches in {built:.0f} s", flush=True)
    client = Client()
    client.force_login(viewer)
    url = reverse("dashboard_org", args=[committee.pk]) + f"?year={year}"

    def report(f):
        print(
            f"  cold {f['cold'] * 1000:.0f} ms ({f['cold_queries']} queries), warm {f['warm'] * 1000:.0f} ms "
            f"({f['warm_queries']} queries), after a change {f['changed'] * 1000:.0f} ms, selector "
            f"{f['selector'] * 1000:.0f} ms, raw aggregates {f['raw'] * 1000:.0f} ms",
            flush=True,
        )

    print("as migrated:", flush=True)
    plain = measure(connection, client, url, viewer, committee, branches, year)
    report(plain)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print("after ANALYZE:", flush=True)
    analyzed = measure(connection, client, url, viewer, committee, branches, year)
    report(analyzed)
    for seconds, rows, sql in analyzed["slowest"]:
        print(f"  {seconds * 1000:.0f} ms, {rows} rows: {sql[:160]}")
    totals = MemberYearTotal.objects.count()
    outcomes = MemberOutcome.objects.count()

    def both(render):
        return render(plain), render(analyzed)

    lines = [
        ("what", "as migrated", "after `ANALYZE`"),
        ("---", "---", "---"),
        (
            "committee dashboard, stored counts current (warm): whole request through Django",
            *both(lambda f: f"{f['warm'] * 1000:.0f} ms ({f['warm_queries']} queries)"),
        ),
        (
            "the same without the template: `selectors.org_dashboard(…)`",
            *both(lambda f: f"{f['selector'] * 1000:.0f} ms"),
        ),
        (
            "first request after a change in one branch (a notice recorded through its service)",
            *both(lambda f: f"{f['changed'] * 1000:.0f} ms"),
        ),
        (
            "first request with nothing stored (cold: every branch counted)",
            *both(lambda f: f"{f['cold'] * 1000:.0f} ms ({f['cold_queries']} queries)"),
        ),
        (
            "baseline: the cold request's aggregate SQL alone, replayed raw through a cursor",
            *both(lambda f: f"{f['raw'] * 1000:.0f} ms ({f['aggregates']} statements)"),
        ),
    ]
    table = "\n".join("| " + " | ".join(line) + " |" for line in lines)
    slow = "\n".join(
        f"  - {s * 1000:.0f} ms ({rows:,} rows): `{sql[:110].strip()}…`" for s, rows, sql in analyzed["slowest"]
    )
    heading = (
        "## Committee dashboard (issue: dashboards)"
        if connection.vendor == "sqlite"
        else f"### Committee dashboard on {connection.vendor}"
    )
    section = f"""
{heading}

`benchmarks/dashboard.py` builds {len(branches)} branches in {COLLEGES} colleges with {len(members):,} members
under the Policy A reference schemes and bulk-inserts a year of review data as the services leave it
({totals:,} stored totals and {outcomes:,} outcomes over {HISTORY + 1} years; pledges, self-assessments and panel
confirmations for most members; mass evaluation forms, publicity windows, decided determinations with
their lines, follow-ups, objections, spot checks and notices), then renders the committee dashboard
(funnel, progress of every branch as a heatmap and of every college as a table, results, year over
year, fairness signals, supervision summary) as the organization department, in the same run as the
raw aggregate SQL the figures need.

{stamp.line(connection)} Warm figures are medians of 5 after a warm-up, cold and after-a-change
figures medians of 3. Goal: warm whole request < 100 ms, cold within ×2 of its raw aggregate SQL.

{table}

The slowest aggregate statements (after `ANALYZE`):
{slow}

Measured first with every figure aggregated at request time (an earlier version of the page, SQLite): 1.4 s
per request at this size, 0.6 s of it SQL, too slow for a page the committee opens all day. The
figures are therefore stored per branch (`BranchYearFacts`) and kept up to date from the audit log,
which every service writes in the transaction of its change: a request recomputes only the
branches with a newer audit event (or older than `FACTS_MAX_AGE_MINUTES`), with the same grouped
queries restricted to those branches. Query counts are the same at any size (pinned in
tests/dashboards/test_queries.py), except that storing the counts of many branches at once (a cold
start) writes them in batches: one more statement per ~160 branches on SQLite.
"""
    print(section)
    if not args.dry_run:
        # SQLite (the embedded default) and PostgreSQL runs each keep their own section.
        write_section("dashboard" if connection.vendor == "sqlite" else f"dashboard_{connection.vendor}", section)
    print(f"done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
