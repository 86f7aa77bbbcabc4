"""Concurrent audited writes on PostgreSQL: how many writers the hash chains' advisory locks let through.

Builds a university (100 branches of 50 members by default, a few ledger entries each, bulk
appended), then runs 1, 8 and 32 writer processes for a fixed time. Each writer has its own
database connection and its own branches, and writes through the real services: two ledger
entries (`scoring.services.entry_record`, which also recalculates the branch in its transaction)
for every roster edit (`members.services.member_update`, a plain audited write). Beside it, in the
same run, the same load with the chain lock made a no-op (here only: the product has no such
switch), which shows whether the lock is the ceiling. A sampler counts, every 50 ms, the writers
waiting for an advisory lock (`pg_stat_activity.wait_event = 'advisory'`). After the locked runs
the chains are verified (`scoring.chain_verify.verify`).

Run: DATABASE_URL=postgres://… .venv/bin/python -m benchmarks.concurrent_writes
     [--branches 100 --members-per-branch 50 --writers 1,8,32 --seconds 20] [--smoke] [--dry-run]
"""

import argparse
import datetime
import multiprocessing
import os
import random
import statistics
import threading
import time

from benchmarks.common import Stamp, django_setup, write_section

MODES = ("chain lock", "no lock (benchmark only)")


def build_university(branches, members_per_branch, entries_per_member, year):
    from benchmarks import recalculate

    built_branches, members, _semesters, entries = recalculate.build(
        branches * members_per_branch, branches, entries_per_member, year, random.Random(2026)
    )
    return [b.pk for b in built_branches], len(members), entries


def no_chain_lock():
    """Make the chains' lock a no-op in this process, wherever it is imported by name."""
    from partyscore.core import audit
    from scoring import ledger_chain

    for module in (audit, ledger_chain):
        if hasattr(module, "chain_lock"):
            module.chain_lock = lambda *args, **kwargs: None


def writer(branch_ids, year, locked, seconds, barrier, results):
    """One writer process: entries and roster edits on its own branches until its time is up."""
    from django.db import connection

    from members.models import Member, User
    from members.services import member_update
    from partyscore.core.exceptions import ApplicationError
    from scoring.models import Period, PeriodKind, RuleItem
    from scoring.services import entry_record

    if not locked:
        no_chain_lock()
    actor = User.objects.get(username="bench-admin")
    today = datetime.date.today()
    period = Period.objects.get(cycle__year=year, kind=PeriodKind.SEMESTER, starts_on__lte=today, ends_on__gte=today)
    members = list(Member.objects.filter(branch_id__in=branch_ids).select_related("branch").order_by("pk"))
    items = {
        category: list(
            RuleItem.objects.filter(
                scheme__year=year,
                scheme__member_category=category,
                kind=RuleItem.Kind.BONUS,
                evidence_required=False,
                times_per_period__isnull=True,
            ).order_by("code")
        )
        for category in {m.category for m in members}
    }
    latencies, refused, n = [], 0, 0
    barrier.wait()
    deadline = time.perf_counter() + seconds
    while (start := time.perf_counter()) < deadline:
        member = members[n % len(members)]
        try:
            if n % 3 == 2:
                member_update(actor=actor, member=member, data={"phone": f"1380000{n % 10000:04d}"})
            else:
                choices = items[member.category]
                entry_record(
                    actor=actor,
                    member=member,
                    item=choices[(n // len(members)) % len(choices)],
                    period=period,
                    points=1,
                    reason=f"基准写入{n}",
                )
        except ApplicationError:
            refused += 1  # a cap reached: not a write
        else:
            latencies.append(time.perf_counter() - start)
        n += 1
    connection.close()
    results.put((latencies, refused))


def lock_waiters(stop, samples):
    """Every 50 ms: how many sessions of this database wait for an advisory lock."""
    from django.db import connection

    with connection.cursor() as cursor:
        while not stop.is_set():
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
            )
            samples.append(cursor.fetchone()[0])
            time.sleep(0.05)
    connection.close()


def run(writers, branch_ids, year, locked, seconds):
    """N writer processes at once, each on its own share of the branches; returns the figures."""
    from django.db import connections

    connections.close_all()  # each child opens its own
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(writers + 1), context.Queue()
    shares = [branch_ids[i::writers] for i in range(writers)]
    processes = [
        context.Process(target=writer, args=(share, year, locked, seconds, barrier, results)) for share in shares
    ]
    for process in processes:
        process.start()
    barrier.wait()
    stop, samples = threading.Event(), []
    sampler = threading.Thread(target=lock_waiters, args=(stop, samples))
    sampler.start()
    outcomes = [results.get() for _ in processes]
    stop.set()
    sampler.join()
    for process in processes:
        process.join()
        assert process.exitcode == 0, f"a writer failed ({process.exitcode})"
    latencies = sorted(t for lat, _refused in outcomes for t in lat)
    return {
        "writes": len(latencies),
        "per_second": len(latencies) / seconds,
        "p50": statistics.median(latencies) * 1000,
        "p95": latencies[int(len(latencies) * 0.95)] * 1000,
        "refused": sum(r for _lat, r in outcomes),
        "waiting": statistics.mean(samples) if samples else 0.0,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--branches", type=int, default=100)
    parser.add_argument("--members-per-branch", type=int, default=50)
    parser.add_argument("--entries-per-member", type=int, default=4)
    parser.add_argument("--writers", default="1,8,32", help="comma-separated numbers of writer processes")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--smoke", action="store_true", help="a small, quick run that checks the script")
    parser.add_argument("--dry-run", action="store_true", help="print the figures, leave docs/performance.md")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        parser.error("set DATABASE_URL to a PostgreSQL database: the advisory locks are PostgreSQL's")
    if args.smoke:
        args.branches, args.members_per_branch, args.seconds, args.dry_run = 16, 10, 2, True
        args.writers = "1,4"
    writer_counts = [int(n) for n in args.writers.split(",")]
    started, stamp = time.perf_counter(), Stamp()
    django_setup()
    from django.db import connection

    from benchmarks.recalculate import scored_year
    from scoring.chain_verify import verify

    year = scored_year(datetime.date.today())
    branch_ids, members, entries = build_university(
        args.branches, args.members_per_branch, args.entries_per_member, year
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"built {len(branch_ids)} branches, {members:,} members, {entries:,} entries", flush=True)
    figures = {}
    for locked, mode in zip((True, False), MODES, strict=True):
        for n in writer_counts:
            figures[mode, n] = f = run(n, branch_ids, year, locked, args.seconds)
            print(
                f"  {mode}, {n} writers: {f['per_second']:.0f} writes/s, p50 {f['p50']:.0f} ms, "
                f"p95 {f['p95']:.0f} ms, waiting for a lock {f['waiting']:.1f} ({f['refused']} refused)",
                flush=True,
            )
        if locked:
            report = verify()
            assert report.intact, report.breaks
            print(f"  chains intact after the locked runs ({report.ledger_count:,} entries)", flush=True)
    rows = [
        "| writers | " + " | ".join(f"{mode}: writes/s, p50 / p95 ms, waiting" for mode in MODES) + " |",
        "|---|" + "---|" * len(MODES),
    ]
    for n in writer_counts:
        cells = [
            f"{figures[m, n]['per_second']:.0f}, {figures[m, n]['p50']:.0f} / {figures[m, n]['p95']:.0f}, "
            f"{figures[m, n]['waiting']:.1f}"
            for m in MODES
        ]
        rows.append(f"| {n} | " + " | ".join(cells) + " |")
    section = f"""
{stamp.line(connection)}
{len(branch_ids)} branches, {members:,} members, {entries:,} entries to start with; {args.seconds:g} s
per run. "waiting": the mean number of writers waiting for an advisory lock, sampled every 50 ms.

{chr(10).join(rows)}
"""
    if args.dry_run:
        print(section)
    else:
        write_section("concurrent_writes", section)
    print(f"whole run {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
