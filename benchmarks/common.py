"""Shared by the benchmarks: a throw-away database, timing, and writing figures to the docs."""

import datetime
import os
import platform
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PERFORMANCE_DOC = ROOT / "docs" / "performance.md"


def django_setup():
    """Configure Django on a fresh SQLite file (or DATABASE_URL when given) and migrate it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partyscore.settings.test")
    if "DATABASE_URL" not in os.environ:
        os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def median_seconds(func, repeat=5):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def write_section(name, markdown):
    """Replace the block between `<!-- bench:name -->` markers in docs/performance.md."""
    text = PERFORMANCE_DOC.read_text()
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{markdown.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    PERFORMANCE_DOC.write_text(text)


def machine():
    """The CPU model and core count, as /proc/cpuinfo names them."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "")
    return f"{model or platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def commit():
    """The commit measured, marked when the work tree had uncommitted changes."""

    def git(*args):
        # Fixed arguments of our own, and git from PATH as a developer runs it.
        return subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+uncommitted" if git("status", "--porcelain", "--untracked-files=no") else "")


def load_average():
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


class Stamp:
    """What a section says about its run: when, which commit, on what, and how busy the machine
    was before and after (figures taken while other jobs ran measure the queue, not the code)."""

    def __init__(self):
        self.started = datetime.datetime.now().astimezone()
        self.load_before = load_average()

    def line(self, connection):
        database = connection.vendor
        if database == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW server_version")
                database = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
        elif database == "sqlite":
            import sqlite3

            database = f"SQLite {sqlite3.sqlite_version}"
        return (
            f"Run on {self.started:%Y-%m-%d %H:%M %Z} at commit `{commit()}` ({machine()}, {database}, "
            f"Python {platform.python_version()}); load average {self.load_before} before, {load_average()} after."
        )
