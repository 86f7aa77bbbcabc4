"""Recompute the hash chains of the ledger and the audit log, their anchors and their cross-links
(`manage.py verify_ledger`).

Each table holds one chain per organization (`chain`); each check streams its rows in (chain, id)
order (constant memory, millions of rows) and stops classifying a chain at its first break. The
anchors (`ChainAnchor`) are a chain of their own, and every head any anchor recorded must still be
there, on its chain, with its hash; the newest anchor is kept in a file off the database. What
each kind of tampering leaves behind, and what it cannot reveal, is set out in docs/security.md
("防篡改").
"""

import bisect
import itertools
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.db.models import CharField, Max, OuterRef, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, override

from partyscore.core.audit import ANCHOR_CHAIN, anchor_hash, anchor_record, chain_lock, event_hash
from partyscore.core.models import AuditEvent, ChainAnchor

from .ledger_chain import BULK_ACTION, HASHED_FIELDS, entry_hash
from .models import LedgerEntry

LEDGER, AUDIT, ANCHORS = LedgerEntry._meta.db_table, AuditEvent._meta.db_table, ChainAnchor._meta.db_table
CHAINED = {LEDGER: LedgerEntry, AUDIT: AuditEvent}
# Audit actions that record one new ledger entry and carry its hash in `after["hash"]`.
LINKED_ACTIONS = ("ledger.record", "ledger.reverse")
AUDIT_FIELDS = ("created_at", "actor_id", "action", "target_type", "target_id", "before", "after", "reason", "chain")
ANCHOR_FIELDS = ("created_at", "heads", "upto")
CHUNK = 2000

log = logging.getLogger(__name__)


def kind_labels():
    return {
        "edited": _("被修改"),
        "deleted": _("被删除（记录缺失）"),
        "inserted": _("插入了伪造记录"),
        "reordered": _("顺序被调换"),
    }


def table_names():
    return {LEDGER: gettext_lazy("台账"), AUDIT: gettext_lazy("审计记录"), ANCHORS: gettext_lazy("锚点")}


@dataclass
class Break:
    table: str
    row_id: int
    kind: str  # edited / deleted / inserted / reordered
    expected: str
    stored: str
    detail: str


@dataclass
class ChainReport:
    ledger_count: int = 0
    audit_count: int = 0
    anchor_count: int = 0
    heads: dict = field(default_factory=dict)  # table → {chain: (id, hash) of its newest row}
    anchored: dict = field(default_factory=dict)  # table → {chain: (id, hash) as last anchored}
    anchor_head: tuple = (None, "")  # (id, hash) of the newest anchor
    breaks: list = field(default_factory=list)  # the first break of each chain and check, in the order checked
    anchor_breaks: list = field(default_factory=list)  # those of them found by comparing with the anchors

    @property
    def intact(self):
        return not self.breaks


def _walk(siblings, rows, recompute, expected_prev=""):
    """Follow one chain (from the row after the one whose hash is `expected_prev`); `siblings` is the
    queryset of the chain's rows. Returns (rows seen, (id, hash) of the last row, the first Break or None)."""
    count, previous, first = 0, None, None
    for pk, prev_hash, stored, values in rows:
        count += 1
        if first is None:
            computed = recompute(prev_hash, values)
            if prev_hash != expected_prev or computed != stored:
                first = _classify(siblings, previous, pk, prev_hash, stored, computed, expected_prev)
        expected_prev, previous = stored, (pk, prev_hash, stored)
    return count, (previous[0], previous[2]) if previous else (None, ""), first


def _walk_chains(model, rows, recompute):
    """Follow every chain of a table; `rows` are (chain, id, prev_hash, hash, values) in (chain, id)
    order. Returns (rows seen, {chain: (id, hash) of its last row}, the first Break of each chain)."""
    count, heads, breaks = 0, {}, []
    for chain, group in itertools.groupby(rows, key=lambda row: row[0]):
        seen, heads[chain], found = _walk(model.objects.filter(chain=chain), (row[1:] for row in group), recompute)
        count += seen
        breaks += [found] if found else []
    return count, heads, breaks


def _classify(siblings, previous, pk, prev_hash, stored, computed, expected_prev):
    """Name what happened at the first row where the chain breaks, from the rows around it."""
    table = siblings.model._meta.db_table
    rows = siblings.order_by("pk")
    if computed == stored and rows.filter(pk__gt=pk, hash=prev_hash).exists():
        return Break(table, pk, "reordered", expected_prev, prev_hash, _("本条链接到编号更大的记录：顺序被调换"))
    following = rows.filter(pk__gt=pk).values_list("prev_hash", flat=True).first()
    if following is not None and following == expected_prev:
        # The next row links past this one: it was slipped in between two linked rows.
        return Break(table, pk, "inserted", expected_prev, stored, _("其后一条记录链接到它之前的记录，本条不在链上"))
    if computed != stored:
        return Break(table, pk, "edited", computed, stored, _("按存储内容重算的哈希与存储的哈希不符"))
    if previous is not None and prev_hash == previous[1]:
        # This row links to the same row as the one before it did: that one was slipped in.
        return Break(
            table, previous[0], "inserted", prev_hash, previous[2], _("其后一条记录链接到它之前的记录，本条不在链上")
        )
    return Break(table, pk, "deleted", expected_prev, prev_hash, _("本条链接的上一条记录已不存在：本条之前缺少记录"))


def _ledger_rows():
    """Each entry with the hash its recording audit event carries (None if it has none)."""
    linked = (
        AuditEvent.objects.filter(
            target_type=LedgerEntry._meta.label, action__in=LINKED_ACTIONS, target_id=Cast(OuterRef("pk"), CharField())
        )
        .annotate(linked=KT("after__hash"))
        .values("linked")[:1]
    )
    return (
        LedgerEntry.objects.order_by("chain", "id")
        .annotate(audit_hash=Subquery(linked))
        .values_list("id", "hash", "audit_hash", *HASHED_FIELDS)
        .iterator(chunk_size=CHUNK)
    )


def _bulk_ranges():
    """(first id, last id, hash of the last, event id) of each bulk append, by first id. Few rows."""
    ranges = []
    for pk, after in AuditEvent.objects.filter(action=BULK_ACTION).values_list("id", "after"):
        # An event edited out of shape covers nothing (the audit chain reports the edit).
        if isinstance(after, dict) and all(isinstance(after.get(key), int) for key in ("first", "last")):
            ranges.append((after["first"], after["last"], after.get("hash"), pk))
    return sorted(ranges)


def _recompute_entry(prev_hash, values):
    return entry_hash(**dict(zip(HASHED_FIELDS, values, strict=True)))


def _recompute_event(prev_hash, values):
    return event_hash(prev_hash=prev_hash, **dict(zip(AUDIT_FIELDS, values, strict=True)))


def _recompute_anchor(prev_hash, values):
    return anchor_hash(prev_hash=prev_hash, **dict(zip(ANCHOR_FIELDS, values, strict=True)))


def verify(anchor=None):
    """Check every chain of both tables, the anchors' chain and every head the anchors recorded,
    the anchor file's content (the newest anchor kept out of the database, if given) and the links
    between the ledger and the audit log. Returns a ChainReport."""
    report = ChainReport()
    ranges = _bulk_ranges()
    firsts = [r[0] for r in ranges]
    coverage_break = None

    def ledger_rows():
        nonlocal coverage_break
        for pk, stored, audit_hash, *values in _ledger_rows():
            if coverage_break is None and audit_hash != stored:
                coverage_break = _coverage(pk, stored, audit_hash, ranges, firsts)
            yield values[-1], pk, values[0], stored, values

    report.ledger_count, report.heads[LEDGER], ledger_breaks = _walk_chains(
        LedgerEntry, ledger_rows(), _recompute_entry
    )
    audit_rows = (
        (values[-1], pk, prev_hash, stored, values)
        for pk, prev_hash, stored, *values in AuditEvent.objects.order_by("chain", "id")
        .values_list("id", "prev_hash", "hash", *AUDIT_FIELDS)
        .iterator(chunk_size=CHUNK)
    )
    report.audit_count, report.heads[AUDIT], audit_breaks = _walk_chains(AuditEvent, audit_rows, _recompute_event)
    anchors_break, head_breaks = _check_anchors(report)
    report.anchor_breaks = head_breaks + _file_breaks(anchor)
    report.breaks = [
        b
        for b in (
            *ledger_breaks,
            *audit_breaks,
            anchors_break,
            *report.anchor_breaks,
            coverage_break,
            _dangling_link(ranges),
        )
        if b is not None
    ]
    return report


def _mapping(value):
    """An anchor's `heads` or `upto` as stored, or {} when edited out of shape (its hash shows that)."""
    return value if isinstance(value, dict) else {}


def _anchored_heads(heads):
    """(table, chain, id, hash) of each well-formed head in an anchor's `heads`."""
    for table, chains in _mapping(heads).items():
        for chain, head in _mapping(chains).items():
            if table in CHAINED and isinstance(head, list) and len(head) == 2 and str(chain).lstrip("-").isdigit():
                yield table, int(chain), head[0], head[1]


def _check_anchors(report):
    """Follow the anchors' own chain, and look up every head each anchor recorded: it must still be
    there, on the same chain, with the same hash. This reveals a chain's newest rows cut off after
    they were anchored, and history rewritten consistently before an anchor. Fills in the report's
    anchored heads; returns (the anchors' chain's first Break or None, the first Break of each
    chain found against its anchored heads)."""
    pending, found = [], {}

    def rows():
        for pk, prev_hash, stored, *values in (
            ChainAnchor.objects.order_by("id")
            .values_list("id", "prev_hash", "hash", *ANCHOR_FIELDS)
            .iterator(chunk_size=CHUNK)
        ):
            for table, chain, row_id, digest in _anchored_heads(values[1]):
                report.anchored.setdefault(table, {})[chain] = (row_id, digest)
                pending.append((table, chain, row_id, digest))
            if len(pending) >= CHUNK:
                _check_heads(pending, found)
            yield pk, prev_hash, stored, values

    report.anchor_count, report.anchor_head, chain_break = _walk(ChainAnchor.objects.all(), rows(), _recompute_anchor)
    _check_heads(pending, found)
    return chain_break, list(found.values())


def _check_heads(pending, found):
    """Compare a batch of anchored heads with the stored rows; keep the first break of each chain."""
    for table, model in CHAINED.items():
        ids = {row_id for t, _chain, row_id, _digest in pending if t == table and isinstance(row_id, int)}
        stored = {
            pk: (chain, digest)
            for pk, chain, digest in model.objects.filter(pk__in=ids).values_list("id", "chain", "hash")
        }
        for t, chain, row_id, digest in pending:
            if t != table or (table, chain) in found:
                continue
            if row_id not in stored:
                found[table, chain] = Break(table, row_id, "deleted", digest, "", _("锚点记录的链头已不存在"))
            elif stored[row_id][0] != chain:
                found[table, chain] = Break(
                    table, row_id, "edited", digest, stored[row_id][1], _("锚点记录的链头已不在原来的链上")
                )
            elif stored[row_id][1] != digest:
                found[table, chain] = Break(
                    table, row_id, "edited", digest, stored[row_id][1], _("锚点记录的链头哈希已改变：此前的记录被改写")
                )
    pending.clear()


def _file_breaks(anchor):
    """The anchor the file holds must still be there, unchanged: this reveals the newest anchors cut
    off, or the anchors rewritten. A file written while there was one chain holds both tables'
    heads instead, which are rows of the root chains now."""
    if not anchor:
        return []
    if "anchor" in anchor:
        recorded = anchor["anchor"]
        stored = ChainAnchor.objects.filter(pk=recorded["id"]).values_list("hash", flat=True).first()
        if stored is None:
            return [Break(ANCHORS, recorded["id"], "deleted", recorded["hash"], "", _("锚点文件记录的锚点已不存在"))]
        if stored != recorded["hash"]:
            return [Break(ANCHORS, recorded["id"], "edited", recorded["hash"], stored, _("锚点文件记录的锚点已被改写"))]
        return []
    breaks = []
    for table, model in CHAINED.items():
        head = anchor["heads"].get(table) or {}
        if head.get("id") is None:
            continue
        stored = model.objects.filter(pk=head["id"]).values_list("hash", flat=True).first()
        if stored is None:
            breaks.append(Break(table, head["id"], "deleted", head["hash"], "", _("锚点记录的链头已不存在")))
        elif stored != head["hash"]:
            breaks.append(
                Break(
                    table, head["id"], "edited", head["hash"], stored, _("锚点记录的链头哈希已改变：此前的记录被改写")
                )
            )
    return breaks


def _coverage(pk, stored, audit_hash, ranges, firsts):
    """An entry whose recording event does not carry its hash, unless a bulk append covers it."""
    if audit_hash is not None:
        return Break(LEDGER, pk, "edited", audit_hash, stored, _("记录此条的审计记录所载哈希与本条不符"))
    i = bisect.bisect_right(firsts, pk) - 1
    if i >= 0 and ranges[i][0] <= pk <= ranges[i][1]:
        return None
    return Break(
        LEDGER, pk, "inserted", "", stored, _("没有任何审计记录记载本条：本条是伪造的，或记载它的审计记录被删除")
    )


def _dangling_link(ranges):
    """The first audit event whose ledger entry is gone or no longer has the hash it recorded: this
    is what reveals the newest entries cut off the ledger's end."""
    for _first, last, linked, event_id in ranges:
        stored = LedgerEntry.objects.filter(pk=last).values_list("hash", flat=True).first()
        if stored != linked:
            return _link_break(last, linked, stored, event_id)
    events = (
        AuditEvent.objects.filter(target_type=LedgerEntry._meta.label, action__in=LINKED_ACTIONS, after__has_key="hash")
        .order_by("id")
        .annotate(linked=KT("after__hash"))
        .values_list("id", "target_id", "linked")
        .iterator(chunk_size=CHUNK)
    )
    # In batches of ids rather than a cast in SQL: an edited target_id must not stop the check
    # (the audit chain already reports that edit).
    while chunk := list(itertools.islice(events, CHUNK)):
        batch = [(e, int(t), h) for e, t, h in chunk if t.isascii() and t.isdigit()]
        hashes = dict(LedgerEntry.objects.filter(pk__in=[t for _e, t, _h in batch]).values_list("id", "hash"))
        for event_id, entry_id, linked in batch:
            if hashes.get(entry_id) != linked:
                return _link_break(entry_id, linked, hashes.get(entry_id), event_id)
    return None


def _link_break(entry_id, linked, stored, event_id):
    if stored is None:
        return Break(
            LEDGER,
            entry_id,
            "deleted",
            linked,
            "",
            _("审计记录 %(event)s 记载的台账记录已不存在") % {"event": event_id},
        )
    return Break(
        LEDGER, entry_id, "edited", linked, stored, _("审计记录 %(event)s 记载的哈希与本条不符") % {"event": event_id}
    )


def verify_and_report(*, anchor_path=None):
    """The nightly check: verify the chains against their anchors and the anchor file; when intact,
    anchor every chain that moved and move the file on to that anchor; recompute the stored figures
    from the ledger; tell the organization department of a break or of a figure that differs (and
    log it). A missing anchor file is recorded afresh (a new deployment)
    with a warning. Returns (ChainReport, figure differences)."""
    from .figures_verify import describe, verify_figures

    recorded = anchor_read(anchor_path) if anchor_path else None
    if anchor_path and recorded is None:
        log.warning("no chain anchor at %s yet: checking without one, then recording the newest there", anchor_path)
    report = verify(anchor=recorded)
    if report.intact:
        anchor_chains(report)
        if anchor_path:
            anchor_write(anchor_path, newest_anchor())
    diffs = verify_figures()
    messages = []
    if not report.intact:
        first = report.breaks[0]
        log.error("hash chain broken: %s id %s (%s): %s", first.table, first.row_id, first.kind, first.detail)
        names = table_names()
        with override("zh-hans"):  # the label's msgid, translated again for each reader
            kind = gettext_lazy(kind_labels()[first.kind])
        messages.append(
            (
                gettext_noop(
                    "防篡改核验发现%(name)s哈希链断裂：编号 %(id)s，%(kind)s。请立即联系系统管理员运行 "
                    "manage.py verify_ledger 核查"
                ),
                {"name": names[first.table], "id": first.row_id, "kind": kind},
            )
        )
    if diffs:
        lines = describe(diffs)
        for line in lines:
            log.error("stored figure differs from the ledger: %s", line)
        messages.append(
            (
                gettext_noop(
                    "防篡改核验发现 %(count)s 项存储的年度积分、排名或结果与按台账重算的不符，第一项：%(first)s。"
                    "请立即联系系统管理员运行 manage.py verify_ledger 核查"
                ),
                {"count": len(diffs), "first": lines[0]},
            )
        )
    if messages:
        _notify_organization_department(messages)
    return report, diffs


def _notify_organization_department(messages):
    from members import permissions as perms
    from members.models import Organization
    from members.selectors import users_with_perm
    from partyscore.core.notifications import notify

    users = set()
    for committee in Organization.objects.filter(kind=Organization.Kind.COMMITTEE):
        users.update(users_with_perm(organization=committee, perm=perms.AUDIT_VIEW))
    for template, params in messages:
        notify(sorted(users, key=lambda u: u.pk), template, reverse("audit_list"), params)


# ── anchoring: the chains' heads in ChainAnchor, the newest anchor in a file ────────────────


def anchor_chains(report=None):
    """Record a new anchor of the chains' heads; returns it, or None if no chain moved.

    From an intact full check's `report`: every chain whose head is not the one last anchored.
    Otherwise (the periodic step) the chains that moved since the anchor before the last, read by
    id from the rows after the highest id it had seen: one period's overlap, so that a transaction
    that took its id before the last anchor but committed after it is not left out."""
    with transaction.atomic():
        chain_lock([ANCHOR_CHAIN])
        heads, upto = _heads_from(report) if report is not None else _heads_moved()
        return anchor_record(heads=heads, upto=upto) if heads else None


def _heads_from(report):
    heads = {
        table: {
            str(chain): list(head)
            for chain, head in report.heads.get(table, {}).items()
            if report.anchored.get(table, {}).get(chain) != head
        }
        for table in CHAINED
    }
    upto = {table: max((pk for pk, _digest in report.heads.get(table, {}).values()), default=0) for table in CHAINED}
    return {table: chains for table, chains in heads.items() if chains}, upto


def _heads_moved():
    recent = list(ChainAnchor.objects.order_by("-id").values_list("heads", "upto")[:2])
    latest = _mapping(recent[0][0]) if recent else {}
    since = _mapping(recent[-1][1]) if recent else {}
    heads, upto = {}, {}
    for table, model in CHAINED.items():
        after = since.get(table) if isinstance(since.get(table), int) else 0
        newest = dict(
            model.objects.filter(pk__gt=after).values("chain").annotate(last=Max("id")).values_list("chain", "last")
        )
        hashes = dict(model.objects.filter(pk__in=newest.values()).values_list("id", "hash"))
        last_anchored = _mapping(latest.get(table))
        moved = {
            str(chain): [pk, hashes[pk]]
            for chain, pk in sorted(newest.items())
            if last_anchored.get(str(chain)) != [pk, hashes[pk]]
        }
        if moved:
            heads[table] = moved
        upto[table] = max(newest.values(), default=after)
    return heads, upto


def anchor_advance(path=None):
    """The periodic step (every five minutes): anchor the chains that moved, then move the anchor
    file on to the newest anchor — only if the anchor it holds is still there, unchanged, and every
    anchor since links on from it. Costs the rows appended since the anchor before the last and the
    anchors since the file's. Returns True if the file moved, False if a break stopped it (the file
    stays, for the nightly check to name the break), None if there is no file yet (the nightly
    check records the first)."""
    anchor_chains()
    recorded = anchor_read(path) if path else None
    if recorded is None:
        return None
    held = recorded.get("anchor") or {}
    if _file_breaks(recorded):
        log.error("chain anchor file not moved: the anchor it holds changed or is gone (see verify_ledger)")
        return False
    since = ChainAnchor.objects.filter(pk__gt=held.get("id") or 0).order_by("id")
    rows = (
        (pk, prev_hash, stored, values)
        for pk, prev_hash, stored, *values in since.values_list("id", "prev_hash", "hash", *ANCHOR_FIELDS)
    )
    _count, last, found = _walk(
        ChainAnchor.objects.all(), rows, _recompute_anchor, expected_prev=held.get("hash") or ""
    )
    if found is not None:
        log.error("chain anchor file not moved: %s id %s (%s): %s", found.table, found.row_id, found.kind, found.detail)
        return False
    if last[0] is not None:
        anchor_write(path, last)
    return True


def anchor_read(path):
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else None


def newest_anchor():
    """(id, hash) of the newest anchor, or (None, "")."""
    return next(iter(ChainAnchor.objects.order_by("-id").values_list("id", "hash")[:1]), (None, ""))


def anchor_write(path, anchor):
    """Record the anchor (id, hash) in the file, replacing it in one step (a new file renamed over
    the old), so that a crash never leaves half an anchor."""
    pk, digest = anchor
    path = Path(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    content = {"recorded_at": timezone.now().isoformat(), "anchor": {"id": pk, "hash": digest}}
    partial.write_text(json.dumps(content, indent=2) + "\n")
    os.replace(partial, path)
