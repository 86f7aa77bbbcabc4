"""Ledger exports at college and university size, beside raw XlsxWriter, in the same run.

Builds a university of `--members` staff members in `--branches` branches under `--colleges`
colleges, `--lines` ledger lines each (Policy A reference scheme, totals and outcomes recalculated),
then measures, each in a fresh process:

- the ledger workbooks (台账工作簿) of one college and of the whole university, each built as the
  background job does it (`scoring.io_services.export_job_run`: a zip of one workbook per branch,
  read in chunks of branches), beside raw XlsxWriter (constant-memory) writing the very same cells —
  recorded from our export — into a zip of one workbook per branch. The college is 1/colleges of the
  university (3,000 of 30,000 members by default), so the two rows show how memory grows with the
  scope: it should not;
- the university's flat ledger (台账明细, one sheet) beside raw XlsxWriter and openpyxl write-only
  (with lxml when installed) writing its recorded cells.

Time (wall and the process's CPU) comes from one run, memory from another: the tracemalloc peak of
the export itself (Python allocations during the job), and the process's max RSS (VmHWM). The raw
writers read the recorded cells from disk in batches of 10,000 rows, so neither figure holds the
whole scope's cells.

Run:   .venv/bin/python -m benchmarks.export                  (30,000 members, 300 branches, 10 colleges)
Smoke: .venv/bin/python -m benchmarks.export --smoke --no-doc (600 members: checks the script, not the figures)
(lxml for the openpyxl comparison: pip install -e '.[bench]')
"""

import argparse
import datetime
import json
import os
import pickle
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

from benchmarks.common import ROOT, Stamp, django_setup, write_section

YEAR = 2025
WRITER_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "default_date_format": "yyyy-mm-dd",
}
ROWS_PER_BATCH = 10_000
MB = 1024 * 1024


# ── the data ─────────────────────────────────────────────────────────────────────────────────


def build(members_total, branches_total, colleges_total, lines_per_member):
    """The university: `colleges_total` colleges of equal size, `branches_total` branches in all."""
    from members.models import Member, Organization
    from members.services import organization_create
    from scoring import services as scoring
    from scoring.ledger_chain import ledger_append_many
    from scoring.models import LedgerEntry, Period
    from scoring.recalculation import recalculate_year
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
        for c in range(colleges_total)
    ]
    per_college = branches_total // colleges_total
    branches = [
        organization_create(
            actor=admin, name=f"第{c + 1}学院第{b + 1}党支部", code=f"C{c}-{b:03d}", kind="branch", parent=college
        )
        for c, college in enumerate(colleges)
        for b in range(per_college)
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
            entries.append(
                LedgerEntry(
                    member_id=member_id,
                    item=item,
                    period=period,
                    year=YEAR,
                    kind=item.kind,
                    points=rng.randint(1, 5) * 100 * item.sign,
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
    recalculate_year(year=YEAR, today=datetime.date(YEAR + 1, 1, 15))
    return university, colleges[0]


# ── the cells an export writes, recorded to disk ─────────────────────────────────────────────


class _RecordingSheet:
    """Stands in for an XlsxWriter worksheet: keeps the cell values written and hands finished rows
    to the file in batches (every writer here fills its rows in order)."""

    def __init__(self, book, name):
        self.book, self.cells, self.flushed = book, {}, -1
        book.dump(("sheet", name))

    def _put(self, row, col, value):
        if row <= self.flushed:
            raise RuntimeError(f"row {row} written after it was recorded")
        if value not in (None, ""):
            self.cells.setdefault(row, {})[col] = value
        if len(self.cells) > ROWS_PER_BATCH:
            self.flush(below=row)

    def flush(self, below=None):
        done = sorted(r for r in self.cells if below is None or r < below)
        rows = [(r, [self.cells[r].get(c) for c in range(1 + max(self.cells[r]))]) for r in done]
        for r in done:
            del self.cells[r]
        if rows:
            self.book.dump(("rows", rows))
            self.book.rows += len(rows)
        self.flushed = max(self.flushed, (below - 1) if below is not None else self.flushed)

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


class _RecordingBook:
    """Stands in for xlsxwriter.Workbook; every book of an export goes to the same open file."""

    out = None  # the open recording file
    counts = None

    def __init__(self, *args, **kwargs):
        self.sheets, self.rows = [], 0
        self.dump(("book",))

    def dump(self, record):
        pickle.dump(record, _RecordingBook.out, protocol=pickle.HIGHEST_PROTOCOL)

    def add_worksheet(self, name):
        if self.sheets:
            self.sheets[-1].flush()
        self.sheets.append(_RecordingSheet(self, name))
        return self.sheets[-1]

    def add_format(self, *args):
        return None

    def set_properties(self, *args):
        pass

    def close(self):
        if self.sheets:
            self.sheets[-1].flush()
        counts = _RecordingBook.counts
        counts["books"] += 1
        counts["sheets"] += len(self.sheets)
        counts["rows"] += self.rows


def record_cells(kind, organization, path, year=YEAR):
    """Write to `path` the exact cells that export writes; return how many books, sheets and rows."""
    from unittest import mock

    import xlsxwriter

    from scoring import exports

    _RecordingBook.counts = {"books": 0, "sheets": 0, "rows": 0}
    with path.open("wb") as out, tempfile.TemporaryFile() as output:
        _RecordingBook.out = out
        with mock.patch.object(xlsxwriter, "Workbook", _RecordingBook):
            exports.WRITERS[kind](output, organization=organization, year=year)
    return _RecordingBook.counts


def recorded(path):
    """The recorded records, one at a time."""
    with open(path, "rb") as handle:
        while True:
            try:
                yield pickle.load(handle)  # noqa: S301 — our own file, written moments ago
            except EOFError:
                return


# ── one measured run (in its own process) ────────────────────────────────────────────────────


def write_raw_xlsxwriter(output, cells_path, as_zip):
    """The recorded cells by XlsxWriter: each book into a zip entry (as_zip) or the one book to `output`."""
    import xlsxwriter

    archive = zipfile.ZipFile(output, "w", zipfile.ZIP_STORED) if as_zip else None
    book = entry = sheet = None
    count = 0

    def close():
        if book is not None:
            book.close()
        if entry is not None:
            entry.close()

    for record in recorded(cells_path):
        if record[0] == "book":
            close()
            count += 1
            entry = archive.open(f"{count:05d}.xlsx", "w") if as_zip else None
            book = xlsxwriter.Workbook(entry if as_zip else output, WRITER_OPTIONS)
        elif record[0] == "sheet":
            sheet = book.add_worksheet(record[1])
        else:
            for number, row in record[1]:
                sheet.write_row(number, 0, row)
    close()
    if archive is not None:
        archive.close()


def write_raw_openpyxl(output, cells_path):
    from openpyxl import Workbook

    book, sheet, last = Workbook(write_only=True), None, -1
    for record in recorded(cells_path):
        if record[0] == "sheet":
            sheet, last = book.create_sheet(record[1]), -1
        elif record[0] == "rows":
            for number, row in record[1]:
                for _gap in range(number - last - 1):
                    sheet.append([])
                sheet.append(row)
                last = number
    book.save(output)


def peak_rss():
    """This process's peak resident memory. Linux's VmHWM, since getrusage's ru_maxrss carries the
    parent's peak across fork and exec."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(variant, mode, cells_path, workdir):
    """Run one variant once; print a JSON line with its figures."""
    what, scope_code, writer = variant.split(":")
    out = Path(workdir) / f"out-{os.getpid()}"
    queries = []
    if writer == "ours":
        django_setup()
        from celery import current_app
        from django.db import connection
        from django.utils import timezone

        from members.models import Organization, User
        from scoring import exports, io_services
        from scoring.models import ExportJob

        scope = Organization.objects.get(code=scope_code)
        kind = "branch_workbook" if what == "zip" else "flat_ledger"
        job = ExportJob.objects.create(
            owner=User.objects.get(username="bench-admin"),
            kind=kind,
            organization=scope,
            year=YEAR,
            filename=exports.export_filename(kind, scope, YEAR),
            expires_at=timezone.now() + datetime.timedelta(hours=1),
        )
        # A worker is warm: translations loaded, every app's tasks imported (as the worker does at start).
        exports._labels()
        current_app.loader.import_default_modules()

        def run():
            with connection.execute_wrapper(lambda execute, sql, *rest: queries.append(sql) or execute(sql, *rest)):
                io_services.export_job_run(job_id=job.pk)

        def result():
            job.refresh_from_db()
            if job.status != ExportJob.Status.DONE:
                raise RuntimeError(f"the export job failed: {job.error}")
            size = job.file.size
            job.file.delete(save=False)
            return size
    else:
        import openpyxl  # noqa: F401 — imported before the clock starts, as for ours
        import xlsxwriter  # noqa: F401

        def run():
            if writer == "xlsxwriter":
                write_raw_xlsxwriter(str(out), cells_path, as_zip=what == "zip")
            else:
                write_raw_openpyxl(str(out), cells_path)

        def result():
            size = out.stat().st_size
            out.unlink()
            return size

    if mode == "memory":
        tracemalloc.start()
    start, cpu = time.perf_counter(), time.process_time()
    run()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] if mode == "memory" else None
    rss = peak_rss()
    size = result()
    figures = {"seconds": seconds, "cpu": cpu, "peak": peak, "rss": rss, "queries": len(queries), "bytes": size}
    print(json.dumps(figures))


def spawn(variant, mode, cells_path, workdir, env):
    command = [sys.executable, "-m", "benchmarks.export", "--measure", variant, "--mode", mode]
    result = subprocess.run(  # noqa: S603 — our own interpreter and module
        [*command, "--cells", str(cells_path), "--workdir", str(workdir)],
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

LABELS = {
    "ours": "PartyScore export job (reads the database)",
    "xlsxwriter": "raw XlsxWriter constant-memory, same cells",
    "openpyxl": "raw openpyxl write-only{lxml}, same cells",
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=30000)
    parser.add_argument("--branches", type=int, default=300)
    parser.add_argument("--colleges", type=int, default=10, help="the college measured is 1/colleges of the whole")
    parser.add_argument("--lines", type=int, default=40, help="ledger lines per member")
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure (the median is kept)")
    parser.add_argument("--smoke", action="store_true", help="600 members, 12 branches, 2 colleges, 5 lines")
    parser.add_argument("--section", default="export", help="the docs/performance.md section to write")
    parser.add_argument("--no-doc", action="store_true")
    parser.add_argument("--measure")
    parser.add_argument("--mode", default="time")
    parser.add_argument("--cells")
    parser.add_argument("--workdir")
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.mode, args.cells, args.workdir)
        return
    if args.smoke:
        args.members, args.branches, args.colleges, args.lines = 600, 12, 2, 5

    stamp = Stamp()
    workdir = Path(tempfile.mkdtemp(prefix="bench-export-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    django_setup()
    from django.db import connection

    started = time.perf_counter()
    university, college = build(args.members, args.branches, args.colleges, args.lines)
    print(f"built {args.members:,} members × {args.lines} lines in {time.perf_counter() - started:.0f} s", flush=True)
    connection.close()
    env = {**os.environ}
    cases = [
        ("zip", college, "xlsxwriter"),
        ("zip", university, "xlsxwriter"),
        ("flat", university, "xlsxwriter", "openpyxl"),
    ]
    figures = []
    for what, scope, *raw in cases:
        cells = workdir / f"{what}-{scope.code}.pickle"
        counts = record_cells("branch_workbook" if what == "zip" else "flat_ledger", scope, cells)
        connection.close()
        case = {"what": what, "scope": scope.name, "counts": counts, "writers": {}}
        for writer in ("ours", *raw):
            variant = f"{what}:{scope.code}:{writer}"
            runs = [spawn(variant, "time", cells, workdir, env) for _ in range(args.repeat)]
            memory = [spawn(variant, "memory", cells, workdir, env) for _ in range(args.repeat)]
            case["writers"][writer] = {
                "seconds": statistics.median(r["seconds"] for r in runs),
                "cpu": statistics.median(r["cpu"] for r in runs),
                "peak": statistics.median(r["peak"] for r in memory),
                "rss": statistics.median(r["rss"] for r in runs + memory),
                "queries": runs[0]["queries"],
                "bytes": runs[0]["bytes"],
            }
            print(variant, json.dumps(case["writers"][writer]), flush=True)
        cells.unlink()
        figures.append(case)
    text = report(args, figures, stamp.line(connection))
    if not args.no_doc:
        write_section(args.section, text)
    print(text)


def report(args, figures, stamp):
    try:
        import lxml  # noqa: F401

        lxml_note = " (with lxml)"
    except ImportError:
        lxml_note = " (lxml not installed)"
    lines = [
        f"{stamp} {args.members:,} members in {args.branches} branches of {args.colleges} colleges, "
        f"{args.lines} ledger lines each ({args.members * args.lines:,} lines); "
        f"{'median of ' + str(args.repeat) if args.repeat > 1 else 'one run'} per figure, each in a fresh "
        "process. Peak = tracemalloc peak during the export; max RSS = the process's VmHWM (Django and SQLite "
        "included for ours).",
        "",
    ]
    zips = [case for case in figures if case["what"] == "zip"]
    lines += [
        "**台账工作簿 of a college and of the university: a zip of one workbook per branch**",
        "",
        "| scope | members | workbooks · sheets · rows | writer | CPU time | wall time | peak memory | max RSS "
        "| queries | file |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    college_members = args.members // args.colleges
    for case in zips:
        c = case["counts"]
        members = args.members if case is zips[-1] else college_members
        for writer, r in case["writers"].items():
            lines.append(
                f"| {case['scope']} | {members:,} | {c['books']:,} · {c['sheets']:,} · {c['rows']:,} | "
                f"{LABELS[writer].format(lxml=lxml_note)} | {r['cpu']:.1f} s | {r['seconds']:.1f} s | "
                f"{r['peak'] / MB:.1f} MB | {r['rss'] / MB:.0f} MB | {r['queries'] if writer == 'ours' else '—'} | "
                f"{r['bytes'] / MB:.1f} MB |"
            )
    small, large = (case["writers"] for case in zips)
    growth = large["ours"]["peak"] / small["ours"]["peak"]
    rss_growth = large["ours"]["rss"] / small["ours"]["rss"]
    scale = args.colleges
    time_ratio = large["ours"]["cpu"] / large["xlsxwriter"]["cpu"]
    lines += [
        "",
        f"From the college to the university ({scale}× the members): our peak memory ×{growth:.2f}, max RSS "
        f"×{rss_growth:.2f} (goal: flat, ≤ ×1.2: {'met' if growth <= 1.2 and rss_growth <= 1.2 else 'NOT met'}); "
        f"CPU time ×{large['ours']['cpu'] / small['ours']['cpu']:.1f} (linear would be ×{scale}). "
        f"Against raw XlsxWriter on the university: CPU time ×{time_ratio:.2f} (goal ≤ 1.5: "
        f"{'met' if time_ratio <= 1.5 else 'NOT met'}), peak memory "
        f"×{large['ours']['peak'] / large['xlsxwriter']['peak']:.2f}.",
        "",
    ]
    for case in figures:
        if case["what"] != "flat":
            continue
        c, f = case["counts"], case["writers"]
        fastest = min((w for w in f if w != "ours"), key=lambda w: f[w]["cpu"])
        lines += [
            f"**台账明细 of the university: one flat ledger sheet** (sheets: {c['sheets']:,}; rows: {c['rows']:,})",
            "",
            "| writer | CPU time | wall time | peak memory | max RSS | queries | file |",
            "|---|---|---|---|---|---|---|",
        ]
        for writer, r in f.items():
            lines.append(
                f"| {LABELS[writer].format(lxml=lxml_note)} | {r['cpu']:.1f} s | {r['seconds']:.1f} s | "
                f"{r['peak'] / MB:.1f} MB | {r['rss'] / MB:.0f} MB | {r['queries'] if writer == 'ours' else '—'} | "
                f"{r['bytes'] / MB:.1f} MB |"
            )
        ratio = f["ours"]["cpu"] / f[fastest]["cpu"]
        wall = f["ours"]["seconds"] / f[fastest]["seconds"]
        lines += [
            "",
            f"Against the faster raw writer ({fastest}): CPU time ×{ratio:.2f} (wall ×{wall:.2f}; "
            f"goal ≤ 1.5: {'met' if ratio <= 1.5 else 'NOT met'}).",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
