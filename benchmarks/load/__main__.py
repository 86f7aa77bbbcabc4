"""The load test: the demo university at 5,000 members on PostgreSQL, gunicorn, locust on the loopback.

    .venv/bin/python -m benchmarks.load            # full run (3 min, 40 users), figures to docs/performance.md
    .venv/bin/python -m benchmarks.load --smoke    # 20 s, 12 users: checks the script; docs untouched
    .venv/bin/python -m benchmarks.load --probe    # each page once per role in-process: time, queries
    .venv/bin/python -m benchmarks.load --wrk      # each page under wrk beside a trivial view (benchmarks/load/wrk.py)
    .venv/bin/python -m benchmarks.load --wrk --smoke --reuse   # 3 s a page, on the last run's database

wrk is a benchmark-only tool, not a dependency of the project: `apt-get install -y wrk`.

1. drops and re-creates the PostgreSQL database (--database-url, default partyscore_load), migrates,
   seeds the demo university scaled to --members, writes the plan of accounts and ids
   (benchmarks/load/plan.py), runs VACUUM ANALYZE and collectstatic;
2. starts gunicorn (--workers sync workers) on a free loopback port with production settings served
   over plain HTTP (benchmarks/load/settings.py);
3. runs locust headless for --run-time with --users users (one class per role, 1–3 s between
   clicks, benchmarks/load/locustfile.py) and keeps its CSV files in benchmarks/out/load/;
4. writes the per-page table (requests, failures, throughput, p50/p95/p99) to docs/performance.md.

With --wrk, step 3 is wrk instead of locust: each page in turn at --connections connections with
no pause between requests, beside a trivial view (benchmarks/load/wrk.py says how); its table goes
to its own section of docs/performance.md.
"""

import argparse
import datetime
import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from benchmarks.common import ROOT, commit, load_average, recreate_database, write_section
from benchmarks.common import machine as cpu_and_cores
from benchmarks.load.pages import LOGIN, PAGES

OUT = ROOT / "benchmarks" / "out" / "load"
GOAL_MS = 500
ROLE_NAMES = {
    "committee": "组织部",
    "college": "党总支书记",
    "branch": "党支部书记",
    "member": "党员（手机）",
    "panelist": "考评小组成员",
    "mass": "群众代表",
}


def arguments():
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a check of the script: 20 s, 12 users unless given, docs/performance.md untouched",
    )
    parser.add_argument("--probe", action="store_true", help="no load: time each page in-process, count queries")
    parser.add_argument("--wrk", action="store_true", help="each page under wrk beside a trivial view, not locust")
    parser.add_argument("--duration", type=int, help="--wrk: seconds of measurement per page (default 15)")
    parser.add_argument("--warmup", type=int, help="--wrk: seconds of warm-up per page, not measured (default 2)")
    parser.add_argument("--connections", type=int, default=10, help="--wrk: connections kept busy")
    parser.add_argument("--threads", type=int, default=2, help="--wrk: wrk's threads")
    parser.add_argument(
        "--only", nargs="*", default=[], help="--wrk: only these pages (role:page), besides the trivial view"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the database and plan of the last run (no seeding): for repeated measurements",
    )
    parser.add_argument("--users", type=int, help="simulated users (default 40)")
    parser.add_argument(
        "--spawn-rate",
        type=float,
        default=1,
        help="users started per second (each login hashes a password: ~0.25 s of CPU)",
    )
    parser.add_argument("--run-time", help="how long locust runs (default 3m)")
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/partyscore_load",
        help="dropped and re-created on every run",
    )
    args = parser.parse_args()
    args.users = args.users or (12 if args.smoke else 40)
    args.run_time = args.run_time or ("20s" if args.smoke else "3m")
    args.duration = args.duration or (3 if args.smoke else 15)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.smoke else 2)
    return args


def prepare(args, env, plan_file):
    """Seed and plan in this process (Django), then let go of every connection before gunicorn.
    With --reuse, the database and plan of the last run as they are."""
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from benchmarks.load.plan import build_plan

    if args.reuse:
        plan, seeded = json.loads(plan_file.read_text()), 0
    else:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        call_command("seed_demo", members=args.members, verbosity=0)
        seeded = time.perf_counter() - started
        plan = build_plan()
        plan_file.write_text(json.dumps(plan))
    with connection.cursor() as cursor:
        if not args.reuse:
            # As autovacuum leaves a database in use: statistics, and the visibility map that lets
            # PostgreSQL count from an index alone.
            cursor.execute("VACUUM ANALYZE")
        cursor.execute(
            "SELECT current_setting('server_version'), (SELECT count(*) FROM members_member), "
            "(SELECT count(*) FROM scoring_ledgerentry), "
            "(SELECT count(*) FROM members_organization WHERE kind = 'general_branch'), "
            "(SELECT count(*) FROM members_organization WHERE kind = 'branch')"
        )
        version, members, entries, colleges, branches = cursor.fetchone()
    call_command("collectstatic", interactive=False, verbosity=0)
    connection.close()
    return plan, {
        "postgresql": version,
        "members": members,
        "entries": entries,
        "colleges": colleges,
        "branches": branches,
        "seconds": seeded,
    }


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(args, env, port):
    log = (OUT / "gunicorn.log").open("w")
    server = subprocess.Popen(  # noqa: S603 — this interpreter, our own arguments
        [
            sys.executable,
            "-m",
            "gunicorn",
            "partyscore.wsgi",
            "--workers",
            str(args.workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "30",
            "--no-control-socket",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{LOGIN[1]}", timeout=5) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    sys.exit(f"gunicorn did not answer on port {port}; see {OUT / 'gunicorn.log'}")


def run_locust(args, port, plan_file):
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(Path(__file__).with_name("locustfile.py")),
        "--headless",
        "--users",
        str(args.users),
        "--spawn-rate",
        str(args.spawn_rate),
        "--run-time",
        args.run_time,
        "--host",
        f"http://127.0.0.1:{port}",
        "--csv",
        str(OUT / "locust"),
        "--only-summary",
        "--stop-timeout",
        "10",
    ]
    env = {**os.environ, "LOAD_PLAN": str(plan_file), "PYTHONPATH": str(ROOT)}
    with (OUT / "locust.log").open("w") as log:
        # Exit code 1 only means some request failed; the figures say which.
        subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)  # noqa: S603


def read_stats():
    import csv

    with (OUT / "locust_stats.csv").open() as stats:
        rows = list(csv.DictReader(stats))
    with (OUT / "locust_failures.csv").open() as failures:
        errors = list(csv.DictReader(failures))
    return rows, errors


def table(rows, seconds):
    """The markdown table, a row per role and page and one for all requests; and the pages over the goal."""
    order = {role: n for n, role in enumerate(PAGES)}
    pages = sorted(
        (r for r in rows if r["Name"] != "Aggregated"),
        key=lambda r: (order[r["Name"].split(":")[0]], r["Name"], r["Type"]),
    )
    lines = [
        "| role | page | method | requests | failures | req/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in [*pages, next(r for r in rows if r["Name"] == "Aggregated")]:
        role, _sep, page = r["Name"].partition(":")
        where = f"{ROLE_NAMES[role]} | `{page}` | {r['Type']}" if page else "**all requests** | | "
        p95 = f"**{r['95%']}**" if int(r["95%"]) >= GOAL_MS else r["95%"]
        lines.append(
            f"| {where} | {int(r['Request Count']):,} | {r['Failure Count']} | "
            f"{int(r['Request Count']) / seconds:.2f} | {r['50%']} | {p95} | {r['99%']} | "
            f"{float(r['Max Response Time']):.0f} |"
        )
    return "\n".join(lines), [f"{r['Name']} ({r['Type']})" for r in pages if int(r["95%"]) >= GOAL_MS], len(pages)


def report(args, facts, rows, errors, machine):
    seconds = machine["seconds"]
    total = next(r for r in rows if r["Name"] == "Aggregated")
    requests = int(total["Request Count"])
    rate = requests / seconds
    own = machine["gunicorn_cpu"] + machine["database_cpu"] + machine["locust_cpu"]
    failures = int(total["Failure Count"])
    figures, slow, page_rows = table(rows, seconds)
    named = f": {', '.join(slow)}" if len(slow) <= 10 else ""
    misses = [
        f"{failures} failed requests" if failures else "",
        f"p95 ≥ {GOAL_MS} ms on {len(slow)} of {page_rows} rows{named}" if slow else "",
    ]
    verdict = f"Goal (p95 < {GOAL_MS} ms on every page, 0 errors): " + (
        "**met**." if not slow and not failures else f"**not met**: {'; '.join(filter(None, misses))}."
    )
    if errors:
        verdict += "\n\nFailures:" + "".join(
            f"\n  - {e['Occurrences']} × {e['Method']} {e['Name']}: {e['Error'][:200]}" for e in errors
        )
    users = ", ".join(f"{ROLE_NAMES[role]} {n}" for role, n in machine["users"].items())
    return f"""## Load test (issue 8)

`python -m benchmarks.load` seeds the demo university scaled to {facts["members"]:,} members
({facts["colleges"]} colleges, {facts["branches"]} branches of 30–80 members, {facts["entries"]:,} ledger entries of the
year so far) into PostgreSQL, runs `VACUUM ANALYZE`, serves it with gunicorn ({args.workers} sync workers, production
settings over plain HTTP on the loopback: DEBUG off, WhiteNoise, persistent connections) and drives it with locust,
headless, for {args.run_time}: {args.users} simulated users ({users}), each on a demo account of its own,
logging in through the login form and waiting 1–3 s between clicks. Each role reads its pages
(`benchmarks/load/pages.py`) and writes now and then through the real forms: a member saves a
self-assessment draft, a branch secretary records a ledger entry, a panelist saves item scores, a mass
representative hands in the year's evaluation once. A refused write, a non-200 page or a login that does
not succeed counts as a failure. The assumed peak: 40 users at once, each clicking every 1–3 s, is generous
for a university of 5,000 members (the last day before a self-assessment deadline); this run served
{rate:.1f} requests a second, about {round(rate * 3600, -3):,.0f} an hour.

Run on {machine["date"]} ({machine["cpu"]}, PostgreSQL {facts["postgresql"]}, Python {platform.python_version()});
load average {machine["load_before"]} before, {machine["load_after"]} after; the machine's CPUs were
{machine["busy"]:.0f}% busy during the run, {own / seconds:.2f} of the {os.cpu_count()} cores for the test itself
(in {seconds:.0f} s: gunicorn {machine["gunicorn_cpu"]:.0f} s of CPU, PostgreSQL's backends for this database
{machine["database_cpu"]:.1f} s, locust {machine["locust_cpu"]:.1f} s; the rest was other jobs). Per request,
gunicorn spent {machine["gunicorn_cpu"] * 1000 / requests:.0f} ms of CPU and PostgreSQL
{machine["database_cpu"] * 1000 / requests:.0f} ms on average: figures that other jobs disturb far less than the
response times.
Times in ms as locust measures them (percentiles rounded to 2 significant digits); req/s over the whole
run, ramp-up included.

{figures}

{verdict}

Re-run on a quiet machine: `.venv/bin/python -m benchmarks.load` (a few minutes; needs PostgreSQL on
127.0.0.1:5432; `--smoke` for a 20-second check). Locust's CSV files and the gunicorn log are left in
`benchmarks/out/load/`.
"""


def cpu_seconds(process):
    """CPU time of a process and its children so far (children that exited are not counted)."""
    total = 0.0
    for proc in [process, *process.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


class DatabaseCpu(threading.Thread):
    """CPU time of the PostgreSQL backends serving one database while the test runs, sampled every
    second: a backend that ends (CONN_MAX_AGE recycles them) keeps its last sample."""

    def __init__(self, database):
        super().__init__(daemon=True)
        self.title, self.running = f" {database} ", True
        self.before = self.sample()
        self.seen = dict(self.before)

    def sample(self):
        found = {}
        for proc in psutil.process_iter(["cmdline"]):
            try:
                if self.title in " ".join(proc.info["cmdline"] or ()):
                    times = proc.cpu_times()
                    found[proc.pid] = times.user + times.system
            except psutil.Error:
                pass
        return found

    def run(self):
        while self.running:
            self.seen.update(self.sample())
            time.sleep(1)

    def so_far(self):
        self.seen.update(self.sample())
        return sum(self.seen.values()) - sum(self.before.values())

    def stop(self):
        self.running = False
        self.join()
        self.seen.update(self.sample())
        return sum(self.seen.values()) - sum(self.before.values())


def main():
    args = arguments()
    OUT.mkdir(parents=True, exist_ok=True)
    env = {
        "DJANGO_SETTINGS_MODULE": "benchmarks.load.settings",
        "DATABASE_URL": args.database_url,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "LOG_LEVEL": "WARNING",
    }
    plan_file = OUT / "plan.json"
    if not args.reuse:
        print(f"seeding {args.members:,} members into {args.database_url} …", flush=True)
        recreate_database(args.database_url)
    plan, facts = prepare(args, env, plan_file)
    print(
        f"seeded in {facts['seconds']:.0f} s: {facts['members']:,} members, {facts['entries']:,} ledger entries",
        flush=True,
    )
    if args.probe:
        from benchmarks.load.probe import probe

        return probe(plan)

    port = free_port()
    server = start_gunicorn(args, env, port)
    gunicorn = psutil.Process(server.pid)
    machine = {
        "date": datetime.date.today().isoformat(),
        "load_before": load_average(),
        "cpu": cpu_and_cores(),
    }
    if args.wrk:
        return run_wrk(args, facts, plan, port, server, gunicorn, machine)
    print(f"gunicorn on 127.0.0.1:{port}; locust, {args.users} users for {args.run_time} …", flush=True)
    psutil.cpu_percent()  # starts the machine-wide measurement that the call after the run reads
    gunicorn_before, locust_before = cpu_seconds(gunicorn), _waited_children_cpu()
    database = DatabaseCpu(urlsplit(args.database_url).path.lstrip("/"))
    database.start()
    started = time.monotonic()
    try:
        run_locust(args, port, plan_file)
        machine.update(
            seconds=time.monotonic() - started,
            busy=psutil.cpu_percent(),
            load_after=load_average(),
            gunicorn_cpu=cpu_seconds(gunicorn) - gunicorn_before,
            locust_cpu=_waited_children_cpu() - locust_before,
            database_cpu=database.stop(),
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    machine["users"] = _users_per_role()
    rows, errors = read_stats()
    text = report(args, facts, rows, errors, machine)
    print(text)
    if not args.smoke:
        write_section("load", text)
        print("written to docs/performance.md")


def run_wrk(args, facts, plan, port, server, gunicorn, machine):
    from benchmarks.load import wrk

    print(f"gunicorn on 127.0.0.1:{port}; wrk, {args.connections} connections, {args.duration} s a page …", flush=True)
    database = DatabaseCpu(urlsplit(args.database_url).path.lstrip("/"))
    database.start()
    started = time.monotonic()
    try:
        rows = wrk.run(args, port, plan, lambda: (cpu_seconds(gunicorn), database.so_far()))
    finally:
        database.stop()
        server.terminate()
        server.wait(timeout=30)
    machine.update(
        load_after=load_average(),
        commit=commit(),
        python=platform.python_version(),
        minutes=round((time.monotonic() - started + facts["seconds"]) / 60 + 1),
    )
    text = wrk.report(args, facts, rows, machine, ROLE_NAMES)
    print(text)
    if not args.smoke:
        write_section("load_wrk", text)
        print("written to docs/performance.md")


def _waited_children_cpu():
    """CPU time of the child processes that have exited and been waited for: here, locust."""
    times = psutil.Process().cpu_times()
    return times.children_user + times.children_system


def _users_per_role():
    """How many users locust started per class, from its log ('Committee': 2, …)."""
    import re

    log = (OUT / "locust.log").read_text()
    counts = dict(re.findall(r'"(\w+)": (\d+)', log[log.rfind("All users spawned") :].split("\n")[0]))
    classes = {
        "Committee": "committee",
        "College": "college",
        "BranchSecretary": "branch",
        "Member": "member",
        "Panelist": "panelist",
        "MassRepresentative": "mass",
    }
    return {classes[name]: int(n) for name, n in counts.items() if name in classes}


if __name__ == "__main__":
    main()
