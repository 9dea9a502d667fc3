"""External links in the admin: read-only, tenant-scoped, showing for each link the base of the
three-way status merge and the last status the tool reported; the integration's page leads there."""

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import ExternalLink
from tests.factories import TenantIntegrationFactory, WorkItemFactory

CHANGELIST = reverse("admin:integrations_externallink_changelist")


@pytest.fixture
def acme_link(tenant) -> ExternalLink:
    integration = TenantIntegrationFactory(tenant=tenant, name="OpenProject", integration_type="openproject")
    return integration.links.create(
        content_object=WorkItemFactory(tenant=tenant),
        external_id="4711",
        external_url="https://openproject.example.com/work_packages/4711",
        base_status="In Progress",
        last_remote_status="Review",
        last_remote_at=timezone.now(),
    )


@pytest.fixture
def globex_link(other_tenant) -> ExternalLink:
    integration = TenantIntegrationFactory(tenant=other_tenant, name="Globex OP", integration_type="openproject")
    return integration.links.create(content_object=WorkItemFactory(tenant=other_tenant), external_id="9999")


def change_url(link: ExternalLink) -> str:
    return reverse("admin:integrations_externallink_change", args=[link.pk])


def test_a_tenant_admin_sees_their_links_with_base_and_last_status_seen(owner_client, acme_link, globex_link):
    response = owner_client.get(CHANGELIST)

    assert response.status_code == 200
    assert [link.pk for link in response.context["cl"].result_list] == [acme_link.pk]
    for shown in ("4711", "In Progress", "Review", acme_link.content_object.reference_id):
        assert shown in response.text
    assert "9999" not in response.text


def test_a_link_is_shown_read_only(owner_client, acme_link):
    response = owner_client.get(change_url(acme_link))

    assert response.status_code == 200
    assert "Review" in response.text
    assert 'name="_save"' not in response.text
    assert 'name="base_status"' not in response.text
    assert owner_client.get(reverse("admin:integrations_externallink_add")).status_code == 403


def test_another_tenants_link_is_not_found(owner_client, globex_link):
    response = owner_client.get(change_url(globex_link), follow=True)

    assert "9999" not in response.text
    assert response.redirect_chain[-1][0] == reverse("admin:index")


def test_the_integration_page_leads_to_its_links(owner_client, acme_link):
    integration = acme_link.integration

    response = owner_client.get(reverse("admin:integrations_tenantintegration_change", args=[integration.pk]))

    assert f"{CHANGELIST}?integration__id__exact={integration.pk}" in response.text
    assert "1 work package</a>" in response.text


def test_the_conflict_policy_is_offered_for_a_kind_that_reports_statuses_only(owner_client, tenant, acme_link):
    openproject = acme_link.integration
    webhook = TenantIntegrationFactory(tenant=tenant, name="n8n")

    shown = owner_client.get(reverse("admin:integrations_tenantintegration_change", args=[openproject.pk]))
    hidden = owner_client.get(reverse("admin:integrations_tenantintegration_change", args=[webhook.pk]))

    assert "Statuses from OpenProject" in shown.text
    assert '<option value="newer_wins">The newer change wins</option>' in shown.text
    assert 'name="status_conflict_policy"' not in hidden.text
