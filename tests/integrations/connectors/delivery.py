"""Running one sync through the real engine, as the connector tests of every kind do."""

from __future__ import annotations

import datetime

from django.utils import timezone

from integrations.engine.delivery import sync_deliver
from integrations.models import ExternalLink, IntegrationSync, SyncAttempt, TenantIntegration
from tests.factories import WorkItemFactory
from workitems.models import WorkItem


def latest_sync(integration: TenantIntegration, event_type: str) -> IntegrationSync:
    return IntegrationSync.objects.filter(integration=integration, event__event_type=event_type).latest("id")


def deliver(integration: TenantIntegration, event_type: str) -> IntegrationSync:
    """Deliver the latest sync of that event type through `sync_deliver`; returns it refreshed."""
    sync = latest_sync(integration, event_type)
    sync_deliver(sync_id=sync.pk)
    sync.refresh_from_db()
    return sync


def make_due(sync: IntegrationSync) -> None:
    """A sync waiting for its retry becomes due now."""
    IntegrationSync.objects.filter(pk=sync.pk).update(next_attempt_at=timezone.now() - datetime.timedelta(seconds=5))


def last_attempt(sync: IntegrationSync) -> SyncAttempt:
    return SyncAttempt.objects.filter(sync=sync).latest("number")


def link_of(integration: TenantIntegration, workitem: WorkItem) -> ExternalLink:
    return ExternalLink.objects.get(integration=integration, object_id=workitem.pk)


def created(integration: TenantIntegration, **fields) -> WorkItem:
    """A work item whose creation reached the integration (later events wait for it otherwise)."""
    workitem = WorkItemFactory(tenant=integration.tenant, **fields)
    sync = deliver(integration, "workitem_created")
    assert sync.status == "synced", sync.last_error
    return workitem


def configure(integration: TenantIntegration, **config) -> TenantIntegration:
    """Change some settings of a saved integration, as an admin would."""
    integration.config = {**integration.config, **config}
    integration.save(update_fields=["config"])
    return integration
