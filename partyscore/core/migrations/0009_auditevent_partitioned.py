"""On PostgreSQL, the audit log partitioned by year: one partition per calendar year (in Beijing) of
the events' time, for the years its rows hold, this year and the next, and a DEFAULT partition for
any other. The primary and unique keys include the time (PostgreSQL requires the partition key in
them); ids still come from one sequence. Nothing on SQLite. See docs/architecture.md."""

import datetime

from django.db import migrations

from partyscore.core.migrations._frozen import YEAR_ZONE, YearPartitions, partition_by_year, unpartition

AUDIT_LOG = YearPartitions("partyscore_auditevent", "created_at", timestamp=True)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        this_year = datetime.datetime.now(YEAR_ZONE).year
        partition_by_year(schema_editor.connection, AUDIT_LOG, [this_year, this_year + 1])


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        unpartition(schema_editor.connection, AUDIT_LOG)


class Migration(migrations.Migration):
    dependencies = [("partyscore", "0008_chains_per_organization")]
    operations = [migrations.RunPython(forwards, backwards)]
