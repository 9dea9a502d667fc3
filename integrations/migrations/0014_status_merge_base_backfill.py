"""Existing links get a base for the three-way status merge: the linked work item's current
status, the best knowledge we have of what both sides last agreed on. Batches, each committed
on its own (not atomic), so a big table is never locked whole and an interrupted run resumes
where it stopped; links of deleted work items keep an empty base."""

from django.db import migrations
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

BATCH_SIZE = 5000


def base_status_from_work_items(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ExternalLink = apps.get_model("integrations", "ExternalLink")
    WorkItem = apps.get_model("workitems", "WorkItem")
    workitem_type = ContentType.objects.filter(app_label="workitems", model="workitem").first()
    if workitem_type is None:  # a new database: no links yet
        return
    missing = ExternalLink.objects.filter(content_type=workitem_type, base_status="").order_by("pk")
    current_status = Subquery(WorkItem.objects.filter(pk=OuterRef("object_id")).values("status")[:1])
    last_pk = 0
    while ids := list(missing.filter(pk__gt=last_pk).values_list("pk", flat=True)[:BATCH_SIZE]):
        ExternalLink.objects.filter(pk__in=ids).update(base_status=Coalesce(current_status, Value("")))
        last_pk = ids[-1]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("integrations", "0013_status_merge_fields"),
        ("workitems", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(base_status_from_work_items, migrations.RunPython.noop, elidable=True),
    ]
