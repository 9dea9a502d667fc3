"""Saving a work item writes the outbox: one sync per subscribed integration, in the same
transaction, with the documented payload; nothing for a rolled-back transaction."""

import datetime
import re
import uuid
from decimal import Decimal

import pytest
from django.db import transaction

from integrations.models import EventType, IntegrationSync
from tests.factories import (
    CustomerAssetFactory,
    CustomerFactory,
    DropoffPointFactory,
    TenantIntegrationFactory,
    WorkItemFactory,
)
from tests.integrations.conftest import RECEIVER_URL
from workitems import services
from workitems.models import WorkItem

URL = RECEIVER_URL
UTC = datetime.UTC


@pytest.fixture
def integration(tenant):
    return TenantIntegrationFactory(tenant=tenant, name="n8n")


@pytest.fixture
def workitem(tenant, integration):
    item = WorkItemFactory(tenant=tenant, description="Cracked screen")
    IntegrationSync.objects.all().delete()
    return item


def syncs_of(event_type: str) -> list[IntegrationSync]:
    return list(IntegrationSync.objects.filter(event__event_type=event_type).order_by("id"))


def test_creating_a_workitem_writes_one_sync_per_active_subscribed_integration(
    tenant, other_tenant, committed, receiver
):
    first = TenantIntegrationFactory(tenant=tenant)
    second = TenantIntegrationFactory(tenant=tenant)
    TenantIntegrationFactory(tenant=tenant, is_active=False)
    TenantIntegrationFactory(tenant=tenant, event_types=[EventType.WORKITEM_UPDATED])
    TenantIntegrationFactory(tenant=other_tenant)

    with committed():
        workitem = WorkItemFactory(tenant=tenant)

    syncs = IntegrationSync.objects.all()
    assert sorted(sync.integration_id for sync in syncs) == [first.pk, second.pk]
    assert {(s.event.event_type, s.object_id, s.status) for s in syncs} == {("workitem_created", workitem.pk, "synced")}
    assert len(receiver.calls) == 2


def test_the_integrations_of_one_event_share_its_event_id(tenant):
    TenantIntegrationFactory(tenant=tenant)
    TenantIntegrationFactory(tenant=tenant)

    WorkItemFactory(tenant=tenant)

    first, second = IntegrationSync.objects.all()
    assert first.event.event_id == second.event.event_id == uuid.UUID(first.event.payload["event_id"])


def test_without_a_commit_the_sync_waits_pending(integration):
    WorkItemFactory(tenant=integration.tenant)

    sync = IntegrationSync.objects.get()
    assert (sync.status, sync.attempts, sync.integration) == ("pending", 0, integration)


def test_the_created_payload_has_the_documented_shape(tenant, integration, owner, member):
    customer = CustomerFactory(tenant=tenant, name="Ada Lovelace", email="ada@example.com")
    asset = CustomerAssetFactory(tenant=tenant, customer=customer, name="iPhone 13 Pro")
    store = DropoffPointFactory(tenant=tenant, name="Main Street")

    workitem = WorkItemFactory(
        tenant=tenant,
        description="Cracked screen",
        status=WorkItem.Status.NEW,
        type=WorkItem.Type.WARRANTY_REPAIR,
        priority=WorkItem.Priority.HIGH,
        created_date=datetime.datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
        due_date=datetime.datetime(2025, 3, 8, 17, 0, tzinfo=UTC),
        customer=customer,
        owner=owner,
        technician=member,
        customer_asset=asset,
        estimated_price=Decimal("150.00"),
        dropoff_point=store,
        intake_method=WorkItem.IntakeMethod.MAIL_IN,
        comments="Handle with care",
    )

    payload = IntegrationSync.objects.get().event.payload
    timestamp = payload.pop("timestamp")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", timestamp)
    assert payload == {
        "schema_version": "1.0",
        "event_type": "workitem_created",
        "event_id": payload["event_id"],
        "tenant": {"id": tenant.pk, "name": "Acme Repairs"},
        "workitem": {
            "id": workitem.pk,
            "reference_id": "RMA-1",
            "description": "Cracked screen",
            "status": "New",
            "type": "Warranty Repair",
            "priority": "High",
            "created_date": "2025-03-01T09:30:00Z",
            "due_date": "2025-03-08T17:00:00Z",
            "customer": {"id": customer.pk, "name": "Ada Lovelace", "email": "ada@example.com"},
            "owner": {"id": owner.pk, "name": owner.get_full_name()},
            "technician": {"id": member.pk, "name": member.get_full_name()},
            "customer_asset": {"id": asset.pk, "name": "iPhone 13 Pro"},
            "estimated_price": "150.00",
            "final_price": None,
            "dropoff_point": {"id": store.pk, "name": "Main Street"},
            "intake_method": "mail_in",
            "comments": "Handle with care",
        },
    }


def test_the_payload_timestamp_is_the_moment_of_the_event(integration):
    before = datetime.datetime.now(UTC)
    WorkItemFactory(tenant=integration.tenant)
    after = datetime.datetime.now(UTC)

    stamp = datetime.datetime.fromisoformat(IntegrationSync.objects.get().event.payload["timestamp"])
    assert before <= stamp <= after


def test_absent_relations_are_null(tenant, integration):
    WorkItemFactory(tenant=tenant, customer=None, estimated_price=None)

    workitem = IntegrationSync.objects.get().event.payload["workitem"]
    assert [workitem[f] for f in ("customer", "owner", "technician", "customer_asset", "dropoff_point")] == [None] * 5
    assert (workitem["estimated_price"], workitem["due_date"]) == (None, None)


def test_a_price_is_sent_with_two_decimals_however_it_was_entered(tenant, integration):
    WorkItemFactory(tenant=tenant, estimated_price=Decimal("150"), final_price=Decimal("99.5"))

    workitem = IntegrationSync.objects.get().event.payload["workitem"]
    assert (workitem["estimated_price"], workitem["final_price"]) == ("150.00", "99.50")


def test_a_status_change_is_a_status_changed_event_with_only_the_status(workitem):
    services.workitem_update(workitem=workitem, status=WorkItem.Status.IN_PROGRESS)

    (sync,) = IntegrationSync.objects.all()
    assert sync.event.event_type == "workitem_status_changed"
    assert sync.event.payload["changes"] == {"status": {"old": "New", "new": "In Progress"}}
    assert sync.event.payload["workitem"]["status"] == "In Progress"


def test_another_change_is_an_updated_event_with_those_fields(tenant, member, workitem):
    store = DropoffPointFactory(tenant=tenant, name="Locker 4")

    services.workitem_update(
        workitem=workitem, technician=member, dropoff_point=store, final_price=Decimal("99.5"), comments="Call first"
    )

    (sync,) = IntegrationSync.objects.all()
    assert sync.event.event_type == "workitem_updated"
    assert sync.event.payload["changes"] == {
        "technician": {"old": None, "new": {"id": member.pk, "name": member.get_full_name()}},
        "dropoff_point": {"old": None, "new": {"id": store.pk, "name": "Locker 4"}},
        "final_price": {"old": None, "new": "99.50"},
        "comments": {"old": "", "new": "Call first"},
    }


def test_a_replaced_relation_shows_the_old_and_the_new_one(tenant, workitem):
    old_customer = workitem.customer
    new_customer = CustomerFactory(tenant=tenant, name="Grace Hopper", email="grace@example.com")

    services.workitem_update(workitem=workitem, customer=new_customer)

    assert IntegrationSync.objects.get().event.payload["changes"] == {
        "customer": {
            "old": {"id": old_customer.pk, "name": old_customer.name, "email": old_customer.email},
            "new": {"id": new_customer.pk, "name": "Grace Hopper", "email": "grace@example.com"},
        }
    }


def test_a_status_and_another_change_make_two_events(workitem):
    services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED, priority=WorkItem.Priority.URGENT)

    status_changed, updated = IntegrationSync.objects.order_by("id")
    assert (status_changed.event.event_type, status_changed.event.payload["changes"]) == (
        "workitem_status_changed",
        {"status": {"old": "New", "new": "Closed"}},
    )
    assert (updated.event.event_type, updated.event.payload["changes"]) == (
        "workitem_updated",
        {"priority": {"old": "Standard", "new": "Urgent"}},
    )
    assert status_changed.event.event_id != updated.event.event_id


def test_a_save_without_a_change_writes_no_sync(workitem):
    services.workitem_update(workitem=workitem, estimated_price=Decimal("150"))

    assert not IntegrationSync.objects.exists()


def test_an_integration_not_subscribed_to_status_changes_gets_none(workitem, integration):
    integration.event_types = [EventType.WORKITEM_CREATED, EventType.WORKITEM_UPDATED]
    integration.save()

    services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED)

    assert syncs_of("workitem_status_changed") == []


class Aborted(Exception):
    """The request failed after the work item was saved."""


def create_and_roll_back(tenant) -> None:
    with transaction.atomic():
        WorkItemFactory(tenant=tenant)
        assert IntegrationSync.objects.count() == 1
        raise Aborted


def test_a_rolled_back_transaction_writes_no_sync_and_registers_no_callback(
    tenant, integration, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks, pytest.raises(Aborted):
        create_and_roll_back(tenant)

    assert callbacks == []
    assert not IntegrationSync.objects.exists()


def test_a_rolled_back_transaction_makes_no_http_call(tenant, integration, committed, receiver):
    with committed(), pytest.raises(Aborted):
        create_and_roll_back(tenant)

    assert len(receiver.calls) == 0
