"""Tamper evidence: the ledger's and the audit log's hash chains (one per organization), their
anchors and `manage.py verify_ledger`.

A realistic database (the test university, entries through the services with corrections and a
bulk append, audit events about other things after them, the chains' heads anchored) is tampered
with in many random ways, each on one chain inside a savepoint with the append-only guard lifted
and rolled back afterwards; the verifier must name the first broken link every time, and say
nothing on the untouched database.
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
from partyscore.core.audit import anchor_hash, event_hash
from partyscore.core.db import append_only_guard, append_only_lift
from partyscore.core.models import AuditEvent, ChainAnchor, Notification
from scoring import services as scoring
from scoring.chain_verify import ANCHORS, AUDIT, LEDGER, anchor_chains, newest_anchor, verify
from scoring.ledger_chain import HASHED_FIELDS, entry_hash, ledger_append_many
from scoring.models import LedgerEntry, Period, RuleItem
from scoring.tasks import verify_chains_task
from tests.conftest import APPEND_ONLY_TABLES
from tests.test_authorization_matrix import add_scoring

CASES = 200
MODELS = {LEDGER: LedgerEntry, AUDIT: AuditEvent}
# A row's chain edited moves it to another chain: test_a_row_moved_between_chains_breaks_both.
LEDGER_EDITS = (*[f for f in HASHED_FIELDS if f != "chain"], "hash")
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


def anchored():
    """Anchor every chain's head as an intact check does; returns what the anchor file then holds."""
    report = verify()
    assert report.intact, report.breaks
    anchor_chains(report)
    pk, digest = newest_anchor()
    return {"anchor": {"id": pk, "hash": digest}}


def chain_ids(table, chain):
    return list(MODELS[table].objects.filter(chain=chain).order_by("id").values_list("id", flat=True))


def longest_chain(table):
    chains = MODELS[table].objects.values_list("chain", flat=True)
    return max(set(chains), key=lambda chain: (chains.filter(chain=chain).count(), chain))


def random_chain(table, rng):
    """A chain of at least two rows, the longer ones more often (a random row's chain)."""
    chains = list(MODELS[table].objects.values_list("chain", flat=True))
    return rng.choice([c for c in chains if chains.count(c) >= 2])


def made_up_hash(rng):
    return hashlib.sha256(rng.randbytes(16)).hexdigest()


def lift_guards():
    for table in APPEND_ONLY_TABLES:
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
    In the middle, the rows from `position` on move up one id to make room; -1 appends. An audit
    event appended with the hash computed is the blind spot docs/security.md names (it claims
    nothing about the ledger), so the random cases append audit events with made-up hashes."""
    position = rng.randrange(len(ids) + 1) if position is None else position % (len(ids) + 1)
    if correct_hash is None:
        correct_hash = rng.random() < 0.5 and not (table == AUDIT and position == len(ids))
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
        digest = event_hash(**{name: forged[name] for name in (*AUDIT_EDITS[:-1], "chain")})
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


def tamper_and_verify(tamper, table, anchor, rng, chain=None, **kwargs):
    """Tamper with one chain (a random one unless given) inside a savepoint that is rolled back;
    returns (expected, report)."""
    with transaction.atomic():
        lift_guards()
        ids = chain_ids(table, random_chain(table, rng) if chain is None else chain)
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
    assert len(report.heads[LEDGER]) >= 2 and len(report.heads[AUDIT]) >= 4  # A1, A2…; U, A, A1, A2…
    assert verify(anchor=anchored()).intact


def test_each_row_is_on_its_organizations_chain(chained):
    """A ledger line on its member's branch's chain, an audit event on its organization's (the root
    chain 0 without one); each chain starts from nothing and links on in id order."""
    for entry in LedgerEntry.objects.select_related("member"):
        assert entry.chain == entry.member.branch_id
    for event in AuditEvent.objects.all():
        assert event.chain == (event.organization_id or 0)
    assert AuditEvent.objects.filter(chain=0).exists() and AuditEvent.objects.filter(chain=chained.U.pk).exists()
    for model in MODELS.values():
        for chain in set(model.objects.values_list("chain", flat=True)):
            links = list(model.objects.filter(chain=chain).order_by("id").values_list("prev_hash", "hash"))
            assert [prev for prev, _ in links] == ["", *[digest for _, digest in links[:-1]]]


def test_every_random_tampering_is_caught_at_its_first_broken_link(chained):
    anchor = anchored()
    rng = random.Random(8)
    # Every hashed column and the ends of the longest chain of each table explicitly, then random cases.
    longest = {table: longest_chain(table) for table in MODELS}
    cases = [(edit, LEDGER, {"column": c}) for c in LEDGER_EDITS] + [(edit, AUDIT, {"column": c}) for c in AUDIT_EDITS]
    cases += [(delete, table, {"position": p}) for table in MODELS for p in (0, -1)]
    cases += [(insert, table, {"position": p, "correct_hash": True}) for table in MODELS for p in (0, -2)]
    cases += [(insert, table, {"position": -1, "correct_hash": table == LEDGER}) for table in MODELS]
    cases = [(tamper, table, {"chain": longest[table], **kwargs}) for tamper, table, kwargs in cases]
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


def rewrite_from(entries, start, points):
    """Edit one entry of a chain and recompute every hash after it, as a careful attacker would."""
    entries[start].points += points
    prev = entries[start - 1].hash
    for entry in entries[start:]:
        entry.prev_hash = prev
        entry.hash = prev = entry_hash(**{name: getattr(entry, name) for name in HASHED_FIELDS})
        LedgerEntry.objects.filter(pk=entry.pk).update(points=entry.points, prev_hash=entry.prev_hash, hash=entry.hash)


def test_a_rewritten_history_is_caught_by_the_anchor(chained):
    """An attacker who edits an entry and recomputes every hash after it on its chain leaves a
    consistent chain; the audit event still carries the old hash, and the anchored head changed."""
    anchor = anchored()
    with transaction.atomic():
        lift_guards()
        entries = list(LedgerEntry.objects.filter(chain=chained.A1.pk).order_by("id"))
        rewrite_from(entries, 3, 500)
        report = verify(anchor=anchor)
        transaction.set_rollback(True)
    found = [(b.table, b.row_id, b.kind) for b in report.breaks]
    assert found[0] == (LEDGER, entries[-1].pk, "edited")  # the anchored head
    assert (LEDGER, entries[3].pk, "edited") in found  # its audit event carries the old hash


def test_the_command_reports_intact_then_names_the_first_broken_link(chained, tmp_path):
    anchor = tmp_path / "heads.json"
    out = io.StringIO()
    call_command("verify_ledger", "--anchor", str(anchor), "--init-anchor", stdout=out)
    assert "完整" in out.getvalue()
    held = json.loads(anchor.read_text())["anchor"]
    newest = ChainAnchor.objects.get(pk=held["id"])
    assert held["hash"] == newest.hash
    last = LedgerEntry.objects.order_by("id").last()
    assert newest.heads[LEDGER][str(last.chain)] == [last.pk, last.hash]
    chains = len(set(LedgerEntry.objects.values_list("chain", flat=True)))
    assert f"台账 {chains} 条链" in out.getvalue() and f"已将最新锚点（编号 {newest.pk}）记入" in out.getvalue()

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
    assert json.loads(anchor.read_text())["anchor"] == held  # a failed check does not move the anchor
    assert ChainAnchor.objects.latest("id") == newest  # nor anchor the chains


def test_without_an_anchor_the_newest_entry_cut_off_is_revealed_by_its_audit_event(chained):
    last = LedgerEntry.objects.order_by("id").last()
    _expected, report = tamper_and_verify(delete, LEDGER, None, random.Random(1), chain=last.chain, position=-1)
    assert [(b.table, b.row_id, b.kind) for b in report.breaks] == [(LEDGER, last.pk, "deleted")]


def test_the_nightly_task_keeps_the_anchor_and_tells_the_organization_department_of_a_break(
    chained, settings, tmp_path
):
    settings.CHAIN_ANCHOR_FILE = str(tmp_path / "heads.json")
    verify_chains_task()  # the first run: no anchor yet, recorded
    held = json.loads((tmp_path / "heads.json").read_text())["anchor"]
    assert held["id"] == ChainAnchor.objects.latest("id").pk
    newest = AuditEvent.objects.order_by("id").last()
    earlier = list(Notification.objects.values_list("pk", flat=True))  # e.g. the college told of appointments
    assert not Notification.objects.filter(message__contains="防篡改").exists()
    with transaction.atomic():
        lift_guards()  # the newest audit event, about no ledger entry, cut off: only the anchor shows it
        AuditEvent.objects.filter(pk=newest.pk).delete()
        verify_chains_task()
        notices = list(Notification.objects.exclude(pk__in=earlier).values_list("user", "message"))
        transaction.set_rollback(True)
    assert notices == [
        (
            chained.org_department.pk,
            f"防篡改核验发现审计记录哈希链断裂：编号 {newest.pk}，被删除（记录缺失）。"
            "请立即联系系统管理员运行 manage.py verify_ledger 核查",
        )
    ]
    assert json.loads((tmp_path / "heads.json").read_text())["anchor"] == held


# ── chains per organization, and their anchors ──────────────────────────────────────────────────


def record_one(world, member, reason="又一次"):
    item = RuleItem.objects.filter(scheme__owner=member.branch, code="A-C02").get()
    period = Period.objects.filter(cycle__year=LedgerEntry.objects.latest("id").year, kind="semester", index=1).get()
    return scoring.entry_record(
        actor=world.admin, member=member, item=item, period=period, points=1, reason=reason, recalculate=False
    )


def test_an_edited_row_in_one_chain_breaks_that_chain_only(chained):
    anchor = anchored()
    victim = LedgerEntry.objects.filter(chain=chained.A1.pk).order_by("id")[2]
    with transaction.atomic():
        lift_guards()
        LedgerEntry.objects.filter(pk=victim.pk).update(points=F("points") + 100)
        report = verify(anchor=anchor)
        transaction.set_rollback(True)
    assert [(b.table, b.row_id, b.kind) for b in report.breaks] == [(LEDGER, victim.pk, "edited")]
    assert report.heads[LEDGER][chained.A2.pk] == report.anchored[LEDGER][chained.A2.pk]


def test_a_deleted_tail_of_one_chain_is_caught_once_anchored(chained):
    """An entry cut off the end of its branch's chain together with the audit event recording it
    (the end of that branch's audit chain) leaves two shorter, consistent chains: unseen until the
    heads are anchored (the window docs/security.md names), and caught by every anchor after."""
    member = chained.a2_members[1]

    def cut_tails(anchor):
        entry = record_one(chained, member)
        event = AuditEvent.objects.get(action="ledger.record", target_id=str(entry.pk))
        assert (entry.chain, event.chain) == (chained.A2.pk, chained.A2.pk)
        assigned = anchor() if anchor else None
        with transaction.atomic():
            lift_guards()
            AuditEvent.objects.filter(pk=event.pk).delete()
            LedgerEntry.objects.filter(pk=entry.pk).delete()
            report = verify(anchor=assigned)
            transaction.set_rollback(True)
        return entry, event, report

    anchored()
    _entry, _event, before = cut_tails(None)
    assert before.intact
    entry, event, after = cut_tails(anchored)
    assert {(b.table, b.row_id, b.kind, b.detail) for b in after.breaks} == {
        (LEDGER, entry.pk, "deleted", "锚点记录的链头已不存在"),
        (AUDIT, event.pk, "deleted", "锚点记录的链头已不存在"),
    }


def test_a_row_moved_between_chains_breaks_both(chained):
    anchor = anchored()
    a1 = chain_ids(LEDGER, chained.A1.pk)
    a2_head = chain_ids(LEDGER, chained.A2.pk)[-1]
    for moved, expected in (
        # From the middle: A1's next line links to nothing; on A2 it is not on the chain.
        (a1[2], {(LEDGER, a1[3], "deleted"), (LEDGER, a1[2], "inserted")}),
        # A2's anchored head onto A1: it does not link on there, and the anchored head is no longer
        # on its chain.
        (a2_head, {(LEDGER, a2_head, "edited")}),
    ):
        with transaction.atomic():
            lift_guards()
            target = chained.A2.pk if moved in a1 else chained.A1.pk
            LedgerEntry.objects.filter(pk=moved).update(chain=target)
            report = verify(anchor=anchor)
            transaction.set_rollback(True)
        assert expected <= {(b.table, b.row_id, b.kind) for b in report.breaks}, report.breaks
    assert "锚点记录的链头已不在原来的链上" in {b.detail for b in report.breaks}


def forge_anchor(heads, prev_hash=None, digest=None):
    """An anchor appended as an attacker would: linked on and hashed as the application would,
    unless told otherwise."""
    prev_hash = ChainAnchor.objects.latest("id").hash if prev_hash is None else prev_hash
    created_at = datetime.datetime.now(tz=datetime.UTC)
    upto = {LEDGER: 0, AUDIT: 0}
    digest = digest or anchor_hash(prev_hash=prev_hash, created_at=created_at, heads=heads, upto=upto)
    return ChainAnchor.objects.create(created_at=created_at, heads=heads, upto=upto, prev_hash=prev_hash, hash=digest)


def test_a_forged_anchor_is_caught(chained):
    anchor = anchored()
    entries = list(LedgerEntry.objects.filter(chain=chained.A1.pk).order_by("id"))
    first = ChainAnchor.objects.earliest("id")
    rng = random.Random(5)

    def caught(tamper):
        with transaction.atomic():
            lift_guards()
            tamper()
            report = verify(anchor=anchor)
            transaction.set_rollback(True)
        return {(b.table, b.row_id, b.kind) for b in report.breaks}

    def bless_a_rewrite():
        rewrite_from(entries, 3, 500)
        forge_anchor({LEDGER: {str(chained.A1.pk): [entries[-1].pk, entries[-1].hash]}})

    # A rewritten chain anchored afresh: the earlier anchor's head still differs.
    assert (LEDGER, entries[-1].pk, "edited") in caught(bless_a_rewrite)
    # An anchor claiming a head no chain has.
    assert caught(lambda: forge_anchor({LEDGER: {str(chained.A1.pk): [entries[1].pk, made_up_hash(rng)]}})) >= {
        (LEDGER, entries[1].pk, "edited")
    }
    # An anchor with a made-up hash, and one that links to no anchor.
    made_up = caught(lambda: forge_anchor({}, digest=made_up_hash(rng)))
    assert [k for t, _pk, k in made_up if t == ANCHORS] == ["edited"]
    assert [k for t, _pk, k in caught(lambda: forge_anchor({}, prev_hash=made_up_hash(rng))) if t == ANCHORS] == [
        "deleted"
    ]
    # An anchor's heads edited, and the anchor the file holds removed.
    assert (ANCHORS, first.pk, "edited") in caught(lambda: ChainAnchor.objects.filter(pk=first.pk).update(heads={}))
    assert (ANCHORS, anchor["anchor"]["id"], "deleted") in caught(
        lambda: ChainAnchor.objects.filter(pk=anchor["anchor"]["id"]).delete()
    )


def test_the_periodic_anchor_records_the_chains_that_moved_only(chained):
    anchored()
    assert anchor_chains() is None  # nothing moved
    entry = record_one(chained, chained.a1_members[1])
    event = AuditEvent.objects.latest("id")
    moved = anchor_chains()
    assert moved.heads == {
        LEDGER: {str(chained.A1.pk): [entry.pk, entry.hash]},
        AUDIT: {str(chained.A1.pk): [event.pk, event.hash]},
    }
    assert anchor_chains() is None  # seen again (the overlap of one period), already anchored
    assert verify().intact


def test_entries_written_while_there_was_one_chain_verify_as_the_root_chain(chained):
    """Rows written before the chains were per organization are on the root chain 0, hashed as then
    (the frozen hash of the migration that chained the ledger); new rows go to their branch's chain."""
    from partyscore.core.migrations import _frozen as frozen_core
    from scoring.migrations import _frozen as frozen_scoring

    template = LedgerEntry.objects.filter(chain=chained.A1.pk).order_by("id").first()
    legacy, prev = [], ""
    with transaction.atomic():
        lift_guards()
        for n in range(3):
            values = {name: getattr(template, name) for name in frozen_scoring.HASHED_FIELDS}
            values.update(prev_hash=prev, reason=f"旧台账{n}", reverses_id=None)
            prev = frozen_scoring.entry_hash(**values)
            legacy.append(LedgerEntry.objects.create(chain=0, hash=prev, **values))
        root = AuditEvent.objects.filter(chain=0).latest("id")
        after = {"first": legacy[0].pk, "last": legacy[-1].pk, "count": 3, "hash": prev}
        created_at = datetime.datetime.now(tz=datetime.UTC)
        values = {"created_at": created_at, "actor_id": None, "action": "ledger.bulk", "target_type": "",
                  "target_id": "", "before": None, "after": after, "reason": "为已有台账建立哈希链"}  # fmt: skip
        AuditEvent.objects.create(
            chain=0, prev_hash=root.hash, hash=frozen_core.event_hash(prev_hash=root.hash, **values), **values
        )
        for table in APPEND_ONLY_TABLES:
            append_only_guard(connection, table)
    assert verify().intact
    entry = record_one(chained, template.member)
    assert entry.chain == template.member.branch_id
    report = verify()
    assert report.intact and report.heads[LEDGER][0] == (legacy[-1].pk, legacy[-1].hash)


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
    held = json.loads((tmp_path / "anchor.json").read_text())["anchor"]
    heads = {table: ChainAnchor.objects.get(pk=held["id"]).heads[table] for table in MODELS}
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
        for row_id, _digest in heads[table].values():  # every chain's anchored head
            assert f"（{table}）编号 {row_id}，被删除（记录缺失）。锚点记录的链头已不存在" in text
    assert "完整" not in text
    assert json.loads((tmp_path / "anchor.json").read_text())["anchor"] == held


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


def test_the_stored_rows_of_a_member_no_branch_counts_are_named(chained):
    """Rows that nothing derives (the member left the party organization before the year) are
    found outside the chunks that derive each branch."""
    from scoring.figures_verify import verify_figures
    from scoring.models import MemberOutcome, MemberYearTotal

    gone = chained.a1_members[0]
    stored = MemberYearTotal.objects.get(member=gone)
    codes = sorted(MemberOutcome.objects.filter(member=gone, year=stored.year).values_list("rule_code", flat=True))
    assert codes
    Member.objects.filter(pk=gone.pk).update(left_on=datetime.date(stored.year - 1, 6, 30))
    diffs = [d for d in verify_figures() if d.member_id == gone.pk]
    assert [d.field for d in diffs] == ["row", *(f"outcome:{code}" for code in codes)]
    assert all(d.recomputed is None for d in diffs)


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


def test_the_periodic_task_moves_the_anchor_file_only_while_the_anchors_link_on(chained, settings, tmp_path):
    from scoring.chain_verify import anchor_advance
    from scoring.tasks import anchor_chains_task

    path = tmp_path / "anchor.json"
    settings.CHAIN_ANCHOR_FILE = str(path)
    assert anchor_advance(path) is None and not path.exists()  # the nightly check records the first file
    assert ChainAnchor.objects.exists()  # but the chains are anchored already
    verify_chains_task()
    first = json.loads(path.read_text())["anchor"]
    entry = record_one(chained, chained.a1_members[1])
    anchor_chains_task()
    moved = json.loads(path.read_text())["anchor"]
    newest = ChainAnchor.objects.latest("id")
    assert moved == {"id": newest.pk, "hash": newest.hash} and newest.pk > first["id"]
    assert newest.heads[LEDGER] == {str(entry.chain): [entry.pk, entry.hash]}
    assert verify(anchor=json.loads(path.read_text())).intact

    # The anchor the file holds gone, or a later anchor that does not hash to what it stores: the
    # file stays for the nightly check to name the break.
    rng = random.Random(3)
    for tamper in (
        lambda: ChainAnchor.objects.filter(pk=moved["id"]).delete(),
        lambda: forge_anchor({}, digest=made_up_hash(rng)),
    ):
        with transaction.atomic():
            lift_guards()
            tamper()
            assert anchor_advance(path) is False
            transaction.set_rollback(True)
        assert json.loads(path.read_text())["anchor"] == moved
