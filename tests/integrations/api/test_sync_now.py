"""POST /api/v1/workitems/{id}/sync/ and the admin's "Sync now": the work item as it is, to a
chosen integration — created there when it has not received it yet (a status change of an
unlinked work item no longer fails for ever), else its current status again."""

import pytest
from django.urls import reverse

from integrations.models import ExternalLink, IntegrationSync, TenantIntegration
from tests.factories import TenantIntegrationFactory, WorkItemFactory
from tests.helpers import logged_in, staff
from workitems import services
from workitems.models import WorkItem


def sync_url(workitem: WorkItem) -> str:
    return f"/api/v1/workitems/{workitem.pk}/sync/"


@pytest.fixture
def workitem(tenant):
    """Created before any integration: nothing was sent."""
    return WorkItemFactory(tenant=tenant, status=WorkItem.Status.IN_PROGRESS)


def test_a_workitem_the_integration_never_received_is_created_there(member_api, workitem, webhook):
    response = member_api.post(sync_url(workitem), {"integration": webhook.pk}, format="json")

    assert response.status_code == 202
    sync = IntegrationSync.objects.get()
    assert (sync.event.event_type, sync.integration, sync.object_id) == ("workitem_created", webhook, workitem.pk)
    assert sync.event.payload["workitem"]["status"] == "In Progress"
    assert (response.data["id"], response.data["workitem"], response.data["status"]) == (
        sync.pk,
        workitem.pk,
        "pending",
    )


def test_a_linked_workitem_gets_its_current_status_again(api, workitem, webhook):
    ExternalLink.objects.create(integration=webhook, content_object=workitem, external_id="42")

    api.post(sync_url(workitem), {"integration": webhook.pk}, format="json")

    sync = IntegrationSync.objects.get()
    assert sync.event.event_type == "workitem_status_changed"
    assert sync.event.payload["changes"] == {"status": {"old": None, "new": "In Progress"}}


def test_after_a_failed_creation_sync_now_creates_it_again(api, tenant, webhook):
    workitem = WorkItemFactory(tenant=tenant)
    IntegrationSync.objects.update(status=IntegrationSync.Status.FAILED)
    services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED)

    api.post(sync_url(workitem), {"integration": webhook.pk}, format="json")

    assert IntegrationSync.objects.latest("id").event.event_type == "workitem_created"


def test_a_workitem_whose_creation_was_sent_gets_its_status(api, tenant, webhook):
    workitem = WorkItemFactory(tenant=tenant)
    IntegrationSync.objects.update(status=IntegrationSync.Status.SYNCED)

    api.post(sync_url(workitem), {"integration": webhook.pk}, format="json")

    assert IntegrationSync.objects.latest("id").event.event_type == "workitem_status_changed"


def test_an_integration_that_does_not_take_the_event_is_a_400(api, workitem, tenant):
    statuses_only = TenantIntegrationFactory(tenant=tenant, event_types=["workitem_status_changed"])

    response = api.post(sync_url(workitem), {"integration": statuses_only.pk}, format="json")

    assert (response.status_code, list(response.data)) == (400, ["integration"])
    assert "workitem_created" in str(response.data["integration"])


@pytest.mark.parametrize("body", [{}, {"integration": "x"}, {"integration": 0}, {"integration": 999999}])
def test_a_bad_integration_is_a_400(api, workitem, body):
    response = api.post(sync_url(workitem), body, format="json")

    assert (response.status_code, list(response.data)) == (400, ["integration"])


def test_an_unknown_workitem_is_a_404(api, webhook):
    assert api.post("/api/v1/workitems/999999/sync/", {"integration": webhook.pk}, format="json").status_code == 404


def test_the_admin_sync_now_page_sends_the_workitem(owner_client, workitem, webhook):
    url = reverse("admin:integrations_tenantintegration_sync_workitem", args=[workitem.pk])

    page = owner_client.get(url)
    response = owner_client.post(url, {"integration": webhook.pk})

    assert page.status_code == 200
    assert webhook.name in page.content.decode()
    assert response.url == reverse("admin:workitems_workitem_change", args=[workitem.pk])
    assert IntegrationSync.objects.get().event.event_type == "workitem_created"


def test_the_workitem_page_links_to_sync_now(owner_client, workitem):
    page = owner_client.get(reverse("admin:workitems_workitem_change", args=[workitem.pk]))

    assert reverse("admin:integrations_tenantintegration_sync_workitem", args=[workitem.pk]) in page.content.decode()


def test_the_admin_sync_now_page_offers_only_the_workitems_tenants_integrations(
    owner_client, workitem, foreign_webhook
):
    url = reverse("admin:integrations_tenantintegration_sync_workitem", args=[workitem.pk])

    response = owner_client.post(url, {"integration": foreign_webhook.pk})

    assert response.status_code == 200
    assert "integration" in response.context["form"].errors
    assert not IntegrationSync.objects.exists()


def test_the_admin_sync_now_page_of_another_tenants_workitem_is_a_404(outsider, workitem):
    response = logged_in(staff(outsider)).get(
        reverse("admin:integrations_tenantintegration_sync_workitem", args=[workitem.pk])
    )

    assert response.status_code == 404


def test_the_admin_add_form_offers_to_backfill(superuser_client, tenant, django_capture_on_commit_callbacks, receiver):
    open_item = WorkItemFactory(tenant=tenant)
    data = {
        "tenant": tenant.pk,
        "name": "Late n8n",
        "integration_type": "webhook",
        "event_types": ["workitem_created"],
        "is_active": "on",
        "backfill": "on",
        "max_attempts": "8",
        "retry_backoff_seconds": "600",
        "cfg_url": "https://receiver.example.com/hook",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = superuser_client.post(
            reverse("admin:integrations_tenantintegration_add") + "?integration_type=webhook", data
        )

    assert response.status_code == 302
    integration = TenantIntegration.objects.get()
    assert list(integration.syncs.values_list("object_id", "event__event_type")) == [(open_item.pk, "workitem_created")]
