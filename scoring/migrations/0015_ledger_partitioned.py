"""On PostgreSQL, the ledger partitioned by `year`: one partition per year its lines hold, per open
or past scoring year, this year and the next, and a DEFAULT partition for any other. The primary key
becomes (id, year), `hash` and `reverses` are unique within a year, and `reverses` points at the
line with that id in the same year (a reversal is always in the reversed line's year). Other tables'
keys to the ledger become reference triggers, so this runs after every migration that made one.
Nothing on SQLite. See docs/architecture.md."""

import datetime

from django.db import migrations

from partyscore.core.migrations._frozen import YEAR_ZONE, YearPartitions, partition_by_year, unpartition

LEDGER = YearPartitions("scoring_ledgerentry", "year")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        this_year = datetime.datetime.now(YEAR_ZONE).year
        cycles = apps.get_model("scoring", "Cycle").objects.values_list("year", flat=True)
        partition_by_year(schema_editor.connection, LEDGER, [*cycles, this_year, this_year + 1])


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        unpartition(schema_editor.connection, LEDGER)


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0014_chains_per_organization"),
        ("reviews", "0014_notices_to_partyscore"),
        ("dashboards", "0001_initial"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
