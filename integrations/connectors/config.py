"""A kind's settings, typed: a frozen dataclass holds every setting with its default (the one
place a default is written), and a list of `ConfigField`s says how the admin form asks for
them. Secrets are fields too (`secret=True`) but live encrypted, apart from the config.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

from django import forms

from integrations.connectors.ssrf import url_refusal
from integrations.widgets import KeyValueTableField
from workitems.models import WorkItem


class SecretJSONField(forms.JSONField):
    """A JSON secret (e.g. a header map): never rendered back into the page, not even 'null'."""

    def prepare_value(self, value: Any) -> str:
        return ""


def password_input() -> forms.PasswordInput:
    """A secret's input: never rendered back into the page."""
    return forms.PasswordInput(render_value=False)


@dataclass(frozen=True)
class ConfigField:
    """One setting as the admin form (and the API) asks for it."""

    name: str
    form_field: forms.Field
    secret: bool = False


@dataclass(frozen=True)
class ConnectorConfig:
    """Base of a kind's typed settings. Stored JSON may hold keys of other versions or
    written by Fieldhook itself (OAuth state): only the declared ones are read."""

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Self:
        """The settings from stored JSON; a missing or empty (None) value takes its default."""
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in names and value is not None})

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every setting that has a default, with it (the admin form's initial values)."""
        found = {}
        for field in dataclasses.fields(cls):
            if field.default is not dataclasses.MISSING:
                found[field.name] = field.default
            elif field.default_factory is not dataclasses.MISSING:
                found[field.name] = field.default_factory()
        return found


@dataclass(frozen=True)
class PollingConfig(ConnectorConfig):
    """Settings every kind that polls shares; the generic poll scheduler reads them."""

    poll_enabled: bool = True
    poll_interval_seconds: int = 300

    MIN_POLL_INTERVAL_SECONDS: ClassVar[int] = 60


def polling_fields(tool: str) -> list[ConfigField]:
    """The admin fields of `PollingConfig`, worded for the tool."""
    return [
        ConfigField(
            "poll_enabled",
            forms.BooleanField(
                label="Poll for status changes",
                required=False,
                help_text=f"Ask {tool} regularly for status changes of linked items.",
            ),
        ),
        ConfigField(
            "poll_interval_seconds",
            forms.IntegerField(
                label="Poll interval (seconds)",
                min_value=PollingConfig.MIN_POLL_INTERVAL_SECONDS,
                help_text=f"How often {tool} is asked (at least {PollingConfig.MIN_POLL_INTERVAL_SECONDS} s).",
            ),
        ),
    ]


def status_map_field(*, tool: str, help_text: str) -> KeyValueTableField:
    """A table of the tool's status names → Fieldhook statuses, edited row by row."""
    return KeyValueTableField(
        label="Status map",
        key_label=f"{tool} status",
        value_label="Fieldhook status",
        value_choices=WorkItem.Status.values,
        help_text=help_text,
    )


def status_for(mapping: Mapping[str, str], name: str) -> str | None:
    """The value mapped to `name`, names compared case-insensitively and without outer spaces."""
    wanted = (name or "").strip().casefold()
    return next((value for key, value in mapping.items() if key.strip().casefold() == wanted), None)


def destination_url_error(url: str, *, credentials_belong: str) -> str:
    """Why a URL that credentials are sent to cannot be saved, or '': credentials written into
    it would be stored unencrypted, and it must pass the SSRF guard's save-time check."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return "This is not a valid URL."
    if "@" in netloc:
        return f"Put credentials in {credentials_belong}, not in the URL (they would be stored unencrypted)."
    return url_refusal(url)


@dataclass(frozen=True)
class OAuthClientConfig(ConnectorConfig):
    """The OAuth application a kind's generic OAuth flow uses (its secret is the
    `oauth_client_secret` secret). Fieldhook writes `oauth_connected_as` after connecting."""

    oauth_client_id: str = ""
    oauth_connected_as: str = ""


def oauth_client_fields(*, where: str) -> list[ConfigField]:
    """The admin fields of the OAuth application; `where` says where it is registered."""
    return [
        ConfigField(
            "oauth_client_id",
            forms.CharField(
                label="OAuth client id", required=False, help_text=f"For OAuth: the application's id ({where})."
            ),
        ),
        ConfigField(
            "oauth_client_secret",
            forms.CharField(
                label="OAuth client secret", required=False, widget=password_input(), help_text="For OAuth."
            ),
            secret=True,
        ),
    ]
