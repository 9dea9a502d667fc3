"""What the delivery engine tells the three-way status merge: after a created or status-changed
event reached a kind that reports statuses back, both sides agree on the status it carried —
the base the next status from the tool is compared with (integrations/inbound/merge.py)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from integrations.connectors import registry
from integrations.models import EventType, ExternalLink, TenantIntegration

AGREEING_EVENTS = frozenset({EventType.WORKITEM_CREATED, EventType.WORKITEM_STATUS_CHANGED})


def link_base_record(
    *, integration: TenantIntegration, content_type_id: int, object_id: int, event_type: str, payload: dict[str, Any]
) -> None:
    """Record the status a delivered event carried as the link's base. The event's own status,
    not the work item's current one: a later change still on its way is not agreed yet."""
    if event_type not in AGREEING_EVENTS or integration.integration_type not in registry:
        return
    if not registry.get(integration.integration_type).reports_statuses():
        return
    status = (payload.get("workitem") or {}).get("status")
    if status:
        ExternalLink.objects.filter(
            integration=integration, content_type_id=content_type_id, object_id=object_id
        ).update(base_status=status, updated_at=timezone.now())
