"""The dashboards' own models moved to the partyscore.dashboards app: their tables are renamed in
place and this app forgets them; dashboards 0001 takes them over without touching the database."""

from django.db import migrations

MOVED = ["SpotCheckItem", "SpotCheck", "BranchCommendation", "WorkReport", "BranchYearFacts"]


class Migration(migrations.Migration):

    dependencies = [
        ('partyscore', '0005_auditevent_refuse_replace_and_truncate'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RenameIndex(model_name="spotcheck", new_name="dashboards__branch__16e11a_idx",
                                       old_name="partyscore__branch__5ae1cb_idx"),
                *(migrations.AlterModelTable(name=name, table=f"dashboards_{name.lower()}") for name in MOVED),
            ],
            state_operations=[migrations.DeleteModel(name=name) for name in MOVED],
        ),
    ]
