"""Writing the audit log. Every service that changes data calls `audit_record` in its transaction.

The audit log and the ledger are hash chains, one of each per organization: an event is on the
chain of its organization (the root chain 0 when it has none), a ledger entry on its member's
branch's. A chain is extended under that organization's advisory lock, so writers in different
branches never wait for each other; the chains' heads are anchored together in `ChainAnchor`.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, NamedTuple

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from .models import AuditEvent, ChainAnchor

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser
    from django.db import models

# PostgreSQL's advisory locks of the chains are (this class, chain): one per organization, taken
# for its ledger chain and its audit chain alike, and one for the anchors' own chain.
_CHAIN_LOCK_CLASS = 0x5053_4155  # "PSAU"
ROOT_CHAIN = 0  # events with no organization, and every row written while there was one chain
ANCHOR_CHAIN = -1


def chain_lock(chains: Iterable[int]) -> None:
    """Serialize appends to these chains until the transaction ends, so two writers never read the
    same head. Several are taken in one statement in ascending order: two batches over the same
    branches then cannot deadlock. SQLite already lets one writer in at a time."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, chain) FROM (SELECT unnest(%s::int[]) AS chain ORDER BY 1) AS chains",
                [_CHAIN_LOCK_CLASS, sorted(set(chains))],
            )


def chain_heads(model: type[models.Model], chains: Iterable[int]) -> dict[int, str]:
    """The hash of the newest row of each chain ("" for a chain with none). Call under `chain_lock`."""
    return {
        chain: model.objects.filter(chain=chain).order_by("-id").values_list("hash", flat=True).first() or ""
        for chain in sorted(set(chains))
    }


def event_hash(
    *,
    prev_hash: str,
    created_at: datetime,
    actor_id: int | None,
    action: str,
    target_type: str,
    target_id: str,
    before: object,
    after: object,
    reason: str,
    chain: int = ROOT_CHAIN,
) -> str:
    # The root chain's events hash as every event did before there were several chains.
    payload = json.dumps(
        [prev_hash, created_at.isoformat(), actor_id, action, target_type, str(target_id), before, after, reason]
        + ([chain] if chain != ROOT_CHAIN else []),
        cls=DjangoJSONEncoder,
        ensure_ascii=False,
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _plain(value: object) -> Any:
    """Round-trip through JSON so the hash is computed over exactly what is stored."""
    return None if value is None else json.loads(json.dumps(value, cls=DjangoJSONEncoder))


class AuditRecord(NamedTuple):
    """One event for `audit_record_many`: the arguments `audit_record` takes."""

    actor: object
    action: str
    target: object
    organization: object = None
    before: object = None
    after: object = None
    reason: str = ""


def _chain_of(record: AuditRecord) -> int:
    return record.organization.pk if record.organization is not None else ROOT_CHAIN


def _event(record: AuditRecord, prev_hash: str, created_at: datetime) -> AuditEvent:
    actor, target, chain = record.actor, record.target, _chain_of(record)
    target_type = target._meta.label if target is not None else ""
    target_id = str(target.pk) if target is not None else ""
    before, after = _plain(record.before), _plain(record.after)
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    digest = event_hash(
        prev_hash=prev_hash,
        created_at=created_at,
        actor_id=actor_id,
        action=record.action,
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
        reason=record.reason,
        chain=chain,
    )
    return AuditEvent(
        actor_id=actor_id,
        action=record.action,
        target_type=target_type,
        target_id=target_id,
        target_repr=str(target)[:200] if target is not None else "",
        organization=record.organization,
        before=before,
        after=after,
        reason=record.reason,
        chain=chain,
        prev_hash=prev_hash,
        hash=digest,
        created_at=created_at,
    )


@transaction.atomic
def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    target: models.Model | None,
    organization: models.Model | None = None,
    before: object = None,
    after: object = None,
    reason: str = "",
) -> AuditEvent:
    """Append one event to its organization's chain. `target` is a model instance (or None for
    actions on no single object)."""
    record = AuditRecord(actor, action, target, organization, before, after, reason)
    chain = _chain_of(record)
    chain_lock([chain])
    event = _event(record, chain_heads(AuditEvent, [chain])[chain], timezone.now())
    event.save(force_insert=True)
    return event


@transaction.atomic
def audit_record_many(records: Iterable[AuditRecord]) -> list[AuditEvent]:
    """Append one event per AuditRecord in one insert (a batch of ledger lines): the same events, in
    order, as calling `audit_record` for each, in a number of queries that grows with the number of
    their organizations, not with them."""
    records = list(records)
    chains = {_chain_of(record) for record in records}
    chain_lock(chains)
    events, heads, created_at = [], chain_heads(AuditEvent, chains), timezone.now()
    for record in records:
        events.append(_event(record, heads[_chain_of(record)], created_at))
        heads[events[-1].chain] = events[-1].hash
    return AuditEvent.objects.bulk_create(events)


def anchor_hash(*, prev_hash: str, created_at: datetime, heads: object, upto: object) -> str:
    payload = json.dumps(
        [prev_hash, created_at.isoformat(), heads, upto], cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@transaction.atomic
def anchor_record(*, heads: dict, upto: dict) -> ChainAnchor:
    """Append one anchor: `heads` {table: {chain: [id, hash]}}, `upto` {table: highest id seen}."""
    chain_lock([ANCHOR_CHAIN])
    heads, upto = _plain(heads), _plain(upto)
    prev_hash = ChainAnchor.objects.order_by("-id").values_list("hash", flat=True).first() or ""
    created_at = timezone.now()
    return ChainAnchor.objects.create(
        created_at=created_at,
        heads=heads,
        upto=upto,
        prev_hash=prev_hash,
        hash=anchor_hash(prev_hash=prev_hash, created_at=created_at, heads=heads, upto=upto),
    )
