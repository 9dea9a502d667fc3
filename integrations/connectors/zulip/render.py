"""What Zulip shows for an event: the work item's topic, and a short Markdown message in it —
the full record when the work item is new, what changed ("old → new") afterwards, always a
link back to Fieldhook."""

from __future__ import annotations

import re
from typing import Any

from integrations.connectors.text import (
    change_lines,
    closes,
    cut,
    display,
    lookup,
    one_line,
    workitem_facts,
    workitem_url,
)

TOPIC_CHARS = 60  # Zulip's max_topic_length (the server cuts longer topics itself)
DESCRIPTION_CHARS = 2000
DONE = ":check:"  # ✅ in Zulip's emoji names
TEST_TOPIC = "Fieldhook test"
# Markdown that would turn a value into formatting, a link or a mention (@**all** pings everyone).
MARKDOWN = re.compile(r"([\\`*_\[\]])")


def escape(text: str) -> str:
    return MARKDOWN.sub(r"\\\1", text)


def topic(template: str, workitem: dict[str, Any]) -> str:
    """The work item's topic from the template, on one line, cut to Zulip's length."""
    values = {
        "reference_id": workitem["reference_id"],
        "description": one_line(workitem.get("description")),
        "customer": display(lookup(workitem, "customer.name")),
        "status": display(workitem.get("status")),
        "priority": display(workitem.get("priority")),
        "type": display(workitem.get("type")),
    }
    text = one_line(template.format_map(values)).rstrip(" :")
    return cut(text, TOPIC_CHARS) or str(workitem["reference_id"])


def zulip_content(payload: dict[str, Any]) -> str:
    if payload.get("event_type") == "integration_test":
        said = one_line(payload.get("message")) or "Test event from Fieldhook."
        return f"{escape(said)}\nWork item events will be posted in this channel, one topic per work item."
    workitem = payload["workitem"]
    link = f"[Open {workitem['reference_id']} in Fieldhook]({workitem_url(workitem)})"
    if payload["event_type"] == "workitem_created":
        return "\n".join([*_record(workitem), "", link])
    lines = [
        f"{DONE + ' ' if closes(payload) and label == 'Status' else ''}**{escape(label)}:** {escape(old)} → {escape(new)}"
        for label, old, new in change_lines(payload.get("changes") or {})
    ]
    if payload["event_type"] != "workitem_status_changed" or len(lines) != 1:
        lines = ["**Updated:**", *(f"- {line}" for line in lines)]
    return "\n".join([*lines, link])


def _record(workitem: dict[str, Any]) -> list[str]:
    """The new work item: its reference, its description as a quote, its facts."""
    lines = [f"**New work item {escape(workitem['reference_id'])}**"]
    description = str(workitem.get("description") or "").strip()
    if description:
        lines += [
            f"> {escape(line)}" if line.strip() else ">" for line in cut(description, DESCRIPTION_CHARS).splitlines()
        ]
    lines.append("")
    lines += [f"- **{label}:** {escape(value)}" for label, value in workitem_facts(workitem)]
    return lines
