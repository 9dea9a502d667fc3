"""What the Nextcloud tests do again and again: deliver a sync, make it due, configure."""

import datetime

from django.utils import timezone

from integrations.engine.delivery import sync_deliver
from integrations.models import EventType, IntegrationSync, TenantIntegration
from tests.factories import WorkItemFactory
from workitems.models import WorkItem


def latest_sync(integration: TenantIntegration, event_type: str) -> IntegrationSync:
    return IntegrationSync.objects.filter(integration=integration, event__event_type=event_type).latest("id")


def deliver(integration: TenantIntegration, event_type: str) -> IntegrationSync:
    """Deliver the latest sync of that event type; returns it refreshed."""
    sync = latest_sync(integration, event_type)
    sync_deliver(sync_id=sync.pk)
    sync.refresh_from_db()
    return sync


def make_due(sync: IntegrationSync) -> None:
    IntegrationSync.objects.filter(pk=sync.pk).update(next_attempt_at=timezone.now() - datetime.timedelta(seconds=5))


def created(integration: TenantIntegration, **fields) -> WorkItem:
    """A work item whose folder exists in Nextcloud."""
    fields.setdefault("description", "Cracked screen")
    workitem = WorkItemFactory(tenant=integration.tenant, **fields)
    assert deliver(integration, EventType.WORKITEM_CREATED).status == "synced"
    return workitem


def configure(integration: TenantIntegration, **config) -> TenantIntegration:
    integration.config = {**integration.config, **config}
    integration.save(update_fields=["config"])
    return integration
