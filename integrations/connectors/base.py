"""What every connector is: it turns one event into requests and maps the answer to a
`DeliveryResult` or a `ConnectorError`. Retries, locks, notes and audit belong to the
engine (`integrations.services`), never to a connector.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django import forms


class ErrorClass:
    """Short names recorded on SyncAttempt.error_class (stable: operators filter on them)."""

    CONNECTION = "connection"
    TIMEOUT = "timeout"
    SERVER = "http_5xx"
    RATE_LIMITED = "http_429"
    CLIENT = "http_4xx"
    AUTH = "auth"
    CONFIG = "config"
    PAYLOAD = "payload"
    SSRF = "ssrf"  # refused by the outbound guard: a non-public address or a disallowed scheme


class ConnectorError(Exception):
    """A delivery that did not succeed. `permanent` means retrying cannot help."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        error_class: str = ErrorClass.CLIENT,
        status_code: int | None = None,
        retry_after: float | None = None,
        response_excerpt: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.error_class = error_class
        self.status_code = status_code
        self.retry_after = retry_after
        self.response_excerpt = response_excerpt


@dataclass(frozen=True)
class DeliveryResult:
    external_id: str = ""
    external_url: str = ""
    status_code: int | None = None
    response_excerpt: str = ""


@dataclass(frozen=True)
class ExternalRef:
    """What an earlier delivery created on the other side (a ticket, a message)."""

    external_id: str
    external_url: str = ""


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


class Connector(ABC):
    """Base of every integration kind. Subclasses set `kind`, `label`, `config_fields`
    and implement `deliver` (and usually `test_connection`)."""

    kind: ClassVar[str]
    label: ClassVar[str]
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

    def test_connection(self) -> str:
        """Check credentials and reachability without side effects; return a short outcome."""
        raise ConnectorError(f"{self.label} has no connection test.", permanent=True, error_class=ErrorClass.CONFIG)


@dataclass
class Registry:
    """kind → connector class. Model choices, admin forms and docs are built from it."""

    connectors: dict[str, type[Connector]] = field(default_factory=dict)

    def register(self, connector: type[Connector]) -> type[Connector]:
        self.connectors[connector.kind] = connector
        return connector

    def get(self, kind: str) -> type[Connector]:
        try:
            return self.connectors[kind]
        except KeyError:
            message = f"Unknown integration type '{kind}'."
            raise ConnectorError(message, permanent=True, error_class=ErrorClass.CONFIG) from None

    def choices(self) -> list[tuple[str, str]]:
        return [(kind, connector.label) for kind, connector in sorted(self.connectors.items())]
