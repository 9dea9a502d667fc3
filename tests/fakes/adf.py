"""What Jira would refuse in an Atlassian Document Format document (a description, a comment,
a textarea custom field), after the node and mark rules of Atlassian's ADF structure
reference (developer.atlassian.com/cloud/jira/platform/apis/document/structure/): the root,
which node may hold which, required attributes, non-empty text, known marks. Only the
nodes a connector may reasonably send are known; any other is reported, so that a new one
is checked before it is used."""

from __future__ import annotations

from typing import Any

INLINE = {"text", "hardBreak", "inlineCard", "emoji", "mention"}
# node → the nodes its `content` may hold (None: the node has no content)
CHILDREN: dict[str, set[str] | None] = {
    "doc": {"paragraph", "heading", "bulletList", "orderedList", "blockquote", "rule", "codeBlock", "panel", "table"},
    "paragraph": INLINE,
    "heading": INLINE,
    "bulletList": {"listItem"},
    "orderedList": {"listItem"},
    "listItem": {"paragraph", "bulletList", "orderedList", "codeBlock"},
    "blockquote": {"paragraph", "bulletList", "orderedList", "codeBlock"},
    "panel": {"paragraph", "heading", "bulletList", "orderedList"},
    "codeBlock": {"text"},
    "table": {"tableRow"},
    "tableRow": {"tableHeader", "tableCell"},
    "tableHeader": {"paragraph", "bulletList", "orderedList", "heading"},
    "tableCell": {"paragraph", "bulletList", "orderedList", "heading"},
    "rule": None,
    "hardBreak": None,
    "text": None,
    "inlineCard": None,
    "emoji": None,
    "mention": None,
}
NEEDS_CONTENT = {"bulletList", "orderedList", "listItem", "blockquote", "panel", "table", "tableRow", "tableHeader"}
NEEDS_CONTENT |= {"tableCell"}
REQUIRED_ATTRS = {"heading": {"level"}, "panel": {"panelType"}, "inlineCard": {"url"}, "emoji": {"shortName"}}
REQUIRED_ATTRS["mention"] = {"id"}
PANEL_TYPES = {"info", "note", "warning", "success", "error"}
MARKS = {"strong", "em", "code", "strike", "underline", "link", "subsup", "textColor"}
NODE_KEYS = {"type", "content", "attrs", "marks", "text"}


def adf_problems(doc: Any, *, where: str = "body") -> list[str]:
    """Every rule the document breaks, as 'where: problem'; [] for a valid document."""
    if not isinstance(doc, dict) or doc.get("type") != "doc":
        return [f"{where}: not an ADF document (expected {{'type': 'doc', 'version': 1, 'content': […]}})"]
    problems = []
    if doc.get("version") != 1:
        problems.append(f"{where}: version must be 1, got {doc.get('version')!r}")
    return problems + _node_problems(doc, where)


def _node_problems(node: Any, where: str) -> list[str]:
    if not isinstance(node, dict):
        return [f"{where}: a node must be an object, got {node!r}"]
    kind = node.get("type")
    if kind not in CHILDREN:
        return [f"{where}: unknown node type {kind!r}"]
    problems = [f"{where}: unknown key {key!r} on {kind}" for key in set(node) - NODE_KEYS - {"version"}]
    problems += _attrs_problems(kind, node.get("attrs"), where)
    if kind == "text":
        text = node.get("text")
        if not isinstance(text, str) or not text:
            problems.append(f"{where}: a text node needs non-empty text, got {text!r}")
        problems += _marks_problems(node.get("marks", []), where)
    elif "marks" in node:
        problems.append(f"{where}: marks are only allowed on text nodes, found on {kind}")
    allowed = CHILDREN[kind]
    content = node.get("content")
    if allowed is None:
        return problems + ([f"{where}: {kind} has no content"] if content is not None else [])
    if content is None and kind not in NEEDS_CONTENT:
        return problems
    if not isinstance(content, list) or (kind in NEEDS_CONTENT and not content):
        return [*problems, f"{where}: {kind} needs a non-empty content list"]
    for index, child in enumerate(content):
        child_kind = child.get("type") if isinstance(child, dict) else None
        path = f"{where}/{kind}[{index}]"
        if child_kind in CHILDREN and child_kind not in allowed:
            problems.append(f"{path}: {child_kind} may not be inside {kind}")
        problems += _node_problems(child, path)
    return problems


def _attrs_problems(kind: str, attrs: Any, where: str) -> list[str]:
    needed = REQUIRED_ATTRS.get(kind, set())
    if attrs is None:
        return [f"{where}: {kind} needs attrs {sorted(needed)}"] if needed else []
    if not isinstance(attrs, dict):
        return [f"{where}: attrs of {kind} must be an object"]
    problems = [f"{where}: {kind} needs attrs.{name}" for name in needed - set(attrs)]
    if kind == "heading" and attrs.get("level") not in range(1, 7):
        problems.append(f"{where}: heading level must be 1..6, got {attrs.get('level')!r}")
    if kind == "panel" and attrs.get("panelType") not in PANEL_TYPES:
        problems.append(f"{where}: panelType must be one of {sorted(PANEL_TYPES)}")
    return problems


def _marks_problems(marks: Any, where: str) -> list[str]:
    if not isinstance(marks, list):
        return [f"{where}: marks must be a list"]
    problems = []
    for mark in marks:
        kind = mark.get("type") if isinstance(mark, dict) else None
        if kind not in MARKS:
            problems.append(f"{where}: unknown mark {mark!r}")
        elif kind == "link" and not str((mark.get("attrs") or {}).get("href", "")).startswith(("http://", "https://")):
            problems.append(f"{where}: a link mark needs attrs.href, an absolute http(s) URL")
    if len({m.get("type") for m in marks if isinstance(m, dict)}) != len(marks):
        problems.append(f"{where}: the same mark twice on one text node")
    return problems


def adf_text(doc: Any) -> str:
    """The document's text, paragraphs on their own lines (what a search indexes)."""
    if not isinstance(doc, dict):
        return ""
    if doc.get("type") == "text":
        return str(doc.get("text", ""))
    if doc.get("type") == "hardBreak":
        return "\n"
    inner = "".join(adf_text(child) for child in doc.get("content") or [])
    return inner + "\n" if doc.get("type") in ("paragraph", "heading", "codeBlock") else inner
