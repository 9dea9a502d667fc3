"""The one registry of integration kinds: kind → dotted path of its connector class.

Adding a kind is one package under `connectors/` and one line in `KINDS`. Paths are
imported on first use, so starting Django or a worker loads no connector code; model
choices, admin forms, the contract tests and the docs are all built from this registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from integrations.connectors.base import Capability, Connector

KINDS: dict[str, str] = {
    "webhook": "integrations.connectors.webhook.connector.WebhookConnector",
    "openproject": "integrations.connectors.openproject.connector.OpenProjectConnector",
    "nextcloud": "integrations.connectors.nextcloud.connector.NextcloudConnector",
    "slack": "integrations.connectors.slack.connector.SlackConnector",
    "zulip": "integrations.connectors.zulip.connector.ZulipConnector",
    "jira": "integrations.connectors.jira.connector.JiraConnector",
}


class Registry:
    """Looks connector classes up by kind, importing each the first time it is asked for."""

    def __init__(self, paths: dict[str, str]) -> None:
        self.paths = paths

    def __contains__(self, kind: object) -> bool:
        return kind in self.paths

    def kinds(self) -> list[str]:
        return sorted(self.paths)

    def get(self, kind: str) -> type[Connector]:
        """The connector class of `kind`; an unknown kind is a permanent configuration error."""
        if kind not in self.paths:
            from integrations.connectors.errors import ConnectorError, ErrorClass

            message = f"Unknown integration type '{kind}'."
            raise ConnectorError(message, permanent=True, error_class=ErrorClass.CONFIG)
        return import_string(self.paths[kind])

    def with_capability(self, capability: Capability) -> list[str]:
        """The kinds that declare `capability` (imports every kind)."""
        return [kind for kind in self.kinds() if capability in self.get(kind).capabilities]

    def choices(self) -> list[tuple[str, str]]:
        return [(kind, self.get(kind).label) for kind in self.kinds()]


registry = Registry(KINDS)


def integration_type_choices() -> list[tuple[str, str]]:
    """Callable choices for TenantIntegration.integration_type (no migration per new kind)."""
    return registry.choices()
