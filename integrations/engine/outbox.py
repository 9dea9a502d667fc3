"""Writing the outbox: one pending sync per subscribed integration, in the caller's transaction.

A rolled-back transaction writes no sync and sends nothing; a committed one is handed to
dispatch on commit, or found by the sweep when the broker was down then.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from integrations.engine import dispatch
from integrations.models import IntegrationSync, TenantIntegration


def integrations_subscribed(*, tenant_id: int, event_type: str) -> list[TenantIntegration]:
    """Active integrations of the tenant that want this event (filtered in Python: works on SQLite too)."""
    candidates = TenantIntegration.objects.filter(tenant_id=tenant_id, is_active=True)
    return [integration for integration in candidates if event_type in integration.event_types]


def syncs_create_for_event(
    *, obj: Model, event_type: str, payload: dict[str, Any], event_id: str, integrations: list[TenantIntegration]
) -> list[IntegrationSync]:
    """Write one pending sync per integration in the current transaction; enqueue them on commit."""
    if not integrations:
        return []
    now = timezone.now()
    content_type = ContentType.objects.get_for_model(obj)
    syncs = IntegrationSync.objects.bulk_create(
        IntegrationSync(
            integration=integration,
            content_type=content_type,
            object_id=obj.pk,
            event_type=event_type,
            event_id=event_id,
            payload=payload,
            next_attempt_at=now,
        )
        for integration in integrations
    )
    sync_ids = [sync.pk for sync in syncs]
    transaction.on_commit(lambda: dispatch.syncs_publish_new(sync_ids=sync_ids))
    return syncs
