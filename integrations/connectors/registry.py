"""The one registry of integration kinds: adding a kind is one module and one line here."""

from integrations.connectors.base import Registry
from integrations.connectors.openproject import OpenProjectConnector
from integrations.connectors.webhook import WebhookConnector

registry = Registry()
registry.register(WebhookConnector)
registry.register(OpenProjectConnector)


def integration_type_choices() -> list[tuple[str, str]]:
    """Callable choices for TenantIntegration.integration_type (no migration per new kind)."""
    return registry.choices()
