"""Generic webhook (n8n, Zapier, Make, any URL): POST the event payload as JSON.

Auth: any secret headers (n8n Header Auth, e.g. X-API-Key), HTTP Basic, and/or
Standard Webhooks signing (webhook-id / webhook-timestamp / webhook-signature).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from integrations.connectors import http
from integrations.connectors.base import Capability, Connector, DeliveryResult, Event
from integrations.connectors.errors import ConnectorError
from integrations.connectors.webhook import config
from integrations.connectors.webhook.config import SIGNING_SECRET_PREFIX, WebhookConfig


def standard_webhooks_signature(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` over "id.timestamp.body", as the Standard Webhooks spec defines."""
    key = base64.b64decode(secret.removeprefix(SIGNING_SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class WebhookConnector(Connector):
    kind = "webhook"
    label = "Webhook (n8n, Zapier, Make, any URL)"
    capabilities = frozenset({Capability.DELIVERS})
    description = "POSTs each event as JSON to one URL."
    config_class = WebhookConfig
    config_fields = config.FIELDS
    destination_fields = ("url",)
    config: WebhookConfig

    @classmethod
    def clean_config(cls, cleaned: dict[str, Any], form: Any) -> dict[str, Any]:
        return config.clean_config(cleaned, form)

    def deliver(self, event: Event) -> DeliveryResult:
        body = event.body()
        # webhook-id is the stable event id on every delivery: receivers dedupe on it.
        headers = {
            "Content-Type": "application/json",
            **(self.secrets.get("headers") or {}),
            "webhook-id": event.event_id,
        }
        if self.config.sign:
            timestamp = int(time.time())
            headers["webhook-timestamp"] = str(timestamp)
            headers["webhook-signature"] = standard_webhooks_signature(
                secret=self.secrets["signing_secret"], msg_id=event.event_id, timestamp=timestamp, body=body
            )
        response = http.send("POST", self.config.url, data=body, headers=headers, auth=self._basic_auth())
        if response.status_code == 404 and "not registered" in response.text:
            # n8n answers 404 "… is not registered" for an inactive workflow or a test URL: no retry helps.
            raise ConnectorError(
                "n8n says this webhook is not registered (HTTP 404): activate the workflow, or use its "
                "production URL (/webhook/…) rather than the test URL (/webhook-test/…).",
                permanent=True,
                status_code=404,
                response_excerpt=response.excerpt,
            )
        http.raise_for_status(response)
        return DeliveryResult(status_code=response.status_code, response_excerpt=response.excerpt)

    def test_connection(self) -> str:
        response = http.send(
            "HEAD", self.config.url, headers=self.secrets.get("headers") or {}, auth=self._basic_auth()
        )
        if response.status_code in (401, 403):
            http.raise_for_status(response)
        return (
            f"Reachable: the receiver answered HTTP {response.status_code} to a HEAD request. "
            "Use 'Send test event' to check a real delivery."
        )

    def _basic_auth(self) -> tuple[str, str] | None:
        user = self.config.basic_username
        return (user, self.secrets.get("basic_password", "")) if user else None
