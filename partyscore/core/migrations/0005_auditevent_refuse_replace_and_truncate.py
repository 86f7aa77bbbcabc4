"""The audit log's guard also refuses INSERT OR REPLACE (SQLite) and TRUNCATE (PostgreSQL)."""

from django.db import migrations

from partyscore.core.migrations._frozen import append_only_migration


class Migration(migrations.Migration):
    dependencies = [("partyscore", "0004_access_log")]
    operations = [append_only_migration("partyscore_auditevent")]
