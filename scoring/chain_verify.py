"""Recompute the ledger's and the audit log's hash chains and their cross-links (`manage.py verify_ledger`).

Each check streams its rows in id order (constant memory, millions of rows) and stops classifying at
its first break; what each kind of tampering leaves behind, and what it cannot reveal, is set out in
docs/security.md ("防篡改").
"""

import bisect
import itertools
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from django.db.models import CharField, OuterRef, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, override

from partyscore.core.audit import event_hash
from partyscore.core.models import AuditEvent

from .ledger_chain import BULK_ACTION, HASHED_FIELDS, entry_hash
from .models import LedgerEntry

LEDGER, AUDIT = LedgerEntry._meta.db_table, AuditEvent._meta.db_table
# Audit actions that record one new ledger entry and carry its hash in `after["hash"]`.
LINKED_ACTIONS = ("ledger.record", "ledger.reverse")
AUDIT_FIELDS = ("created_at", "actor_id", "action", "target_type", "target_id", "before", "after", "reason")
CHUNK = 2000

log = logging.getLogger(__name__)


def kind_labels():
    return {
        "edited": _("被修改"),
        "deleted": _("被删除（记录缺失）"),
        "inserted": _("插入了伪造记录"),
        "reordered": _("顺序被调换"),
    }


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
    heads: dict = field(default_factory=dict)  # table → (id, hash) of the newest row
    breaks: list = field(default_factory=list)  # the first break of each check, in the order checked
    anchor_breaks: list = field(default_factory=list)  # those of them found by comparing with the anchor

    @property
    def intact(self):
        return not self.breaks


def _walk(model, rows, recompute, expected_prev=""):
    """Follow one chain (from the row after the one whose hash is `expected_prev`); returns (rows
    seen, (id, hash) of the last row, the first Break or None)."""
    table = model._meta.db_table
    count, previous, first = 0, None, None
    for pk, prev_hash, stored, values in rows:
        count += 1
        if first is None:
            computed = recompute(prev_hash, values)
            if prev_hash != expected_prev or computed != stored:
                first = _classify(model, table, previous, pk, prev_hash, stored, computed, expected_prev)
        expected_prev, previous = stored, (pk, prev_hash, stored)
    return count, (previous[0], previous[2]) if previous else (None, ""), first


def _classify(model, table, previous, pk, prev_hash, stored, computed, expected_prev):
    """Name what happened at the first row where the chain breaks, from the rows around it."""
    rows = model.objects.order_by("pk")
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
        LedgerEntry.objects.order_by("id")
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


def verify(anchor=None):
    """Check both chains, the anchor (the heads recorded out of the database, if given) and the links
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
            yield pk, values[0], stored, values

    def recompute_entry(prev_hash, values):
        return entry_hash(**dict(zip(HASHED_FIELDS, values, strict=True)))

    report.ledger_count, report.heads[LEDGER], ledger_break = _walk(LedgerEntry, ledger_rows(), recompute_entry)

    audit_rows = (
        (pk, prev_hash, stored, values)
        for pk, prev_hash, stored, *values in AuditEvent.objects.order_by("id")
        .values_list("id", "prev_hash", "hash", *AUDIT_FIELDS)
        .iterator(chunk_size=CHUNK)
    )

    def recompute_event(prev_hash, values):
        return event_hash(prev_hash=prev_hash, **dict(zip(AUDIT_FIELDS, values, strict=True)))

    report.audit_count, report.heads[AUDIT], audit_break = _walk(AuditEvent, audit_rows, recompute_event)
    report.anchor_breaks = _anchor_breaks(anchor)
    report.breaks = [
        b
        for b in (ledger_break, audit_break, *report.anchor_breaks, coverage_break, _dangling_link(ranges))
        if b is not None
    ]
    return report


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
    """The nightly check: verify the chains against the anchor file and move it on when intact;
    recompute the stored figures from the ledger; tell the organization department of a break or of
    a figure that differs (and log it). A missing anchor file is recorded afresh (a new deployment)
    with a warning. Returns (ChainReport, figure differences)."""
    from .figures_verify import describe, verify_figures

    recorded = anchor_read(anchor_path) if anchor_path else None
    if anchor_path and recorded is None:
        log.warning("no chain anchor at %s yet: checking without one, then recording the heads there", anchor_path)
    report = verify(anchor=recorded)
    if report.intact and anchor_path:
        anchor_write(anchor_path, report)
    diffs = verify_figures()
    messages = []
    if not report.intact:
        first = report.breaks[0]
        log.error("hash chain broken: %s id %s (%s): %s", first.table, first.row_id, first.kind, first.detail)
        names = {LEDGER: gettext_lazy("台账"), AUDIT: gettext_lazy("审计记录")}
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


# ── the anchor: the chains' heads kept out of the database ─────────────────────────────────────


def anchor_advance(path):
    """The hourly step: move the anchor on to the current heads if the anchored heads are still
    there, unchanged, and every row appended since links on from them and hashes to what it stores.
    Costs the rows appended since the last anchor only; the cross-links between the chains are left
    to the nightly full check. Returns True if moved, False if a break stopped it (the anchor stays,
    for the nightly check to name the break), None if there is no anchor yet."""
    recorded = anchor_read(path)
    if recorded is None:
        return None
    if _anchor_breaks(recorded):
        log.error("chain anchor not moved: an anchored head changed or is gone (see verify_ledger)")
        return False
    report = ChainReport()
    chains = (
        (LedgerEntry, HASHED_FIELDS, lambda prev, values: entry_hash(**dict(zip(HASHED_FIELDS, values, strict=True)))),
        (
            AuditEvent,
            AUDIT_FIELDS,
            lambda prev, values: event_hash(prev_hash=prev, **dict(zip(AUDIT_FIELDS, values, strict=True))),
        ),
    )
    for model, fields, recompute in chains:
        table = model._meta.db_table
        head = recorded["heads"].get(table) or {}
        since = model.objects.filter(pk__gt=head.get("id") or 0).order_by("id")
        rows = (
            (pk, prev_hash, stored, [prev_hash, *values] if model is LedgerEntry else values)
            for pk, prev_hash, stored, *values in since.values_list(
                "id", "prev_hash", "hash", *[f for f in fields if f != "prev_hash"]
            ).iterator(chunk_size=CHUNK)
        )
        _count, last, found = _walk(model, rows, recompute, expected_prev=head.get("hash") or "")
        if found is not None:
            log.error("chain anchor not moved: %s id %s (%s): %s", table, found.row_id, found.kind, found.detail)
            return False
        report.heads[table] = last if last[0] is not None else (head.get("id"), head.get("hash") or "")
    anchor_write(path, report)
    return True


def anchor_read(path):
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else None


def anchor_write(path, report):
    """Replace the anchor file in one step (a new file renamed over the old), so that a crash never
    leaves half an anchor."""
    heads = {table: {"id": pk, "hash": digest} for table, (pk, digest) in report.heads.items()}
    path = Path(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps({"recorded_at": timezone.now().isoformat(), "heads": heads}, indent=2) + "\n")
    os.replace(partial, path)


def _anchor_breaks(anchor):
    """The rows that were the heads when the anchor was recorded must still be there, unchanged:
    this reveals history rewritten consistently and rows cut off the end since then."""
    if not anchor:
        return []
    breaks = []
    for model in (LedgerEntry, AuditEvent):
        head = anchor["heads"].get(model._meta.db_table) or {}
        if head.get("id") is None:
            continue
        stored = model.objects.filter(pk=head["id"]).values_list("hash", flat=True).first()
        if stored is None:
            breaks.append(
                Break(model._meta.db_table, head["id"], "deleted", head["hash"], "", _("锚点记录的链头已不存在"))
            )
        elif stored != head["hash"]:
            breaks.append(
                Break(
                    model._meta.db_table,
                    head["id"],
                    "edited",
                    head["hash"],
                    stored,
                    _("锚点记录的链头哈希已改变：此前的记录被改写"),
                )
            )
    return breaks
