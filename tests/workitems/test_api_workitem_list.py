"""The work-item list: pagination, filters, search, ordering and a constant query count."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import CustomerAssetFactory, CustomerFactory, DropoffPointFactory, WorkItemFactory
from workitems.models import WorkItem

LIST_URL = "/api/v1/workitems/"
JAN_1 = datetime(2030, 1, 1, tzinfo=UTC)


def references(response) -> list[str]:
    assert response.status_code == 200, response.data
    return [row["reference_id"] for row in response.data["results"]]


def test_the_list_reports_the_count_and_links_to_the_next_page(api, tenant):
    WorkItemFactory.create_batch(3, tenant=tenant)

    response = api.get(LIST_URL, {"page_size": 2})

    assert (response.data["count"], len(response.data["results"])) == (3, 2)
    assert "page=2" in response.data["next"]
    assert response.data["previous"] is None


def test_the_last_page_holds_the_rest_and_has_no_next_link(api, tenant):
    WorkItemFactory.create_batch(3, tenant=tenant)

    response = api.get(LIST_URL, {"page_size": 2, "page": 2})

    assert (len(response.data["results"]), response.data["next"]) == (1, None)


def test_the_list_is_newest_first_by_default(api, tenant):
    WorkItemFactory(tenant=tenant, created_date=JAN_1)
    WorkItemFactory(tenant=tenant, created_date=JAN_1 - timedelta(days=1))
    WorkItemFactory(tenant=tenant, created_date=JAN_1 + timedelta(days=1))

    assert references(api.get(LIST_URL)) == ["RMA-3", "RMA-1", "RMA-2"]


def test_the_status_filter_keeps_only_that_status(api, tenant):
    WorkItemFactory(tenant=tenant, status=WorkItem.Status.NEW)
    WorkItemFactory(tenant=tenant, status=WorkItem.Status.CLOSED)

    assert references(api.get(LIST_URL, {"status": "Closed"})) == ["RMA-2"]


def test_the_status_filter_accepts_several_values(api, tenant):
    WorkItemFactory(tenant=tenant, status=WorkItem.Status.NEW)
    WorkItemFactory(tenant=tenant, status=WorkItem.Status.IN_PROGRESS)
    WorkItemFactory(tenant=tenant, status=WorkItem.Status.CLOSED)

    assert sorted(references(api.get(LIST_URL, {"status": ["New", "Closed"]}))) == ["RMA-1", "RMA-3"]


def test_the_priority_filter_keeps_only_that_priority(api, tenant):
    WorkItemFactory(tenant=tenant, priority=WorkItem.Priority.URGENT)
    WorkItemFactory(tenant=tenant, priority=WorkItem.Priority.LOW)

    assert references(api.get(LIST_URL, {"priority": "Urgent"})) == ["RMA-1"]


def test_the_type_filter_keeps_only_that_type(api, tenant):
    WorkItemFactory(tenant=tenant, type=WorkItem.Type.QUOTE)
    WorkItemFactory(tenant=tenant, type=WorkItem.Type.WARRANTY_REPAIR)

    assert references(api.get(LIST_URL, {"type": "Warranty Repair"})) == ["RMA-2"]


def test_the_technician_filter_keeps_only_their_workitems(api, tenant, owner, member):
    WorkItemFactory(tenant=tenant, technician=owner)
    WorkItemFactory(tenant=tenant, technician=member)
    WorkItemFactory(tenant=tenant)

    assert references(api.get(LIST_URL, {"technician": member.pk})) == ["RMA-2"]


def test_the_customer_filter_keeps_only_their_workitems(api, tenant):
    customer = CustomerFactory(tenant=tenant)
    WorkItemFactory(tenant=tenant, customer=customer)
    WorkItemFactory(tenant=tenant)

    assert references(api.get(LIST_URL, {"customer": customer.pk})) == ["RMA-1"]


def test_updated_since_keeps_workitems_changed_at_or_after_that_time(api, tenant):
    for updated_at in (JAN_1 - timedelta(seconds=1), JAN_1, JAN_1 + timedelta(days=1)):
        workitem = WorkItemFactory(tenant=tenant)
        WorkItem.objects.filter(pk=workitem.pk).update(updated_at=updated_at)

    response = api.get(LIST_URL, {"updated_since": "2030-01-01T00:00:00Z"})

    assert sorted(references(response)) == ["RMA-2", "RMA-3"]


def test_updated_since_honours_the_utc_offset(api, tenant):
    workitem = WorkItemFactory(tenant=tenant)
    WorkItem.objects.filter(pk=workitem.pk).update(updated_at=JAN_1)

    assert references(api.get(LIST_URL, {"updated_since": "2030-01-01T01:00:00+02:00"})) == ["RMA-1"]
    assert references(api.get(LIST_URL, {"updated_since": "2030-01-01T01:00:00+00:00"})) == []


def test_search_matches_the_reference_id(api, tenant):
    WorkItemFactory.create_batch(2, tenant=tenant)

    assert references(api.get(LIST_URL, {"search": "rma-2"})) == ["RMA-2"]


def test_search_matches_words_in_the_description(api, tenant):
    WorkItemFactory(tenant=tenant, description="Cracked screen on the left")
    WorkItemFactory(tenant=tenant, description="Battery swells")

    assert references(api.get(LIST_URL, {"search": "battery"})) == ["RMA-2"]


def test_search_matches_the_customer_name(api, tenant):
    WorkItemFactory(tenant=tenant, customer=CustomerFactory(tenant=tenant, name="Grace Hopper"))
    WorkItemFactory(tenant=tenant, customer=CustomerFactory(tenant=tenant, name="Ada Lovelace"))

    assert references(api.get(LIST_URL, {"search": "lovelace"})) == ["RMA-2"]


def test_ordering_by_due_date_puts_the_soonest_first(api, tenant):
    WorkItemFactory(tenant=tenant, due_date=JAN_1 + timedelta(days=2))
    WorkItemFactory(tenant=tenant, due_date=JAN_1 + timedelta(days=3))
    WorkItemFactory(tenant=tenant, due_date=JAN_1 + timedelta(days=1))

    assert references(api.get(LIST_URL, {"ordering": "due_date"})) == ["RMA-3", "RMA-1", "RMA-2"]


def test_ordering_by_descending_created_date_puts_the_newest_first(api, tenant):
    WorkItemFactory(tenant=tenant, created_date=JAN_1 + timedelta(days=1))
    WorkItemFactory(tenant=tenant, created_date=JAN_1)
    WorkItemFactory(tenant=tenant, created_date=JAN_1 + timedelta(days=2))

    assert references(api.get(LIST_URL, {"ordering": "-created_date"})) == ["RMA-3", "RMA-1", "RMA-2"]


def test_ordering_by_ascending_created_date_puts_the_oldest_first(api, tenant):
    WorkItemFactory(tenant=tenant, created_date=JAN_1 + timedelta(days=1))
    WorkItemFactory(tenant=tenant, created_date=JAN_1)

    assert references(api.get(LIST_URL, {"ordering": "created_date"})) == ["RMA-2", "RMA-1"]


@pytest.fixture
def twenty_fully_linked_workitems(tenant, owner, member):
    for _ in range(20):
        customer = CustomerFactory(tenant=tenant)
        WorkItemFactory(
            tenant=tenant,
            customer=customer,
            owner=owner,
            technician=member,
            customer_asset=CustomerAssetFactory(tenant=tenant, customer=customer),
            dropoff_point=DropoffPointFactory(tenant=tenant),
        )


def queries_for_page(api, page_size: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = api.get(LIST_URL, {"page_size": page_size})
    rows = response.data["results"]
    assert len(rows) == page_size
    assert all(row[name] is not None for row in rows for name in ("customer_asset", "dropoff_point", "technician"))
    return len(captured.captured_queries)


def test_a_page_of_20_fully_linked_workitems_costs_as_many_queries_as_a_page_of_1(api, twenty_fully_linked_workitems):
    assert queries_for_page(api, 20) == queries_for_page(api, 1)
