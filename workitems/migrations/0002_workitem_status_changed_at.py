"""WorkItem.status_changed_at, added empty; 0003 fills it in batches, 0004 makes it required."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("workitems", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="workitem",
            name="status_changed_at",
            field=models.DateTimeField(null=True, editable=False),
        ),
    ]
