"""From a saved work item to events: what changed, which events that makes, and their syncs."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from integrations import payloads
from integrations.engine.outbox import event_record, integrations_subscribed
from integrations.models import EventType
from workitems.models import WorkItem

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
    if not integrations:
        return
    event_id = str(uuid.uuid4())
    payload = payloads.event_payload(event_type=event_type, event_id=event_id, workitem=workitem, changes=changes)
    event_record(
        obj=workitem,
        tenant_id=workitem.tenant_id,
        event_type=event_type,
        payload=payload,
        event_id=event_id,
        integrations=integrations,
    )
