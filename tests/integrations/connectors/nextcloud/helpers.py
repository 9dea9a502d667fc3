"""What the Nextcloud tests do again and again, on top of the shared delivery helpers."""

from integrations.models import TenantIntegration
from tests.integrations.connectors import delivery
from tests.integrations.connectors.delivery import configure, deliver, latest_sync, make_due
from workitems.models import WorkItem

__all__ = ["configure", "created", "deliver", "latest_sync", "make_due"]


def created(integration: TenantIntegration, **fields) -> WorkItem:
    """A work item whose folder exists in Nextcloud."""
    fields.setdefault("description", "Cracked screen")
    return delivery.created(integration, **fields)
