"""Every integrations API call acts for one tenant: outsiders see and touch nothing of it,
members only read, and the tenant admin of one tenant is nobody in another."""

import pytest

from integrations.models import IntegrationSync, TenantIntegration
from tests.conftest import token_client
from tests.factories import MembershipFactory, TenantIntegrationFactory, WorkItemFactory

LIST_URL = "/api/v1/integrations/"
ACTIONS = ["test", "test-credentials", "send-test-event", "pause", "resume", "rotate-signing-secret", "backfill"]


def detail_url(integration) -> str:
    return f"{LIST_URL}{integration.pk}/"


def test_an_outsider_does_not_see_another_tenants_integrations(outsider_api, webhook, foreign_webhook):
    response = outsider_api.get(LIST_URL)

    assert [row["name"] for row in response.data["results"]] == ["Globex hook"]


def test_a_member_sees_the_integrations_of_their_tenant(member_api, webhook):
    response = member_api.get(LIST_URL)

    assert [row["id"] for row in response.data["results"]] == [webhook.pk]
    assert member_api.get(detail_url(webhook)).status_code == 200


def test_an_outsider_gets_404_for_another_tenants_integration(outsider_api, webhook):
    assert outsider_api.get(detail_url(webhook)).status_code == 404


def test_an_outsider_gets_404_when_patching_another_tenants_integration(outsider_api, webhook):
    response = outsider_api.patch(detail_url(webhook), {"name": "Hijacked"}, format="json")

    assert response.status_code == 404
    webhook.refresh_from_db()
    assert webhook.name == "n8n production"


def test_an_outsider_gets_404_when_deleting_another_tenants_integration(outsider_api, webhook):
    assert outsider_api.delete(detail_url(webhook)).status_code == 404
    assert TenantIntegration.objects.filter(pk=webhook.pk).exists()


@pytest.mark.parametrize("action", ACTIONS)
def test_an_outsider_gets_404_for_every_action_on_another_tenants_integration(outsider_api, webhook, action):
    response = outsider_api.post(f"{detail_url(webhook)}{action}/", {}, format="json")

    assert response.status_code == 404
    webhook.refresh_from_db()
    assert webhook.is_active
    assert not IntegrationSync.objects.exists()


@pytest.mark.parametrize("action", ACTIONS)
def test_a_member_gets_403_for_every_action(member_api, webhook, action):
    response = member_api.post(f"{detail_url(webhook)}{action}/", {}, format="json")

    assert response.status_code == 403
    webhook.refresh_from_db()
    assert (webhook.is_active, webhook.secrets) == (True, {"headers": {"X-API-Key": "s3cr3t-header-value"}})


def test_a_member_cannot_create_change_or_delete(member_api, webhook):
    body = {"kind": "webhook", "name": "Mine", "events": ["workitem_created"], "config": {"url": "https://x.example"}}

    assert member_api.post(LIST_URL, body, format="json").status_code == 403
    assert member_api.patch(detail_url(webhook), {"name": "Renamed"}, format="json").status_code == 403
    assert member_api.delete(detail_url(webhook)).status_code == 403
    assert list(TenantIntegration.objects.values_list("name", flat=True)) == ["n8n production"]


def test_an_admin_of_another_tenant_is_only_a_member_here(tenant, other_tenant, outsider, webhook):
    MembershipFactory(user=outsider, tenant=tenant)
    client = token_client(outsider)

    response = client.patch(detail_url(webhook), {"name": "Renamed"}, format="json", HTTP_X_TENANT="acme")

    assert response.status_code == 403


def test_x_tenant_decides_where_a_new_integration_goes(tenant, other_tenant, owner):
    MembershipFactory(user=owner, tenant=other_tenant, role="admin")
    body = {
        "kind": "webhook",
        "name": "For globex",
        "events": ["workitem_created"],
        "config": {"url": "https://x.example"},
    }

    response = token_client(owner).post(LIST_URL, body, format="json", HTTP_X_TENANT="globex")

    assert TenantIntegration.objects.get(pk=response.data["id"]).tenant == other_tenant


def test_an_anonymous_caller_gets_401(anonymous_api, webhook):
    assert anonymous_api.get(LIST_URL).status_code == 401
    assert anonymous_api.post(f"{detail_url(webhook)}pause/").status_code == 401


def test_sync_now_to_another_tenants_integration_is_a_400_on_integration(api, tenant, foreign_webhook):
    workitem = WorkItemFactory(tenant=tenant)

    response = api.post(f"/api/v1/workitems/{workitem.pk}/sync/", {"integration": foreign_webhook.pk}, format="json")

    assert (response.status_code, list(response.data)) == (400, ["integration"])
    assert not IntegrationSync.objects.exists()


def test_sync_now_of_another_tenants_workitem_is_a_404(outsider_api, tenant, other_tenant):
    foreign_integration = TenantIntegrationFactory(tenant=other_tenant)
    workitem = WorkItemFactory(tenant=tenant)

    response = outsider_api.post(
        f"/api/v1/workitems/{workitem.pk}/sync/", {"integration": foreign_integration.pk}, format="json"
    )

    assert response.status_code == 404
