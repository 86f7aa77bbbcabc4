"""`manage.py verify_ledger` over a ledger of a million entries: time and the command's peak memory.

Builds the recalculation benchmark's university (25,000 members, 40 entries each by default, bulk
appended to the hash chain), then runs the command in a child process twice, on the whole database
and after cutting the ledger to a tenth (the same memory at both sizes shows it streams).

Run: .venv/bin/python -m benchmarks.verify_ledger [--members 25000 --entries-per-member 40]
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time

from benchmarks.common import ROOT, Stamp, django_setup, write_section
from benchmarks.recalculate import BRANCHES, build, scored_year

# The child reports its own peak memory (VmHWM: getrusage's maxrss would include this process's,
# which Linux carries over to the child through fork and exec).
CHILD = """
import os, re, django
from django.core.management import CommandError, call_command
django.setup()
try:
    call_command("verify_ledger", "--anchor", os.environ["BENCH_ANCHOR"], "--init-anchor")
except CommandError:
    print("(broken)")
print("peak_kb", re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
"""


def run_command():
    """Run the command in a child process; returns (seconds, its peak RSS in MB, its output)."""
    start = time.perf_counter()
    command = [sys.executable, "-c", CHILD]
    output = subprocess.run(  # noqa: S603
        command,
        cwd=ROOT,
        env=os.environ,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    seconds = time.perf_counter() - start
    return seconds, int(output.rsplit("peak_kb", 1)[1]) / 1024, output


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=25000)
    parser.add_argument("--entries-per-member", type=int, default=40)
    parser.add_argument("--dry-run", action="store_true", help="print the figures, leave docs/performance.md")
    args = parser.parse_args()
    django_setup()
    os.environ.setdefault("SECRET_KEY", "benchmark")
    from django.db import connection
    from django.utils import timezone

    from partyscore.core.db import append_only_guard, append_only_lift
    from partyscore.core.models import AuditEvent
    from scoring.models import LedgerEntry

    started = time.perf_counter()
    year = scored_year(timezone.localdate())
    _branches, members, _semesters, entries = build(
        args.members, BRANCHES, args.entries_per_member, year, random.Random(2026)
    )
    built = time.perf_counter() - started
    audit = AuditEvent.objects.count()
    print(f"built {len(members):,} members, {entries:,} entries in {built:.0f} s", flush=True)
    stamp = Stamp()
    # The stored figures as the application keeps them, so that the check of the figures compares.
    from scoring.figures_verify import verify_figures
    from scoring.recalculation import recalculate_year

    recalculate_year(year=year)
    with connection.cursor() as cursor:  # planner statistics, as a database in service has them
        cursor.execute("ANALYZE")
    os.environ["BENCH_ANCHOR"] = os.path.join(tempfile.mkdtemp(), "anchor.json")
    full_seconds, full_mb, output = run_command()
    assert "完整" in output, output
    start = time.perf_counter()
    assert verify_figures() == []
    figures_seconds = time.perf_counter() - start

    # A tenth of the ledger: the newest entries deleted (guard lifted on this throw-away database).
    # The command then reports the cut (the bulk appends' audit events point past it); the time and
    # memory are what is compared here.
    keep = LedgerEntry.objects.order_by("id").values_list("id", flat=True)[entries // 10]
    append_only_lift(connection, LedgerEntry._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM scoring_ledgerentry WHERE id >= %s", [keep])
    append_only_guard(connection, LedgerEntry._meta.db_table)
    tenth_seconds, tenth_mb, _ = run_command()

    section = f"""
## Verifying the hash chains

`benchmarks/verify_ledger.py` builds the recalculation benchmark's university ({len(members):,} members,
{entries:,} ledger entries bulk-appended to the chain, {audit:,} audit events) and runs
`manage.py verify_ledger` on it in a child process.

{stamp.line(connection)}

| ledger entries | time | entries per second | peak memory of the command |
|---|---|---|---|
| {entries:,} | {full_seconds:.1f} s | {entries / full_seconds:,.0f} | {full_mb:.0f} MB |
| {entries // 10:,} (the rest cut off) | {tenth_seconds:.1f} s | {entries // 10 / tenth_seconds:,.0f} | \
{tenth_mb:.0f} MB |

The rows are streamed in (chain, id) order (`iterator()`, a server-side cursor on PostgreSQL), so
memory does not grow with the ledger; the time is spent reading each row and recomputing its hash in Python
(JSON of its columns, SHA-256). The command then derives every branch's stored totals, ranks and
outcomes of the open year again through the recalculation's code and compares them (after
`ANALYZE`): {figures_seconds:.1f} s of the time above for {len(members):,} members.
"""
    if args.dry_run:
        print(section)
    else:
        write_section("verify_ledger", section)
    print(
        f"verify_ledger: {entries:,} entries in {full_seconds:.1f} s (of which the stored figures "
        f"{figures_seconds:.1f} s), peak {full_mb:.0f} MB; "
        f"whole run {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
