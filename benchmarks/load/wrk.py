"""Each page of the load test under wrk, beside a trivial Django view, in one run: throughput and latency.

`python -m benchmarks.load --wrk` runs this once gunicorn serves the seeded demo. wrk (a C load
generator, benchmark-only: `apt-get install -y wrk`) keeps --connections connections busy with no
pause between requests for --duration seconds per page, so what it measures is how many requests
a second the server can answer and how long each waits; locust's run measures a working day.

Order: the trivial view (benchmarks/load/urls.py) anonymous, then with a branch secretary's session;
then every page of benchmarks/load/pages.py as the role that uses it, the branch secretary's
member list and ledger first. Each role logs in once through the login form, and its session
cookie goes to wrk with -H. A page whose placeholders take a list in the plan cycles through its
values (the committee's ledger visits every branch). Every path is first fetched once and must answer
200 (not a redirect to the login form). Goals (issue 18): p95 < 100 ms, and at least a tenth of the
anonymous trivial view's requests a second. Beside each page: the CPU that gunicorn and PostgreSQL's
backends for this database spent per request, which other jobs on the machine disturb far less than
the latencies.
"""

import http.client
import http.cookies
import itertools
import json
import re
import subprocess
from pathlib import Path
from urllib.parse import urlencode

from benchmarks.load.pages import LOGIN, PAGES, PHONE, ROLES_ON_PHONES, TRIVIAL

GOAL_P95_MS = 100
GOAL_SHARE = 0.10  # of the anonymous trivial view's requests a second
PATHS_PER_PAGE = 50  # at most, when a placeholder takes a list
FIRST = [("branch", "member_list"), ("branch", "ledger")]  # the secretary's everyday pages
SCRIPT = Path(__file__).with_name("wrk.lua")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Server:
    def __init__(self, port):
        self.port = port

    def request(self, method, path, headers=None, body=None):
        """(status, headers, body) of one request, redirects not followed."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read().decode()
        finally:
            connection.close()

    def login(self, username, password):
        """The Cookie header of a session signed in through the login form."""
        status, headers, page = self.request("GET", LOGIN[1])
        cookies = _cookies(headers)
        data = {"csrfmiddlewaretoken": CSRF.search(page).group(1), "username": username, "password": password}
        status, headers, _page = self.request(
            "POST",
            LOGIN[1],
            headers={"Cookie": _header(cookies), "Content-Type": "application/x-www-form-urlencoded"},
            body=urlencode(data),
        )
        if status != 302 or headers["Location"] != "/":
            raise SystemExit(f"cannot log in as {username}: HTTP {status}")
        cookies.update(_cookies(headers))
        return _header(cookies)


def _cookies(headers):
    jar = http.cookies.SimpleCookie()
    for value in headers.get_all("Set-Cookie") or ():
        jar.load(value)
    return {name: morsel.value for name, morsel in jar.items()}


def _header(cookies):
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def accounts(plan):
    """One account per role: a branch role's in the largest branch (its member list fills a page)."""
    from django.db.models import Count

    from members.models import Member

    sizes = dict(Member.objects.filter(left_on__isnull=True).values_list("branch").annotate(n=Count("id")).order_by())
    chosen = {}
    for role, candidates in plan["accounts"].items():
        if isinstance(candidates[0].get("branch"), int):
            chosen[role] = max(candidates, key=lambda a: sizes.get(a["branch"], 0))
        else:
            chosen[role] = candidates[0]
    return chosen


def page_paths(account, template):
    """The concrete paths of one page for the account (a list placeholder cycles through its values),
    or [] when the account lacks a placeholder (a Policy B member has no self-assessment)."""
    keys = set(re.findall(r"{(\w+)}", template))
    if not keys <= set(account):
        return []
    lists = [account[key] for key in keys if isinstance(account[key], list)]
    count = min(max((len(values) for values in lists), default=1), PATHS_PER_PAGE)
    return [
        template.format(
            **{
                key: value[n % len(value)] if isinstance(value, list) else value
                for key, value in account.items()
                if key in keys
            }
        )
        for n in range(count)
    ]


def wrk(port, paths, headers, seconds, connections, threads):
    command = [
        "wrk",
        f"--connections={connections}",
        f"--threads={threads}",
        f"--duration={seconds}s",
        "--timeout=10s",
        f"--script={SCRIPT}",
        *itertools.chain.from_iterable(("--header", f"{name}: {value}") for name, value in headers.items()),
        f"http://127.0.0.1:{port}",
        "--",
        *paths,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    line = next(line for line in output.splitlines() if line.startswith("WRK "))
    return json.loads(line[4:])


def run(args, port, plan, meters):
    """Measure every page; returns the rows for `report`. `meters()` gives (gunicorn, PostgreSQL)
    CPU seconds so far."""
    server = Server(port)
    chosen = accounts(plan)
    sessions = {}

    def headers_of(role):
        if role not in sessions:
            sessions[role] = server.login(chosen[role]["username"], plan["password"])
        headers = {"Cookie": sessions[role]}
        if role in ROLES_ON_PHONES:
            headers["User-Agent"] = PHONE
        return headers

    pages = [("anonymous", "trivial", [TRIVIAL], {}), ("branch", "trivial", [TRIVIAL], headers_of("branch"))]
    listed = [(role, name, path) for role, entries in PAGES.items() for name, path, _weight in entries]
    listed.sort(key=lambda page: FIRST.index(page[:2]) if page[:2] in FIRST else len(FIRST))
    for role, name, template in listed:
        if args.only and f"{role}:{name}" not in args.only:
            continue
        paths = page_paths(chosen[role], template)
        if paths:
            pages.append((role, name, paths, headers_of(role)))

    rows = []
    for role, name, paths, headers in pages:
        for path in paths:
            status, _headers, _body = server.request("GET", path, headers=headers)
            if status != 200:
                raise SystemExit(f"{role}:{name} {path} answered HTTP {status}")
        if args.warmup:
            wrk(port, paths, headers, args.warmup, args.connections, args.threads)
        before = meters()
        figures = wrk(port, paths, headers, args.duration, args.connections, args.threads)
        after = meters()
        if not figures["requests"]:  # none answered within the duration: no percentiles to read
            figures.update(p50_us=figures["duration_us"], p95_us=figures["duration_us"], p99_us=figures["duration_us"])
        requests = max(figures["requests"], 1)
        rows.append(
            {
                "role": role,
                "page": name,
                "paths": len(paths),
                "rate": figures["requests"] * 1e6 / figures["duration_us"],
                "p50": figures["p50_us"] / 1000,
                "p95": figures["p95_us"] / 1000,
                "p99": figures["p99_us"] / 1000,
                "errors": sum(figures[k] for k in figures if k.endswith("errors") or k == "timeouts"),
                "gunicorn_ms": (after[0] - before[0]) * 1000 / requests,
                "database_ms": (after[1] - before[1]) * 1000 / requests,
            }
        )
        print(_line(rows[-1]), flush=True)
    return rows


def _line(row):
    return (
        f"{row['role']}:{row['page']}: {row['rate']:.0f} req/s, p50 {row['p50']:.0f} ms, p95 {row['p95']:.0f} ms, "
        f"CPU {row['gunicorn_ms']:.1f} + {row['database_ms']:.1f} ms/request"
    )


def report(args, facts, rows, machine, role_names):
    ceiling = rows[0]["rate"]
    lines = [
        "| role | page | req/s | share of the trivial view | p50 ms | p95 ms | p99 ms "
        "| CPU ms/request: gunicorn + PostgreSQL | goals |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    missed = []
    for row in rows:
        share = row["rate"] / ceiling
        trivial = row["page"] == "trivial"
        misses = [] if trivial else _misses(row, share)
        if misses:
            missed.append(f"{row['role']}:{row['page']}")
        who = "anonymous" if row["role"] == "anonymous" else role_names[row["role"]]
        page = f"`{row['page']}`" + (f" ({row['paths']} paths)" if row["paths"] > 1 else "")
        goals = "—" if trivial else ("**not met**: " + ", ".join(misses) if misses else "met")
        errors = f" ({row['errors']} errors)" if row["errors"] else ""
        lines.append(
            f"| {who} | {page}{errors} | {row['rate']:,.0f} | {share:.0%} | {row['p50']:.0f} | {row['p95']:.0f} "
            f"| {row['p99']:.0f} | {row['gunicorn_ms']:.1f} + {row['database_ms']:.1f} | {goals} |"
        )
    measured = sum(1 for row in rows if row["page"] != "trivial")
    verdict = (
        f"Goals (p95 < {GOAL_P95_MS} ms and at least {GOAL_SHARE:.0%} of the anonymous trivial view's "
        f"{ceiling:,.0f} req/s, no errors): "
        + (f"**met** on all {measured} pages." if not missed else f"**not met** on {len(missed)} of {measured}: ")
        + "; ".join(missed)
        + ("." if missed else "")
    )
    table = "\n".join(lines)
    return f"""## Pages under wrk (issue 18)

`python -m benchmarks.load --wrk` seeds the same demo university ({facts["members"]:,} members,
{facts["branches"]} branches, {facts["entries"]:,} ledger entries) and serves it the same way (gunicorn,
{args.workers} sync workers, production settings over plain HTTP), then keeps {args.connections}
connections busy with wrk ({args.threads} threads, no pause between requests) for {args.duration} s per
page after {args.warmup} s of warm-up: first a trivial view (`benchmarks/load/urls.py`, in the benchmark's
URLconf only) anonymous and with a branch secretary's session, the ceiling; then every page of the load
test's list as the role that uses it, signed in once through the login form. A page whose ids come from a
list cycles through up to {PATHS_PER_PAGE} of them (the committee's ledger visits every branch); a branch
role is the one of the largest branch. Latencies are wrk's (p95 from its own histogram); the CPU columns
are what gunicorn's workers and PostgreSQL's backends for this database spent per request.

Run on {machine["date"]} at commit {machine["commit"]} ({machine["cpu"]}, PostgreSQL {facts["postgresql"]},
Python {machine["python"]}); load average {machine["load_before"]} before, {machine["load_after"]} after.

{table}

{verdict}

Re-run on a quiet machine: `.venv/bin/python -m benchmarks.load --wrk` (about {machine["minutes"]} minutes;
needs PostgreSQL on 127.0.0.1:5432 and wrk; `--smoke` for a short check that leaves this file alone).
"""


def _misses(row, share):
    misses = []
    if row["p95"] >= GOAL_P95_MS:
        misses.append(f"p95 ≥ {GOAL_P95_MS} ms")
    if share < GOAL_SHARE:
        misses.append(f"< {GOAL_SHARE:.0%} of the trivial view")
    if row["errors"]:
        misses.append("errors")
    return misses
