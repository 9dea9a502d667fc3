"""Reference ids are RMA-<n> per tenant and never collide, even under concurrent creates."""

import threading

import pytest
from django.db import connection

from tests.factories import TenantFactory, WorkItemFactory
from workitems import services
from workitems.models import WorkItem


def test_reference_ids_count_per_tenant(tenant, other_tenant):
    first = WorkItemFactory(tenant=tenant)
    second = WorkItemFactory(tenant=tenant)
    elsewhere = WorkItemFactory(tenant=other_tenant)

    assert (first.reference_id, second.reference_id) == ("RMA-1", "RMA-2")
    assert elsewhere.reference_id == "RMA-1"


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_get_distinct_consecutive_reference_ids():
    tenant = TenantFactory()
    threads_count, per_thread = 8, 5
    barrier = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def create_many() -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                services.workitem_create(tenant=tenant, description="concurrent")
        except BaseException as exc:  # reported to the main thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create_many) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    numbers = sorted(int(ref.removeprefix("RMA-")) for ref in WorkItem.objects.values_list("reference_id", flat=True))
    assert numbers == list(range(1, threads_count * per_thread + 1))
