"""A year's recalculation fanned out over two real Celery workers on the real Redis.

The year task cuts the branches into chunks (RECALCULATION_CHUNK_MEMBERS, small here: the workers
inherit it from this process's environment) and queues one task per chunk; each worker logs the
chunks it did with its name (the task's result). Both workers must have done some, every branch
exactly once, and the stored rows must be those of the same recalculation in one process.
"""

import ast
import random
import re

from members.models import Member
from members.services import organization_create
from scoring import services as scoring
from scoring.ledger_chain import ledger_append_many
from scoring.models import LedgerEntry, MemberOutcome, MemberYearTotal
from scoring.tasks import recalculate_year_task
from tests.builders import add_members, build_university
from tests.test_authorization_matrix import add_scoring

from .conftest import wait_until

BRANCHES, MEMBERS = 24, 10
DONE = re.compile(r"recalculate_branches_task\[[^\]]+\] succeeded in [0-9.e-]+s: (\{.*\})")


def stored(year):
    totals = MemberYearTotal.objects.filter(year=year).values_list(
        "member_id", "branch_id", "scheme_id", "scored", "total", "total_exact", "rank", "period_scores"
    )
    outcomes = MemberOutcome.objects.filter(year=year).values_list(
        "member_id", "branch_id", "rule_id", "rule_code", "consequence", "reason"
    )
    return sorted(totals), sorted(outcomes)


def chunks_done(log):
    return [ast.literal_eval(found) for found in DONE.findall(log.read_text())] if log.exists() else []


def test_a_years_recalculation_is_shared_by_two_workers_and_stores_what_one_process_does(broker, monkeypatch, tmp_path):
    from partyscore.celery import app

    world = build_university()
    _reference, _schemes, _entries, period = add_scoring(world)
    year = period.cycle.year
    rng = random.Random(18)
    items = list(_reference.items.all())
    entries = []
    for n in range(BRANCHES):
        branch = organization_create(
            actor=world.admin, name=f"分摊支部{n}", code=f"F{n}", kind="branch", parent=(world.A, world.B)[n % 2]
        )
        for member in add_members(branch, MEMBERS, start=1):
            for _ in range(rng.randrange(6)):
                item = rng.choice(items)
                entries.append(
                    LedgerEntry(
                        member=member,
                        item=item,
                        period=period,
                        year=year,
                        kind=item.kind,
                        points=rng.randrange(1, 800) * (1 if item.kind == "bonus" else -1),
                        reason="测试",
                        source=LedgerEntry.Source.RECORDER,
                        recorded_by=world.admin,
                        occurred_on=period.starts_on,
                    )
                )
    ledger_append_many(entries, actor=world.admin, reason="测试数据")
    assert scoring.recalculate(year=year) == Member.objects.count()  # in this process, one chunk
    expected = stored(year)
    assert len(expected[1]) > BRANCHES  # outcomes too
    MemberYearTotal.objects.filter(year=year).delete()
    MemberOutcome.objects.filter(year=year).delete()

    app.control.purge()  # what the setting up queued (the schemes' approval)
    monkeypatch.setenv("RECALCULATION_CHUNK_MEMBERS", str(3 * MEMBERS))  # chunks of about three branches
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    workers = [broker(log) for log in logs]
    names = {w.name for w in workers}
    wait_until(
        lambda: names <= {reply for answer in app.control.ping(timeout=0.5) for reply in answer},
        what="both workers",
    )
    recalculate_year_task.delay(year)
    branch_count = BRANCHES + 3
    wait_until(
        lambda: sum(len(c["branches"]) for log in logs for c in chunks_done(log)) == branch_count,
        timeout=120,
        what="every chunk",
    )

    assert stored(year) == expected
    done = {log.name: chunks_done(log) for log in logs}
    assert all(done.values()), done  # both workers did some of the chunks
    for log, worker in zip(logs, workers, strict=True):
        assert {c["hostname"] for c in done[log.name]} == {worker.name}
    branches = [b for chunks in done.values() for c in chunks for b in c["branches"]]
    assert sorted(branches) == sorted(set(branches)) and len(branches) == branch_count  # each branch once
