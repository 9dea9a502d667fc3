"""Jira's admin webhooks (Jira settings › System › WebHooks, with a secret): `X-Hub-Signature:
sha256=<hex HMAC-SHA256(secret, raw body)>` and a body `{"webhookEvent": "jira:issue_updated",
"timestamp", "issue": {"key", "fields": {"status", "updated"}}, "changelog"}`; and how an issue
as the search answers it becomes a RemoteStatus."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

from integrations.connectors.base import InboundCall, InboundRejected, RemoteStatus

SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
UPDATED_EVENT = "jira:issue_updated"


def signature_valid(*, secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """Constant-time comparison of the hex HMAC-SHA256 of the raw body."""
    match = SIGNATURE.fullmatch(headers.get("X-Hub-Signature", "").strip())
    if not secret or match is None:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, match.group(1).lower())


def call_parse(payload: Any) -> InboundCall:
    """The issue's status after an update; other events are acknowledged and ignored."""
    event = payload.get("webhookEvent") if isinstance(payload, dict) else None
    if event != UPDATED_EVENT:
        return InboundCall(ignored=f"webhookEvent {str(event)[:60]!r}")
    issue = payload.get("issue")
    status = remote_status(issue, fallback_ms=payload.get("timestamp")) if isinstance(issue, dict) else None
    if status is None:
        raise InboundRejected("issue needs a key and fields.status.name.")
    return InboundCall(status=status)


def remote_status(issue: dict[str, Any], *, fallback_ms: Any = None) -> RemoteStatus | None:
    """An issue's status name, when it was last updated and that moment in milliseconds as its
    version (it grows with every change of the issue); None without key or status."""
    fields = issue.get("fields") if isinstance(issue.get("fields"), dict) else {}
    key = str(issue.get("key") or "").strip()
    status = (fields.get("status") or {}).get("name") if isinstance(fields.get("status"), dict) else None
    if not key or not isinstance(status, str) or not status.strip():
        return None
    changed_at = jira_time(fields.get("updated"))
    if changed_at is None and isinstance(fallback_ms, int) and not isinstance(fallback_ms, bool):
        changed_at = datetime.datetime.fromtimestamp(fallback_ms / 1000, datetime.UTC)
    version = int(changed_at.timestamp() * 1000) if changed_at else None
    return RemoteStatus(external_id=key, status=status.strip(), changed_at=changed_at, version=version)


def jira_time(value: Any) -> datetime.datetime | None:
    """Jira's `2025-03-04T10:15:30.123+0000` (or any ISO 8601 with an offset), else None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None
