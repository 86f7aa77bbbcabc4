"""The ledger's hash chain: the only way ledger entries are written.

Each branch has a chain: an entry is on the chain of its member's branch as it was when the entry
was written (`LedgerEntry.chain`, so checking needs nothing else), and the entries written while the
ledger had one chain are on the root chain 0. Each entry's hash covers its stored columns and the
hash of the entry before it on its chain (in id order), as the audit log's events do, so an
edited, removed, inserted, reordered or moved line breaks a chain (`manage.py verify_ledger`). The
audit event recording an entry carries the entry's hash, which ties the ledger's newest lines to
the audit chains.
"""

import datetime
import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from members.models import Member
from partyscore.core.audit import ROOT_CHAIN, audit_record, chain_heads, chain_lock

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
    chain=ROOT_CHAIN,
):
    # UTC, so that a value read back from the database hashes like the one written. The root
    # chain's entries hash as every entry did before there were several chains.
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
        ]
        + ([chain] if chain != ROOT_CHAIN else []),
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
    "chain",
)


def _branches(entries):
    """Member id → branch id, from the members the entries carry and one query per 5,000 others."""
    branches = {e.member_id: e.member.branch_id for e in entries if LedgerEntry.member.is_cached(e)}
    others = sorted({e.member_id for e in entries} - branches.keys())
    for start in range(0, len(others), 5000):
        branches.update(Member.objects.filter(pk__in=others[start : start + 5000]).values_list("pk", "branch_id"))
    return branches


def _chain(entries):
    """Give unsaved entries their place at the end of their branches' chains. Call inside a transaction."""
    branches = _branches(entries)
    for entry in entries:
        entry.chain = branches[entry.member_id]
    chains = {entry.chain for entry in entries}
    chain_lock(chains)
    heads = chain_heads(LedgerEntry, chains)
    for entry in entries:
        entry.prev_hash = heads[entry.chain]
        entry.hash = heads[entry.chain] = entry_hash(**{name: getattr(entry, name) for name in HASHED_FIELDS})
    return entries


@transaction.atomic
def ledger_append(entry):
    """Save one new entry at the end of its branch's chain. The caller's service audits it, with `entry.hash`."""
    _chain([entry])
    entry.save(force_insert=True)
    return entry


@transaction.atomic
def ledger_append_each(entries, batch_size=5000):
    """Save many new entries at the end of their branches' chains in one go; the caller audits each (with its hash)."""
    if entries:
        LedgerEntry.objects.bulk_create(_chain(entries), batch_size=batch_size)
    return entries


@transaction.atomic
def ledger_append_many(entries, *, actor, reason, batch_size=5000):
    """Save many new entries at the end of their branches' chains in one go (demo and benchmark data, tests),
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
