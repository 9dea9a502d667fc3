"""What every connector is: it turns one event into requests and maps the answer to a
`DeliveryResult` or a `ConnectorError`. Retries, locks, notes and audit belong to the
engine (`integrations.services`), never to a connector.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from django import forms

from integrations.connectors.errors import ConnectorError, ErrorClass


@dataclass(frozen=True)
class RateLimitHint:
    """What a service said about its rate limit (e.g. X-RateLimit-Remaining and -Reset):
    with nothing left, the engine holds every sender of the integration until the reset."""

    remaining: int | None = None
    reset_after: float | None = None  # seconds until the window resets

    @property
    def exhausted(self) -> bool:
        return self.remaining is not None and self.remaining <= 0 and bool(self.reset_after)


@dataclass(frozen=True)
class DeliveryResult:
    external_id: str = ""
    external_url: str = ""
    status_code: int | None = None
    response_excerpt: str = ""
    # What the connector needs to remember about the remote object besides its id (a chat
    # thread's channel, a shared folder's share id); replaces the link's stored details.
    details: dict[str, Any] = field(default_factory=dict)
    rate_limit: RateLimitHint | None = None


@dataclass(frozen=True)
class ExternalRef:
    """What an earlier delivery created on the other side (a ticket, a message)."""

    external_id: str
    external_url: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """One event as a connector sees it: the payload snapshot plus routing facts."""

    event_type: str
    event_id: str
    payload: dict[str, Any]
    existing: ExternalRef | None = None
    attempt: int = 1

    def body(self) -> bytes:
        """The canonical JSON body; compact, UTF-8, stable for signatures."""
        return json.dumps(self.payload, separators=(",", ":"), ensure_ascii=False, sort_keys=False).encode()


class SecretJSONField(forms.JSONField):
    """A JSON secret (e.g. a header map): never rendered back into the page, not even 'null'."""

    def prepare_value(self, value: Any) -> str:
        return ""


@dataclass(frozen=True)
class ConfigField:
    """Describes one config field for the admin form and the docs."""

    name: str
    form_field: forms.Field
    secret: bool = False


class Capability(StrEnum):
    """What a kind does; generic code (engine, inbound, OAuth, admin) asks these, never a
    vendor name, and the contract tests check that each declared one is implemented."""

    DELIVERS = "delivers"  # deliver(event): sends our events out
    POLLS = "polls"  # remote_statuses(ids) and local_status_for(name): asked for remote status
    RECEIVES_WEBHOOKS = "receives_webhooks"  # signed inbound calls at /webhooks/<kind>/<uuid>/
    OAUTH2 = "oauth2"  # connected through the generic OAuth 2 flow
    CONNECTION_STATE = "connection_state"  # connection_state(): what the admin shows about credentials
    PULLS_DATA = "pulls_data"  # reads data in (worklogs, leaves) rather than pushing events


class Connector(ABC):
    """Base of every integration kind. Subclasses set `kind`, `label`, `config_fields`
    and implement `deliver` (and usually `test_connection`)."""

    kind: ClassVar[str]
    label: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    description: ClassVar[str] = ""
    default_rate_per_second: ClassVar[float | None] = None
    # Connectors that update what an earlier event created get it as `event.existing`.
    uses_external_links: ClassVar[bool] = False
    config_fields: ClassVar[list[ConfigField]] = []
    # Config fields (URLs) naming where the credentials are sent: when their scheme, host or
    # port changes, the form drops the stored secrets and asks for them again.
    destination_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        config: dict[str, Any],
        secrets: dict[str, Any],
        save_secrets: Callable[[dict[str, Any]], None] | None = None,
        load_secrets: Callable[[], dict[str, Any]] | None = None,
        cache_namespace: str = "",
    ) -> None:
        self.config = config
        self.secrets = secrets
        # Prefix of this integration's cache keys: what one integration's credentials may see
        # (or failed to see) is never served to another, even on the same host.
        self.cache_namespace = cache_namespace
        self._save_secrets = save_secrets
        self._load_secrets = load_secrets

    def stored_secrets(self) -> dict[str, Any]:
        """The secrets as stored now: another worker may have renewed them meanwhile."""
        return self._load_secrets() if self._load_secrets is not None else self.secrets

    def save_secrets(self, secrets: dict[str, Any]) -> None:
        """Persist changed secrets (e.g. refreshed OAuth tokens), encrypted, for later deliveries."""
        self.secrets = secrets
        if self._save_secrets is not None:
            self._save_secrets(secrets)

    @classmethod
    def secret_field_names(cls) -> set[str]:
        return {spec.name for spec in cls.config_fields if spec.secret}

    @classmethod
    def clean_config(cls, cleaned: dict[str, Any], form: Any) -> dict[str, Any]:
        """Cross-field validation of field values; report with `form.add_error(field, message)`."""
        return cleaned

    @abstractmethod
    def deliver(self, event: Event) -> DeliveryResult:
        """Send one event. Raise ConnectorError on failure; never retry inside."""

    def connection_state(self) -> str:
        """What the admin shows about the credentials ('' unless the kind has CONNECTION_STATE)."""
        return ""

    def test_connection(self) -> str:
        """Check credentials and reachability without side effects; return a short outcome."""
        raise ConnectorError(f"{self.label} has no connection test.", permanent=True, error_class=ErrorClass.CONFIG)
