"""Settings of an OpenProject integration: the instance, the project, how we authenticate,
the status map both ways, custom fields and assignees, polling and the webhook secret."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.db import models

from integrations.connectors.config import (
    ConfigField,
    OAuthClientConfig,
    PollingConfig,
    destination_url_error,
    oauth_client_fields,
    password_input,
    polling_fields,
    status_map_field,
)
from integrations.payloads import TRACKED_FIELDS

CUSTOM_FIELD = re.compile(r"^customField\d+$")
WORKITEM_KEYS = {"id", "reference_id", *TRACKED_FIELDS}


class AuthMethod(models.TextChoices):
    API_KEY_BASIC = "api_key_basic", "API key, sent as Basic apikey:<key>"
    API_KEY_BEARER = "api_key_bearer", "API key, sent as Bearer <key>"
    OAUTH2 = "oauth2", "OAuth 2 (use 'Connect to OpenProject' after saving)"


def default_status_map() -> dict[str, str]:
    return {
        "New": "New",
        "In Progress": "In Progress",
        "Review": "In Progress",
        "Closed": "Closed",
        "Rejected": "Cancelled",
    }


@dataclass(frozen=True)
class OpenProjectConfig(PollingConfig, OAuthClientConfig):
    base_url: str = ""
    project: str = ""
    type_id: int = 1
    default_status_id: int | None = None
    auth_method: str = AuthMethod.API_KEY_BASIC
    status_map: dict[str, str] = field(default_factory=default_status_map)
    custom_fields: dict[str, str] = field(default_factory=dict)
    assignee_map: dict[str, int] = field(default_factory=dict)

    @property
    def reference_field(self) -> str | None:
        """The custom field that holds our reference id, if one is mapped (finds a package again)."""
        return next((name for name, key in self.custom_fields.items() if key == "reference_id"), None)


FIELDS = [
    ConfigField(
        "base_url",
        forms.URLField(
            label="OpenProject URL",
            assume_scheme="https",
            help_text="The address of the instance, e.g. https://openproject.example.com (without /api/v3).",
        ),
    ),
    ConfigField(
        "project",
        forms.CharField(
            label="Project", max_length=100, help_text="Id or identifier of the project, e.g. 3 or service-desk."
        ),
    ),
    ConfigField(
        "type_id",
        forms.IntegerField(label="Type id", min_value=1, help_text="Work package type, e.g. 1 for Task."),
    ),
    ConfigField(
        "default_status_id",
        forms.IntegerField(
            label="Initial status id",
            min_value=1,
            required=False,
            help_text="Status of new work packages; empty: OpenProject's default status.",
        ),
    ),
    ConfigField(
        "auth_method",
        forms.ChoiceField(
            label="Authentication",
            choices=AuthMethod.choices,
            help_text="An API token from My account › Access tokens, or OAuth with an application "
            "registered in Administration › Authentication › OAuth applications.",
        ),
    ),
    ConfigField(
        "api_key",
        forms.CharField(label="API key", required=False, widget=password_input(), help_text="For the API key methods."),
        secret=True,
    ),
    *oauth_client_fields(where="its UID in Administration › Authentication › OAuth applications"),
    ConfigField(
        "status_map",
        status_map_field(
            tool="OpenProject",
            help_text="OpenProject status name → Fieldhook status, both ways: a Fieldhook status change moves "
            "the work package to a status mapped to it (preferring the same name). Names are matched "
            "case-insensitively. Clear both cells to remove a row.",
        ),
    ),
    ConfigField(
        "custom_fields",
        forms.JSONField(
            label="Custom fields",
            required=False,
            help_text='Work item values copied into OpenProject custom fields, e.g. {"customField1": '
            '"reference_id", "customField2": "customer.name"}. A custom field holding reference_id is '
            "also used to find a work package again.",
        ),
    ),
    ConfigField(
        "assignee_map",
        forms.JSONField(
            label="Assignees",
            required=False,
            help_text='Technician email → OpenProject user id, e.g. {"ana@example.com": 11}. A technician not '
            "listed is looked up by email in OpenProject (needs an admin API user); not found: no assignee.",
        ),
    ),
    *polling_fields("OpenProject"),
    ConfigField(
        "webhook_secret",
        forms.CharField(
            label="Webhook secret",
            required=False,
            widget=password_input(),
            help_text="The secret of an OpenProject webhook (Administration › Webhooks) pointing at Fieldhook; "
            "its X-OP-Signature is checked on every inbound call.",
        ),
        secret=True,
    ),
]


def clean_config(cleaned: dict[str, Any], form: Any) -> dict[str, Any]:
    url = cleaned.get("base_url")
    if url and (problem := destination_url_error(url, credentials_belong="the API key field")):
        form.add_error("base_url", problem)
    elif url:
        cleaned["base_url"] = url.rstrip("/")
    method = cleaned.get("auth_method")
    if method in (AuthMethod.API_KEY_BASIC, AuthMethod.API_KEY_BEARER) and not cleaned.get("api_key"):
        form.add_error("api_key", "The API key methods need an API key.")
    if method == AuthMethod.OAUTH2:
        for name in ("oauth_client_id", "oauth_client_secret"):
            if not cleaned.get(name):
                form.add_error(name, "OAuth needs the application's client id and secret.")
    for name, check in (("custom_fields", custom_fields_error), ("assignee_map", assignee_map_error)):
        if problem := check(cleaned.get(name)):
            form.add_error(name, problem)
    return cleaned


def custom_fields_error(value: Any) -> str:
    if value in (None, "", {}):
        return ""
    if not isinstance(value, dict):
        return 'Enter a JSON object, e.g. {"customField1": "reference_id"}.'
    for name, key in value.items():
        if not CUSTOM_FIELD.match(str(name)):
            return f"'{name}' is not an OpenProject custom field name (customField<number>)."
        if not isinstance(key, str) or key.split(".", 1)[0] not in WORKITEM_KEYS:
            return f"'{key}' is not a work item field; use one of: {', '.join(sorted(WORKITEM_KEYS))}."
    return ""


def assignee_map_error(value: Any) -> str:
    if value in (None, "", {}):
        return ""
    if not isinstance(value, dict):
        return 'Enter a JSON object of emails to OpenProject user ids, e.g. {"ana@example.com": 11}.'
    for email, user_id in value.items():
        if "@" not in str(email):
            return f"'{email}' is not an email address."
        if isinstance(user_id, bool) or not str(user_id).isdigit():
            return f"The OpenProject user id of '{email}' must be a number."
    return ""
