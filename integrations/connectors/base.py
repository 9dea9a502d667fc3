"""What every connector is: one class per integration kind that turns an event into requests
and maps the answers to a `DeliveryResult` or a `ConnectorError`, and declares what else it
does (`Capability`). Retries, locks, notes and audit belong to the engine, inbound changes to
`integrations.inbound`, OAuth to `integrations.auth`: a connector only speaks its tool's API.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from integrations.connectors.config import ConfigField, ConnectorConfig
from integrations.connectors.errors import ConnectorError, ErrorClass


class Capability(StrEnum):
    """What a kind does; generic code (engine, inbound, OAuth, admin) asks these, never a
    vendor name, and the contract tests check that each declared one is implemented."""

    DELIVERS = "delivers"  # deliver(event): sends our events out
    POLLS = "polls"  # remote_statuses(ids) + local_status_for(name); config has PollingConfig
    RECEIVES_WEBHOOKS = "receives_webhooks"  # inbound_verify + inbound_parse at /webhooks/<kind>/<uuid>/
    OAUTH2 = "oauth2"  # oauth_endpoints + oauth_account_name: the generic OAuth 2 flow connects it
    CONNECTION_STATE = "connection_state"  # connection_state(): what the admin shows about credentials
    PULLS_DATA = "pulls_data"  # reads data in (worklogs, leaves) rather than pushing events
    # package_find + package_create_parent + package_create_children + package_link_child:
    # a parent and its children from a template (integrations/packages.py)
    CREATES_PACKAGES = "creates_packages"


# --- Outbound -------------------------------------------------------------------------------


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


# --- Inbound ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteStatus:
    """The status a tool reports for one of its objects, by poll or by webhook."""

    external_id: str
    status: str  # the tool's own status name
    changed_at: datetime.datetime | None = None  # when the tool says it changed, if it says
    version: int | None = None  # grows with every change of the object (a replay is older)


@dataclass(frozen=True)
class StatusCommand:
    """A person in the tool asks, by its reference id, to set a work item's status (a chat
    command): no linked object needed, but only the integration's own tenant is searched."""

    reference_id: str  # e.g. "RMA-123"
    status: str  # as the person wrote it; the connector's local_status_for maps it
    by: str  # who asked, as the tool names them (written into the work item's note)


@dataclass(frozen=True)
class InboundCall:
    """What a verified inbound webhook asks of us: a remote status, a status command, or
    nothing (`ignored`)."""

    status: RemoteStatus | None = None
    command: StatusCommand | None = None
    ignored: str = ""  # why nothing is to be done, e.g. "action 'project:created'"
    # For a call that needs nothing done, what to tell the person who made it, when the tool
    # shows our answer (a chat bot's help, or why a command could not be read).
    reply: str = ""


@dataclass(frozen=True)
class InboundOutcome:
    """What an inbound call did, for the connector to word the answer (`inbound_reply`)."""

    result: str  # an integrations.inbound.services.Outcome value, or "ignored"
    status: str = ""  # a command's Fieldhook status (once mapped)
    previous: str = ""  # the work item's status before the command
    url: str = ""  # the work item in Fieldhook, when one was found
    problem: str = ""  # why the work item refused the change ("invalid")


class InboundRejected(Exception):
    """A verified inbound call we cannot read (answered 400 with this message)."""


@dataclass(frozen=True)
class OAuthEndpoints:
    """Where the generic OAuth 2 flow (authorization code + PKCE) sends the browser and asks for tokens."""

    authorize_url: str
    token_url: str
    scope: str
    # Whether the tool takes PKCE (RFC 7636). Off for a tool where PKCE makes an app a public
    # client (a separate app setting) and a confidential client must not send it.
    pkce: bool = True


# --- Issue packages (CREATES_PACKAGES) ---------------------------------------------------------


@dataclass(frozen=True)
class PackageIssue:
    """One issue of a package, as the tool should show it. The connector stores `group` and
    `marker` on the issue (labels, tags) so that a resumed run finds what an earlier try created."""

    group: str  # the same on every issue of a run; letters, digits and dashes only
    marker: str  # unique to the run and the element; letters, digits and dashes only
    issue_type: str
    summary: str  # one line
    description: str  # plain text, paragraphs separated by blank lines
    facts: tuple[tuple[str, str], ...] = ()  # (label, value) of the work item, shown below the text
    link: str = ""  # the work item in Fieldhook


@dataclass(frozen=True)
class PackageCreated:
    """An issue of a package that exists in the tool."""

    marker: str
    key: str  # what people call it, e.g. "SVC-12"
    url: str = ""
    linked: bool = False  # already a child of the parent (e.g. created as its sub-task)


@dataclass(frozen=True)
class PackageBatch:
    """What one call creating children did: those created, and per marker why the tool refused one."""

    created: list[PackageCreated] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


# --- The connector --------------------------------------------------------------------------


class Connector:
    """Base of every integration kind. Subclasses set `kind`, `label`, `capabilities`,
    `config_class` and `config_fields`, and implement what their capabilities name."""

    kind: ClassVar[str]
    label: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    description: ClassVar[str] = ""
    default_rate_per_second: ClassVar[float | None] = None
    # Connectors that update what an earlier event created get it as `event.existing`.
    uses_external_links: ClassVar[bool] = False
    config_class: ClassVar[type[ConnectorConfig]] = ConnectorConfig
    config_fields: ClassVar[list[ConfigField]] = []
    # Config fields (URLs) naming where the credentials are sent: when their scheme, host or
    # port changes, the form drops the stored secrets and asks for them again.
    destination_fields: ClassVar[tuple[str, ...]] = ()
    # POLLS: `remote_statuses` reports only the objects that changed since its previous answer
    # (a tool asked for what was updated since then): an id left out is unchanged, not gone.
    polls_changes_only: ClassVar[bool] = False
    # How a person names the tool's objects: the noun ("issue"; plural with an "s") and one of
    # them in a note ("issue {id}").
    remote_noun: ClassVar[str] = "item"
    remote_object_name: ClassVar[str] = "#{id}"

    def __init__(
        self,
        *,
        config: Mapping[str, Any],
        secrets: dict[str, Any],
        save_secrets: Callable[[dict[str, Any]], None] | None = None,
        load_secrets: Callable[[], dict[str, Any]] | None = None,
        cache_namespace: str = "",
    ) -> None:
        self.config = self.config_class.from_dict(config)
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

    @classmethod
    def reports_statuses(cls) -> bool:
        """Whether the tool tells us its statuses (by poll or webhook): for such kinds a status
        that arrives goes through the three-way merge (integrations/inbound/merge.py)."""
        return bool(cls.capabilities & {Capability.POLLS, Capability.RECEIVES_WEBHOOKS})

    @classmethod
    def describe_remote(cls, external_id: str) -> str:
        return cls.remote_object_name.format(id=external_id)

    def test_connection(self) -> str:
        """Check credentials and reachability without side effects; return a short outcome."""
        raise ConnectorError(f"{self.label} has no connection test.", permanent=True, error_class=ErrorClass.CONFIG)

    # --- DELIVERS ---

    def deliver(self, event: Event) -> DeliveryResult:
        """Send one event. Raise ConnectorError on failure; never retry a write inside."""
        raise ConnectorError(f"{self.label} does not send events.", permanent=True, error_class=ErrorClass.CONFIG)

    def deliver_by_type(
        self, event: Event, handlers: Mapping[str, Callable[[Event], DeliveryResult]]
    ) -> DeliveryResult:
        """Run the handler of the event's type; a type the kind has no handler for is a
        permanent configuration error (the integration subscribes to events it cannot send)."""
        handler = handlers.get(event.event_type)
        if handler is None:
            message = f"{self.label} does not handle {event.event_type} events."
            raise ConnectorError(message, permanent=True, error_class=ErrorClass.CONFIG)
        return handler(event)

    # --- POLLS (and RECEIVES_WEBHOOKS: both report remote statuses) ---

    def remote_statuses(self, external_ids: list[str]) -> dict[str, RemoteStatus]:
        """The current status of each of these remote objects; ids the tool does not show are left out."""
        raise NotImplementedError

    def local_status_for(self, remote_status: str) -> str | None:
        """The Fieldhook status a remote status name stands for, or None when it is not mapped."""
        raise NotImplementedError

    # --- RECEIVES_WEBHOOKS ---

    def inbound_verify(self, *, headers: Mapping[str, str], body: bytes) -> bool:
        """Whether an inbound call really comes from the tool (its signature, in constant time)."""
        raise NotImplementedError

    def inbound_parse(self, *, payload: Any) -> InboundCall:
        """What a verified call's JSON asks of us; InboundRejected when it cannot be read."""
        raise NotImplementedError

    def inbound_reply(self, call: InboundCall, outcome: InboundOutcome) -> dict[str, Any]:
        """The JSON answer to an inbound call (a chat tool posts it back to the person who asked)."""
        return {"result": outcome.result}

    # --- OAUTH2 ---

    def oauth_endpoints(self) -> OAuthEndpoints:
        raise NotImplementedError

    def oauth_problem(self) -> str:
        """Why the OAuth flow cannot start with the saved settings yet, or ''."""
        return ""

    def uses_oauth(self) -> bool:
        """Whether these settings authenticate with OAuth (a kind may offer other ways too)."""
        return Capability.OAUTH2 in self.capabilities

    def oauth_account_name(self, access_token: str) -> str:
        """Whom a fresh access token acts for, or '' when the tool does not say."""
        raise NotImplementedError

    def oauth_token_refusal(self, body: Any) -> str:
        """The error a token endpoint reports in a 2xx answer's body, for a tool that refuses a
        code or a refresh token with HTTP 200 instead of RFC 6749's 400; '' when it is no refusal."""
        return ""

    # --- CREATES_PACKAGES ---

    # Most children one package_create_children call may be given.
    package_batch_size: ClassVar[int] = 50

    def package_find(self, *, project_key: str, group: str) -> dict[str, PackageCreated]:
        """The issues of the group that exist already (an earlier try made them), by marker."""
        raise NotImplementedError

    def package_create_parent(self, *, project_key: str, issue: PackageIssue) -> PackageCreated:
        raise NotImplementedError

    def package_create_children(
        self, *, project_key: str, parent: PackageCreated, children: list[PackageIssue]
    ) -> PackageBatch:
        """Create up to `package_batch_size` children in one go; a child the tool refuses is
        reported in `refused`, a failure of the whole call raises ConnectorError."""
        raise NotImplementedError

    def package_link_child(self, *, parent: PackageCreated, child: PackageCreated) -> None:
        """Make `child` a child of `parent` (for children not created as such)."""
        raise NotImplementedError

    # --- CONNECTION_STATE ---

    def connection_state(self) -> str:
        """What the admin shows about the credentials ('' unless the kind has CONNECTION_STATE)."""
        return ""
