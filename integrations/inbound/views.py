"""Signed inbound webhooks. OpenProject POSTs {"action", "work_package"} and signs the raw
body: `X-OP-Signature: sha1=<hex HMAC-SHA1(webhook secret, body)>`.

Checks run cheapest first and a failed one changes nothing: unknown integration 404,
oversized body 413 (read at most limit + 1 bytes), bad signature 401, bad JSON 400.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import uuid
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.inbound.services import workitem_status_from_integration
from integrations.models import TenantIntegration

logger = logging.getLogger("integrations.inbound")

OPENPROJECT = "openproject"
SIGNATURE = re.compile(r"sha1=([0-9a-fA-F]{40})")
UPDATED_ACTION = "work_package:updated"


@csrf_exempt
@require_POST
def openproject_webhook(request: HttpRequest, integration_uuid: uuid.UUID) -> JsonResponse:
    integration = TenantIntegration.objects.filter(
        uuid=integration_uuid, integration_type=OPENPROJECT, is_active=True
    ).first()
    if integration is None:
        return _answer(404, {"error": "Unknown webhook."}, integration_uuid, note="unknown integration")
    label = integration.pk
    limit = settings.INBOUND_MAX_BODY_BYTES
    if _declared_length(request) > limit:
        return _answer(413, {"error": f"Body over {limit} bytes."}, label, note="declared length over limit")
    body = request.read(limit + 1)
    if len(body) > limit:
        return _answer(413, {"error": f"Body over {limit} bytes."}, label, note="body over limit")
    secret = integration.secrets_or_empty().get("webhook_secret")
    if not secret:
        return _answer(401, {"error": "Invalid signature."}, label, note="no webhook_secret configured")
    if not _signature_valid(secret=secret, body=body, header=request.headers.get("X-OP-Signature", "")):
        return _answer(401, {"error": "Invalid signature."}, label, note="bad or missing signature")
    try:
        event = json.loads(body)
    except ValueError:
        return _answer(400, {"error": "Body is not JSON."}, label, note="invalid JSON")
    action = event.get("action") if isinstance(event, dict) else None
    if action != UPDATED_ACTION:
        return _answer(202, {"result": "ignored"}, label, note=f"action {str(action)[:60]!r}")
    work_package = event.get("work_package")
    external_id, remote_status = _id_and_status(work_package)
    if not external_id or not remote_status:
        return _answer(400, {"error": "work_package needs an id and a status."}, label, note="incomplete")
    version = work_package.get("lockVersion")
    outcome = workitem_status_from_integration(
        integration=integration,
        external_id=external_id,
        remote_status=remote_status,
        via="webhook",
        remote_version=version if isinstance(version, int) and not isinstance(version, bool) and version >= 0 else None,
    )
    return _answer(200, {"result": outcome}, label, note=f"work package #{external_id[:40]}")


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _signature_valid(*, secret: str, body: bytes, header: str) -> bool:
    """Constant-time comparison of the hex HMAC-SHA1 of the raw body."""
    match = SIGNATURE.fullmatch(header.strip())
    if match is None:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return hmac.compare_digest(expected, match.group(1).lower())


def _id_and_status(work_package: Any) -> tuple[str, str]:
    """The id and the status name: `_links.status.title`, else `_embedded.status.name`."""
    if not isinstance(work_package, dict):
        return "", ""
    external_id = work_package.get("id")
    status = _path(work_package, "_links", "status", "title") or _path(work_package, "_embedded", "status", "name")
    if isinstance(external_id, bool) or not isinstance(external_id, int | str):
        external_id = ""
    return str(external_id).strip(), status.strip() if isinstance(status, str) else ""


def _path(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _answer(status: int, data: dict[str, str], integration: object, *, note: str) -> JsonResponse:
    """One log line per inbound call: integration, HTTP status, outcome; never a secret."""
    logger.info(
        "inbound openproject integration=%s status=%s result=%s (%s)",
        integration,
        status,
        data.get("result", "-"),
        note,
    )
    return JsonResponse(data, status=status)
