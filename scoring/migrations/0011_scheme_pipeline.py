from django.db import migrations, models


def pipeline_from_composition(apps, schema_editor):
    """Until now a scheme out of 100 ran Policy A's steps and any other Policy B's: say so once."""
    Scheme = apps.get_model("scoring", "Scheme")
    Scheme.objects.filter(composition="hundred").update(pipeline="vanguard")
    Scheme.objects.exclude(composition="hundred").update(pipeline="tally")


class Migration(migrations.Migration):

    dependencies = [
        ('scoring', '0010_attendancerule'),
    ]

    operations = [
        migrations.AddField(
            model_name='scheme',
            name='pipeline',
            field=models.CharField(default='vanguard', max_length=10, verbose_name='评议流程', choices=[
                ('vanguard', '先锋亮绩：承诺、自查自评、考评小组评分、群众评议、党员大会定绩'),
                ('tally', '亮化记分：承诺、每月践诺公示、本人申报、每季度记分公开')]),
            preserve_default=False,
        ),
        migrations.RunPython(pipeline_from_composition, migrations.RunPython.noop),
    ]
