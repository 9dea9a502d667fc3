"""Helpers of the inbound tests (webhook, polling, echo): signed webhook calls as
OpenProject makes them. The integration itself is the folder's `openproject_integration`
fixture, given a webhook secret by `with_webhook_secret`."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from integrations.models import TenantIntegration

SECRET = "op-webhook-secret-3f9a"


def with_webhook_secret(integration: TenantIntegration, secret: str = SECRET) -> TenantIntegration:
    integration.secrets = {**integration.secrets, "webhook_secret": secret}
    integration.save(update_fields=["secrets_encrypted"])
    return integration


def webhook_url(integration: TenantIntegration) -> str:
    return f"/webhooks/openproject/{integration.uuid}/"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def work_package_event(
    wp_id: int, status: str, *, action: str | None = "work_package:updated", lock_version: int = 4
) -> dict[str, Any]:
    """What OpenProject POSTs: the action and the full HAL work package."""
    return {
        "action": action,
        "work_package": {
            "_type": "WorkPackage",
            "id": wp_id,
            "lockVersion": lock_version,
            "subject": "RMA-1: Cracked screen",
            "_embedded": {"status": {"_type": "Status", "id": 13, "name": status, "isClosed": status == "Closed"}},
            "_links": {
                "self": {"href": f"/api/v3/work_packages/{wp_id}", "title": "RMA-1: Cracked screen"},
                "status": {"href": "/api/v3/statuses/13", "title": status},
            },
        },
    }


def signed_post(client, integration: TenantIntegration, event: dict[str, Any] | bytes, *, signature: str | None = None):
    """POST the event (or raw bytes) as OpenProject would, signed with SECRET unless told otherwise."""
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    headers = {"X-OP-Signature": sign(body) if signature is None else signature}
    return client.post(webhook_url(integration), data=body, content_type="application/json", headers=headers)
