"""Ledger exports at university scale, beside the raw writers, in the same run.

10,000 members × 40 ledger lines (400,000 rows) exported (a) as the branch-style workbook — the
summary sheet plus one ledger sheet per member — and (b) as one flat ledger sheet, through the real
export code (`scoring.exports`, reading the database). Beside each: the very same cells, recorded
from that export and held in memory as lists, written by openpyxl write-only (with lxml when it is
installed) and by XlsxWriter constant-memory. Every run is a fresh subprocess: time in one, peak
memory (tracemalloc, Python allocations during the export) in another, and the process's max RSS.

Run: .venv/bin/python -m benchmarks.export [--members 10000] [--lines 40] [--repeat 1] [--no-doc]
(lxml for the openpyxl comparison: pip install -e '.[bench]')
"""

import argparse
import datetime
import json
import os
import pickle
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from benchmarks.common import ROOT, django_setup, write_section

YEAR = 2025
KINDS = {"workbook": "branch_workbook", "flat": "flat_ledger"}
WRITER_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "default_date_format": "yyyy-mm-dd",
}


# ── the data ─────────────────────────────────────────────────────────────────────────────────


def build(members_total, lines_per_member):
    """A university of `members_total` staff members in 100 branches, `lines_per_member` lines each."""
    from members.models import Member, Organization
    from members.services import organization_create
    from scoring import services as scoring
    from scoring.ledger_chain import ledger_append_many
    from scoring.models import LedgerEntry, Period
    from scoring.recalculation import recalculate_branch
    from tests.builders import make_user

    rng = random.Random(2025)
    admin = make_user("bench-admin", "基准管理员")
    admin.is_superuser = True
    admin.save()
    university = organization_create(actor=admin, name="基准大学党委", code="U", kind=Organization.Kind.COMMITTEE)
    colleges = [
        organization_create(
            actor=admin, name=f"第{c + 1}学院党委", code=f"C{c}", kind="general_branch", parent=university
        )
        for c in range(4)
    ]
    branches = [
        organization_create(
            actor=admin, name=f"第{c + 1}学院第{b + 1}党支部", code=f"C{c}-{b:02d}", kind="branch", parent=college
        )
        for c, college in enumerate(colleges)
        for b in range(25)
    ]
    per_branch = members_total // len(branches)
    surnames, given = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
    Member.objects.bulk_create(
        [
            Member(
                number=f"{branch.code}-{i:05d}",
                name=rng.choice(surnames) + rng.choice(given) + rng.choice(given),
                category="staff",
                branch=branch,
            )
            for branch in branches
            for i in range(per_branch)
        ],
        batch_size=5000,
    )
    scoring.cycle_open(actor=admin, year=YEAR, committee=university)
    scheme = scoring.scheme_preset_load(actor=admin, preset="A-staff", year=YEAR, owner=university)
    items = list(scheme.items.all())
    periods = list(Period.objects.filter(cycle__year=YEAR, kind="semester").order_by("index"))
    recorder = make_user("bench-recorder", "记分员")
    entries = []
    for member_id in Member.objects.values_list("id", flat=True):
        for n in range(lines_per_member):
            item, period = rng.choice(items), periods[n % len(periods)]
            points = rng.randint(1, 5) * 100 * item.sign
            entries.append(
                LedgerEntry(
                    member_id=member_id,
                    item=item,
                    period=period,
                    year=YEAR,
                    kind=item.kind,
                    points=points,
                    reason=f"{item.title}：第{n + 1}次记录（基准数据）",
                    source="recorder",
                    recorded_by=recorder,
                    occurred_on=period.starts_on + datetime.timedelta(days=n),
                )
            )
        if len(entries) >= 50_000:
            ledger_append_many(entries, actor=admin, reason="基准数据")
            entries = []
    ledger_append_many(entries, actor=admin, reason="基准数据")
    for branch in branches:
        recalculate_branch(branch=branch, year=YEAR, today=datetime.date(YEAR + 1, 1, 15))
    return university


class _RecordingSheet:
    """Stands in for an XlsxWriter worksheet and keeps only the cell values written."""

    def __init__(self, name):
        self.name, self.cells = name, {}

    def _put(self, row, col, value):
        if value not in (None, ""):
            self.cells.setdefault(row, {})[col] = value

    def write_string(self, row, col, value, *rest):
        self._put(row, col, value)

    write_number = write_datetime = _write_string = _write_number = _write_datetime = write_string

    def write_blank(self, *args):
        pass

    _write_blank = write_blank

    def merge_range(self, row, col, _last_row, _last_col, value, *rest):
        self._put(row, col, value)

    def write_url(self, row, col, _url, _fmt=None, string=None, *rest):
        self._put(row, col, string)

    def __getattr__(self, name):  # page setup, widths, freeze panes…: no cells
        return lambda *args, **kwargs: None

    def rows(self):
        width = 1 + max((c for cells in self.cells.values() for c in cells), default=0)
        last = max(self.cells, default=-1)
        return [[self.cells.get(r, {}).get(c) for c in range(width)] for r in range(last + 1)]


class _RecordingBook:
    def __init__(self, *args, **kwargs):
        self.sheets = []
        _RecordingBook.last = self

    def add_worksheet(self, name):
        self.sheets.append(_RecordingSheet(name))
        return self.sheets[-1]

    def add_format(self, *args):
        return None

    def set_properties(self, *args):
        pass

    def close(self):
        pass


def record_cells(kind, organization):
    """The exact cells an export writes, as [(sheet name, [row values])]."""
    from unittest import mock

    import xlsxwriter

    from scoring import exports

    with mock.patch.object(xlsxwriter, "Workbook", _RecordingBook):
        exports.WRITERS[kind](None, organization=organization, year=YEAR)
    return [(sheet.name, sheet.rows()) for sheet in _RecordingBook.last.sheets]


# ── one measured run (in its own process) ────────────────────────────────────────────────────


def write_raw_xlsxwriter(path, sheets):
    import xlsxwriter

    book = xlsxwriter.Workbook(path, WRITER_OPTIONS)
    for name, rows in sheets:
        sheet = book.add_worksheet(name)
        for number, row in enumerate(rows):
            sheet.write_row(number, 0, row)
    book.close()


def write_raw_openpyxl(path, sheets):
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for name, rows in sheets:
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)


def peak_rss():
    """This process's peak resident memory. Linux's VmHWM, since getrusage's ru_maxrss carries the
    parent's peak across fork and exec (the parent here holds the recorded cells)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(variant, mode, cells_path):
    """Run one variant once; print a JSON line with its figures."""
    kind_key, writer = variant.split(":")
    out = Path(tempfile.mkdtemp()) / "out.xlsx"
    queries = []
    if writer == "ours":
        django_setup()
        from django.db import connection

        from members.models import Organization
        from scoring import exports

        root = Organization.objects.get(parent__isnull=True)
        exports._labels()  # a worker is warm: translations loaded, modules imported

        def run():
            with connection.execute_wrapper(lambda execute, sql, *rest: queries.append(sql) or execute(sql, *rest)):
                exports.WRITERS[KINDS[kind_key]](str(out), organization=root, year=YEAR, constant_memory=True)
    else:
        with open(cells_path, "rb") as handle:
            sheets = pickle.load(handle)  # noqa: S301 — our own file, written moments ago
        write = write_raw_xlsxwriter if writer == "xlsxwriter" else write_raw_openpyxl
        import openpyxl  # noqa: F401 — imported before the clock starts, as for ours
        import xlsxwriter  # noqa: F401

        def run():
            write(str(out), sheets)

    if mode == "memory":
        tracemalloc.start()
    start, cpu = time.perf_counter(), time.process_time()
    run()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] if mode == "memory" else None
    rss = peak_rss()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": cpu,
                "peak": peak,
                "rss": rss,
                "queries": len(queries),
                "bytes": out.stat().st_size,
            }
        )
    )
    out.unlink()


def spawn(variant, mode, cells_path, env):
    result = subprocess.run(  # noqa: S603 — our own interpreter and module
        [sys.executable, "-m", "benchmarks.export", "--measure", variant, "--mode", mode, "--cells", str(cells_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{variant} {mode} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# ── the whole run ────────────────────────────────────────────────────────────────────────────

WRITERS = [
    ("ours", "PartyScore export (reads the database)"),
    ("xlsxwriter", "raw XlsxWriter constant-memory, same cells from lists"),
    ("openpyxl", "raw openpyxl write-only{lxml}, same cells from lists"),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--lines", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure (the median is kept)")
    parser.add_argument("--section", default="export", help="the docs/performance.md section to write")
    parser.add_argument("--no-doc", action="store_true")
    parser.add_argument("--measure")
    parser.add_argument("--mode", default="time")
    parser.add_argument("--cells")
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.mode, args.cells)
        return

    workdir = Path(tempfile.mkdtemp(prefix="bench-export-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    django_setup()
    from django.db import connection

    started = time.perf_counter()
    university = build(args.members, args.lines)
    built = time.perf_counter() - started
    rows = args.members * args.lines
    print(f"built {args.members:,} members × {args.lines} lines in {built:.0f} s", flush=True)
    connection.close()
    env = {**os.environ}
    figures = {}
    for key, kind in KINDS.items():
        cells = workdir / f"{key}.pickle"
        with cells.open("wb") as handle:
            recorded = record_cells(kind, university)
            pickle.dump(recorded, handle, protocol=pickle.HIGHEST_PROTOCOL)
        count = sum(len(r) for _n, r in recorded)
        figures[key] = {"sheets": len(recorded), "rows": count}
        del recorded
        for writer, _label in WRITERS:
            runs = [spawn(f"{key}:{writer}", "time", cells, env) for _ in range(args.repeat)]
            mem = [spawn(f"{key}:{writer}", "memory", cells, env) for _ in range(args.repeat)]
            figures[key][writer] = {
                "seconds": statistics.median(r["seconds"] for r in runs),
                "cpu": statistics.median(r["cpu"] for r in runs),
                "peak": statistics.median(r["peak"] for r in mem),
                "rss": statistics.median(r["rss"] for r in runs),
                "queries": runs[0]["queries"],
                "bytes": runs[0]["bytes"],
            }
            print(key, writer, json.dumps(figures[key][writer]), flush=True)
    if not args.no_doc:
        write_section(args.section, report(args, figures, rows, connection.vendor))
    print(report(args, figures, rows, connection.vendor))


def report(args, figures, rows, vendor):
    try:
        import lxml  # noqa: F401

        lxml_note = " (with lxml)"
    except ImportError:
        lxml_note = " (lxml not installed)"
    mb = 1024 * 1024
    lines = [
        f"Run on {datetime.date.today()} ({platform.processor() or platform.machine()}, {vendor}, "
        f"Python {platform.python_version()}), {args.members:,} members × {args.lines} lines = {rows:,} "
        f"ledger rows; {'median of ' + str(args.repeat) if args.repeat > 1 else 'one run'} per figure, "
        "each in a fresh process. CPU time is the process's (the shared machine was busy, so wall times "
        "vary more); peak = tracemalloc peak of the export itself; max RSS = the process's peak resident "
        "memory (VmHWM: for ours, Django and SQLite included; for the raw writers, the recorded cells they "
        "hold as lists included).",
        "",
    ]
    for key, title in (
        ("workbook", "branch workbook: summary sheet + one ledger sheet per member"),
        ("flat", "one flat ledger sheet"),
    ):
        f = figures[key]
        fastest = min(("xlsxwriter", "openpyxl"), key=lambda w: f[w]["cpu"])
        lines += [
            f"**{title}** ({f['sheets']:,} sheets, {f['rows']:,} rows written)",
            "",
            "| writer | CPU time | wall time | peak memory | max RSS | queries | file |",
            "|---|---|---|---|---|---|---|",
        ]
        for writer, label in WRITERS:
            r = f[writer]
            queries = str(r["queries"]) if writer == "ours" else "—"
            lines.append(
                f"| {label.format(lxml=lxml_note)} | {r['cpu']:.1f} s | {r['seconds']:.1f} s | "
                f"{r['peak'] / mb:.1f} MB | {r['rss'] / mb:.0f} MB | {queries} | {r['bytes'] / mb:.1f} MB |"
            )
        ours, best = f["ours"], f[fastest]
        time_ok = ours["cpu"] <= 1.5 * best["cpu"]
        mem_ok = ours["peak"] <= 1.2 * best["peak"]
        lines += [
            "",
            f"Against the faster raw writer ({fastest}): CPU time ×{ours['cpu'] / best['cpu']:.2f} "
            f"(wall ×{ours['seconds'] / best['seconds']:.2f}; goal ≤ 1.5: {'met' if time_ok else 'NOT met'}), "
            f"peak memory ×{ours['peak'] / best['peak']:.2f} (goal ≤ 1.2: {'met' if mem_ok else 'NOT met'}).",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
