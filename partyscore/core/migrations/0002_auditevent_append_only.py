from django.db import migrations

from partyscore.core.migrations._frozen import append_only_migration


class Migration(migrations.Migration):
    dependencies = [("partyscore", "0001_initial")]
    operations = [append_only_migration("partyscore_auditevent")]
