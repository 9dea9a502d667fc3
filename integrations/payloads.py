"""The event payload documented for receivers (docs/events.md, DESIGN §5).

Built inside the transaction that changes the work item, so every sync carries the
state at the moment of the event, not at the moment of delivery. Its shape is the contract
in integrations/event_schemas/ (JSON Schema, one file per event type); a change of shape is
a change of those files and of SCHEMA_VERSION.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import timezone

from tenants.models import Tenant
from workitems.models import WorkItem
from workitems.selectors import user_display_name

# Major: a change receivers must adapt to; minor: fields added.
SCHEMA_VERSION = "1.0"

TRACKED_FIELDS = [
    "description",
    "status",
    "type",
    "priority",
    "created_date",
    "due_date",
    "customer",
    "owner",
    "technician",
    "customer_asset",
    "estimated_price",
    "final_price",
    "dropoff_point",
    "intake_method",
    "comments",
]


def _person(user) -> dict | None:
    return None if user is None else {"id": user.pk, "name": user_display_name(user)}


def _named(obj) -> dict | None:
    return None if obj is None else {"id": obj.pk, "name": obj.name}


def _customer(customer) -> dict | None:
    return None if customer is None else {"id": customer.pk, "name": customer.name, "email": customer.email}


RELATION_SHAPES = {
    "customer": _customer,
    "owner": _person,
    "technician": _person,
    "customer_asset": _named,
    "dropoff_point": _named,
}


def json_value(value: Any) -> Any:
    """Decimals as strings ("150.00"), datetimes as ISO 8601 UTC with Z."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def column_value(model_field: models.Field, value: Any) -> Any:
    """A plain field in payload form, as the database stores it: a price entered as 99.5 is "99.50"."""
    if isinstance(value, Decimal) and isinstance(model_field, models.DecimalField):
        value = value.quantize(Decimal(1).scaleb(-model_field.decimal_places))
    return json_value(value)


def field_value(workitem: WorkItem, field: str) -> Any:
    """One tracked field in payload form (relations as small objects)."""
    if field in RELATION_SHAPES:
        return RELATION_SHAPES[field](getattr(workitem, field))
    return column_value(WorkItem._meta.get_field(field), getattr(workitem, field))


def workitem_representation(workitem: WorkItem) -> dict[str, Any]:
    data = {"id": workitem.pk, "reference_id": workitem.reference_id}
    data.update({field: field_value(workitem, field) for field in TRACKED_FIELDS})
    return data


def envelope(*, event_type: str, event_id: str, tenant: Tenant) -> dict[str, Any]:
    """What every event starts with, whatever its subject."""
    return {
        "schema_version": SCHEMA_VERSION,
        "event_type": event_type,
        "event_id": event_id,
        "timestamp": json_value(timezone.now()),
        "tenant": {"id": tenant.pk, "name": tenant.name},
    }


def event_payload(
    *,
    event_type: str,
    event_id: str,
    workitem: WorkItem,
    changes: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    payload = {
        **envelope(event_type=event_type, event_id=event_id, tenant=workitem.tenant),
        "workitem": workitem_representation(workitem),
    }
    if changes is not None:
        payload["changes"] = changes
    return payload


def integration_test_payload(*, event_id: str, tenant: Tenant, integration_name: str) -> dict[str, Any]:
    """The sample event an operator sends to check an integration end to end."""
    return {
        **envelope(event_type="integration_test", event_id=event_id, tenant=tenant),
        "test": True,
        "message": f"Test event from Fieldhook for integration '{integration_name}'.",
    }


def relation_value(model_field: models.ForeignKey, pk: int | None) -> Any:
    """Payload form of a relation known only by id (the old side of a change)."""
    if pk is None:
        return None
    related = model_field.related_model._default_manager.filter(pk=pk).first()
    return RELATION_SHAPES[model_field.name](related) if related else {"id": pk, "name": None}
