"""The ledger's hash chain: the only way ledger entries are written.

Each entry's hash covers its stored columns and the previous entry's hash (in id order), as the
audit log's events do, so an edited, removed, inserted or reordered line breaks the chain
(`manage.py verify_ledger`). The audit event recording an entry carries the entry's hash, which
ties the ledger's newest lines to the audit chain.
"""

import datetime
import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from partyscore.core.audit import audit_record, chain_lock

from .models import LedgerEntry

# The audit action of a bulk append: one event covers the ids first..last and carries the hash of
# the last one (the migration that chained the existing ledger wrote one too).
BULK_ACTION = "ledger.bulk"


def entry_hash(
    *,
    prev_hash,
    member_id,
    item_id,
    period_id,
    year,
    kind,
    points,
    reason,
    source,
    recorded_by_id,
    verified_by_id,
    occurred_on,
    recorded_at,
    reverses_id,
):
    # UTC, so that a value read back from the database hashes like the one written.
    payload = json.dumps(
        [
            prev_hash,
            member_id,
            item_id,
            period_id,
            year,
            kind,
            points,
            reason,
            source,
            recorded_by_id,
            verified_by_id,
            occurred_on.isoformat(),
            recorded_at.astimezone(datetime.UTC).isoformat(),
            reverses_id,
        ],
        cls=DjangoJSONEncoder,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


# The columns `entry_hash` reads, in its keyword order (the verifier streams them as tuples).
HASHED_FIELDS = (
    "prev_hash",
    "member_id",
    "item_id",
    "period_id",
    "year",
    "kind",
    "points",
    "reason",
    "source",
    "recorded_by_id",
    "verified_by_id",
    "occurred_on",
    "recorded_at",
    "reverses_id",
)


def _chain(entries):
    """Give unsaved entries their place after the current last entry. Call inside a transaction."""
    chain_lock()
    last = LedgerEntry.objects.order_by("-id").values_list("hash", flat=True).first() or ""
    for entry in entries:
        entry.prev_hash = last
        entry.hash = last = entry_hash(**{name: getattr(entry, name) for name in HASHED_FIELDS})
    return entries


@transaction.atomic
def ledger_append(entry):
    """Save one new entry at the end of the chain. The caller's service audits it, with `entry.hash`."""
    _chain([entry])
    entry.save(force_insert=True)
    return entry


@transaction.atomic
def ledger_append_each(entries, batch_size=5000):
    """Save many new entries at the end of the chain in one go; the caller audits each (with its hash)."""
    if entries:
        LedgerEntry.objects.bulk_create(_chain(entries), batch_size=batch_size)
    return entries


@transaction.atomic
def ledger_append_many(entries, *, actor, reason, batch_size=5000):
    """Save many new entries at the end of the chain in one go (demo and benchmark data, tests),
    with one audit event that covers them."""
    if not entries:
        return entries
    ledger_append_each(entries, batch_size)
    audit_record(
        actor=actor,
        action=BULK_ACTION,
        target=None,
        reason=reason,
        after={"first": entries[0].pk, "last": entries[-1].pk, "count": len(entries), "hash": entries[-1].hash},
    )
    return entries
