"""Existing work items: the last status change happened at the latest at their last update
(`updated_at`), the best we know. Batches, each committed on its own (not atomic), so a big
table is never locked whole and an interrupted run resumes where it stopped."""

from django.db import migrations
from django.db.models import F

BATCH_SIZE = 5000


def status_changed_at_from_updated_at(apps, schema_editor):
    WorkItem = apps.get_model("workitems", "WorkItem")
    missing = WorkItem.objects.filter(status_changed_at__isnull=True).order_by("pk")
    last_pk = 0
    while ids := list(missing.filter(pk__gt=last_pk).values_list("pk", flat=True)[:BATCH_SIZE]):
        WorkItem.objects.filter(pk__in=ids).update(status_changed_at=F("updated_at"))
        last_pk = ids[-1]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("workitems", "0002_workitem_status_changed_at"),
    ]

    operations = [
        migrations.RunPython(status_changed_at_from_updated_at, migrations.RunPython.noop, elidable=True),
    ]
