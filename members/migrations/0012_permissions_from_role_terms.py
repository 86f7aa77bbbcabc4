"""Permissions are derived from the role terms on each request (members/permissions.py): the
django-guardian mirror and the Permission rows it pointed at are removed (docs/security.md)."""

from django.db import migrations

# The codenames Organization declared for the mirror; the checks use the constants in members.permissions.
MIRRORED_CODENAMES = [
    "view_roster", "manage_roster", "view_audit", "approve_exemption", "manage_roles", "view_ledger",
    "record_entry", "manage_scheme", "approve_scheme", "manage_cycle", "review_members", "panel_score",
    "run_branch", "handle_objections", "mass_evaluate", "view_mass_results", "oversee", "manage_tree",
]


def forget_the_mirror(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission.objects.filter(content_type__app_label="members", content_type__model="organization",
                              codename__in=MIRRORED_CODENAMES).delete()
    ContentType.objects.filter(app_label="guardian").delete()
    from django.db.migrations.recorder import MigrationRecorder

    MigrationRecorder(schema_editor.connection).migration_qs.filter(app="guardian").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0011_api_token"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="organization",
            options={"ordering": ["path"], "verbose_name": "党组织", "verbose_name_plural": "党组织"},
        ),
        migrations.RunSQL(["DROP TABLE IF EXISTS guardian_userobjectpermission",
                           "DROP TABLE IF EXISTS guardian_groupobjectpermission"],
                          reverse_sql=migrations.RunSQL.noop),
        migrations.RunPython(forget_the_mirror, migrations.RunPython.noop),
    ]
