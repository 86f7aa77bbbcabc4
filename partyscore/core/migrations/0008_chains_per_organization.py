"""The audit log's hash chain becomes one chain per organization, and the chains' heads are anchored
together in ChainAnchor (append-only and chained itself).

Every event already stored stays where it is, on the root chain 0, with its hash unchanged (the
root chain's events hash as before). The append-only guard is lifted while the column is added
(SQLite rebuilds the table, which drops its triggers anyway) and put back at the end.
"""

import django.utils.timezone
from django.db import migrations, models

from partyscore.core.migrations._frozen import append_only_guard, append_only_lift, append_only_migration

TABLE = "partyscore_auditevent"


def lift_guard(apps, schema_editor):
    append_only_lift(schema_editor.connection, TABLE)


def restore_guard(apps, schema_editor):
    append_only_guard(schema_editor.connection, TABLE)


class Migration(migrations.Migration):
    dependencies = [("partyscore", "0007_notices_from_reviews")]

    operations = [
        migrations.CreateModel(
            name="ChainAnchor",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("heads", models.JSONField()),
                ("upto", models.JSONField()),
                ("prev_hash", models.CharField(blank=True, max_length=64)),
                ("hash", models.CharField(max_length=64, unique=True)),
            ],
            options={"verbose_name": "哈希链锚点", "verbose_name_plural": "哈希链锚点"},
        ),
        append_only_migration("partyscore_chainanchor"),
        migrations.RunPython(lift_guard, restore_guard),
        migrations.AddField(
            model_name="auditevent",
            name="chain",
            field=models.IntegerField(default=0, editable=False),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["chain", "id"], name="auditevent_chain_id"),
        ),
        migrations.RunPython(restore_guard, lift_guard),
    ]
