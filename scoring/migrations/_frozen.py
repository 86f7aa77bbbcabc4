"""What the migrations run of scoring.ledger_chain, frozen as it stood when they were written, so that a
later change there cannot change what an old migration computes (the loader skips "_" modules).

tests/test_migrations_frozen.py compares these with the live code: when the live code changes on purpose,
that test fails; the fix is a new migration, not an edit here.
"""

import datetime
import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder

BULK_ACTION = "ledger.bulk"

HASHED_FIELDS = ("prev_hash", "member_id", "item_id", "period_id", "year", "kind", "points", "reason", "source",
                 "recorded_by_id", "verified_by_id", "occurred_on", "recorded_at", "reverses_id")


def entry_hash(*, prev_hash, member_id, item_id, period_id, year, kind, points, reason, source, recorded_by_id,
               verified_by_id, occurred_on, recorded_at, reverses_id):
    payload = json.dumps(
        [prev_hash, member_id, item_id, period_id, year, kind, points, reason, source, recorded_by_id,
         verified_by_id, occurred_on.isoformat(), recorded_at.astimezone(datetime.UTC).isoformat(), reverses_id],
        cls=DjangoJSONEncoder, ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()
