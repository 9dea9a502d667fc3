"""What Slack shows for an event: a Block Kit message (the work item's reference and
description as the header, its key facts as fields, what changed as "old → new", a button
back to Fieldhook) and the plain `text` Slack uses for notifications and old clients."""

from __future__ import annotations

from typing import Any

from integrations.connectors.text import change_lines, closes, cut, one_line, workitem_facts, workitem_url

HEADER_CHARS = 150  # Block Kit: a header's plain_text
SECTION_CHARS = 3000  # a section's text
FIELD_CHARS = 2000  # each of a section's fields
BUTTON_CHARS = 75  # a button's text
TEXT_CHARS = 4000  # the notification text; Slack truncates far longer ones
FIELDS = ("Status", "Priority", "Customer", "Technician", "Due date")
DONE = ":white_check_mark:"
INTROS = {
    "workitem_created": "*New work item*",
    "workitem_status_changed": "*Status changed*",
    "workitem_updated": "*Updated*",
}


def escape(text: str) -> str:
    """Slack mrkdwn's three control characters; also keeps <!channel>-style mentions out of values."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def headline(workitem: dict[str, Any]) -> str:
    """'RMA-12: Cracked screen' on one line."""
    description = one_line(workitem.get("description"))
    return f"{workitem['reference_id']}: {description}" if description else str(workitem["reference_id"])


def slack_message(payload: dict[str, Any], *, in_thread: bool = False) -> dict[str, Any]:
    """`text` and `blocks` for one event. In a thread (the bot's later events) the header is
    left out: the thread's first message shows it."""
    if payload.get("event_type") == "integration_test":
        return _test_message(payload)
    workitem = payload["workitem"]
    changes = change_lines(payload.get("changes") or {})
    done = closes(payload)
    blocks: list[dict[str, Any]] = []
    if not in_thread:
        blocks.append({"type": "header", "text": _plain(cut(headline(workitem), HEADER_CHARS))})
    blocks.append(
        {"type": "section", "text": _mrkdwn(cut(_summary(payload["event_type"], changes, done), SECTION_CHARS))}
    )
    facts = dict(workitem_facts(workitem))
    fields = [_mrkdwn(cut(f"*{label}*\n{escape(facts[label])}", FIELD_CHARS)) for label in FIELDS]
    blocks.append({"type": "section", "fields": fields})
    button = cut(f"Open {workitem['reference_id']} in Fieldhook", BUTTON_CHARS)
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {"type": "button", "text": _plain(button), "url": workitem_url(workitem), "action_id": "open"}
            ],
        }
    )
    return {"text": cut(_fallback(workitem, changes, done), TEXT_CHARS), "blocks": blocks}


def _summary(event_type: str, changes: list[tuple[str, str, str]], done: bool) -> str:
    """'*Status:* New → In Progress' for a status change (✅ when it closes the work item), a
    bulleted list of changes for an update, the event's name otherwise."""
    intro = INTROS.get(event_type, "*Work item*")
    if event_type == "workitem_created" or not changes:
        return intro
    lines = [
        f"{DONE + ' ' if done and label == 'Status' else ''}*{escape(label)}:* {escape(old)} → {escape(new)}"
        for label, old, new in changes
    ]
    if event_type == "workitem_status_changed":
        return "\n".join(lines)
    return intro + "\n" + "\n".join(f"• {line}" for line in lines)


def _fallback(workitem: dict[str, Any], changes: list[tuple[str, str, str]], done: bool) -> str:
    what = "; ".join(f"{label}: {old} → {new}" for label, old, new in changes) or "new work item"
    return escape(f"{'✅ ' if done else ''}{headline(workitem)} — {what}")


def _test_message(payload: dict[str, Any]) -> dict[str, Any]:
    text = one_line(payload.get("message")) or "Test event from Fieldhook."
    blocks = [
        {"type": "header", "text": _plain("Fieldhook test message")},
        {"type": "section", "text": _mrkdwn(escape(text) + "\nFieldhook will post work item events here.")},
    ]
    return {"text": escape(text), "blocks": blocks}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}
