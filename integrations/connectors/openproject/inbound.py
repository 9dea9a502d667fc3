"""OpenProject's outgoing webhooks: `X-OP-Signature: sha1=<hex HMAC-SHA1(secret, raw body)>`
and a body `{"action": "work_package:updated", "work_package": {…HAL…}}`."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

from integrations.connectors.base import InboundCall, InboundRejected, RemoteStatus
from integrations.connectors.openproject.client import status_name

SIGNATURE = re.compile(r"sha1=([0-9a-fA-F]{40})")
UPDATED_ACTION = "work_package:updated"


def signature_valid(*, secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """Constant-time comparison of the hex HMAC-SHA1 of the raw body."""
    match = SIGNATURE.fullmatch(headers.get("X-OP-Signature", "").strip())
    if not secret or match is None:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return hmac.compare_digest(expected, match.group(1).lower())


def call_parse(payload: Any) -> InboundCall:
    """The work package's new status; other actions are acknowledged and ignored."""
    action = payload.get("action") if isinstance(payload, dict) else None
    if action != UPDATED_ACTION:
        return InboundCall(ignored=f"action {str(action)[:60]!r}")
    package = payload.get("work_package")
    status = remote_status(package) if isinstance(package, dict) else None
    if status is None:
        raise InboundRejected("work_package needs an id and a status.")
    return InboundCall(status=status)


def remote_status(package: dict[str, Any]) -> RemoteStatus | None:
    """A work package's status, when it was changed and its lockVersion; None without id or status."""
    external_id = package.get("id")
    if isinstance(external_id, bool) or not isinstance(external_id, int | str):
        external_id = ""
    external_id, status = str(external_id).strip(), status_name(package)
    if not external_id or not status:
        return None
    version = package.get("lockVersion")
    return RemoteStatus(
        external_id=external_id,
        status=status,
        changed_at=_moment(package.get("updatedAt")),
        version=version if isinstance(version, int) and not isinstance(version, bool) and version >= 0 else None,
    )


def _moment(value: Any) -> datetime.datetime | None:
    """An ISO 8601 timestamp with its offset, or None when there is none or it cannot be read."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None
