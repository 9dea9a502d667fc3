"""The circuit breaker and the rate limit hold across worker processes: their state lives in
Redis, so a worker started later obeys what an earlier one learned, and two workers share
one rate limit — with real workers, a real receiver, PostgreSQL and Redis."""

import time
from itertools import pairwise

import pytest
from django.core.cache import cache
from django.db import transaction

from integrations.engine import dispatch, resilience
from integrations.models import IntegrationSync
from tests.e2e.conftest import wait_until
from tests.factories import CustomerFactory, TenantIntegrationFactory
from workitems import services as workitem_services

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The worker that opens the circuit fixes how long it stays open. Long enough for that
# worker to stop and another to start while it is open, short enough to wait out.
RECOVERY_SECONDS = 12


def create_via_api(api, description: str) -> int:
    response = api.post("/api/v1/workitems/", {"description": description}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def sync_of(workitem_id: int) -> IntegrationSync:
    return IntegrationSync.objects.get(object_id=workitem_id, event__event_type="workitem_created")


def delivered_some(worker) -> bool:
    return any("outcome=synced" in line for line in worker.output)


def settled(sync: IntegrationSync):
    sync.refresh_from_db()
    return sync.status != IntegrationSync.Status.PENDING and sync


def test_a_circuit_opened_by_one_worker_holds_back_another_until_a_probe_succeeds(
    api, tenant, receiver, start_worker, clean_test_broker
):
    receiver.default = 503
    integration = TenantIntegrationFactory(tenant=tenant, config={"url": receiver.url}, max_attempts=1)
    recovery = {"CIRCUIT_RECOVERY_SECONDS": str(RECOVERY_SECONDS)}
    first_worker = start_worker(**recovery)
    for number in range(5):
        create_via_api(api, f"failing {number}")
    wait_until(lambda: IntegrationSync.objects.filter(status="failed").count() == 5)
    first_worker.stop()

    start_worker(**recovery)
    sixth = sync_of(create_via_api(api, "while the circuit is open"))

    wait_until(lambda: cache.get(dispatch.QUEUED_KEY) is None)  # the second worker took the wake-up
    circuit = resilience.circuit_state(integration)
    probe_allowed = time.monotonic() + circuit.retry_at - time.time()
    assert circuit.state == "open", "the circuit closed before the second worker saw the sixth event"
    sixth.refresh_from_db()
    assert (sixth.status, sixth.attempts, sixth.attempt_log.count()) == ("pending", 0, 0)
    assert len(receiver.requests) == 5

    receiver.default = 200
    sixth = wait_until(lambda: settled(sixth), timeout=RECOVERY_SECONDS + 10)
    assert (sixth.status, sixth.attempts) == ("synced", 1)
    assert len(receiver.requests) == 6
    assert receiver.requests[-1].at >= probe_allowed - 0.5
    assert receiver.requests[-1].headers["webhook-id"] == str(sixth.event.event_id)
    assert resilience.circuit_state(integration).state == "closed"


def test_two_workers_share_one_rate_limit(tenant, receiver, start_worker, clean_test_broker):
    TenantIntegrationFactory(tenant=tenant, config={"url": receiver.url}, rate_limit_per_second=2)
    workers = [start_worker(), start_worker()]
    customer = CustomerFactory(tenant=tenant)
    with transaction.atomic():
        for number in range(20):
            workitem_services.workitem_create(tenant=tenant, customer=customer, description=f"import {number}")

    arrivals = [request.at for request in receiver.wait_for(20, timeout=60)]

    # Slots are 0.5 s apart; the time from a slot to its arrival varies on a loaded machine,
    # so one second may see a third arrival, never more (without the limit all 20 come at once).
    busiest_second = max(sum(1 for at in arrivals if start <= at < start + 1.0) for start in arrivals)
    assert arrivals[-1] - arrivals[0] >= 9.0
    assert busiest_second <= 3, [round(later - earlier, 3) for earlier, later in pairwise(arrivals)]
    wait_until(lambda: IntegrationSync.objects.filter(status="synced").count() == 20)
    assert len(receiver.requests) == 20
    wait_until(lambda: all(delivered_some(worker) for worker in workers), timeout=5)
