"""Notices and their deliveries moved to the platform's app (partyscore.core), which every app
notifies through: their tables and indexes are renamed in place and this app forgets them;
partyscore 0007 takes them over without touching the database."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('reviews', '0013_delivery'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RenameIndex(model_name="notification", new_name="partyscore__user_id_a25618_idx",
                                       old_name="reviews_not_user_id_3b7eb0_idx"),
                migrations.RenameIndex(model_name="delivery", new_name="partyscore__status_7b1b13_idx",
                                       old_name="reviews_del_status_67f1ec_idx"),
                migrations.AlterModelTable(name="notification", table="partyscore_notification"),
                migrations.AlterModelTable(name="delivery", table="partyscore_delivery"),
            ],
            state_operations=[migrations.DeleteModel(name="Delivery"), migrations.DeleteModel(name="Notification")],
        ),
    ]
