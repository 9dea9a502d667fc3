"""Read-side queries on integrations and syncs; every one names its tenant.

Every query on syncs lives here; a sync's event data (type, id, payload) is on its event row.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db.models import Case, F, QuerySet, When

from integrations.models import (
    EventType,
    ExternalLink,
    IntegrationSync,
    PackageRun,
    PackageTemplate,
    TenantIntegration,
)
from tenants.models import Tenant
from workitems.models import WorkItem


def integrations_for_tenant(*, tenant: Tenant) -> QuerySet[TenantIntegration]:
    return TenantIntegration.objects.filter(tenant=tenant).select_related("tenant").order_by("name", "id")


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


def syncs_for_tenant(*, tenant: Tenant) -> QuerySet[IntegrationSync]:
    """Every sync of the tenant's integrations, newest first, with its integration, its
    attempts and `workitem_id` (None when the subject is not a work item, e.g. a test event)."""
    return (
        IntegrationSync.objects.filter(integration__tenant=tenant)
        .select_related("integration", "event")
        .prefetch_related("attempt_log")
        .annotate(workitem_id=Case(When(content_type=ContentType.objects.get_for_model(WorkItem), then=F("object_id"))))
        .order_by("-created_at", "-id")
    )


def syncs_filter(
    *,
    syncs: QuerySet[IntegrationSync],
    ids: Iterable[int] | None = None,
    status: Iterable[str] | None = None,
    integration: int | None = None,
    event_type: Iterable[str] | None = None,
    workitem: int | None = None,
    created_after: datetime.datetime | None = None,
    created_before: datetime.datetime | None = None,
) -> QuerySet[IntegrationSync]:
    """Narrow syncs by what the API filters on; None (or empty) leaves a criterion out."""
    if ids:
        syncs = syncs.filter(id__in=list(ids))
    if status:
        syncs = syncs.filter(status__in=list(status))
    if integration is not None:
        syncs = syncs.filter(integration_id=integration)
    if event_type:
        syncs = syncs.filter(event__event_type__in=list(event_type))
    if workitem is not None:
        syncs = syncs.filter(content_type=ContentType.objects.get_for_model(WorkItem), object_id=workitem)
    if created_after is not None:
        syncs = syncs.filter(created_at__gte=created_after)
    if created_before is not None:
        syncs = syncs.filter(created_at__lt=created_before)
    return syncs


def workitem_ids_known_to(*, integration: TenantIntegration, workitem_ids: Iterable[int]) -> set[int]:
    """Which of these work items the integration has, or is about to receive: it holds a link
    to one, or a creation event to it is synced or pending. (A failed creation does not count:
    the remote object was never made.)"""
    ids = list(workitem_ids)
    content_type = ContentType.objects.get_for_model(WorkItem)
    linked = ExternalLink.objects.filter(integration=integration, content_type=content_type, object_id__in=ids)
    created = IntegrationSync.objects.filter(
        integration=integration,
        content_type=content_type,
        object_id__in=ids,
        event__event_type=EventType.WORKITEM_CREATED,
        status__in=[IntegrationSync.Status.PENDING, IntegrationSync.Status.SYNCED],
    )
    return set(linked.values_list("object_id", flat=True)) | set(created.values_list("object_id", flat=True))


def package_templates_for_tenant(*, tenant: Tenant) -> QuerySet[PackageTemplate]:
    return PackageTemplate.objects.filter(tenant=tenant).prefetch_related("elements").order_by("name", "id")


def package_runs_for_tenant(*, tenant: Tenant) -> QuerySet[PackageRun]:
    """The tenant's package runs, newest first, with their integration."""
    return PackageRun.objects.filter(tenant=tenant).select_related("integration").order_by("-created_at", "-id")
