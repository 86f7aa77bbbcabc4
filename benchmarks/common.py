"""Shared by the benchmarks: a throw-away database, the synthetic university they build, timing,
and writing figures to the docs."""

import datetime
import itertools
import json
import os
import platform
import re
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
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


def _server(url):
    """A psycopg connection to the server of database `url` (its maintenance database), and the name."""
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(url)
    server = psycopg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname="postgres",
        autocommit=True,
    )
    return server, parts.path.lstrip("/")


def recreate_database(url):
    """Drop the PostgreSQL database of `url` if it exists and create it empty."""
    server, name = _server(url)
    with server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.execute(f'CREATE DATABASE "{name}"')


def drop_database(url):
    server, name = _server(url)
    with server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
    """The commit measured, marked when the work tree had uncommitted changes (other than
    docs/performance.md, which the benchmarks themselves write as they run)."""

    def git(*args):
        # Fixed arguments of our own, and git from PATH as a developer runs it.
        return subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs/performance.md")
    return head + ("+uncommitted" if changed else "")


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


# ── the synthetic university ─────────────────────────────────────────────────────────────────

PLANS_PER_CATEGORY = 2000  # distinct entry patterns; each member follows one of them
STEP = 25  # magnitudes are multiples of 0.25 point, so two semesters can sum to an odd centipoint
PROBATION_START = datetime.date(2025, 9, 1)


def make_admin(username="bench-admin"):
    from tests.builders import make_user

    admin = make_user(username)
    admin.is_superuser = True
    admin.save()
    return admin


def build_tree(admin, colleges):
    """A committee with one college (党总支) per entry of `colleges`, each the member categories of
    its branches (staff, student or mixed), created through the service. Returns (committee,
    colleges, branches)."""
    from members.models import Organization
    from members.services import organization_create

    committee = organization_create(actor=admin, name="基准大学党委", code="U", kind=Organization.Kind.COMMITTEE)
    made, branches = [], []
    for c, categories in enumerate(colleges):
        college = organization_create(
            actor=admin, name=f"学院{c}", code=f"C{c}", kind="general_branch", parent=committee
        )
        made.append(college)
        branches += [
            organization_create(
                actor=admin,
                name=f"支部{c}-{b}",
                code=f"C{c}-{b}",
                kind="branch",
                parent=college,
                category=category,
            )
            for b, category in enumerate(categories)
        ]
    return committee, made, branches


def member_fields(n, rng):
    """Member No. `n` of a benchmark (no branch): about 40% staff, 6% probationary, 5% cadres."""
    from members.models import Member

    probationary = rng.random() < 0.06
    return {
        "number": f"M{n:07d}",
        "name": f"党员{n}",
        "category": Member.Category.STAFF if rng.random() < 0.4 else Member.Category.STUDENT,
        "is_cadre": rng.random() < 0.05,
        "status": Member.Status.PROBATIONARY if probationary else Member.Status.FULL,
        "probation_start": PROBATION_START if probationary else None,
    }


def build_members(branches, members_total, rng):
    """`members_total` members dealt round the branches (ORM bulk insert). Returns their
    (id, category, branch id)."""
    from members.models import Member

    rows = [Member(branch=branches[n % len(branches)], **member_fields(n, rng)) for n in range(members_total)]
    Member.objects.bulk_create(rows, batch_size=5000)
    return list(Member.objects.values_list("pk", "category", "branch_id"))


def item_table(scheme):
    """(id, kind, code, title, min, max, cap per period, times per period) in centipoints."""
    from scoring.points import to_centi

    return [
        (
            i.pk,
            i.kind,
            i.code,
            i.title,
            to_centi(i.points_min),
            to_centi(i.points_max),
            None if i.cap_per_period is None else to_centi(i.cap_per_period),
            i.times_per_period,
        )
        for i in scheme.items.all()
    ]


def make_plans(items, entries, semester_days, rng):
    """PLANS_PER_CATEGORY entry patterns: (semester 0/1, item id, kind, signed centipoints, day offset,
    reason). Every entry is within its item's bounds and its per-period cap and count."""
    from scoring.models import RuleItem

    base = [i for i in items if i[1] == RuleItem.Kind.BASE]
    bonus = [i for i in items if i[1] == RuleItem.Kind.BONUS]
    assert base and bonus and len(base) + len(bonus) == len(items), "Policy A has only base and bonus items"
    plans = []
    for _ in range(PLANS_PER_CATEGORY):
        base_share = rng.uniform(0.05, 0.55)  # how often this member loses points rather than gains
        used, times, plan = defaultdict(int), defaultdict(int), []
        while len(plan) < entries:
            semester = rng.randrange(2)
            pool = base if rng.random() < base_share else bonus
            item_id, kind, code, title, low, high, cap, most = rng.choice(pool)
            magnitude = low + int((high - low) * rng.random() ** 3) // STEP * STEP  # mostly small
            key = (semester, item_id)
            if (most is not None and times[key] >= most) or (cap is not None and used[key] + magnitude > cap):
                continue
            used[key] += magnitude
            times[key] += 1
            sign = 1 if kind == RuleItem.Kind.BONUS else -1
            plan.append(
                (semester, item_id, kind, sign * magnitude, rng.randrange(semester_days[semester]), f"{code} {title}")
            )
        plans.append(plan)
    return plans


def ledger_fields(members, plans_by_category, semesters, year, recorder_id, rng):
    """Every member's entries, each following one of its category's plans: dicts of LedgerEntry
    fields, without the hash chain's columns and the time recorded."""
    from scoring.models import LedgerEntry

    sources = [LedgerEntry.Source.RECORDER, LedgerEntry.Source.PANEL, LedgerEntry.Source.DECLARATION]
    day = [
        [s.starts_on + datetime.timedelta(days=d) for d in range((s.ends_on - s.starts_on).days + 1)] for s in semesters
    ]
    period_ids = [s.pk for s in semesters]
    for member_id, category, _branch in members:
        plan = plans_by_category[category][rng.randrange(PLANS_PER_CATEGORY)]
        for (semester, item_id, kind, points, offset, reason), source in zip(plan, itertools.cycle(sources)):
            yield {
                "member_id": member_id,
                "item_id": item_id,
                "period_id": period_ids[semester],
                "year": year,
                "kind": kind,
                "points": points,
                "reason": reason,
                "source": source,
                "recorded_by_id": recorder_id,
                "verified_by_id": None,
                "occurred_on": day[semester][offset],
                "reverses_id": None,
            }


# ── a year of review data, as the services leave it (the committee dashboard reads it) ───────


def bulk_write(model, rows):
    """Store plain rows (dicts of field attnames) through the ORM: the default writer."""
    model.objects.bulk_create([model(**row) for row in rows], batch_size=5000)


def copy_write(model, rows):
    """Store plain rows (dicts of field attnames, all with the same keys) with PostgreSQL's COPY.
    The fields a row leaves out take their Django default (an auto_now field: now), as the ORM
    would give them; a key that is no field fails. Returns the number of rows."""
    from django.db import connection
    from django.db.models import JSONField
    from django.utils import timezone

    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    fields = [f for f in model._meta.concrete_fields if not f.primary_key or f.attname in first]
    unknown = set(first) - {f.attname for f in fields}
    assert not unknown, f"{model.__name__} has no field {sorted(unknown)}"
    now = timezone.now()
    defaults = {
        f.attname: now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) else f.get_default()
        for f in fields
        if f.attname not in first
    }
    names = [f.attname for f in fields]
    as_json = [n for n, f in zip(names, fields, strict=True) if isinstance(f, JSONField)]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    count = 0
    with connection.cursor() as cursor:
        sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for row in itertools.chain([first], rows):
                values = {**defaults, **row}
                for name in as_json:
                    values[name] = json.dumps(values[name], ensure_ascii=False)
                copy.write_row([values[n] for n in names])
                count += 1
    return count


def total_for(rng):
    """Mostly 60–95, a tail below 60 and a few at 95 and above (centipoints, quarter points)."""
    return max(0, min(10000, int(rng.gauss(7800, 900)) // 25 * 25))


def stored_results(members, schemes, years, rng, write=bulk_write):
    """Stored totals and outcomes of `years` as a recalculation leaves them, drawn at random
    (`schemes`: year → member category → scheme). Returns the totals as (member id, branch id,
    total, year)."""
    from scoring.models import MemberOutcome, MemberYearTotal

    totals, outcomes = [], []
    for y in years:
        rules = {c: {r.consequence: r for r in s.outcome_rules.all()} for c, s in schemes[y].items()}
        for member_id, category, branch_id in members:
            total = total_for(rng)
            totals.append(
                {
                    "member_id": member_id,
                    "year": y,
                    "branch_id": branch_id,
                    "scheme_id": schemes[y][category].pk,
                    "total": total,
                    "period_scores": {"1": total, "2": total},
                }
            )
            found = ["not_excellent" if total < 9000 else "priority"]
            if 6000 <= total <= 7000:
                found.append("yellow")
            if total < 6000:
                found.append("red")
            for consequence in found:
                rule = rules[category][consequence]
                outcomes.append(
                    {
                        "member_id": member_id,
                        "year": y,
                        "branch_id": branch_id,
                        "rule_id": rule.pk,
                        "rule_code": rule.code,
                        "consequence": consequence,
                        "reason": rule.label,
                    }
                )
    write(MemberYearTotal, totals)
    write(MemberOutcome, outcomes)
    return [(t["member_id"], t["branch_id"], t["total"], t["year"]) for t in totals]


def member_reviews(totals, period, admin, rng, write=bulk_write):
    """The year's pledges, first-semester self-assessments and panel confirmations of most members
    (`totals`: their (member id, branch id, total, year) of the year)."""
    from django.utils import timezone

    from reviews.models import PanelConfirmation, Pledge, SelfAssessment

    now = timezone.now()
    pledges, assessments, confirmations = [], [], []
    for member_id, _branch, total, year in totals:
        if rng.random() < 0.9:
            status = rng.choice(("submitted", "approved", "approved", "approved"))
            pledges.append(
                {"member_id": member_id, "year": year, "kind": "vanguard", "content": "先锋承诺", "status": status}
            )
        if rng.random() < 0.85:
            score = total if rng.random() < 0.5 else total - 200
            assessments.append(
                {
                    "member_id": member_id,
                    "period_id": period.pk,
                    "status": "submitted",
                    "self_score": score,
                    "submitted_at": now,
                }
            )
        if rng.random() < 0.8:
            confirmations.append({"member_id": member_id, "period_id": period.pk, "confirmed_by_id": admin.pk})
    write(Pledge, pledges)
    write(SelfAssessment, assessments)
    write(PanelConfirmation, confirmations)


def branch_reviews(branches, totals, year, admin, reps, rng, write=bulk_write):
    """Each branch's mass evaluation forms, publicity windows, decided determination (most branches)
    with its lines and follow-ups, objections, spot checks and notices. Determinations go through
    the ORM whatever `write` is: the rows after them refer to their ids."""
    from django.utils import timezone

    from partyscore.dashboards.models import BranchCommendation, SpotCheck
    from reviews.models import Determination, DeterminationLine, FollowUp, MassEvaluation, Objection, Publicity

    decided_at = timezone.make_aware(datetime.datetime(year, 11, 20, 10))
    write(
        MassEvaluation,
        [
            {"representative_id": rep.pk, "branch_id": b.pk, "year": year, "panel_rating": 4, "branch_rating": 4}
            for b in branches
            if rng.random() < 0.8
            for rep in reps
        ],
    )
    starts = timezone.make_aware(datetime.datetime(year, 4, 10))
    write(
        Publicity,
        [
            {
                "branch_id": b.pk,
                "year": year,
                "kind": "pledges",
                "starts_at": starts,
                "ends_at": starts + datetime.timedelta(5),
                "created_by_id": admin.pk,
            }
            for b in branches
            if rng.random() < 0.9
        ],
    )
    determinations = Determination.objects.bulk_create(
        [
            Determination(
                branch=b,
                year=year,
                status="decided",
                decided_at=decided_at,
                meeting_date=decided_at.date(),
                decided_by=admin,
            )
            for b in branches
            if rng.random() < 0.85
        ],
        batch_size=5000,
    )
    decided = {d.branch_id: d.pk for d in determinations}
    write(
        Publicity,
        [
            {
                "branch_id": branch_id,
                "year": year,
                "kind": "annual",
                "determination_id": d,
                "starts_at": decided_at + datetime.timedelta(days=rng.choice((1, 2, 12))),
                "ends_at": decided_at + datetime.timedelta(days=20),
                "created_by_id": admin.pk,
            }
            for branch_id, d in decided.items()
            if rng.random() < 0.9
        ],
    )
    write(
        DeterminationLine,
        [
            {"determination_id": decided[branch_id], "member_id": member_id, "total": total}
            for member_id, branch_id, total, _year in totals
            if branch_id in decided
        ],
    )
    write(
        FollowUp,
        [
            {
                "member_id": member_id,
                "determination_id": decided[branch_id],
                "kind": "talk_secretary",
                "rule_code": "A-YELLOW",
                "reason": "黄色预警",
                "responsible_id": branch_id,
                "due_on": datetime.date(year, 12, 20),
                "status": rng.choice(("open", "done")),
            }
            for member_id, branch_id, total, _year in totals
            if branch_id in decided and total <= 7000
        ],
    )
    write(
        Objection,
        [
            {
                "raised_by_id": admin.pk,
                "member_id": member_id,
                "branch_id": branch_id,
                "year": year,
                "reason": "异议",
                "due_on": datetime.date(year, 12, 1),
                "status": rng.choice(("open", "rejected", "upheld")),
            }
            for member_id, branch_id, _total, _year in rng.sample(totals, len(totals) // 100)
        ],
    )
    write(
        SpotCheck,
        [
            {"branch_id": b.pk, "year": year, "requested": 10, "seed": "bench", "created_by_id": admin.pk}
            for b in branches[:20]
        ],
    )
    write(
        BranchCommendation,
        [
            {"branch_id": b.pk, "year": year, "kind": "commend", "reason": "工作扎实", "created_by_id": admin.pk}
            for b in branches[:10]
        ],
    )
