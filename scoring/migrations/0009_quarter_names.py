from django.db import migrations

QUARTERS = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}


def rename(apps, schema_editor):
    """Stored quarter names as the documents write them: 2026年第一季度, not 2026年第1季度 (the card
    import matches a sheet's period by this name; the card template lists it)."""
    Period = apps.get_model("scoring", "Period")
    for period in Period.objects.filter(kind="quarter"):
        period.name = f"{period.starts_on.year}年{QUARTERS[period.index]}"
        period.save(update_fields=["name"])


class Migration(migrations.Migration):
    dependencies = [("scoring", "0008_exportjob_heartbeat")]
    operations = [migrations.RunPython(rename, migrations.RunPython.noop)]
