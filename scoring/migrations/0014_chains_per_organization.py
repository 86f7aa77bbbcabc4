"""The ledger's hash chain becomes one chain per branch (partyscore 0008 does the same for the audit log).

Every entry already stored stays where it is, on the root chain 0, with its hash unchanged (the
root chain's entries hash as before). The append-only guard is lifted while the column is added
(SQLite rebuilds the table, which drops its triggers anyway) and put back at the end.
"""

from django.db import migrations, models

from partyscore.core.migrations._frozen import append_only_guard, append_only_lift

TABLE = "scoring_ledgerentry"


def lift_guard(apps, schema_editor):
    append_only_lift(schema_editor.connection, TABLE)


def restore_guard(apps, schema_editor):
    append_only_guard(schema_editor.connection, TABLE)


class Migration(migrations.Migration):
    dependencies = [("partyscore", "0008_chains_per_organization"), ("scoring", "0013_exportjob_parts")]

    operations = [
        migrations.RunPython(lift_guard, restore_guard),
        migrations.AddField(
            model_name="ledgerentry",
            name="chain",
            field=models.IntegerField(default=0, editable=False),
        ),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(fields=["chain", "id"], name="ledgerentry_chain_id"),
        ),
        migrations.RunPython(restore_guard, lift_guard),
    ]
