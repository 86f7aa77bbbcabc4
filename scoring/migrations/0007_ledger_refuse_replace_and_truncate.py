"""The ledger's guard also refuses INSERT OR REPLACE (SQLite) and TRUNCATE (PostgreSQL)."""

from django.db import migrations

from partyscore.core.migrations._frozen import append_only_migration


class Migration(migrations.Migration):
    dependencies = [("scoring", "0006_year_total_exact")]
    operations = [append_only_migration("scoring_ledgerentry")]
