"""Tamper evidence: the ledger's and the audit log's hash chains and `manage.py verify_ledger`.

A realistic database (the test university, entries through the services with corrections and a
bulk append, audit events about other things after them) is tampered with in many random ways,
each inside a savepoint with the append-only guard lifted and rolled back afterwards; the verifier
must name the first broken link every time, and say nothing on the untouched database.
"""

import dataclasses
import datetime
import hashlib
import io
import json
import random

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import F

from members.models import Member, User
from partyscore.core.audit import event_hash
from partyscore.core.db import append_only_lift
from partyscore.core.models import AuditEvent, Notification
from scoring import services as scoring
from scoring.chain_verify import AUDIT, LEDGER, verify
from scoring.ledger_chain import HASHED_FIELDS, entry_hash, ledger_append_many
from scoring.models import LedgerEntry, Period, RuleItem
from scoring.tasks import verify_chains_task
from tests.test_authorization_matrix import add_scoring

CASES = 200
MODELS = {LEDGER: LedgerEntry, AUDIT: AuditEvent}
LEDGER_EDITS = (*HASHED_FIELDS, "hash")
AUDIT_EDITS = (
    "created_at",
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "before",
    "after",
    "reason",
    "prev_hash",
    "hash",
)


@pytest.fixture
def chained(world):
    """Entries recorded, adjusted and reversed through the services, a bulk append in between, and
    the newest audit events about something other than the ledger."""
    _reference, schemes, entries, period = add_scoring(world)
    items = list(
        schemes["A1"].items.filter(kind=RuleItem.Kind.BONUS, evidence_required=False, times_per_period__isnull=True)[:3]
    )
    for n, member in enumerate(world.a1_members[1:]):
        scoring.entry_record(
            actor=world.secretary,
            member=member,
            item=items[n % len(items)],
            period=period,
            points=1,
            reason=f"第{n + 1}次志愿服务",
            recalculate=False,
        )
    ledger_append_many(
        [
            LedgerEntry(
                member=member,
                item=items[0],
                period=period,
                year=period.cycle.year,
                kind=items[0].kind,
                points=100,
                reason="批量补录",
                source=LedgerEntry.Source.RECORDER,
                recorded_by=world.admin,
                occurred_on=period.starts_on,
            )
            for member in world.a1_members
        ],
        actor=world.admin,
        reason="测试数据",
    )
    scoring.entry_reverse(actor=world.secretary, entry=entries["A1"], reason="记错了人")
    scoring.entry_adjust_to(
        actor=world.secretary,
        member=world.a1_members[2],
        item=items[1],
        period=period,
        magnitude=300,
        reason="考评小组评分",
        source=LedgerEntry.Source.PANEL,
    )
    scoring.entry_record(
        actor=world.admin,
        member=world.a2_members[1],
        item=schemes["A2"].items.get(code="A-C02"),
        period=period,
        points=2,
        reason="党课宣讲",
    )
    scoring.recalculate(year=period.cycle.year)  # the entries above were recorded without it
    scoring.board_visibility_set(actor=world.secretary, branch=world.A1, visible=True)
    return world


def anchor_of(report):
    return {"heads": {table: {"id": pk, "hash": digest} for table, (pk, digest) in report.heads.items()}}


def made_up_hash(rng):
    return hashlib.sha256(rng.randbytes(16)).hexdigest()


def lift_guards():
    for table in MODELS:
        append_only_lift(connection, table)


# ── the tamperings; each returns the (table, id, kind) the verifier must report first ───────────


def edited_value(table, row, column, rng):
    value = row[column]
    if column in ("prev_hash", "hash"):
        return made_up_hash(rng)
    if column in ("recorded_at", "created_at"):
        return value + datetime.timedelta(seconds=1)
    if column == "occurred_on":
        return value + datetime.timedelta(days=1)
    if column in ("year", "points"):
        return value + 1
    if column in ("reason", "target_id"):
        return value + "改"
    if column == "action":
        return value + ".x"
    if column == "target_type":
        return "members.Member" if value != "members.Member" else "scoring.LedgerEntry"
    if column in ("before", "after"):
        return {**(value or {}), "points": 9999}
    if column == "kind":
        return rng.choice([k for k in RuleItem.Kind.values if k != value])
    if column == "source":
        return rng.choice([s for s in LedgerEntry.Source.values if s != value])
    if column == "reverses_id":  # one-to-one: point at an entry nothing reverses yet
        reversed_ids = LedgerEntry.objects.filter(reverses__isnull=False).values("reverses")
        return (
            None
            if value is not None
            else LedgerEntry.objects.exclude(pk__in=reversed_ids).values_list("pk", flat=True).first()
        )
    others = (
        {
            "member_id": Member,
            "recorded_by_id": User,
            "verified_by_id": User,
            "actor_id": User,
            "item_id": RuleItem,
            "period_id": Period,
        }[column]
        .objects.exclude(pk=value)
        .values_list("pk", flat=True)
    )
    return None if column in ("verified_by_id", "actor_id") and value is not None else rng.choice(list(others))


def edit(table, ids, rng, column=None):
    pk = rng.choice(ids)
    column = column or rng.choice(LEDGER_EDITS if table == LEDGER else AUDIT_EDITS)
    model = MODELS[table]
    row = model.objects.values().get(pk=pk)
    model.objects.filter(pk=pk).update(**{column: edited_value(table, row, column, rng)})
    return table, pk, "edited"


def delete(table, ids, rng, position=None):
    position = rng.randrange(len(ids)) if position is None else position % len(ids)
    with connection.cursor() as cursor:  # as an attacker would: no ORM cascade or protection
        cursor.execute(f'DELETE FROM "{table}" WHERE id = %s', [ids[position]])  # noqa: S608 — a constant name
    if position == len(ids) - 1:
        return table, ids[position], "deleted"  # revealed by the anchor (and, for the ledger, its audit event)
    return table, ids[position + 1], "deleted"  # the next row links to a hash no row has


def swap(table, ids, rng):
    i, j = sorted(rng.sample(ids, 2))
    model = MODELS[table]
    fields = [f.attname for f in model._meta.concrete_fields if not f.primary_key]
    first, second = (model.objects.values(*fields).get(pk=pk) for pk in (i, j))
    clear = {"hash": made_up_hash(rng)} | ({"reverses_id": None} if table == LEDGER else {})
    model.objects.filter(pk=j).update(**clear)  # unique columns out of the way first
    model.objects.filter(pk=i).update(**second)
    model.objects.filter(pk=j).update(**first)
    return table, i, "reordered"


def insert(table, ids, rng, position=None, correct_hash=None):
    """A forged row with a plausible hash: computed exactly as the application would, or made up.
    In the middle, the rows from `position` on move up one id to make room; -1 appends."""
    position = rng.randrange(len(ids) + 1) if position is None else position % (len(ids) + 1)
    correct_hash = rng.random() < 0.5 if correct_hash is None else correct_hash
    model = MODELS[table]
    fields = [f.attname for f in model._meta.concrete_fields if not f.primary_key]
    forged = model.objects.values(*fields).get(pk=rng.choice(ids))
    forged["reason"] += "（伪造）"
    forged["prev_hash"] = (
        model.objects.filter(pk=ids[position - 1]).values_list("hash", flat=True).get() if position else ""
    )
    if table == LEDGER:
        forged["reverses_id"] = None
        digest = entry_hash(**{name: forged[name] for name in HASHED_FIELDS})
    else:
        digest = event_hash(**{name: forged[name] for name in AUDIT_EDITS[:-1]})
    forged["hash"] = digest if correct_hash else made_up_hash(rng)
    if position < len(ids):
        model.objects.filter(pk__gte=ids[position]).update(id=-F("id"))
        model.objects.filter(pk__lt=0).update(id=-F("id") + 1)
        forged["id"] = ids[position]
    row = model.objects.create(**forged)
    if position < len(ids):
        return table, row.pk, "inserted"  # the row after it links past it
    if table == LEDGER and correct_hash:
        return table, row.pk, "inserted"  # a perfect link, but no audit event records it
    return table, row.pk, "edited"  # a last row whose hash does not match: forged or edited alike


def tamper_and_verify(tamper, table, anchor, rng, **kwargs):
    """Tamper inside a savepoint that is rolled back; returns (expected, report)."""
    with transaction.atomic():
        lift_guards()
        ids = list(MODELS[table].objects.order_by("id").values_list("id", flat=True))
        expected = tamper(table, ids, rng, **kwargs)
        report = verify(anchor=anchor)
        transaction.set_rollback(True)
    return expected, report


# ── tests ───────────────────────────────────────────────────────────────────────────────────────


def test_an_untouched_database_verifies_clean(chained):
    report = verify()
    assert report.intact, report.breaks
    assert report.ledger_count == LedgerEntry.objects.count() >= 12
    assert report.audit_count == AuditEvent.objects.count()
    assert verify(anchor=anchor_of(report)).intact


def test_every_random_tampering_is_caught_at_its_first_broken_link(chained):
    anchor = anchor_of(verify())
    rng = random.Random(8)
    # Every hashed column and the ends of both chains explicitly, then random cases.
    cases = [(edit, LEDGER, {"column": c}) for c in LEDGER_EDITS] + [(edit, AUDIT, {"column": c}) for c in AUDIT_EDITS]
    cases += [(delete, table, {"position": p}) for table in MODELS for p in (0, -1)]
    cases += [(insert, table, {"position": p, "correct_hash": True}) for table in MODELS for p in (0, -2)]
    cases += [(insert, table, {"position": -1, "correct_hash": table == LEDGER}) for table in MODELS]
    kinds = (edit, delete, insert, swap)
    cases += [(rng.choice(kinds), rng.choice(list(MODELS)), {}) for _ in range(CASES - len(cases))]
    seen = set()
    for tamper, table, kwargs in cases:
        expected, report = tamper_and_verify(tamper, table, anchor, rng, **kwargs)
        assert report.breaks, f"{tamper.__name__} {expected} went unnoticed"
        first = report.breaks[0]
        assert (first.table, first.row_id, first.kind) == expected, (tamper.__name__, kwargs, report.breaks)
        seen.add((table, expected[2]))
    assert seen >= {(t, k) for t in MODELS for k in ("edited", "deleted", "inserted", "reordered")}
    assert verify(anchor=anchor).intact  # every tampering was rolled back


def test_a_rewritten_history_is_caught_by_the_anchor(chained):
    """An attacker who edits an entry and recomputes every hash after it leaves a consistent chain;
    the heads recorded out of the database no longer match."""
    anchor = anchor_of(verify())
    with transaction.atomic():
        lift_guards()
        entries = list(LedgerEntry.objects.order_by("id"))
        entries[3].points += 500
        prev = entries[2].hash
        for entry in entries[3:]:
            entry.prev_hash = prev
            entry.hash = prev = entry_hash(**{name: getattr(entry, name) for name in HASHED_FIELDS})
            LedgerEntry.objects.filter(pk=entry.pk).update(
                points=entry.points, prev_hash=entry.prev_hash, hash=entry.hash
            )
        unanchored, anchored = verify(), verify(anchor=anchor)
        transaction.set_rollback(True)
    # The chain itself holds; the audit event that recorded the entry still carries its old hash,
    # and the head recorded in the anchor has changed.
    assert (unanchored.breaks[0].table, unanchored.breaks[0].row_id) == (LEDGER, entries[3].pk)
    assert (anchored.breaks[0].table, anchored.breaks[0].row_id) == (LEDGER, entries[-1].pk)
    assert {b.kind for b in anchored.breaks} == {"edited"}


def test_the_command_reports_intact_then_names_the_first_broken_link(chained, tmp_path):
    anchor = tmp_path / "heads.json"
    out = io.StringIO()
    call_command("verify_ledger", "--anchor", str(anchor), "--init-anchor", stdout=out)
    assert "完整" in out.getvalue()
    heads = json.loads(anchor.read_text())["heads"]
    assert heads[LEDGER]["id"] == LedgerEntry.objects.order_by("id").last().pk

    victim = LedgerEntry.objects.order_by("id")[4]
    out = io.StringIO()
    with transaction.atomic():
        lift_guards()
        LedgerEntry.objects.filter(pk=victim.pk).update(points=victim.points + 1000)
        with pytest.raises(CommandError):
            call_command("verify_ledger", "--anchor", str(anchor), stdout=out)
        transaction.set_rollback(True)
    text = out.getvalue()
    assert f"断裂：台账（{LEDGER}）编号 {victim.pk}，被修改" in text
    assert "完整" not in text
    assert json.loads(anchor.read_text())["heads"] == heads  # a failed check does not move the anchor


def test_without_an_anchor_the_newest_entry_cut_off_is_revealed_by_its_audit_event(chained):
    last = LedgerEntry.objects.order_by("id").last()
    _expected, report = tamper_and_verify(delete, LEDGER, None, random.Random(1), position=-1)
    assert [(b.table, b.row_id, b.kind) for b in report.breaks] == [(LEDGER, last.pk, "deleted")]


def test_the_nightly_task_keeps_the_anchor_and_tells_the_organization_department_of_a_break(
    chained, settings, tmp_path
):
    settings.CHAIN_ANCHOR_FILE = str(tmp_path / "heads.json")
    verify_chains_task()  # the first run: no anchor yet, recorded
    heads = json.loads((tmp_path / "heads.json").read_text())["heads"]
    assert heads[AUDIT]["id"] == AuditEvent.objects.order_by("id").last().pk
    earlier = list(Notification.objects.values_list("pk", flat=True))  # e.g. the college told of appointments
    assert not Notification.objects.filter(message__contains="防篡改").exists()
    with transaction.atomic():
        lift_guards()  # the newest audit event, about no ledger entry, cut off: only the anchor shows it
        AuditEvent.objects.filter(pk=heads[AUDIT]["id"]).delete()
        verify_chains_task()
        notices = list(Notification.objects.exclude(pk__in=earlier).values_list("user", "message"))
        transaction.set_rollback(True)
    assert notices == [
        (
            chained.org_department.pk,
            f"防篡改核验发现审计记录哈希链断裂：编号 {heads[AUDIT]['id']}，被删除（记录缺失）。"
            "请立即联系系统管理员运行 manage.py verify_ledger 核查",
        )
    ]
    assert json.loads((tmp_path / "heads.json").read_text())["heads"] == heads


# ── round two: no blind spots ───────────────────────────────────────────────────────────────────


def empty_both_chains():
    """As an attacker with the guard out of the way would: TRUNCATE on PostgreSQL, DELETE on SQLite."""
    lift_guards()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f'TRUNCATE "{LEDGER}", "{AUDIT}" CASCADE')
        else:
            for table in (LEDGER, AUDIT):
                cursor.execute(f'DELETE FROM "{table}"')  # noqa: S608 — a constant table name


def test_chains_emptied_are_caught_by_the_anchor_checked_by_default(chained, settings, tmp_path):
    settings.CHAIN_ANCHOR_FILE = str(tmp_path / "anchor.json")
    call_command("verify_ledger", "--init-anchor", stdout=io.StringIO())
    heads = json.loads((tmp_path / "anchor.json").read_text())["heads"]
    out = io.StringIO()
    with transaction.atomic():
        empty_both_chains()
        assert not LedgerEntry.objects.exists() and not AuditEvent.objects.exists()
        with pytest.raises(CommandError, match="哈希链断裂"):
            call_command("verify_ledger", stdout=out)  # no option: the anchor of the setting
        transaction.set_rollback(True)
    text = out.getvalue()
    assert "台账 0 条，审计记录 0 条" in text
    for table in (LEDGER, AUDIT):
        assert f"（{table}）编号 {heads[table]['id']}，被删除（记录缺失）。锚点记录的链头已不存在" in text
    assert "完整" not in text
    assert json.loads((tmp_path / "anchor.json").read_text())["heads"] == heads


def test_the_command_checks_an_anchor_unless_told_not_to(chained, settings, tmp_path):
    settings.CHAIN_ANCHOR_FILE = ""
    with pytest.raises(CommandError, match="未设置锚点文件"):
        call_command("verify_ledger", stdout=io.StringIO())
    settings.CHAIN_ANCHOR_FILE = str(tmp_path / "missing.json")
    with pytest.raises(CommandError, match="--init-anchor"):
        call_command("verify_ledger", stdout=io.StringIO())
    assert not (tmp_path / "missing.json").exists()
    out = io.StringIO()
    with transaction.atomic():
        empty_both_chains()
        # Asked for: the blind spot is named. The chains alone look complete (empty); only the
        # stored figures, no longer derivable from an empty ledger, give it away.
        with pytest.raises(CommandError, match="与按台账重算的不符"):
            call_command("verify_ledger", "--no-anchor", stdout=out)
        transaction.set_rollback(True)
    text = out.getvalue()
    assert "未核对锚点：链尾被截断或整表被清空不会被发现" in text
    assert "断裂" not in text


def test_the_nightly_task_records_a_missing_anchor_then_catches_emptied_chains(chained, settings, tmp_path):
    settings.CHAIN_ANCHOR_FILE = str(tmp_path / "anchor.json")
    verify_chains_task()
    assert (tmp_path / "anchor.json").exists()
    assert not Notification.objects.filter(message__contains="防篡改").exists()
    with transaction.atomic():
        empty_both_chains()
        verify_chains_task()
        notices = list(Notification.objects.values_list("message", flat=True))
        transaction.set_rollback(True)
    assert any(n.startswith("防篡改核验发现台账哈希链断裂") for n in notices)


def forge_total(member, **values):
    """A raw UPDATE of a stored year total, as the attacker did (the table has no guard: it is derived)."""
    columns = ", ".join(f'"{name}" = %s' for name in values)
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "scoring_memberyeartotal" SET {columns} WHERE member_id = %s',  # noqa: S608
            [*values.values(), member.pk],
        )


def test_a_forged_total_and_rank_are_named_by_the_command_and_the_nightly_task(chained, login, settings, tmp_path):
    from scoring.models import MemberYearTotal
    from scoring.points import format_points

    settings.CHAIN_ANCHOR_FILE = str(tmp_path / "anchor.json")
    call_command("verify_ledger", "--init-anchor", stdout=io.StringIO())
    stored = MemberYearTotal.objects.filter(branch=chained.A1, rank__gt=1).select_related("member").first()
    member = stored.member
    forge_total(member, total=9999, rank=1)
    card = login(member.user).get(f"/members/{member.pk}/card/").content.decode()
    assert "99.99" in card  # the forgery shows, as reported

    out = io.StringIO()
    with pytest.raises(CommandError, match="2 项存储的年度积分、排名或结果与按台账重算的不符"):
        call_command("verify_ledger", stdout=out)
    text = out.getvalue()
    who = f"{member.number} {member.name}，{stored.year}年"
    assert f"不符：{who}，年度总分：存储为 99.99，按台账重算为 {format_points(stored.total)}" in text
    assert f"不符：{who}，支部排名：存储为 1，按台账重算为 {stored.rank}" in text
    assert "哈希链无断裂" not in text and "完整" not in text

    verify_chains_task()
    notices = list(Notification.objects.filter(message__contains="防篡改").values_list("user", "message"))
    assert notices == [
        (
            chained.org_department.pk,
            "防篡改核验发现 2 项存储的年度积分、排名或结果与按台账重算的不符，"
            f"第一项：不符：{who}，年度总分：存储为 99.99，按台账重算为 {format_points(stored.total)}。"
            "请立即联系系统管理员运行 "
            "manage.py verify_ledger 核查"[:300],
        )
    ]


def test_a_forged_exact_total_is_named(chained):
    """The exact total (what outcome rules see) is a stored figure of its own, checked like the shown one."""
    from scoring.figures_verify import describe, verify_figures
    from scoring.models import MemberYearTotal

    stored = MemberYearTotal.objects.filter(branch=chained.A1).select_related("member").first()
    forge_total(stored.member, total_exact=stored.total_exact + 27720 * 500)
    lines = describe(verify_figures())
    assert len(lines) == 1 and "年度总分（精确值）" in lines[0], lines


def test_a_removed_total_and_a_forged_outcome_are_named(chained):
    from scoring.figures_verify import describe, verify_figures
    from scoring.models import MemberOutcome, MemberYearTotal, OutcomeRule

    assert verify_figures() == []
    removed, favoured = chained.a1_members[1], chained.a1_members[2]
    year = MemberYearTotal.objects.get(member=removed).year
    rule = OutcomeRule.objects.filter(scheme__owner=chained.A1).order_by("pk").first()
    with transaction.atomic():
        MemberYearTotal.objects.filter(member=removed).delete()
        MemberOutcome.objects.create(
            member=favoured,
            year=year,
            branch=chained.A1,
            rule=rule,
            rule_code="FORGED",
            consequence=rule.consequence,
            reason="伪造",
        )
        diffs = verify_figures()
        lines = describe(diffs)
        transaction.set_rollback(True)
    assert [(d.member_id, d.field) for d in diffs] == sorted([(removed.pk, "row"), (favoured.pk, "outcome:FORGED")])
    who = f"{removed.number} {removed.name}，{year}年"
    assert any(line.startswith(f"不符：{who}，年度积分记录：存储为 —，按台账重算为 总分") for line in lines)
    assert any(f"积分结果 FORGED：存储为 {rule.consequence}，按台账重算为 —" in line for line in lines)


def test_the_figures_check_goes_through_the_recalculations_own_code(chained, monkeypatch):
    """No second formula: change how the recalculation derives a total and every scored member's
    stored total differs, as a forged one would."""
    from scoring import policy
    from scoring.figures_verify import verify_figures
    from scoring.models import MemberYearTotal

    derive = policy.annual_total

    def one_more(*args, **kwargs):
        result = derive(*args, **kwargs)
        return dataclasses.replace(result, total=result.total + 1)

    monkeypatch.setattr(policy, "annual_total", one_more)
    totals = {d.member_id for d in verify_figures() if d.field == "total"}
    assert totals == set(MemberYearTotal.objects.filter(scheme__isnull=False).values_list("member_id", flat=True))


def test_the_hourly_task_moves_the_anchor_over_new_rows_only_while_they_link_on(chained, settings, tmp_path):
    from scoring.chain_verify import anchor_advance
    from scoring.tasks import anchor_chains_task

    path = tmp_path / "anchor.json"
    settings.CHAIN_ANCHOR_FILE = str(path)
    assert anchor_advance(path) is None and not path.exists()  # the nightly check records the first
    verify_chains_task()
    first = json.loads(path.read_text())["heads"]
    member = chained.a1_members[1]
    item = RuleItem.objects.filter(scheme__owner=chained.A1, code="A-C02").get()
    scoring.entry_record(
        actor=chained.secretary,
        member=member,
        item=item,
        period=Period.objects.filter(cycle__year=LedgerEntry.objects.latest("id").year, kind="semester", index=1).get(),
        points=1,
        reason="又一次",
    )
    anchor_chains_task()
    moved = json.loads(path.read_text())["heads"]
    assert moved[LEDGER]["id"] == LedgerEntry.objects.latest("id").pk > first[LEDGER]["id"]
    assert moved[AUDIT]["id"] == AuditEvent.objects.latest("id").pk > first[AUDIT]["id"]
    assert verify(anchor=json.loads(path.read_text())).intact

    # A row cut from the middle is left to the nightly full check (the next row then links to
    # nothing); here: the anchored head gone, and a new row that does not hash to what it stores.
    rng = random.Random(3)
    for tamper in (
        lambda: delete(
            LEDGER, list(LedgerEntry.objects.order_by("id").values_list("id", flat=True)), rng, position=-1
        ),  # the anchored head
        lambda: insert(
            AUDIT,
            list(AuditEvent.objects.order_by("id").values_list("id", flat=True)),
            rng,
            position=-1,
            correct_hash=False,
        ),
    ):
        with transaction.atomic():
            lift_guards()
            tamper()
            assert anchor_advance(path) is False
            transaction.set_rollback(True)
        assert json.loads(path.read_text())["heads"] == moved
