"""Create, read, change and delete work items over /api/v1/workitems/."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import CustomerAssetFactory, CustomerFactory, DropoffPointFactory, WorkItemFactory
from workitems.models import WorkItem

LIST_URL = "/api/v1/workitems/"
RELATIONS = ("customer", "owner", "technician", "customer_asset", "dropoff_point")
NULLABLE = (*RELATIONS, "estimated_price", "final_price", "due_date")


def detail_url(workitem: WorkItem) -> str:
    return f"{LIST_URL}{workitem.pk}/"


@pytest.fixture
def customer(tenant):
    return CustomerFactory(tenant=tenant, name="Ada Lovelace", email="ada@example.com")


def test_creating_a_workitem_returns_201_and_stores_it_in_the_callers_tenant(api, tenant):
    response = api.post(LIST_URL, {"description": "Cracked screen"})

    assert response.status_code == 201
    stored = WorkItem.objects.get(pk=response.data["id"])
    assert (stored.tenant, stored.description) == (tenant, "Cracked screen")


def test_a_created_workitem_gets_the_next_reference_id_of_its_tenant(api, tenant):
    WorkItemFactory(tenant=tenant)

    response = api.post(LIST_URL, {"description": "Cracked screen"})

    assert response.data["reference_id"] == "RMA-2"


def test_a_created_workitem_reads_its_customer_back_with_id_name_and_email(api, customer):
    response = api.post(LIST_URL, {"description": "Battery swap", "customer_id": customer.pk})

    assert response.data["customer"] == {"id": customer.pk, "name": "Ada Lovelace", "email": "ada@example.com"}


def test_a_created_workitem_reads_its_people_back_with_id_and_name(api, owner, member):
    response = api.post(LIST_URL, {"description": "Battery swap", "owner_id": owner.pk, "technician_id": member.pk})

    assert response.data["owner"] == {"id": owner.pk, "name": owner.get_full_name()}
    assert response.data["technician"] == {"id": member.pk, "name": member.get_full_name()}


def test_a_created_workitem_reads_its_asset_and_dropoff_point_back_with_id_and_name(api, tenant, customer):
    asset = CustomerAssetFactory(tenant=tenant, customer=customer, name="iPhone 13 Pro")
    dropoff = DropoffPointFactory(tenant=tenant, name="Main Street store")

    response = api.post(
        LIST_URL, {"description": "Battery swap", "customer_asset_id": asset.pk, "dropoff_point_id": dropoff.pk}
    )

    assert response.data["customer_asset"] == {"id": asset.pk, "name": "iPhone 13 Pro"}
    assert response.data["dropoff_point"] == {"id": dropoff.pk, "name": "Main Street store"}


def test_relation_ids_are_write_only(api, customer):
    response = api.post(LIST_URL, {"description": "Battery swap", "customer_id": customer.pk})

    assert not {f"{name}_id" for name in RELATIONS} & set(response.data)


def test_prices_are_returned_as_decimal_strings_with_two_places(api):
    response = api.post(LIST_URL, {"description": "Quote", "estimated_price": "150", "final_price": 99.5})

    assert (response.data["estimated_price"], response.data["final_price"]) == ("150.00", "99.50")


def test_relations_prices_and_due_date_left_out_are_null(api):
    response = api.post(LIST_URL, {"description": "Walk-in, no details yet"})

    assert [response.data[name] for name in NULLABLE] == [None] * len(NULLABLE)


def test_choices_left_out_get_their_defaults(api):
    response = api.post(LIST_URL, {"description": "Walk-in"})

    assert [response.data[name] for name in ("status", "type", "priority", "intake_method")] == [
        "New",
        "Chargeable Repair",
        "Standard",
        "walk_in",
    ]


def test_read_only_fields_sent_by_the_client_are_ignored(api):
    sent_created = timezone.now() - timedelta(days=30)

    response = api.post(LIST_URL, {"description": "x", "reference_id": "RMA-999", "created_date": sent_created})

    assert response.status_code == 201
    stored = WorkItem.objects.get(pk=response.data["id"])
    assert stored.reference_id == "RMA-1"
    assert stored.created_date > sent_created + timedelta(days=29)


def test_retrieving_a_workitem_returns_its_fields(api, tenant, customer):
    workitem = WorkItemFactory(tenant=tenant, customer=customer, description="Broken hinge")

    response = api.get(detail_url(workitem))

    assert response.status_code == 200
    assert (response.data["reference_id"], response.data["description"]) == (workitem.reference_id, "Broken hinge")
    assert (response.data["customer"]["name"], response.data["estimated_price"]) == ("Ada Lovelace", "150.00")


def test_a_member_can_read_a_workitem_of_their_tenant(member_api, tenant):
    workitem = WorkItemFactory(tenant=tenant)

    assert member_api.get(detail_url(workitem)).status_code == 200


def test_patch_changes_only_the_fields_sent(api, tenant):
    workitem = WorkItemFactory(tenant=tenant, description="Broken hinge", priority=WorkItem.Priority.LOW)

    response = api.patch(detail_url(workitem), {"priority": "Urgent"})

    assert response.status_code == 200
    workitem.refresh_from_db()
    assert (workitem.priority, workitem.description) == ("Urgent", "Broken hinge")


def test_patch_changes_the_status(api, tenant):
    workitem = WorkItemFactory(tenant=tenant)

    response = api.patch(detail_url(workitem), {"status": "Ready for Pickup"})

    assert response.data["status"] == "Ready for Pickup"
    workitem.refresh_from_db()
    assert workitem.status == WorkItem.Status.READY_FOR_PICKUP


def test_patch_assigns_a_technician_and_reads_them_back(api, tenant, member):
    workitem = WorkItemFactory(tenant=tenant)

    response = api.patch(detail_url(workitem), {"technician_id": member.pk})

    assert response.data["technician"] == {"id": member.pk, "name": member.get_full_name()}
    workitem.refresh_from_db()
    assert workitem.technician == member


def test_patch_with_a_null_id_clears_the_relation(api, tenant):
    workitem = WorkItemFactory(tenant=tenant)

    response = api.patch(detail_url(workitem), {"customer_id": None})

    assert response.data["customer"] is None
    workitem.refresh_from_db()
    assert workitem.customer is None


def test_patch_updates_prices(api, tenant):
    workitem = WorkItemFactory(tenant=tenant)

    response = api.patch(detail_url(workitem), {"final_price": "89.90"})

    assert response.data["final_price"] == "89.90"
    workitem.refresh_from_db()
    assert workitem.final_price == Decimal("89.90")


def test_delete_removes_the_workitem_with_204(api, tenant):
    workitem = WorkItemFactory(tenant=tenant)

    response = api.delete(detail_url(workitem))

    assert response.status_code == 204
    assert not WorkItem.objects.filter(pk=workitem.pk).exists()


def test_put_is_not_allowed(api, tenant):
    workitem = WorkItemFactory(tenant=tenant, description="Broken hinge")

    response = api.put(detail_url(workitem), {"description": "Replaced"})

    assert response.status_code == 405
    workitem.refresh_from_db()
    assert workitem.description == "Broken hinge"


@pytest.mark.parametrize(
    "query",
    [{"customer": 999999}, {"status": "Closed"}, {"search": "nothing like it"}, {"updated_since": "2099-01-01T00:00Z"}],
)
def test_list_filters_in_the_query_do_not_hide_the_workitem_a_detail_route_names(api, tenant, query):
    workitem = WorkItemFactory(tenant=tenant, status=WorkItem.Status.NEW)
    url = f"{detail_url(workitem)}?{'&'.join(f'{k}={v}' for k, v in query.items())}"

    read = api.get(url)
    changed = api.patch(url, {"priority": "High"}, format="json")

    assert (read.status_code, changed.status_code) == (200, 200)
    assert changed.data["priority"] == "High"


def test_list_filters_still_narrow_the_list(api, tenant):
    WorkItemFactory(tenant=tenant, status=WorkItem.Status.NEW)
    closed = WorkItemFactory(tenant=tenant, status=WorkItem.Status.CLOSED)

    response = api.get("/api/v1/workitems/", {"status": "Closed"})

    assert [item["id"] for item in response.data["results"]] == [closed.pk]
