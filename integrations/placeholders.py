"""Placeholders in package templates: `{reference_id}` and friends, filled with a work item's
facts. Plain substitution (no `str.format`, which would let a template reach attributes); a
name we do not know is refused when the template is saved, never at run time."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError

from integrations.connectors import text

PLACEHOLDER = re.compile(r"\{([\w.]+)\}")


def _name(workitem: dict[str, Any], key: str) -> str:
    return text.display(text.lookup(workitem, key))


def _due_date(workitem: dict[str, Any]) -> str:
    return text.local_date(workitem["due_date"]) if workitem.get("due_date") else text.NOTHING


# Placeholder → its value in a work item's payload representation (integrations.payloads).
VALUES = {
    "reference_id": lambda workitem: workitem["reference_id"],
    "description": lambda workitem: workitem.get("description") or "",
    "customer": lambda workitem: _name(workitem, "customer"),
    "asset": lambda workitem: _name(workitem, "customer_asset"),
    "status": lambda workitem: _name(workitem, "status"),
    "priority": lambda workitem: _name(workitem, "priority"),
    "type": lambda workitem: _name(workitem, "type"),
    "due_date": _due_date,
    "technician": lambda workitem: _name(workitem, "technician"),
}


def placeholders_validator(value: str) -> None:
    """Model field validator: every `{name}` must be one we can fill."""
    unknown = sorted({name for name in PLACEHOLDER.findall(value or "") if name not in VALUES})
    if unknown:
        names = ", ".join(f"{{{name}}}" for name in unknown)
        known = ", ".join(f"{{{name}}}" for name in VALUES)
        raise ValidationError(f"Unknown placeholder {names}; use {known}.", code="unknown_placeholder")


def placeholders_fill(template: str, *, workitem: dict[str, Any]) -> str:
    """`template` with each known placeholder replaced by the work item's value."""

    def value(match: re.Match) -> str:
        fill = VALUES.get(match[1])
        return str(fill(workitem)) if fill else match[0]

    return PLACEHOLDER.sub(value, template or "")
