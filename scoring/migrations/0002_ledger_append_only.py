from django.db import migrations

from partyscore.core.migrations._frozen import append_only_migration


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_initial")]
    operations = [append_only_migration("scoring_ledgerentry")]
