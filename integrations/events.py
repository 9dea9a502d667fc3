"""From a work item to events: what a save changed, which events that makes, and their syncs;
and the work item as it is, sent again on request ("Sync now") or to a new integration (backfill)."""

from __future__ import annotations

import contextvars
import datetime
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from integrations import payloads, selectors
from integrations.engine.outbox import event_record, integrations_subscribed
from integrations.models import EventType, IntegrationEvent, IntegrationSync, TenantIntegration
from workitems.models import OPEN_STATUSES, WorkItem
from workitems.selectors import workitems_for_tenant

FIELDS = {name: WorkItem._meta.get_field(name) for name in payloads.TRACKED_FIELDS}

_suppressed: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar("events_suppressed", default=frozenset())


@contextmanager
def events_suppressed_for(integration_id: int) -> Iterator[None]:
    """While active, changes make no syncs for this integration (the tenant's other
    integrations still get theirs): a change that came *from* an integration is not echoed
    back to it. Nestable; scoped to the current thread or task by contextvars."""
    token = _suppressed.set(_suppressed.get() | {integration_id})
    try:
        yield
    finally:
        _suppressed.reset(token)


def workitem_stored_values(*, workitem: WorkItem) -> dict[str, Any] | None:
    """The tracked columns as stored now (None for a new work item); one query."""
    if workitem.pk is None:
        return None
    columns = [field.attname for field in FIELDS.values()]
    return WorkItem.objects.filter(pk=workitem.pk).values(*columns).first()


def workitem_changes(*, workitem: WorkItem, old_values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{field: {old, new}} in payload form for every tracked field whose value changed."""
    changes = {}
    for name, field in FIELDS.items():
        old = field.to_python(old_values[field.attname])
        new = field.to_python(getattr(workitem, field.attname))
        if old == new:
            continue
        if field.is_relation:
            changes[name] = {"old": payloads.relation_value(field, old), "new": payloads.field_value(workitem, name)}
        else:
            changes[name] = {"old": payloads.column_value(field, old), "new": payloads.column_value(field, new)}
    return changes


def workitem_events_emit(*, workitem: WorkItem, created: bool, old_values: dict[str, Any] | None) -> None:
    """created → workitem_created; a status change → workitem_status_changed; any other
    change → workitem_updated (both when both changed); no change → nothing."""
    if created or old_values is None:
        _emit(workitem, EventType.WORKITEM_CREATED, None)
        return
    changes = workitem_changes(workitem=workitem, old_values=old_values)
    status_change = changes.pop("status", None)
    if status_change:
        _emit(workitem, EventType.WORKITEM_STATUS_CHANGED, {"status": status_change})
    if changes:
        _emit(workitem, EventType.WORKITEM_UPDATED, changes)


def _emit(workitem: WorkItem, event_type: str, changes: dict | None) -> None:
    suppressed = _suppressed.get()
    integrations = [
        integration
        for integration in integrations_subscribed(tenant_id=workitem.tenant_id, event_type=event_type)
        if integration.pk not in suppressed
    ]
    _event_write(workitem, event_type, changes, integrations)


def _event_write(
    workitem: WorkItem, event_type: str, changes: dict | None, integrations: list[TenantIntegration]
) -> IntegrationEvent | None:
    """One event of the work item, through the outbox, to these integrations."""
    if not integrations:
        return None
    event_id = str(uuid.uuid4())
    payload = payloads.event_payload(event_type=event_type, event_id=event_id, workitem=workitem, changes=changes)
    return event_record(
        obj=workitem,
        tenant_id=workitem.tenant_id,
        event_type=event_type,
        payload=payload,
        event_id=event_id,
        integrations=integrations,
    )


# --- Sending existing work items: "Sync now" and backfill ------------------------------------


class EventNotSubscribed(Exception):
    """The integration does not take the event a request would send it."""

    def __init__(self, integration: TenantIntegration, event_type: str) -> None:
        super().__init__(
            f"{integration.name} does not take {event_type} events; tick that event on the integration first."
        )


@transaction.atomic
def workitem_send_current_state(*, workitem: WorkItem, integration: TenantIntegration) -> IntegrationSync:
    """'Sync now': the work item as it is, to one integration, through the outbox. One it has
    not received yet is created there (workitem_created); otherwise its current status is
    sent again (workitem_status_changed with `old` null), which also repairs a status change
    that failed for want of a link."""
    if workitem.pk in selectors.workitem_ids_known_to(integration=integration, workitem_ids=[workitem.pk]):
        event_type, changes = EventType.WORKITEM_STATUS_CHANGED, {"status": {"old": None, "new": workitem.status}}
    else:
        event_type, changes = EventType.WORKITEM_CREATED, None
    if event_type not in integration.event_types:
        raise EventNotSubscribed(integration, event_type)
    return _event_write(workitem, event_type, changes, [integration]).syncs.get()


@dataclass(frozen=True)
class BackfillBatch:
    scanned: int  # work items looked at
    sent: int  # of which were new to the integration: a workitem_created event each
    next_after_id: int | None  # where the next batch starts; None when this was the last


def workitems_to_backfill(
    *, integration: TenantIntegration, since: datetime.datetime | None = None, statuses: list[str] | None = None
) -> QuerySet[WorkItem]:
    """The tenant's work items a backfill looks at: open ones (or of `statuses`), created at or after `since`."""
    workitems = workitems_for_tenant(tenant=integration.tenant).filter(status__in=statuses or OPEN_STATUSES)
    return workitems.filter(created_date__gte=since) if since else workitems


@transaction.atomic
def integration_backfill_batch(
    *,
    integration: TenantIntegration,
    since: datetime.datetime | None = None,
    statuses: list[str] | None = None,
    after_id: int = 0,
) -> BackfillBatch:
    """Send workitem_created for the next BACKFILL_BATCH_SIZE work items (by id, after
    `after_id`) that the integration has not received, in one transaction. Running it again
    sends nothing twice."""
    size = settings.BACKFILL_BATCH_SIZE
    batch = list(
        workitems_to_backfill(integration=integration, since=since, statuses=statuses)
        .filter(id__gt=after_id)
        .order_by("id")[:size]
    )
    known = selectors.workitem_ids_known_to(integration=integration, workitem_ids=[w.pk for w in batch])
    fresh = [workitem for workitem in batch if workitem.pk not in known]
    for workitem in fresh:
        _event_write(workitem, EventType.WORKITEM_CREATED, None, [integration])
    return BackfillBatch(
        scanned=len(batch), sent=len(fresh), next_after_id=batch[-1].pk if len(batch) == size else None
    )
