"""Shared by the benchmarks: a throw-away database, timing, and writing figures to the docs."""

import os
import re
import statistics
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
