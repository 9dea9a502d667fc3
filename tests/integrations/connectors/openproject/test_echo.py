"""No echo loop: a change that came from an integration makes syncs for the tenant's other
integrations, never for the one it came from; changes made in Fieldhook reach all of them."""

import pytest

from integrations.events import events_suppressed_for
from integrations.inbound.polling import integration_poll
from integrations.models import EventType, IntegrationSync
from tests.factories import TenantIntegrationFactory, WorkItemFactory
from tests.integrations.connectors.openproject.inbound_fixtures import (
    signed_post,
    work_package_event,
)
from workitems import services
from workitems.models import WorkItem, WorkItemNote

STATUS_CHANGED = EventType.WORKITEM_STATUS_CHANGED


@pytest.fixture
def workitem(tenant, openproject, webhook, link):
    item = link.content_object
    IntegrationSync.objects.all().delete()
    return item


@pytest.fixture
def link(tenant, openproject):
    item = WorkItemFactory(tenant=tenant, description="Cracked screen")
    return openproject.links.create(content_object=item, external_id="12")


def status_syncs() -> set[int]:
    return set(
        IntegrationSync.objects.filter(event__event_type=STATUS_CHANGED).values_list("integration_id", flat=True)
    )


def test_a_status_change_from_openproject_is_sent_to_the_webhook_but_not_back(client, openproject, webhook, workitem):
    response = signed_post(client, openproject, work_package_event(12, "Closed"))

    assert (response.status_code, response.json()) == (200, {"result": "updated"})
    workitem.refresh_from_db()
    assert workitem.status == WorkItem.Status.CLOSED
    assert status_syncs() == {webhook.pk}
    assert not IntegrationSync.objects.filter(integration=openproject).exists()


def test_a_status_change_through_the_api_is_sent_to_both(api, openproject, webhook, workitem):
    response = api.patch(f"/api/v1/workitems/{workitem.pk}/", {"status": "Closed"})

    assert response.status_code == 200
    assert status_syncs() == {openproject.pk, webhook.pk}


def test_the_webhook_gets_the_status_change_as_it_happened(client, openproject, workitem):
    signed_post(client, openproject, work_package_event(12, "Closed"))

    sync = IntegrationSync.objects.get(event__event_type=STATUS_CHANGED)
    assert sync.event.payload["changes"] == {"status": {"old": "New", "new": "Closed"}}
    assert WorkItemNote.objects.filter(workitem=workitem, kind="system").count() == 1


def test_a_status_change_found_by_polling_is_sent_to_the_webhook_but_not_back(
    fake_openproject, tenant, openproject, webhook
):
    item = WorkItemFactory(tenant=tenant)
    package = fake_openproject.add_work_package(subject=f"{item.reference_id}: x", status_id=12)
    openproject.links.create(content_object=item, external_id=str(package["id"]))
    IntegrationSync.objects.all().delete()

    integration_poll(integration=openproject)

    item.refresh_from_db()
    assert item.status == WorkItem.Status.CLOSED
    assert status_syncs() == {webhook.pk}


def test_suppression_ends_with_the_block(openproject, webhook, workitem):
    with events_suppressed_for(openproject.pk):
        services.workitem_update(workitem=workitem, status=WorkItem.Status.IN_PROGRESS)
    services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED)

    rows = IntegrationSync.objects.filter(event__event_type=STATUS_CHANGED).order_by("id")
    assert [(s.integration_id, s.event.payload["changes"]["status"]["new"]) for s in rows] == [
        (webhook.pk, "In Progress"),
        (openproject.pk, "Closed"),
        (webhook.pk, "Closed"),
    ]


def test_suppression_nests_and_unwinds_one_level_at_a_time(openproject, webhook, workitem):
    with events_suppressed_for(openproject.pk):
        with events_suppressed_for(webhook.pk):
            services.workitem_update(workitem=workitem, status=WorkItem.Status.IN_PROGRESS)
        assert status_syncs() == set()
        services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED)

    assert status_syncs() == {webhook.pk}


def test_suppression_is_undone_when_the_block_raises(openproject, webhook, workitem):
    with pytest.raises(RuntimeError), events_suppressed_for(openproject.pk):
        raise RuntimeError("boom")
    services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED)

    assert status_syncs() == {openproject.pk, webhook.pk}


def test_suppression_covers_every_event_of_the_change(openproject, webhook, workitem):
    with events_suppressed_for(openproject.pk):
        services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED, comments="Fixed")

    assert set(IntegrationSync.objects.values_list("integration_id", "event__event_type")) == {
        (webhook.pk, STATUS_CHANGED),
        (webhook.pk, EventType.WORKITEM_UPDATED),
    }


def test_another_tenants_integration_is_unaffected(other_tenant, openproject, workitem):
    foreign = TenantIntegrationFactory(tenant=other_tenant)
    foreign_item = WorkItemFactory(tenant=other_tenant)
    IntegrationSync.objects.all().delete()

    with events_suppressed_for(openproject.pk):
        services.workitem_update(workitem=foreign_item, status=WorkItem.Status.CLOSED)

    assert status_syncs() == {foreign.pk}
