"""Folder names and WebDAV addresses. Every name Fieldhook writes is one segment made safe
(nothing in a reference id, a description or a tenant's name can add a level or climb out of
the root folder), and every segment is percent-encoded on its own in the URL."""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import quote

TENANT = "{tenant}"
SEGMENT_CHARS = 80  # a name from outside (tenant, reference) is cut here
FOLDER_CHARS = 70  # a work item folder's name, description included
TENANT_CHARS = 60
# Path separators, characters Windows and macOS sync clients refuse, and control characters.
REFUSED = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
# Nextcloud keeps these suffixes for uploads in progress and refuses them in names.
UPLOAD_SUFFIX = re.compile(r"\.(part|filepart)$", re.IGNORECASE)


def segment(text: str, *, limit: int = SEGMENT_CHARS) -> str:
    """One folder or file name Nextcloud and its desktop clients accept, made from any text:
    refused characters become spaces, runs of blanks one space, no dots or spaces at either end
    (so never '.' or '..'), NFC-normalised; '' when nothing is left."""
    text = REFUSED.sub(" ", unicodedata.normalize("NFC", text))
    text = " ".join(text.split())[:limit].strip(" .")
    return UPLOAD_SUFFIX.sub(r" \1", text)


def root_segments(template: str, *, tenant: str | None) -> list[str]:
    """The root folder's names; {tenant} is filled in after splitting, so a tenant's name is one
    name. Without a tenant, the names before the first {tenant}."""
    parts = template.split("/")
    if tenant is None:
        parts = parts[: next((i for i, part in enumerate(parts) if TENANT in part), len(parts))]
    named = (part.replace(TENANT, (tenant or "")[:TENANT_CHARS]) for part in parts)
    return [name for name in (segment(part) for part in named) if name]


def folder_name(workitem: dict[str, Any], *, with_description: bool) -> str:
    """'RMA-12 - Cracked screen on the left side': the reference, then as much of the
    description's first line as fits in FOLDER_CHARS, cut between words."""
    reference = segment(str(workitem.get("reference_id") or ""), limit=32) or f"Work item {workitem['id']}"
    first_line = next((line for line in str(workitem.get("description") or "").splitlines() if line.strip()), "")
    summary = segment(first_line, limit=500)
    room = FOLDER_CHARS - len(reference) - len(" - ")
    if not with_description or not summary or room < 8:
        return reference
    if len(summary) > room:
        words = summary[: room + 1].rsplit(" ", 1)
        summary = segment(words[0] if len(words) > 1 else summary[:room])
    return f"{reference} - {summary}" if summary else reference


def folder_path(segments: list[str]) -> str:
    """The path as Nextcloud shows it inside the user's files: '/Fieldhook/Acme/RMA-12 - Cracked screen'."""
    return "/" + "/".join(segments)


def path_segments(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def encoded(path: str) -> str:
    """Each segment percent-encoded alone (spaces, '#', '%', '?', unicode), joined by '/'."""
    return "/".join(quote(part, safe="") for part in path_segments(path))


def child(path: str, name: str) -> str:
    return f"{path.rstrip('/')}/{name}"
