"""What we write into OpenProject: the work package's subject and Markdown description,
and the comment that summarises other changes."""

from __future__ import annotations

from typing import Any

from integrations.connectors.text import change_lines, workitem_facts, workitem_url

SUBJECT_MAX = 255


def subject(workitem: dict[str, Any]) -> str:
    """`RMA-12: Cracked screen` on one line, cut to OpenProject's limit; the reference id
    first, so that a package can be found again by it."""
    return " ".join(f"{workitem['reference_id']}: {workitem.get('description') or ''}".split())[:SUBJECT_MAX]


def description_markdown(workitem: dict[str, Any]) -> str:
    reference = workitem["reference_id"]
    lines = [f"**Fieldhook work item {reference}**", ""]
    lines += [f"- **{label}:** {value}" for label, value in workitem_facts(workitem)]
    lines += [
        "",
        str(workitem.get("description") or ""),
        "",
        f"[Open {reference} in Fieldhook]({workitem_url(workitem)})",
    ]
    return "\n".join(lines)


def changes_markdown(changes: dict[str, dict[str, Any]]) -> str:
    lines = ["**Changed in Fieldhook:**", ""]
    lines += [f"- **{label}:** {old} → {new}" for label, old, new in change_lines(changes)]
    return "\n".join(lines)
