"""What every connector writes about a work item, whatever the format (Markdown, Block Kit,
ADF): the facts a person wants first, values as people read them, the link back."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

NOTHING = "—"
CHANGE_CHARS = 200  # an old or new value shown in a change line is cut here


def lookup(workitem: dict[str, Any], key: str) -> Any:
    """A payload value by key, dotted for relations ("customer.name"); a relation alone gives its name."""
    value: Any = workitem
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value.get("name") if isinstance(value, dict) else value


def display(value: Any) -> str:
    """A payload value as a person reads it: a relation by its name, nothing as a dash."""
    if value is None or value == "":
        return NOTHING
    if isinstance(value, dict):
        return str(value.get("name") or value.get("id") or NOTHING)
    return str(value)


def local_date(iso: str) -> str:
    """An ISO datetime as YYYY-MM-DD in the server's time zone (for tools whose dates have no time)."""
    moment = datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return timezone.localtime(moment).date().isoformat() if timezone.is_aware(moment) else moment.date().isoformat()


def one_line(text: Any) -> str:
    """Text for a title or a topic: whitespace and line breaks collapsed to single spaces."""
    return " ".join(str(text or "").split())


def cut(text: str, limit: int) -> str:
    """`text` within `limit` characters, an ellipsis marking a cut (for tools' length limits)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def field_label(field: str) -> str:
    return field.replace("_", " ").capitalize()


def workitem_url(workitem: dict[str, Any]) -> str:
    """Where the work item opens in Fieldhook."""
    return f"{settings.FIELDHOOK_BASE_URL.rstrip('/')}/admin/workitems/workitem/{workitem['id']}/change/"


def customer_text(workitem: dict[str, Any]) -> str:
    customer = workitem.get("customer") or {}
    who = customer.get("name") or NOTHING
    return f"{who} ({customer['email']})" if customer.get("email") else who


def workitem_facts(workitem: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) of the facts shown with a work item, in the order people look for them."""
    return [
        ("Customer", customer_text(workitem)),
        ("Status", display(workitem.get("status"))),
        ("Priority", display(workitem.get("priority"))),
        ("Type", display(workitem.get("type"))),
        ("Estimated price", display(workitem.get("estimated_price"))),
        ("Due date", local_date(workitem["due_date"]) if workitem.get("due_date") else NOTHING),
        ("Technician", display(workitem.get("technician"))),
    ]


def change_lines(changes: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(label, old, new) per changed field, values cut to CHANGE_CHARS."""
    return [
        (field_label(field), display(change.get("old"))[:CHANGE_CHARS], display(change.get("new"))[:CHANGE_CHARS])
        for field, change in changes.items()
    ]


CLOSING_STATUSES = frozenset({"Closed", "Cancelled"})  # the work item statuses that end the work


def closes(payload: dict[str, Any]) -> bool:
    """Whether the event moved the work item into a closing status (chat kinds mark the thread done)."""
    status = (payload.get("changes") or {}).get("status") or {}
    return status.get("new") in CLOSING_STATUSES


def event_time(payload: dict[str, Any]) -> float | None:
    """When the event happened (its payload's ISO timestamp) as a Unix time, or None."""
    try:
        return datetime.datetime.fromisoformat(str(payload.get("timestamp")).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
