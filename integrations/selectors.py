"""Read-side queries on syncs; every one names its tenant."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet

from integrations.models import IntegrationSync
from workitems.models import WorkItem


def syncs_for_workitem(*, workitem: WorkItem) -> QuerySet[IntegrationSync]:
    """The sync history of one work item, newest first, with its integration."""
    return (
        IntegrationSync.objects.filter(
            integration__tenant_id=workitem.tenant_id,
            event__content_type=ContentType.objects.get_for_model(WorkItem),
            event__object_id=workitem.pk,
        )
        .select_related("integration", "event")
        .order_by("-created_at", "-id")
    )
