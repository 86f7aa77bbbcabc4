"""A province on the same code: 300,000 members and 12 million ledger entries on PostgreSQL.

Builds, per size, into a fresh database `partyscore_province_<members>`: a committee, a college
(党总支) per 3,000 members, branches of 30–100 members, staff and student members (full and
probationary, some cadres) under the Policy A reference schemes, with the tree, the year's cycle,
periods, schemes and role holders made through the services, and the bulk written with
PostgreSQL's COPY: the members, 40 ledger entries each over the two semesters (hash-chained, one
bulk audit event covering them), two earlier years of stored totals and outcomes, and a year of
review data in the committee dashboard benchmark's shapes. Then ANALYZE, and the chains checked.

Measured, each beside its baseline in the same run: the year's full recalculation against one raw
GROUP BY of the ledger; the committee dashboard cold and warm against its aggregate SQL replayed
raw; a college's ledger workbook as a background job against raw XlsxWriter writing the same cells,
with peak memory; every page of the load test in-process as its role, with its query count.

    .venv/bin/python -m benchmarks.province --members 3000               # one size (a few minutes)
    .venv/bin/python -m benchmarks.province --sizes 3000,30000,300000    # each in a fresh process, then the growth

Each size's figures are kept in benchmarks/out/province/<members>.json; docs/performance.md gets
the figures of every size measured at the current commit, with how each cost grows.
"""

import argparse
import contextlib
import datetime
import inspect
import itertools
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

from benchmarks.common import (
    ROOT,
    branch_reviews,
    build_tree,
    commit,
    copy_write,
    django_setup,
    drop_database,
    item_table,
    ledger_fields,
    load_average,
    machine,
    make_admin,
    make_plans,
    member_fields,
    member_reviews,
    recreate_database,
    stored_results,
    write_section,
)

OUT = ROOT / "benchmarks" / "out" / "province"
SERVER = "postgres://postgres@127.0.0.1:5432"
MEMBERS_PER_COLLEGE = 3000
BRANCH_SMALLEST, BRANCH_LARGEST = 30, 100
ENTRIES_PER_MEMBER = 40
# Ledger entries a transaction: one bulk audit event each, as the ORM benchmarks append them, and
# the foreign keys' checks (deferred to the commit) queued for so many rows at most.
LEDGER_CHUNK = 100_000
HISTORY = 2  # earlier years of stored totals and outcomes
COLLEGES_WITH_ACCOUNTS = 2  # role holders and member accounts for the load test's plan
PLAIN_ACCOUNTS = 8  # members with an account and no role, in each of those colleges' first branch


def database_url(server, members):
    return f"{server.rstrip('/')}/partyscore_province_{members}"


# ── what is measured: checked before anything is built ───────────────────────────────────────


def check_signatures():
    """Bind the arguments this benchmark passes to each public function it measures or builds
    with, so that a changed signature stops the run at once rather than after an hour of building."""
    from benchmarks import dashboard
    from benchmarks import recalculate as bench_recalculate
    from benchmarks.export import record_cells, write_raw_xlsxwriter
    from benchmarks.load.plan import build_plan
    from benchmarks.load.probe import probe_pages
    from members.services import organization_create, role_assign
    from partyscore.dashboards.selectors import org_dashboard
    from scoring import exports
    from scoring.io_services import export_start
    from scoring.ledger_chain import HASHED_FIELDS, entry_hash
    from scoring.models import ExportJob, LedgerEntry
    from scoring.services import cycle_open, recalculate, scheme_preset_load

    calls = [
        (recalculate, {"year": 0}),
        (recalculate, {"year": 0, "organization": None}),
        (
            export_start,
            {"actor": None, "kind": "", "organization": None, "year": 0, "force_background": True},
        ),
        (org_dashboard, {"actor": None, "org": None, "year": 0}),
        (cycle_open, {"actor": None, "year": 0, "committee": None}),
        (scheme_preset_load, {"actor": None, "preset": "", "year": 0, "owner": None}),
        (organization_create, {"actor": None, "name": "", "code": "", "kind": "", "parent": None}),
        (role_assign, {"actor": None, "user": None, "organization": None, "role": "", "starts_on": None}),
        (entry_hash, dict.fromkeys(HASHED_FIELDS)),
        # and the other benchmarks' code this one reuses
        (bench_recalculate.measure, dict.fromkeys(("connection", "year", "branch", "repeat"))),
        (bench_recalculate.verify_sample, dict.fromkeys(("connection", "members", "semesters", "year", "rng"))),
        (bench_recalculate.verify_all_from_baseline, dict.fromkeys(("rows", "semesters", "year"))),
        (
            dashboard.measure,
            dict.fromkeys(("connection", "client", "url", "actor", "committee", "branches", "year")),
        ),
        (record_cells, dict.fromkeys(("kind", "organization", "path", "year"))),
        (write_raw_xlsxwriter, dict.fromkeys(("output", "cells_path", "as_zip"))),
        (build_plan, {}),
        (probe_pages, {"plan": None}),
    ]
    for function, arguments in calls:
        try:
            inspect.signature(function).bind(**arguments)
        except TypeError as error:
            sys.exit(f"{function.__module__}.{function.__name__} no longer takes {sorted(arguments)}: {error}")
    columns = {f.attname for f in LedgerEntry._meta.concrete_fields}
    if columns != {"id", "hash", *HASHED_FIELDS}:
        sys.exit(f"the ledger's columns changed ({sorted(columns)}): adapt ledger_append_copy and chained")
    if ExportJob.Kind.BRANCH_WORKBOOK not in exports.WRITERS:
        sys.exit("the branch workbook export is gone")


# ── building the province ────────────────────────────────────────────────────────────────────


class Phases:
    """Wall time of each step of the build, in order, and the CPU time this process spent in it (on
    a busy machine the two part; the rest of the wall time is PostgreSQL's, or waiting)."""

    def __init__(self):
        self.seconds, self.cpu = {}, {}

    @contextlib.contextmanager
    def __call__(self, name):
        print(f"  {name} …", flush=True)
        start, cpu = time.perf_counter(), time.process_time()
        yield
        self.seconds[name], self.cpu[name] = time.perf_counter() - start, time.process_time() - cpu
        print(f"  {name}: {self.seconds[name]:.1f} s (CPU {self.cpu[name]:.1f} s)", flush=True)


def branch_sizes(members, rng):
    """Branch sizes of BRANCH_SMALLEST–BRANCH_LARGEST members adding up to `members`."""
    sizes = []
    while members > BRANCH_LARGEST:
        size = rng.randint(BRANCH_SMALLEST, min(BRANCH_LARGEST, members - BRANCH_SMALLEST))
        sizes.append(size)
        members -= size
    return [*sizes, members]


def college_sizes(members_total):
    colleges = max(1, members_total // MEMBERS_PER_COLLEGE)
    sizes = [members_total // colleges] * colleges
    sizes[-1] += members_total - sum(sizes)
    return sizes


def members_copy(branches, sizes, rng):
    """Every member, branch by branch, with COPY, each of their branch's category. Returns (id,
    category, branch id) in id order."""
    from members.models import Member

    def rows():
        n = 0
        for branch, size in zip(branches, sizes, strict=True):
            for _ in range(size):
                yield {**member_fields(n, rng), "branch_id": branch.pk, "category": branch.category}
                n += 1

    copy_write(Member, rows())
    return list(Member.objects.order_by("pk").values_list("pk", "category", "branch_id"))


def chained(rows, heads):
    """The ledgers' hash chains over `rows` (dicts of the hashed columns less the two hashes, in id
    order), each linked on from its chain's head in `heads` (chain → hash, updated): each row's
    `prev_hash` and `hash` as scoring.ledger_chain computes them for the entries it saves. The one
    place this builder knows how the chains run."""
    from scoring.ledger_chain import HASHED_FIELDS, entry_hash

    for row in rows:
        row["prev_hash"] = heads[row["chain"]]
        row["hash"] = heads[row["chain"]] = entry_hash(**{name: row[name] for name in HASHED_FIELDS})
        yield row


def ledger_copy(members, plans, semesters, year, admin, rng):
    """Every member's entries with COPY, LEDGER_CHUNK a transaction. Returns the number of entries."""
    from django.utils import timezone

    fields = ledger_fields(members, plans, semesters, year, admin.pk, rng)
    recorded_at, count = timezone.now(), 0
    while chunk := list(itertools.islice(fields, LEDGER_CHUNK)):
        ledger_append_copy(chunk, recorded_at, admin)
        count += len(chunk)
    return count


def ledger_append_copy(chunk, recorded_at, admin):
    """Append entries (dicts of ledger fields) with COPY in one transaction, as
    scoring.ledger_chain.ledger_append_many does through the ORM: under the chain's lock, given ids
    after the last entry, chained on from its hash, with the one audit event that covers them."""
    from django.db import connection, transaction

    from members.models import Member
    from partyscore.core.audit import audit_record, chain_heads, chain_lock
    from scoring.ledger_chain import BULK_ACTION, HASHED_FIELDS
    from scoring.models import LedgerEntry

    columns = ["id", *(f for f in HASHED_FIELDS if f != "chain"), "chain", "hash"]
    table = LedgerEntry._meta.db_table
    member_ids = {f["member_id"] for f in chunk}
    branch_of = dict(Member.objects.filter(pk__in=member_ids).values_list("pk", "branch_id"))
    with transaction.atomic(), connection.cursor() as cursor:
        chains = set(branch_of.values())
        chain_lock(chains)
        heads = chain_heads(LedgerEntry, chains)
        last_id = LedgerEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
        rows = (
            {"id": last_id + 1 + n, "recorded_at": recorded_at, "chain": branch_of[f["member_id"]], **f}
            for n, f in enumerate(chunk)
        )
        with cursor.cursor.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy:
            for row in chained(rows, heads):
                copy.write_row([row[c] for c in columns])
                head = row["hash"]
        last = last_id + len(chunk)
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [last])
        audit_record(
            actor=admin,
            action=BULK_ACTION,
            target=None,
            reason="基准数据",
            after={"first": last_id + 1, "last": last, "count": len(chunk), "hash": head},
        )


def appoint(admin, colleges, branches, year):
    """The role holders the load test's plan (benchmarks/load/plan.py) looks for, through the
    service: in each of the first colleges a secretary (an account of its own), and in its first
    branch the secretary, two panelists (members with accounts), a mass representative, and a few
    plain members with accounts. Returns {college id: its secretary}."""
    from members.models import Member, Role
    from members.services import role_assign
    from tests.builders import make_user

    starts = datetime.date(year - HISTORY, 1, 1)
    secretaries = {}
    for c, college in enumerate(colleges[:COLLEGES_WITH_ACCOUNTS]):
        secretaries[college.pk] = make_user(f"college{c}", f"党总支书记{c}")
        role_assign(
            actor=admin,
            user=secretaries[college.pk],
            organization=college,
            role=Role.GENERAL_BRANCH_SECRETARY,
            starts_on=starts,
        )
        branch = next(b for b in branches if b.parent_id == college.pk)
        accounts = []
        for member in Member.objects.filter(branch=branch).order_by("number")[: 3 + PLAIN_ACCOUNTS]:
            member.user = make_user(member.number, member.name)
            member.save(update_fields=["user"])
            accounts.append(member.user)
        for user, role in zip(accounts, (Role.BRANCH_SECRETARY, Role.PANEL_MEMBER, Role.PANEL_MEMBER), strict=False):
            role_assign(actor=admin, user=user, organization=branch, role=role, starts_on=starts)
        role_assign(
            actor=admin,
            user=make_user(f"mass{c}", f"群众代表{c}"),
            organization=branch,
            role=Role.MASS_REPRESENTATIVE,
            starts_on=starts,
        )
    return secretaries


def analyze():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def build(members_total, year, rng, phases):
    from benchmarks.load.plan import build_plan
    from members.models import Member
    from scoring.models import MemberYearTotal, Period, PeriodKind
    from scoring.services import cycle_open, recalculate, scheme_preset_load
    from tests.builders import make_user

    years = range(year - HISTORY, year + 1)
    with phases("tree, cycles, schemes and role holders (services)"):
        admin = make_admin("admin")  # the load test's plan appoints its committee accounts as "admin"
        sizes = [branch_sizes(n, rng) for n in college_sizes(members_total)]
        # Staff branches and student branches (about 40% staff), as a university has them.
        categories = [
            [Member.Category.STAFF if rng.random() < 0.4 else Member.Category.STUDENT for _ in s] for s in sizes
        ]
        committee, colleges, branches = build_tree(admin, categories)
        for y in years:
            cycle_open(actor=admin, year=y, committee=committee)
        presets = ((Member.Category.STAFF, "A-staff"), (Member.Category.STUDENT, "A-student"))
        schemes = {
            y: {c: scheme_preset_load(actor=admin, preset=p, year=y, owner=committee) for c, p in presets}
            for y in years
        }
    with phases("members (COPY)"):
        members = members_copy(branches, [n for s in sizes for n in s], rng)
    with phases("role holders and accounts (services)"):
        secretaries = appoint(admin, colleges, branches, year)
    semesters = list(Period.objects.filter(cycle__year=year, kind=PeriodKind.SEMESTER).order_by("index"))
    semester_days = [(s.ends_on - s.starts_on).days + 1 for s in semesters]
    plans = {
        category: make_plans(item_table(scheme), ENTRIES_PER_MEMBER, semester_days, rng)
        for category, scheme in schemes[year].items()
    }
    with phases("ledger (COPY, hash chain)"):
        entries = ledger_copy(members, plans, semesters, year, admin, rng)
    with phases("ANALYZE after the ledger"):
        analyze()
    with phases("earlier years' totals and outcomes (COPY)"):
        stored_results(members, schemes, years[:-1], rng, write=copy_write)
    with phases("the year's totals and outcomes (one recalculation)"):
        recalculate(year=year)
    with phases("the year's review data (COPY)"):
        totals = [
            (*row, year)
            for row in MemberYearTotal.objects.filter(year=year, total__isnull=False)
            .order_by("member_id")
            .values_list("member_id", "branch_id", "total")
        ]
        member_reviews(totals, semesters[0], admin, rng, write=copy_write)
        reps = [make_user(f"rep{k}") for k in range(3)]  # the forms' mass representatives: plain users
        branch_reviews(branches, totals, year, admin, reps, rng, write=copy_write)
    with phases("the load test's plan"):
        plan = build_plan()
    with phases("ANALYZE at the end"):
        analyze()
    return {
        "admin": admin,
        "committee": committee,
        "colleges": colleges,
        "branches": branches,
        "members": members,
        "semesters": semesters,
        "entries": entries,
        "secretaries": secretaries,
        "plan": plan,
    }


# ── measuring ────────────────────────────────────────────────────────────────────────────────


def measure_chains():
    """The nightly tamper check's chain walk over the whole province (scoring.chain_verify)."""
    from scoring.chain_verify import verify

    start = time.perf_counter()
    report = verify()
    seconds = time.perf_counter() - start
    if not report.intact:
        first = report.breaks[0]
        sys.exit(f"the built chains are broken: {first.table} {first.row_id} {first.kind} ({first.detail})")
    return {"seconds": seconds, "ledger": report.ledger_count, "audit": report.audit_count}


def measure_recalculation(connection, built, year, repeat, rng):
    from benchmarks import recalculate as bench

    figures = bench.measure(connection, year, built["branches"][0], repeat)
    rows = bench.baseline_rows(connection, year)
    bench.verify_sample(connection, built["members"], built["semesters"], year, rng)
    stored = bench.verify_all_from_baseline(rows, built["semesters"], year)
    assert len(stored) == len(built["members"]), (len(stored), len(built["members"]))
    figures["repeat"] = repeat
    figures["branch_members"] = sum(1 for m in built["members"] if m[2] == built["branches"][0].pk)
    return figures


def measure_dashboard(connection, built, year):
    from django.test import Client
    from django.urls import reverse

    from benchmarks.dashboard import measure
    from members.models import User

    viewer = User.objects.get(username=built["plan"]["accounts"]["committee"][0]["username"])
    client = Client()
    client.force_login(viewer)
    url = reverse("dashboard_org", args=[built["committee"].pk]) + f"?year={year}"
    figures = measure(connection, client, url, viewer, built["committee"], built["branches"], year)
    figures["slowest"] = [(seconds, rows, sql[:200]) for seconds, rows, sql in figures["slowest"]]
    return figures


def timed(func, traced=None):
    """Wall and CPU seconds of one call of `func`, then the peak of Python allocations of another
    (of `traced` if given: the same work, counted as well)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = func()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    tracemalloc.start()
    (traced or func)()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, {"seconds": seconds, "cpu": cpu, "peak": peak}


def measure_export(connection, built, year):
    """The first college's ledger workbook, asked for as its secretary and built as a background job
    (tasks run eagerly in this process); beside it raw XlsxWriter writing the cells read back."""
    from benchmarks.export import record_cells, write_raw_xlsxwriter
    from benchmarks.recalculate import counting
    from scoring.io_services import export_start
    from scoring.models import ExportJob

    college = built["colleges"][0]
    actor = built["secretaries"][college.pk]

    def job():
        started = export_start(
            actor=actor, kind=ExportJob.Kind.BRANCH_WORKBOOK, organization=college, year=year, force_background=True
        )
        if not isinstance(started, ExportJob):
            raise RuntimeError(f"export_start answered {type(started).__name__}, not a background job")
        started.refresh_from_db()
        if started.status != ExportJob.Status.DONE:
            raise RuntimeError(f"export job {started.pk} ended {started.status}: {started.error}")
        return started

    counted = []
    done, ours = timed(job, traced=lambda: counted.append(counting(connection, job)))
    ours["queries"] = counted[0][0]
    ours["job_seconds"] = (done.finished_at - done.started_at).total_seconds()
    ours["bytes"] = done.file.size
    # The same cells by raw XlsxWriter, as benchmarks/export.py writes them: the cells our export
    # writes are recorded to a file, then written into a zip of workbooks alike.
    workdir = Path(tempfile.mkdtemp(prefix="province-export-"))
    with zipfile.ZipFile(done.file.path) as archive:  # a zip of workbooks, or one workbook (itself a zip)
        zipped = "[Content_Types].xml" not in archive.namelist()
    counts = record_cells(ExportJob.Kind.BRANCH_WORKBOOK, college, workdir / "cells.pickle", year=year)
    out = workdir / ("raw.zip" if zipped else "raw.xlsx")
    _none, raw = timed(lambda: write_raw_xlsxwriter(str(out), workdir / "cells.pickle", as_zip=zipped))
    raw["bytes"] = out.stat().st_size
    for stored in ExportJob.objects.filter(owner=actor):
        stored.file.delete(save=False)
    return {
        "ours": ours,
        "raw": raw,
        "members": sum(
            1 for m in built["members"] if m[2] in {b.pk for b in built["branches"] if b.parent_id == college.pk}
        ),
        "workbooks": counts["books"],
        "sheets": counts["sheets"],
        "rows": counts["rows"],
        "zipped": zipped,
    }


def measure_pages(plan):
    from benchmarks.load.probe import probe_pages

    return [
        {"role": role, "page": page, "status": status, "ms": ms, "queries": queries}
        for role, page, status, ms, queries, _slow_ms, _sql in probe_pages(plan)
    ]


# ── one size ─────────────────────────────────────────────────────────────────────────────────


def database_facts(connection):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version'), pg_database_size(current_database())")
        version, size = cursor.fetchone()
    return version, size


def run_size(args):
    """Build and measure one size in this process; returns its figures (also kept as JSON)."""
    url = database_url(args.server, args.members)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="province-media-"))
    figures = {
        "members": args.members,
        "commit": commit(),
        "machine": machine(),
        "date": datetime.date.today().isoformat(),
        "load_before": load_average(),
    }
    print(f"province of {args.members:,} members into {url}", flush=True)
    recreate_database(url)
    started = time.perf_counter()
    phases = Phases()
    with phases("migrate"):
        django_setup()
    check_signatures()
    from django.db import connection
    from django.utils import timezone

    from benchmarks.recalculate import scored_year

    year = scored_year(timezone.localdate())
    rng = random.Random(args.seed)
    built = build(args.members, year, rng, phases)
    figures["build"], figures["build_cpu"] = phases.seconds, phases.cpu
    figures["built_seconds"] = time.perf_counter() - started
    figures["postgresql"], figures["database_bytes"] = database_facts(connection)
    figures.update(
        year=year,
        colleges=len(built["colleges"]),
        branches=len(built["branches"]),
        entries=built["entries"],
    )
    print(f"built in {figures['built_seconds']:.0f} s; checking the chains …", flush=True)
    figures["chains"] = measure_chains()
    print("recalculation …", flush=True)
    figures["recalculate"] = measure_recalculation(connection, built, year, args.repeat, rng)
    print("committee dashboard …", flush=True)
    figures["dashboard"] = measure_dashboard(connection, built, year)
    print("college export …", flush=True)
    figures["export"] = measure_export(connection, built, year)
    print("pages …", flush=True)
    figures["pages"] = measure_pages(built["plan"])
    figures["load_after"] = load_average()
    figures["seconds"] = time.perf_counter() - started
    connection.close()
    if not args.keep:
        drop_database(url)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{args.members}.json").write_text(json.dumps(figures, indent=1, default=str))
    print(summary(figures), flush=True)
    return figures


def summary(f):
    r, d, e = f["recalculate"], f["dashboard"], f["export"]
    slow = [p for p in f["pages"] if p["status"] != 200]
    return (
        f"{f['members']:,} members, {f['entries']:,} entries: built in {f['built_seconds']:.0f} s; "
        f"recalculate {r['full']:.1f} s vs raw {r['baseline']:.2f} s (×{r['full'] / r['baseline']:.1f}); "
        f"dashboard cold {d['cold'] * 1000:.0f} ms, warm {d['warm'] * 1000:.0f} ms, raw {d['raw'] * 1000:.0f} ms; "
        f"college export {e['ours']['seconds']:.1f} s vs raw {e['raw']['seconds']:.1f} s; "
        f"pages {len(f['pages'])}, not 200: {[(p['role'], p['page'], p['status']) for p in slow]}; "
        f"whole run {f['seconds']:.0f} s"
    )


# ── the report ───────────────────────────────────────────────────────────────────────────────


def growth(small, large, cost_small, cost_large):
    """How a cost grows from the smallest to the largest size: (ratio, exponent k in cost ∝ members^k)."""
    ratio = cost_large / cost_small if cost_small else math.inf
    return ratio, math.log(ratio) / math.log(large / small) if 0 < ratio < math.inf and large > small else math.nan


def verdict(k):
    if math.isnan(k):
        return "—"
    if k > 1.1:
        return "**worse than linear**"
    if k >= 0.9:
        return "linear"
    return "flat" if k < 0.2 else "less than linear"


def costs(f):
    """The costs whose growth is stated: name → seconds (or bytes)."""
    r, d, e = f["recalculate"], f["dashboard"], f["export"]
    return {
        "build (all of it)": f["built_seconds"],
        "ledger COPY with the hash chain": f["build"]["ledger (COPY, hash chain)"],
        "chain check (`verify_ledger`'s walk)": f["chains"]["seconds"],
        "full recalculation `recalculate(year=…)`": r["full"],
        "baseline: raw `GROUP BY` of the year's ledger": r["baseline"],
        "one branch `recalculate(year=…, organization=branch)`": r["branch"],
        "committee dashboard, cold": d["cold"],
        "committee dashboard, warm": d["warm"],
        "baseline: its aggregate SQL replayed raw": d["raw"],
        "college workbook as a background job": e["ours"]["seconds"],
        "baseline: raw XlsxWriter, same cells": e["raw"]["seconds"],
    }


def seconds_text(value):
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"


def report(results):
    results = sorted(results, key=lambda f: f["members"])
    small, large = results[0], results[-1]
    sizes = " | ".join(f"{f['members']:,}" for f in results)
    head = f"| | {sizes} |\n|---|{'---|' * len(results)}"
    span = large["members"] / small["members"]
    mb = 1024 * 1024

    def row(name, render):
        return f"| {name} | " + " | ".join(render(f) for f in results) + " |"

    runs = "\n".join(
        f"- {f['members']:,} members: {f['date']}, load average {f['load_before']} before, {f['load_after']} "
        f"after; whole run {f['seconds'] / 60:.0f} min"
        for f in results
    )
    built = "\n".join(
        [
            head,
            row("colleges / branches", lambda f: f"{f['colleges']:,} / {f['branches']:,}"),
            row("ledger entries", lambda f: f"{f['entries']:,}"),
            row("database on disk", lambda f: f"{f['database_bytes'] / mb / 1024:.1f} GB"),
            *(
                row(name, lambda f, n=name: f"{seconds_text(f['build'][n])} ({seconds_text(f['build_cpu'][n])})")
                for name in large["build"]
            ),
            row("**build, all of it**", lambda f: f"**{seconds_text(f['built_seconds'])}**"),
            row(
                "ledger rows written a second",
                lambda f: f"{f['entries'] / f['build']['ledger (COPY, hash chain)']:,.0f}",
            ),
            row(
                "chain check: ledger and audit rows, time",
                lambda f: f"{f['chains']['ledger'] + f['chains']['audit']:,} in {seconds_text(f['chains']['seconds'])}",
            ),
        ]
    )
    measured = "\n".join(
        [
            head,
            row("full recalculation (median)", lambda f: seconds_text(f["recalculate"]["full"])),
            row("its queries", lambda f: f"{f['recalculate']['full_queries']:,}"),
            row("baseline: raw `GROUP BY`", lambda f: seconds_text(f["recalculate"]["baseline"])),
            row(
                "**ratio** (goal ≤ ×3)",
                lambda f: f"**×{f['recalculate']['full'] / f['recalculate']['baseline']:.1f}**",
            ),
            row(
                "one branch (members, queries)",
                lambda f: (
                    f"{seconds_text(f['recalculate']['branch'])} ({f['recalculate']['branch_members']}, "
                    f"{f['recalculate']['branch_queries']})"
                ),
            ),
            row(
                "committee dashboard, cold (queries)",
                lambda f: f"{seconds_text(f['dashboard']['cold'])} ({f['dashboard']['cold_queries']})",
            ),
            row(
                "committee dashboard, warm (queries; goal < 100 ms)",
                lambda f: f"{seconds_text(f['dashboard']['warm'])} ({f['dashboard']['warm_queries']})",
            ),
            row("after a change in one branch", lambda f: seconds_text(f["dashboard"]["changed"])),
            row(
                "baseline: the cold page's aggregate SQL, raw (statements)",
                lambda f: f"{seconds_text(f['dashboard']['raw'])} ({f['dashboard']['aggregates']})",
            ),
            row(
                "cold / raw",
                lambda f: f"×{f['dashboard']['cold'] / f['dashboard']['raw']:.1f}",
            ),
            row(
                "college export: members, workbooks, sheets, rows",
                lambda f: (
                    f"{f['export']['members']:,}, {f['export']['workbooks']}, {f['export']['sheets']:,}, "
                    f"{f['export']['rows']:,}"
                ),
            ),
            row(
                "the job: `export_start(…, force_background=True)` (CPU; queries)",
                lambda f: (
                    f"{seconds_text(f['export']['ours']['seconds'])} ({seconds_text(f['export']['ours']['cpu'])}; "
                    f"{f['export']['ours']['queries']})"
                ),
            ),
            row(
                "baseline: raw XlsxWriter (CPU)",
                lambda f: f"{seconds_text(f['export']['raw']['seconds'])} ({seconds_text(f['export']['raw']['cpu'])})",
            ),
            row(
                "peak memory: the job / raw",
                lambda f: f"{f['export']['ours']['peak'] / mb:.0f} / {f['export']['raw']['peak'] / mb:.0f} MB",
            ),
            row(
                "file: the job / raw",
                lambda f: f"{f['export']['ours']['bytes'] / mb:.1f} / {f['export']['raw']['bytes'] / mb:.1f} MB",
            ),
        ]
    )
    growth_lines = [
        f"**How each cost grows** from {small['members']:,} to {large['members']:,} members (k in cost ∝ "
        'members^k; linear is k = 1, "per ×100 members" is 100^k):',
        "",
        f"| cost | {small['members']:,} | {large['members']:,} | ×{span:,.0f} members gives | "
        "per ×100 members | growth |",
        "|---|---|---|---|---|---|",
    ]
    for name, cost in costs(large).items():
        before = costs(small)[name]
        ratio, k = growth(small["members"], large["members"], before, cost)
        growth_lines.append(
            f"| {name} | {seconds_text(before)} | {seconds_text(cost)} | ×{ratio:,.1f} | ×{100**k:,.1f} "
            f"| {verdict(k)} |"
        )
    pages = {(p["role"], p["page"]): {} for f in results for p in f["pages"]}
    for f in results:
        for p in f["pages"]:
            pages[(p["role"], p["page"])][f["members"]] = p
    columns = " | ".join(f"{f['members']:,}: ms (queries)" for f in results)
    page_lines = [
        f"| role | page | {columns} | growth |",
        f"|---|---|{'---|' * len(results)}---|",
    ]
    for (role, page), by_size in pages.items():
        cells = []
        for f in results:
            p = by_size.get(f["members"])
            status = "" if p is None or p["status"] == 200 else f" **{p['status']}**"
            cells.append("—" if p is None else f"{p['ms']:.0f} ({p['queries']}){status}")
        first, last = by_size.get(small["members"]), by_size.get(large["members"])
        note = "—"
        if first and last:
            _ratio, k = growth(small["members"], large["members"], first["ms"], last["ms"])
            note = verdict(k) + (" — queries differ" if last["queries"] != first["queries"] else "")
        page_lines.append(f"| {role} | `{page}` | {' | '.join(cells)} | {note} |")
    worse = [
        name
        for name, cost in costs(large).items()
        if growth(small["members"], large["members"], costs(small)[name], cost)[1] > 1.1
    ]
    worse_text = (
        "Worse than linear (cost ∝ members^k with k > 1.1): " + ", ".join(worse) + "."
        if worse
        else "Nothing grows worse than linear (every k ≤ 1.1)."
    )
    if span == 1:
        growth_lines, worse_text = [], "One size only: `--sizes` measures the growth."
    growth_table, page_table = "\n".join(growth_lines), "\n".join(page_lines)
    return f"""
Measured at commit `{large["commit"]}` on {large["machine"]}, PostgreSQL {large["postgresql"]},
Python {sys.version.split()[0]}:
{runs}

**Built** (each size into a fresh database, dropped after its run; each step's wall time, and in
brackets the CPU time of the benchmark's own process in it: the rest is PostgreSQL's, or waiting):

{built}

**Measured** (recalculation: median of {large["recalculate"]["repeat"]} after a counted first run, baseline
median of 3 after a warm-up; dashboard: warm median of 5, cold and after-a-change medians of 3; export: one
timed run, then one under tracemalloc for the peak):

{measured}

{growth_table}

{worse_text}

**The load test's pages**, each requested in-process through the test client as its role (the first
account of each role in the plan; median of 3 after a warm-up), with its queries. The probed branch's
review data are drawn at random at each size (a determination decided or not, objections), so a page's
count may differ by one between sizes with its data; the counts pinned in the test suite at two sizes
are what rules out a query per row:

{page_table}
"""


def write_report(sizes):
    """Write the figures of `sizes` (or of every size kept for the current commit) to the docs."""
    head = commit()
    results = [json.loads(path.read_text()) for path in sorted(OUT.glob("*.json"))]
    results = [f for f in results if f["commit"] == head and (not sizes or f["members"] in sizes)]
    if not results:
        sys.exit(f"no figures for commit {head} in {OUT}")
    section = report(results)
    write_section("province", section)
    print(section)


# ── the command ──────────────────────────────────────────────────────────────────────────────


def arguments():
    parser = argparse.ArgumentParser(prog="python -m benchmarks.province", description=__doc__.split("\n")[0])
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--members", type=int, help="one size, in this process")
    size.add_argument("--sizes", help="comma-separated sizes, each in a fresh process: 3000,30000,300000")
    parser.add_argument("--repeat", type=int, default=3, help="full recalculations timed after the first")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--server", default=SERVER, help="PostgreSQL server URL (without a database name)")
    parser.add_argument("--keep", action="store_true", help="leave the database (several GB at 300,000)")
    parser.add_argument("--dry-run", action="store_true", help="print the figures, leave docs/performance.md")
    return parser.parse_args()


def main():
    args = arguments()
    if args.members:
        figures = run_size(args)
        if not args.dry_run:
            write_report(None)
        if any(p["status"] != 200 for p in figures["pages"]):
            sys.exit("some pages did not answer 200: see the table")
        return
    sizes = sorted(int(s) for s in args.sizes.split(","))
    for members in sizes:
        command = [sys.executable, "-m", "benchmarks.province", "--members", str(members), "--dry-run"]
        command += ["--repeat", str(args.repeat), "--seed", str(args.seed), "--server", args.server]
        command += ["--keep"] if args.keep else []
        subprocess.run(command, cwd=ROOT, check=True)  # noqa: S603 — this interpreter, our own arguments
    if args.dry_run:
        print(report([json.loads((OUT / f"{members}.json").read_text()) for members in sizes]))
    else:
        write_report(sizes)


if __name__ == "__main__":
    main()
