"""What people read in the folder: workitem.md (the work item now) and history.md (a dated,
newest-last log of what changed), both Markdown that reads well in Nextcloud's Text editor
and as plain text in a synced folder."""

from __future__ import annotations

import datetime
import re
from typing import Any

from integrations.connectors.text import (
    change_lines,
    display,
    local_date,
    lookup,
    workitem_facts,
    workitem_url,
)
from workitems.models import WorkItem

WORKITEM_FILE = "workitem.md"
HISTORY_FILE = "history.md"
TITLE_CHARS = 80
# Characters that start Markdown inline syntax anywhere, and block syntax at the start of a line.
INLINE = re.compile(r"([\\`*_\[\]<>|~])")
ENTITY = re.compile(r"&(#?\w+;)")
BLOCK_START = re.compile(r"^(\s*)([#>+=-])", re.MULTILINE)
ORDERED = re.compile(r"^(\s*\d+)([.)])", re.MULTILINE)
INTAKE = dict(WorkItem.IntakeMethod.choices)


def escape(text: str) -> str:
    """Text shown as written inside a line: '*', '_', '[x](…)', '<b>' or '&amp;' neither format nor link."""
    return ENTITY.sub(r"\\&\1", INLINE.sub(r"\\\1", text))


def escape_lines(text: str) -> str:
    """Text shown as written where it starts lines: '# ', '> ', '- ' or '1. ' start no heading, quote or list."""
    return ORDERED.sub(r"\1\\\2", BLOCK_START.sub(r"\1\\\2", escape(text)))


def one_line(value: Any) -> str:
    return " ".join(str(value or "").split())


def utc_minute(iso: str) -> str:
    """'2026-11-28 14:02 UTC' from an ISO timestamp."""
    moment = datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC)
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def title(workitem: dict[str, Any]) -> str:
    reference = escape(one_line(workitem["reference_id"]))
    summary = one_line(next(iter(str(workitem.get("description") or "").strip().splitlines()), ""))
    if len(summary) > TITLE_CHARS:
        summary = summary[:TITLE_CHARS].rsplit(" ", 1)[0] + " …"
    return f"# {reference} — {escape(summary)}" if summary else f"# {reference}"


def fits_title(description: str) -> bool:
    """A one-line description the title shows whole needs no section of its own."""
    return len(description.strip().splitlines()) <= 1 and len(one_line(description)) <= TITLE_CHARS


def more_facts(workitem: dict[str, Any]) -> list[tuple[str, str]]:
    """Facts shown only when they have a value."""
    facts = [
        ("Device", display(lookup(workitem, "customer_asset"))),
        ("Final price", display(workitem.get("final_price"))),
        ("Drop-off point", display(lookup(workitem, "dropoff_point"))),
        ("Intake", INTAKE.get(workitem.get("intake_method"), display(workitem.get("intake_method")))),
        ("Owner", display(lookup(workitem, "owner"))),
        ("Created", local_date(workitem["created_date"]) if workitem.get("created_date") else ""),
    ]
    return [(label, value) for label, value in facts if value and value != display(None)]


def paragraphs(text: str) -> list[str]:
    """Text as Markdown paragraphs, its line breaks kept (a backslash at the end of a line)."""
    blocks = [block.strip("\n") for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if block.strip()]
    return ["\\\n".join(escape_lines(line.strip()) for line in block.splitlines() if line.strip()) for block in blocks]


def workitem_markdown(payload: dict[str, Any]) -> str:
    workitem = payload["workitem"]
    reference = one_line(workitem["reference_id"])
    lines = [title(workitem), ""]
    lines += [f"- **{label}:** {escape(one_line(value))}" for label, value in workitem_facts(workitem)]
    lines += [f"- **{label}:** {escape(one_line(value))}" for label, value in more_facts(workitem)]
    description = str(workitem.get("description") or "")
    sections = [
        ("Description", description if not fits_title(description) else ""),
        ("Notes", workitem.get("comments")),
    ]
    for heading, text in sections:
        body = paragraphs(str(text or ""))
        if body:
            lines += ["", f"## {heading}", "", *"\n\n".join(body).split("\n")]
    lines += [
        "",
        "---",
        "",
        f"[Open {escape(reference)} in Fieldhook]({workitem_url(workitem)})",
        "",
        f"*Written by Fieldhook, {utc_minute(payload['timestamp'])}. Changes made to this file are replaced "
        f"on the next update; what changed and when is in {HISTORY_FILE}.*",
        "",
    ]
    return "\n".join(lines)


def event_marker(event_id: str) -> str:
    """A short, visible tag that makes a history line findable again: a retried delivery sees
    its line is there and does not add it twice (an HTML comment would show as text in Text)."""
    return f"event {event_id.replace('-', '')[:8]}"


def history_entry(payload: dict[str, Any], *, event_id: str) -> str:
    """'- **2026-11-28 14:02 UTC** — Status: New → In Progress *(event 6f1c0c9e)*'."""
    changes = payload.get("changes") or {}
    if payload.get("event_type") == "workitem_created":
        what = f"Created in Fieldhook, status {one_line(payload['workitem'].get('status'))}"
    elif changes:
        what = "; ".join(f"{label}: {one_line(old)} → {one_line(new)}" for label, old, new in change_lines(changes))
    else:
        what = "Updated in Fieldhook"
    return f"- **{utc_minute(payload['timestamp'])}** — {escape(what)} *({event_marker(event_id)})*"


def history_markdown(current: str | None, entry: str, *, reference: str) -> str:
    """history.md with `entry` appended (newest last); a new file starts with its heading."""
    if not current or not current.strip():
        return f"# History of {escape(one_line(reference))}\n\n{entry}\n"
    return current.rstrip("\n") + "\n" + entry + "\n"
