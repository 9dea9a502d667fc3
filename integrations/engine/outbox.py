"""Writing the outbox: one event row and one thin pending sync per subscribed integration, in
the caller's transaction (two inserts, whatever the number of integrations).

A rolled-back transaction writes nothing and sends nothing; a committed one wakes a worker
once, or is found by the sweep when the broker was down then.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.utils import timezone

from integrations.engine import dispatch
from integrations.models import IntegrationEvent, IntegrationSync, TenantIntegration


def integrations_subscribed(*, tenant_id: int, event_type: str) -> list[TenantIntegration]:
    """Active integrations of the tenant that want this event (filtered in Python: works on SQLite too)."""
    candidates = TenantIntegration.objects.filter(tenant_id=tenant_id, is_active=True).only("pk", "event_types")
    return [integration for integration in candidates if event_type in integration.event_types]


def event_record(
    *,
    obj: Model,
    tenant_id: int,
    event_type: str,
    payload: dict[str, Any],
    event_id: str,
    integrations: list[TenantIntegration],
) -> IntegrationEvent | None:
    """Store the event once with a pending sync per integration; wake a worker on commit."""
    if not integrations:
        return None
    now = timezone.now()
    content_type = ContentType.objects.get_for_model(obj)
    event = IntegrationEvent.objects.create(
        event_id=event_id,
        tenant_id=tenant_id,
        event_type=event_type,
        content_type=content_type,
        object_id=obj.pk,
        payload=payload,
        created_at=now,
    )
    IntegrationSync.objects.bulk_create(
        IntegrationSync(
            event=event,
            integration=integration,
            content_type=content_type,
            object_id=obj.pk,
            next_attempt_at=now,
            created_at=now,
        )
        for integration in integrations
    )
    dispatch.wake_after_commit()
    return event
