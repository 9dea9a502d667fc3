"""One inbound webhook endpoint for every kind that receives them:
`POST /webhooks/<kind>/<integration uuid>/`. The connector checks the signature and reads
the body; applying a remote status or a status command is generic (`inbound.services`), and
the connector words the answer (a chat tool posts it back to the person who asked).

Checks run cheapest first and a failed one changes nothing: unknown integration 404,
oversized body 413 (read at most limit + 1 bytes), bad signature 401, bad JSON 400.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.connectors import registry
from integrations.connectors.base import Capability, InboundOutcome, InboundRejected
from integrations.crypto import SecretsUnreadable
from integrations.inbound.services import workitem_status_command_apply, workitem_status_from_integration
from integrations.models import TenantIntegration
from integrations.services import integration_connector

logger = logging.getLogger("integrations.inbound")


@csrf_exempt
@require_POST
def integration_webhook(request: HttpRequest, kind: str, integration_uuid: uuid.UUID) -> JsonResponse:
    integration = None
    if kind in registry and Capability.RECEIVES_WEBHOOKS in registry.get(kind).capabilities:
        integration = TenantIntegration.objects.filter(
            uuid=integration_uuid, integration_type=kind, is_active=True
        ).first()
    if integration is None:
        return _answer(kind, 404, {"error": "Unknown webhook."}, integration_uuid, note="unknown integration")
    label = integration.pk
    limit = settings.INBOUND_MAX_BODY_BYTES
    if _declared_length(request) > limit:
        return _answer(kind, 413, {"error": f"Body over {limit} bytes."}, label, note="declared length over limit")
    body = request.read(limit + 1)
    if len(body) > limit:
        return _answer(kind, 413, {"error": f"Body over {limit} bytes."}, label, note="body over limit")
    try:
        connector = integration_connector(integration=integration)
        verified = connector.inbound_verify(headers=request.headers, body=body)
    except SecretsUnreadable:
        verified = False
    if not verified:
        return _answer(kind, 401, {"error": "Invalid signature."}, label, note="bad or missing signature")
    try:
        call = connector.inbound_parse(payload=json.loads(body))
    except ValueError:
        return _answer(kind, 400, {"error": "Body is not JSON."}, label, note="invalid JSON")
    except InboundRejected as rejected:
        return _answer(kind, 400, {"error": str(rejected)}, label, note="incomplete")
    if call.command is not None:
        done = workitem_status_command_apply(integration=integration, connector=connector, command=call.command)
        note = f"command on {call.command.reference_id[:40]}: {done.result}"
        return _answer(kind, 200, connector.inbound_reply(call, done), label, note=note)
    if call.status is None:
        return _answer(kind, 202, connector.inbound_reply(call, InboundOutcome("ignored")), label, note=call.ignored)
    outcome = workitem_status_from_integration(
        integration=integration, connector=connector, remote=call.status, via="webhook"
    )
    note = connector.describe_remote(call.status.external_id[:40])
    return _answer(kind, 200, connector.inbound_reply(call, InboundOutcome(outcome)), label, note=note)


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _answer(kind: str, status: int, data: dict[str, Any], integration: object, *, note: str) -> JsonResponse:
    """One log line per inbound call: kind, integration, HTTP status, outcome; never a secret."""
    logger.info(
        "inbound %s integration=%s status=%s result=%s (%s)",
        kind,
        integration,
        status,
        data.get("result", "-"),
        note,
    )
    return JsonResponse(data, status=status)
