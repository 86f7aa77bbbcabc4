"""Every page of the load test, requested one at a time in-process: time and SQL queries each.

`python -m benchmarks.load --probe` runs this after seeding instead of gunicorn and locust, to
find what makes a page slow without the noise of concurrency (one account per role, the first
id of every list in the plan, median of 3 after a warm-up).
"""

import statistics
import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from benchmarks.load.pages import PAGES
from members.models import User


def probe_pages(plan, repeat=3):
    """Each page of each role, as the first account of that role: (role, page, status, median ms,
    queries, slowest query ms, slowest query), one row a page."""
    rows = []
    for role, pages in PAGES.items():
        account = plan["accounts"][role][0]
        values = {key: value[0] if isinstance(value, list) else value for key, value in account.items()}
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(User.objects.get(username=account["username"]))
        for name, path, _weight in pages:
            try:
                url = path.format(**values)
            except KeyError:
                continue
            client.get(url)
            times = []
            for _ in range(repeat):
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    response = client.get(url)
                    times.append(time.perf_counter() - started)
            slowest = max(queries.captured_queries, key=lambda q: float(q["time"]), default={"time": 0, "sql": ""})
            rows.append(
                (
                    role,
                    name,
                    response.status_code,
                    statistics.median(times) * 1000,
                    len(queries),
                    float(slowest["time"]) * 1000,
                    slowest["sql"][:100],
                )
            )
    return rows


def probe(plan):
    print("| role | page | status | ms | queries | slowest query ms | slowest query |")
    print("|---|---|---|---:|---:|---:|---|")
    for role, name, status, ms, count, slow_ms, sql in probe_pages(plan):
        print(f"| {role} | {name} | {status} | {ms:.0f} | {count} | {slow_ms:.0f} | `{sql}` |")
