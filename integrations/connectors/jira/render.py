"""What people read in Jira, as Atlassian Document Format (ADF): the issue's summary, its
description (the work item's facts first, then the customer's words, then the way back to
Fieldhook) and the comment that tells what changed in Fieldhook."""

from __future__ import annotations

from typing import Any

from integrations.connectors.text import (
    NOTHING,
    change_lines,
    cut,
    display,
    one_line,
    workitem_facts,
    workitem_url,
)

SUMMARY_MAX = 255  # Jira refuses a longer summary


def summary(workitem: dict[str, Any]) -> str:
    """`RMA-12: Cracked screen` on one line within Jira's limit; the reference id first, so
    that an issue can be found again by it."""
    return cut(one_line(f"{workitem['reference_id']}: {workitem.get('description') or ''}"), SUMMARY_MAX)


# --- ADF nodes -----------------------------------------------------------------------------------


def doc(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": list(blocks)}


def text(value: str, *marks: dict[str, Any]) -> dict[str, Any]:
    """A text node; ADF refuses empty text, so an empty value reads as a dash."""
    node: dict[str, Any] = {"type": "text", "text": value or NOTHING}
    if marks:
        node["marks"] = list(marks)
    return node


STRONG = {"type": "strong"}


def link(url: str) -> dict[str, Any]:
    return {"type": "link", "attrs": {"href": url}}


def paragraph(*inline: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(inline)}


def bullets(items: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """A bullet list, one paragraph of inline nodes per item."""
    return {"type": "bulletList", "content": [{"type": "listItem", "content": [paragraph(*item)]} for item in items]}


def plain_paragraphs(value: str) -> list[dict[str, Any]]:
    """Free text as people typed it: a paragraph per blank-line-separated block, line breaks kept."""
    blocks = [block.strip() for block in value.replace("\r\n", "\n").split("\n\n") if block.strip()]
    paragraphs = []
    for block in blocks:
        inline: list[dict[str, Any]] = []
        for number, line in enumerate(block.split("\n")):
            if number:
                inline.append({"type": "hardBreak"})
            if line.strip():
                inline.append(text(line.rstrip()))
        paragraphs.append(paragraph(*inline))
    return paragraphs


def labelled(label: str, value: str) -> list[dict[str, Any]]:
    return [text(f"{label}: ", STRONG), text(value)]


# --- What Fieldhook writes -----------------------------------------------------------------------


def description(workitem: dict[str, Any]) -> dict[str, Any]:
    """The issue's description: the facts a technician looks for, the customer's words, the link back."""
    reference = workitem["reference_id"]
    facts = [("Reference", reference), *workitem_facts(workitem)]
    facts.insert(2, ("Asset", display(workitem.get("customer_asset"))))
    facts.append(("Final price", display(workitem.get("final_price"))))
    said = plain_paragraphs(str(workitem.get("description") or ""))
    return doc(
        paragraph(text(f"Work item {reference} from Fieldhook", STRONG)),
        bullets([labelled(label, value) for label, value in facts]),
        *([paragraph(text("Description", STRONG)), *said] if said else []),
        paragraph(text(f"Open {reference} in Fieldhook", link(workitem_url(workitem)))),
    )


def changes_comment(workitem: dict[str, Any], changes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A comment saying what changed in Fieldhook, one line per field: old → new."""
    lines = change_lines(changes)
    items = [[text(f"{label}: ", STRONG), text(old), text(" → "), text(new)] for label, old, new in lines]
    return doc(
        paragraph(text(f"Changed in Fieldhook ({workitem['reference_id']}):", STRONG)),
        bullets(items) if items else paragraph(text("No field values changed.")),
        paragraph(text("Open in Fieldhook", link(workitem_url(workitem)))),
    )
