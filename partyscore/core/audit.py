"""Writing the audit log. Every service that changes data calls `audit_record` in its transaction."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, NamedTuple

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from .models import AuditEvent

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser
    from django.db import models

# A fixed key for PostgreSQL's advisory lock: appends to the chains happen one at a time.
_CHAIN_LOCK_KEY = 0x5053_4155  # "PSAU"


def chain_lock() -> None:
    """Serialize appends to the audit and ledger chains until the transaction ends, so two writers
    never read the same last hash. SQLite already lets one writer in at a time."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])


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
) -> str:
    payload = json.dumps(
        [prev_hash, created_at.isoformat(), actor_id, action, target_type, str(target_id), before, after, reason],
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


def _event(record: AuditRecord, prev_hash: str, created_at: datetime) -> AuditEvent:
    actor, target = record.actor, record.target
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
        prev_hash=prev_hash,
        hash=digest,
        created_at=created_at,
    )


def _last_hash() -> str:
    chain_lock()
    return AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or ""


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
    """Append one event. `target` is a model instance (or None for actions on no single object)."""
    event = _event(
        AuditRecord(actor, action, target, organization, before, after, reason), _last_hash(), timezone.now()
    )
    event.save(force_insert=True)
    return event


@transaction.atomic
def audit_record_many(records: Iterable[AuditRecord]) -> list[AuditEvent]:
    """Append one event per AuditRecord in one insert (a batch of ledger lines): the same events, in
    order, as calling `audit_record` for each, in a number of queries that does not grow with them."""
    events, last, created_at = [], _last_hash(), timezone.now()
    for record in records:
        events.append(_event(record, last, created_at))
        last = events[-1].hash
    return AuditEvent.objects.bulk_create(events)
