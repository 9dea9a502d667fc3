"""What the engine does around a delivery: it never sends twice, keeps the events of one
object in order, respects claims and inactive integrations, remembers what a connector
created remotely, and scrubs secrets from what it records."""

import datetime
import json

import pytest
import responses
from django.utils import timezone

from integrations.connectors import http, registry
from integrations.connectors.base import Capability, Connector, DeliveryResult, Event
from integrations.connectors.errors import ConnectorError
from integrations.engine.delivery import sync_deliver
from integrations.models import ExternalLink, IntegrationSync, SyncAttempt
from tests.factories import TenantIntegrationFactory, WorkItemFactory
from tests.integrations.conftest import RECEIVER_URL
from workitems import services
from workitems.models import WorkItem, WorkItemNote

URL = RECEIVER_URL
TICKETS = "https://tickets.example.com/api/tickets"
TOKEN = "tok-5f2e9c81d7a3"


class TicketConnector(Connector):
    """A tiny ticket system: the first event creates a ticket, later ones update it."""

    kind = "test_tickets"
    label = "Test tickets"
    capabilities = frozenset({Capability.DELIVERS})
    uses_external_links = True

    def deliver(self, event: Event) -> DeliveryResult:
        headers = {"Authorization": f"Token {self.secrets['token']}"}
        if event.existing:
            url = f"{TICKETS}/{event.existing.external_id}"
            params = {"queue": event.existing.details["queue"]} if "queue" in event.existing.details else None
            response = http.send("PATCH", url, json=event.payload, headers=headers, params=params)
        else:
            response = http.send("POST", TICKETS, json=event.payload, headers=headers)
        if response.status_code >= 400:
            raise ConnectorError(f"Tickets said: {response.text}", status_code=response.status_code)
        ticket = response.json()
        details = {"queue": ticket["queue"]} if "queue" in ticket else {}
        return DeliveryResult(
            external_id=str(ticket["id"]), external_url=ticket["url"], status_code=200, details=details
        )


@pytest.fixture
def integration(tenant):
    return TenantIntegrationFactory(tenant=tenant, name="n8n", config={"url": URL})


@pytest.fixture
def workitem(integration):
    return WorkItemFactory(tenant=integration.tenant)


@pytest.fixture
def sync(integration, workitem):
    return IntegrationSync.objects.get(integration=integration, object_id=workitem.pk)


@pytest.fixture
def tickets(tenant, monkeypatch):
    monkeypatch.setitem(registry.paths, TicketConnector.kind, f"{__name__}.TicketConnector")
    return TenantIntegrationFactory(
        tenant=tenant, name="Tickets", integration_type=TicketConnector.kind, config={}, secrets={"token": TOKEN}
    )


def test_an_already_synced_sync_is_not_sent_again(receiver, sync):
    sync_deliver(sync_id=sync.pk)

    assert sync_deliver(sync_id=sync.pk) == "already_done"

    assert len(receiver.calls) == 1
    assert SyncAttempt.objects.filter(sync=sync).count() == 1


def test_a_failed_sync_is_not_sent_again(receiver, sync):
    IntegrationSync.objects.filter(pk=sync.pk).update(status=IntegrationSync.Status.FAILED)

    assert sync_deliver(sync_id=sync.pk) == "already_done"

    assert len(receiver.calls) == 0


def test_a_later_event_waits_while_an_earlier_one_is_pending(receiver, integration, workitem, sync):
    services.workitem_update(workitem=workitem, status=WorkItem.Status.IN_PROGRESS)
    later = IntegrationSync.objects.get(event__event_type="workitem_status_changed")

    assert sync_deliver(sync_id=later.pk) == "waiting_for_earlier_event"

    assert len(receiver.calls) == 0
    assert IntegrationSync.objects.get(pk=later.pk).attempts == 0


def test_a_waiting_event_is_delivered_once_the_earlier_one_is_synced(receiver, committed, workitem, sync):
    services.workitem_update(workitem=workitem, status=WorkItem.Status.IN_PROGRESS)
    later = IntegrationSync.objects.get(event__event_type="workitem_status_changed")

    with committed():
        sync_deliver(sync_id=sync.pk)

    assert [call.request.headers["webhook-id"] for call in receiver.calls] == [
        str(sync.event.event_id),
        str(later.event.event_id),
    ]
    assert IntegrationSync.objects.get(pk=later.pk).status == "synced"


def test_a_waiting_event_is_delivered_once_the_earlier_one_failed(receiver, committed, workitem, sync):
    services.workitem_update(workitem=workitem, status=WorkItem.Status.IN_PROGRESS)
    receiver.replace(responses.POST, URL, status=400)
    receiver.add(responses.POST, URL, json={"received": True})

    with committed():
        sync_deliver(sync_id=sync.pk)

    assert list(IntegrationSync.objects.order_by("id").values_list("status", flat=True)) == ["failed", "synced"]


def test_an_event_of_another_object_does_not_wait(receiver, integration, sync):
    other = WorkItemFactory(tenant=integration.tenant)

    assert sync_deliver(sync_id=IntegrationSync.objects.get(object_id=other.pk).pk) == "synced"


def test_a_sync_claimed_by_another_worker_is_skipped(receiver, sync):
    IntegrationSync.objects.filter(pk=sync.pk).update(claimed_until=timezone.now() + datetime.timedelta(seconds=60))

    assert sync_deliver(sync_id=sync.pk) == "in_flight"

    assert len(receiver.calls) == 0


def test_an_expired_claim_does_not_block_delivery(receiver, sync):
    IntegrationSync.objects.filter(pk=sync.pk).update(claimed_until=timezone.now() - datetime.timedelta(seconds=1))

    assert sync_deliver(sync_id=sync.pk) == "synced"

    assert IntegrationSync.objects.get(pk=sync.pk).claimed_until is None


def test_an_inactive_integration_keeps_its_sync_pending(receiver, integration, sync):
    integration.is_active = False
    integration.save()

    assert sync_deliver(sync_id=sync.pk) == "integration_inactive"

    sync.refresh_from_db()
    assert (sync.status, sync.attempts, len(receiver.calls)) == ("pending", 0, 0)


def test_a_created_remote_object_is_remembered(receiver, tickets):
    receiver.add(responses.POST, TICKETS, json={"id": 41, "url": "https://tickets.example.com/t/41"})
    workitem = WorkItemFactory(tenant=tickets.tenant)
    sync = IntegrationSync.objects.get(integration=tickets)

    sync_deliver(sync_id=sync.pk)

    link = ExternalLink.objects.get(integration=tickets)
    assert (link.object_id, link.external_id, link.external_url) == (
        workitem.pk,
        "41",
        "https://tickets.example.com/t/41",
    )
    sync.refresh_from_db()
    assert (sync.external_id, sync.external_url) == ("41", "https://tickets.example.com/t/41")
    assert WorkItemNote.objects.get(workitem=workitem).body == (
        "Sent workitem_created to Tickets (https://tickets.example.com/t/41)."
    )


def test_a_later_event_updates_the_remote_object_the_first_created(receiver, tickets):
    receiver.add(responses.POST, TICKETS, json={"id": 41, "url": "https://tickets.example.com/t/41"})
    receiver.add(responses.PATCH, f"{TICKETS}/41", json={"id": 41, "url": "https://tickets.example.com/t/41"})
    workitem = WorkItemFactory(tenant=tickets.tenant)
    sync_deliver(sync_id=IntegrationSync.objects.get(integration=tickets).pk)
    services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED)

    sync_deliver(sync_id=IntegrationSync.objects.get(event__event_type="workitem_status_changed").pk)

    patch = receiver.calls[-1].request
    assert (patch.method, patch.url) == ("PATCH", f"{TICKETS}/41")
    assert json.loads(patch.body)["changes"] == {"status": {"old": "New", "new": "Closed"}}
    assert ExternalLink.objects.filter(integration=tickets).count() == 1


def test_details_a_connector_keeps_about_the_remote_object_reach_later_events(receiver, tickets):
    receiver.add(responses.POST, TICKETS, json={"id": 41, "url": "https://t.example.com/41", "queue": "repairs"})
    receiver.add(responses.PATCH, f"{TICKETS}/41?queue=repairs", json={"id": 41, "url": "https://t.example.com/41"})
    workitem = WorkItemFactory(tenant=tickets.tenant)
    sync_deliver(sync_id=IntegrationSync.objects.get(integration=tickets).pk)
    services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED)

    sync_deliver(sync_id=IntegrationSync.objects.get(event__event_type="workitem_status_changed").pk)

    assert receiver.calls[-1].request.url == f"{TICKETS}/41?queue=repairs"
    assert ExternalLink.objects.get(integration=tickets).details == {"queue": "repairs"}


def test_a_secret_echoed_into_an_error_is_redacted_from_last_error(receiver, tickets):
    receiver.add(responses.POST, TICKETS, status=500, body=f"cannot parse Authorization: Token {TOKEN}")
    WorkItemFactory(tenant=tickets.tenant)
    sync = IntegrationSync.objects.get(integration=tickets)

    sync_deliver(sync_id=sync.pk)

    sync.refresh_from_db()
    attempt = SyncAttempt.objects.get(sync=sync)
    assert receiver.calls[0].request.headers["Authorization"] == f"Token {TOKEN}"
    assert sync.last_error == attempt.error == "Tickets said: cannot parse Authorization: Token [redacted]"


def test_a_crashing_connector_is_recorded_and_retried(receiver, tickets):
    receiver.add(responses.POST, TICKETS, json={"no_id": True})
    WorkItemFactory(tenant=tickets.tenant)
    sync = IntegrationSync.objects.get(integration=tickets)

    assert sync_deliver(sync_id=sync.pk) == "retry_scheduled"

    sync.refresh_from_db()
    assert (sync.status, sync.last_error) == ("pending", "Internal error: KeyError")
