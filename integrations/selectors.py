"""Read-side queries on syncs; every one names its tenant (directly, or through an integration)."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet

from integrations.models import EventType, IntegrationSync, TenantIntegration
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


def status_syncs_pending(*, integration: TenantIntegration, workitem: WorkItem) -> bool:
    """Whether a status change of the work item is still on its way to the integration."""
    return IntegrationSync.objects.filter(
        integration=integration,
        content_type=ContentType.objects.get_for_model(WorkItem),
        object_id=workitem.pk,
        event__event_type=EventType.WORKITEM_STATUS_CHANGED,
        status=IntegrationSync.Status.PENDING,
    ).exists()
