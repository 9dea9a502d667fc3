import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("workitems", "0003_workitem_status_changed_at_backfill"),
    ]

    operations = [
        migrations.AlterField(
            model_name="workitem",
            name="status_changed_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now,
                editable=False,
                help_text="When the status last changed in Fieldhook (a conflict with a tool can be settled by time).",
            ),
        ),
    ]
