"""Settings of a webhook integration: the receiver URL and how we authenticate to it."""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from typing import Any

from django import forms

from integrations.connectors.config import (
    ConfigField,
    ConnectorConfig,
    SecretJSONField,
    destination_url_error,
    password_input,
)

HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
RESERVED_HEADERS = {"content-type", "content-length", "host", "webhook-id", "webhook-timestamp", "webhook-signature"}
SIGNING_SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


@dataclass(frozen=True)
class WebhookConfig(ConnectorConfig):
    url: str = ""
    basic_username: str = ""
    sign: bool = False


FIELDS = [
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
        forms.CharField(label="Basic auth user", required=False, help_text="For n8n Basic Auth; leave empty for none."),
    ),
    ConfigField(
        "basic_password",
        forms.CharField(
            label="Basic auth password",
            required=False,
            widget=password_input(),
            help_text="The password n8n's Basic Auth credential expects; stored encrypted.",
        ),
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
            widget=password_input(),
            help_text="whsec_… secret. Leave blank to have one generated (shown once after saving).",
        ),
        secret=True,
    ),
]


def clean_config(cleaned: dict[str, Any], form: Any) -> dict[str, Any]:
    url = cleaned.get("url")
    if url and (problem := destination_url_error(url, credentials_belong="the Basic auth fields")):
        form.add_error("url", problem)
    headers = cleaned.get("headers")
    if headers not in (None, "") and (problem := _headers_error(headers)):
        form.add_error("headers", problem)
    if cleaned.get("basic_username") and not cleaned.get("basic_password"):
        form.add_error("basic_password", "Basic auth needs a password.")
    secret = cleaned.get("signing_secret")
    if cleaned.get("sign") and not secret:
        cleaned["signing_secret"] = signing_secret_generate()
    elif secret and not _valid_signing_secret(secret):
        form.add_error("signing_secret", "Expected whsec_ followed by base64 (at least 24 bytes).")
    return cleaned


def signing_secret_generate() -> str:
    return SIGNING_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


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
    if not secret.startswith(SIGNING_SECRET_PREFIX):
        return False
    try:
        return len(base64.b64decode(secret.removeprefix(SIGNING_SECRET_PREFIX), validate=True)) >= 24
    except ValueError:
        return False
