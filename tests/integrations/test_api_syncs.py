"""GET /api/v1/workitems/{id}/syncs/: where each event of a work item went, tenant-scoped."""

import datetime

import pytest
from django.utils import timezone

from integrations.models import IntegrationSync
from tests.factories import TenantIntegrationFactory, WorkItemFactory
from workitems import services
from workitems.models import WorkItem


def syncs_url(workitem: WorkItem) -> str:
    return f"/api/v1/workitems/{workitem.pk}/syncs/"


@pytest.fixture
def integration(tenant):
    return TenantIntegrationFactory(tenant=tenant, name="n8n production")


@pytest.fixture
def acme_item(tenant, integration):
    return WorkItemFactory(tenant=tenant)


@pytest.fixture
def history(acme_item):
    """Created (failed an hour ago), then status changed (pending, now): two syncs."""
    created = IntegrationSync.objects.get(object_id=acme_item.pk)
    IntegrationSync.objects.filter(pk=created.pk).update(
        status=IntegrationSync.Status.FAILED,
        attempts=1,
        last_error="The receiver rejected the request (HTTP 400).",
        last_status_code=400,
        created_at=timezone.now() - datetime.timedelta(hours=1),
    )
    services.workitem_update(workitem=acme_item, status=WorkItem.Status.IN_PROGRESS)
    changed = IntegrationSync.objects.get(event__event_type="workitem_status_changed")
    return {"created": created, "changed": changed}


def test_the_syncs_of_a_workitem_are_listed_newest_first(api, acme_item, history):
    response = api.get(syncs_url(acme_item))

    assert response.status_code == 200
    assert [row["id"] for row in response.data["results"]] == [history["changed"].pk, history["created"].pk]


def test_a_listed_sync_shows_its_integration_and_outcome(api, acme_item, integration, history):
    sync = history["created"]

    row = api.get(syncs_url(acme_item)).data["results"][1]

    assert row["integration"] == {"id": integration.pk, "name": "n8n production", "integration_type": "webhook"}
    assert {key: row[key] for key in ("event_type", "event_id", "status", "attempts", "last_error")} == {
        "event_type": "workitem_created",
        "event_id": str(sync.event.event_id),
        "status": "failed",
        "attempts": 1,
        "last_error": "The receiver rejected the request (HTTP 400).",
    }
    assert (row["last_status_code"], row["external_id"], row["synced_at"]) == (400, "", None)


def test_the_list_can_be_filtered_by_status(api, acme_item, history):
    response = api.get(syncs_url(acme_item), {"status": "failed"})

    assert [row["id"] for row in response.data["results"]] == [history["created"].pk]


def test_the_list_shows_only_that_workitems_syncs(api, tenant, acme_item):
    WorkItemFactory(tenant=tenant)

    response = api.get(syncs_url(acme_item))

    assert [row["id"] for row in response.data["results"]] == [IntegrationSync.objects.get(object_id=acme_item.pk).pk]


def test_an_outsider_gets_a_404(outsider_api, acme_item, history):
    response = outsider_api.get(syncs_url(acme_item))

    assert response.status_code == 404


def test_an_anonymous_caller_gets_a_401(anonymous_api, acme_item):
    response = anonymous_api.get(syncs_url(acme_item))

    assert response.status_code == 401


def test_an_unknown_workitem_is_a_404(api, db):
    response = api.get("/api/v1/workitems/999999/syncs/")

    assert response.status_code == 404
