"""Cached look-ups (statuses, users by email) belong to one integration: two tenants on
the same OpenProject instance, each with its own API user, never share an entry, so one
tenant's failed or narrower look-up never changes what another tenant's deliveries see."""

import pytest

from integrations.engine.delivery import sync_deliver
from integrations.models import EventType, IntegrationSync, TenantIntegration
from tests.factories import MembershipFactory, TenantIntegrationFactory, WorkItemFactory
from workitems import services
from workitems.models import WorkItem

GLOBEX_KEY = "op-api-key-globex-8e4f"


@pytest.fixture
def globex_openproject(other_tenant, openproject_integration, fake_openproject) -> TenantIntegration:
    """Globex's integration with the same OpenProject instance, through another API user."""
    fake_openproject.api_keys.add(GLOBEX_KEY)
    return TenantIntegrationFactory(
        tenant=other_tenant,
        name="OpenProject",
        integration_type="openproject",
        event_types=openproject_integration.event_types,
        rate_limit_per_second=10_000,
        config=openproject_integration.config,
        secrets={"api_key": GLOBEX_KEY},
    )


def deliver(integration: TenantIntegration, event_type: str) -> IntegrationSync:
    sync = IntegrationSync.objects.filter(integration=integration, event__event_type=event_type).latest("id")
    sync_deliver(sync_id=sync.pk)
    sync.refresh_from_db()
    assert sync.status == "synced", sync.last_error
    return sync


def test_a_failed_user_look_up_of_one_tenant_does_not_blank_anothers(
    fake_openproject, openproject_integration, globex_openproject, member
):
    MembershipFactory(tenant=globex_openproject.tenant, user=member)
    fake_openproject.users_visible = False  # Acme's API user may not list users: a cached miss
    WorkItemFactory(tenant=openproject_integration.tenant, technician=member)
    deliver(openproject_integration, EventType.WORKITEM_CREATED)
    fake_openproject.users_visible = True
    fake_openproject.add_user(user_id=5, email=member.email)

    WorkItemFactory(tenant=globex_openproject.tenant, technician=member)
    deliver(globex_openproject, EventType.WORKITEM_CREATED)

    acme_post, globex_post = fake_openproject.calls("POST", r"/api/v3/projects/3/work_packages")
    assert "assignee" not in acme_post.body["_links"]
    assert globex_post.body["_links"]["assignee"] == {"href": "/api/v3/users/5"}


def test_each_integration_reads_the_statuses_with_its_own_credentials(
    fake_openproject, openproject_integration, globex_openproject
):
    for integration in (openproject_integration, globex_openproject, openproject_integration):
        workitem = WorkItemFactory(tenant=integration.tenant)
        deliver(integration, EventType.WORKITEM_CREATED)
        services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED)
        deliver(integration, EventType.WORKITEM_STATUS_CHANGED)

    reads = fake_openproject.calls("GET", r"/api/v3/statuses")
    assert len(reads) == 2
    assert reads[0].headers["Authorization"] != reads[1].headers["Authorization"]
