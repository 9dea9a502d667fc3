"""Generic webhook (n8n, Zapier, Make, any URL): POST the event payload as JSON.

Auth: any secret headers (n8n Header Auth, e.g. X-API-Key), HTTP Basic, and/or
Standard Webhooks signing (webhook-id / webhook-timestamp / webhook-signature).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from django import forms

from integrations.connectors import http
from integrations.connectors.base import Capability, ConfigField, Connector, DeliveryResult, Event, SecretJSONField
from integrations.connectors.errors import ConnectorError
from integrations.connectors.ssrf import url_refusal

HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
RESERVED_HEADERS = {"content-type", "content-length", "host", "webhook-id", "webhook-timestamp", "webhook-signature"}
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


def signing_secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def standard_webhooks_signature(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` over "id.timestamp.body", as the Standard Webhooks spec defines."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class WebhookConnector(Connector):
    kind = "webhook"
    label = "Webhook (n8n, Zapier, Make, any URL)"
    capabilities = frozenset({Capability.DELIVERS})
    description = "POSTs each event as JSON to one URL."
    destination_fields = ("url",)
    config_fields = [
        ConfigField(
            "url",
            forms.URLField(
                label="Receiver URL",
                max_length=2000,
                assume_scheme="https",
                help_text="Where events are POSTed, e.g. https://n8n.example.com/webhook/fieldhook "
                "(use n8n's production URL; /webhook-test/ URLs work only while n8n listens for a test event).",
            ),
        ),
        ConfigField(
            "headers",
            SecretJSONField(
                label="Secret headers",
                required=False,
                help_text='Headers added to every delivery, as a JSON object, e.g. {"X-API-Key": "…"} for n8n '
                "Header Auth. Stored encrypted and never shown again.",
            ),
            secret=True,
        ),
        ConfigField(
            "basic_username",
            forms.CharField(
                label="Basic auth user", required=False, help_text="For n8n Basic Auth; leave empty for none."
            ),
        ),
        ConfigField(
            "basic_password",
            forms.CharField(label="Basic auth password", required=False, widget=forms.PasswordInput),
            secret=True,
        ),
        ConfigField(
            "sign",
            forms.BooleanField(
                label="Sign deliveries (Standard Webhooks)",
                required=False,
                help_text="Adds webhook-id, webhook-timestamp and webhook-signature headers the receiver can verify.",
            ),
        ),
        ConfigField(
            "signing_secret",
            forms.CharField(
                label="Signing secret",
                required=False,
                widget=forms.PasswordInput,
                help_text="whsec_… secret. Leave blank to have one generated (shown once after saving).",
            ),
            secret=True,
        ),
    ]

    @classmethod
    def clean_config(cls, cleaned: dict[str, Any], form: Any) -> dict[str, Any]:
        url = cleaned.get("url")
        if url and "@" in urlsplit(url).netloc:
            form.add_error(
                "url", "Put credentials in the Basic auth fields, not in the URL (they would be stored unencrypted)."
            )
        elif url and (refusal := url_refusal(url)):
            form.add_error("url", refusal)
        headers = cleaned.get("headers")
        if headers not in (None, ""):
            error = _headers_error(headers)
            if error:
                form.add_error("headers", error)
        if cleaned.get("basic_username") and not cleaned.get("basic_password"):
            form.add_error("basic_password", "Basic auth needs a password.")
        secret = cleaned.get("signing_secret")
        if cleaned.get("sign") and not secret:
            cleaned["signing_secret"] = signing_secret_generate()
        elif secret and not _valid_signing_secret(secret):
            form.add_error("signing_secret", "Expected whsec_ followed by base64 (at least 24 bytes).")
        return cleaned

    def deliver(self, event: Event) -> DeliveryResult:
        body = event.body()
        # webhook-id is the stable event id on every delivery: receivers dedupe on it.
        headers = {
            "Content-Type": "application/json",
            **(self.secrets.get("headers") or {}),
            "webhook-id": event.event_id,
        }
        if self.config.get("sign"):
            timestamp = int(time.time())
            headers["webhook-timestamp"] = str(timestamp)
            headers["webhook-signature"] = standard_webhooks_signature(
                secret=self.secrets["signing_secret"], msg_id=event.event_id, timestamp=timestamp, body=body
            )
        response = http.send("POST", self.config["url"], data=body, headers=headers, auth=self._basic_auth())
        if response.status_code == 404 and "not registered" in response.text:
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
            "HEAD", self.config["url"], headers=self.secrets.get("headers") or {}, auth=self._basic_auth()
        )
        if response.status_code in (401, 403):
            http.raise_for_status(response)
        return (
            f"Reachable: the receiver answered HTTP {response.status_code} to a HEAD request. "
            "Use 'Send test event' to check a real delivery."
        )

    def _basic_auth(self) -> tuple[str, str] | None:
        user = self.config.get("basic_username")
        return (user, self.secrets.get("basic_password", "")) if user else None


def _headers_error(headers: Any) -> str:
    if not isinstance(headers, dict):
        return 'Enter a JSON object of header names to values, e.g. {"X-API-Key": "…"}.'
    for name, value in headers.items():
        if not HEADER_NAME.match(name):
            return f"'{name}' is not a valid header name."
        if name.lower() in RESERVED_HEADERS:
            return f"'{name}' is set by Fieldhook and cannot be overridden."
        if not isinstance(value, str) or "\n" in value or "\r" in value:
            return f"The value of '{name}' must be a single-line string."
    return ""


def _valid_signing_secret(secret: str) -> bool:
    if not secret.startswith(SECRET_PREFIX):
        return False
    try:
        return len(base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)) >= 24
    except ValueError:
        return False
