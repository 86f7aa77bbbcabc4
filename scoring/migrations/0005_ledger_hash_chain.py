"""Hash-chain the ledger: two new columns, the chain computed over the entries already there, and one
audit event that covers them (as a bulk append's does).

The append-only guard is lifted while the columns are added and filled (SQLite rebuilds the table,
which drops its triggers anyway) and put back at the end.
"""

import django.utils.timezone
from django.db import migrations, models
from django.utils import timezone

from partyscore.core.migrations._frozen import append_only_guard, append_only_lift, event_hash
from scoring.migrations._frozen import BULK_ACTION, HASHED_FIELDS, entry_hash

TABLE = "scoring_ledgerentry"


def lift_guard(apps, schema_editor):
    append_only_lift(schema_editor.connection, TABLE)


def restore_guard(apps, schema_editor):
    append_only_guard(schema_editor.connection, TABLE)


def chain_existing(apps, schema_editor):
    # The same hash as new entries get (scoring.ledger_chain, frozen), over the historical model's rows.
    LedgerEntry = apps.get_model("scoring", "LedgerEntry")
    AuditEvent = apps.get_model("partyscore", "AuditEvent")
    last, first_id, last_id, count = "", None, 0, 0
    # Page by id (no cursor left open on the table being updated), a batch of rows per UPDATE.
    while batch := list(LedgerEntry.objects.filter(id__gt=last_id).order_by("id")[:2000]):
        for entry in batch:
            entry.prev_hash = last
            entry.hash = last = entry_hash(**{name: getattr(entry, name) for name in HASHED_FIELDS})
        LedgerEntry.objects.bulk_update(batch, ["prev_hash", "hash"])
        first_id, last_id, count = first_id or batch[0].pk, batch[-1].pk, count + len(batch)
    if not count:
        return
    prev = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or ""
    created_at, reason = timezone.now(), "为已有台账建立哈希链"
    after = {"first": first_id, "last": last_id, "count": count, "hash": last}
    AuditEvent.objects.create(
        action=BULK_ACTION, target_type="", target_id="", after=after, reason=reason, prev_hash=prev,
        created_at=created_at,
        hash=event_hash(prev_hash=prev, created_at=created_at, actor_id=None, action=BULK_ACTION, target_type="",
                        target_id="", before=None, after=after, reason=reason),
    )


class Migration(migrations.Migration):

    dependencies = [
        ("partyscore", "0003_dashboards"),
        ("scoring", "0004_periodreopening"),
    ]

    operations = [
        migrations.RunPython(lift_guard, restore_guard),
        migrations.AlterField(
            model_name="ledgerentry",
            name="recorded_at",
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name="记录时间"),
        ),
        migrations.AddField(
            model_name="ledgerentry",
            name="prev_hash",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        # Unique only once every row has its own hash.
        migrations.AddField(
            model_name="ledgerentry",
            name="hash",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="ledgerentry",
            name="hash",
            field=models.CharField(editable=False, max_length=64, unique=True),
        ),
        migrations.RunPython(restore_guard, lift_guard),
    ]
