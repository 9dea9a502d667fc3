"""Events travel from the API through the outbox, Redis and a real Celery worker to a real
HTTP receiver — including when the receiver, the broker or the worker fails."""

import threading

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from integrations.connectors.webhook.config import signing_secret_generate
from integrations.engine import sweep
from integrations.models import IntegrationSync, SyncAttempt
from tests.e2e.conftest import publishing_to, wait_until
from tests.factories import TenantIntegrationFactory
from workitems import services as workitem_services
from workitems.models import WorkItem, WorkItemNote

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAYLOAD_KEYS = {"schema_version", "event_type", "event_id", "timestamp", "tenant", "workitem"}
WORKITEM_KEYS = {
    "id", "reference_id", "description", "status", "type", "priority", "created_date", "due_date", "customer",
    "owner", "technician", "customer_asset", "estimated_price", "final_price", "dropoff_point", "intake_method",
    "comments",
}  # fmt: skip


@pytest.fixture
def signing_secret() -> str:
    return signing_secret_generate()


@pytest.fixture
def integration(tenant, receiver, signing_secret):
    return TenantIntegrationFactory(
        tenant=tenant,
        config={"url": receiver.url, "sign": True},
        secrets={"signing_secret": signing_secret},
        retry_backoff_seconds=0.05,
    )


def create_via_api(api, **fields) -> dict:
    response = api.post("/api/v1/workitems/", {"description": "Cracked screen", **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def sync_of(workitem_id: int, event_type: str = "workitem_created") -> IntegrationSync:
    return IntegrationSync.objects.get(object_id=workitem_id, event__event_type=event_type)


def settled(sync: IntegrationSync):
    sync.refresh_from_db()
    return sync.status != IntegrationSync.Status.PENDING and sync


def test_a_created_work_item_reaches_the_receiver_signed_once(api, integration, receiver, worker, signing_secret):
    created = create_via_api(api, estimated_price="150.00")

    (request,) = receiver.wait_for(1)
    sync = wait_until(lambda: settled(sync_of(created["id"])))

    Webhook(signing_secret).verify(request.body, request.headers)
    payload = request.json()
    assert set(payload) == PAYLOAD_KEYS
    assert set(payload["workitem"]) == WORKITEM_KEYS
    assert payload["workitem"]["reference_id"] == created["reference_id"]
    assert payload["workitem"]["estimated_price"] == "150.00"
    assert request.headers["webhook-id"] == payload["event_id"] == str(sync.event.event_id)
    assert (sync.status, sync.attempts, sync.attempt_log.count()) == ("synced", 1, 1)
    assert WorkItemNote.objects.filter(workitem_id=created["id"], kind="system").count() == 1
    assert len(receiver.requests) == 1


def test_it_retries_two_500s_and_then_succeeds(api, integration, receiver, worker):
    receiver.script = [(500, {}), (500, {})]

    created = create_via_api(api)

    sync = wait_until(lambda: settled(sync_of(created["id"])))
    assert (sync.status, sync.attempts) == ("synced", 3)
    assert list(SyncAttempt.objects.filter(sync=sync).values_list("status_code", flat=True)) == [500, 500, 200]
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1


def test_a_400_fails_at_once(api, integration, receiver, worker):
    receiver.script = [(400, {})]

    created = create_via_api(api)

    sync = wait_until(lambda: settled(sync_of(created["id"])))
    assert (sync.status, sync.attempts, sync.last_status_code) == ("failed", 1, 400)
    note = WorkItemNote.objects.get(workitem_id=created["id"], kind="system")
    assert "HTTP 400" in note.body


def test_a_429_is_retried_no_earlier_than_retry_after(api, integration, receiver, worker):
    receiver.script = [(429, {"Retry-After": "2"})]

    create_via_api(api)

    first, second = receiver.wait_for(2)
    assert second.at - first.at >= 2.0


def test_a_rolled_back_transaction_sends_nothing(api, tenant, integration, receiver, worker):
    def create_then_fail() -> None:
        with transaction.atomic():
            workitem_services.workitem_create(tenant=tenant, description="never committed")
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        create_then_fail()
    create_via_api(api, description="committed sentinel")

    receiver.wait_for(1)
    wait_until(lambda: IntegrationSync.objects.filter(status="synced").exists())
    assert [r.json()["workitem"]["description"] for r in receiver.requests] == ["committed sentinel"]
    assert not WorkItem.objects.filter(description="never committed").exists()


def test_status_changes_arrive_in_order(api, integration, receiver, worker):
    created = create_via_api(api)
    for status in ("In Progress", "Ready for Pickup", "Closed"):
        response = api.patch(f"/api/v1/workitems/{created['id']}/", {"status": status}, format="json")
        assert response.status_code == 200

    requests = receiver.wait_for(4)

    events = [(r.json()["event_type"], r.json().get("changes", {}).get("status", {}).get("new")) for r in requests]
    assert events == [
        ("workitem_created", None),
        ("workitem_status_changed", "In Progress"),
        ("workitem_status_changed", "Ready for Pickup"),
        ("workitem_status_changed", "Closed"),
    ]


def test_events_committed_while_the_broker_is_down_are_delivered_by_the_sweep(
    api, integration, receiver, private_redis, start_worker, settings
):
    settings.SYNC_STRANDED_GRACE_SECONDS = 0
    start_worker(broker_url=private_redis.url)
    with publishing_to(private_redis.url):
        private_redis.stop()
        created = [create_via_api(api, description=f"during outage {n}") for n in range(3)]
        assert IntegrationSync.objects.filter(status="pending", attempts=0).count() == 3

        private_redis.start()
        receiver.wait_for(3, timeout=60, on_poll=sweep.syncs_requeue_due)

    wait_until(lambda: IntegrationSync.objects.filter(status="synced").count() == 3)
    assert sorted(r.json()["workitem"]["id"] for r in receiver.requests[:3]) == sorted(c["id"] for c in created)


def test_a_worker_killed_mid_delivery_is_redelivered_with_the_same_webhook_id(
    api, integration, receiver, start_worker, clean_test_broker, settings
):
    settings.SYNC_STRANDED_GRACE_SECONDS = 0
    doomed = start_worker()
    receiver.hold = threading.Event()
    created = create_via_api(api)
    receiver.wait_for(1)

    doomed.kill()
    receiver.hold.set()
    receiver.hold = None
    start_worker()

    first, second = receiver.wait_for(2, timeout=60, on_poll=sweep.syncs_requeue_due)
    sync = wait_until(lambda: settled(sync_of(created["id"])))
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == str(sync.event.event_id)
    assert sync.status == "synced"


def test_a_worker_killed_mid_batch_leaves_nothing_behind_and_resends_only_what_was_in_flight(
    tenant, integration, receiver, start_worker, clean_test_broker, settings
):
    """Ten events claimed as one batch; two are on the wire when the worker is killed. After the
    claim lapses another worker sends all ten; only the two in flight may arrive twice."""
    settings.SYNC_STRANDED_GRACE_SECONDS = 0
    doomed = start_worker(SYNC_SEND_THREADS="2", SYNC_LANES_PER_INTEGRATION="2")
    receiver.hold = threading.Event()
    with transaction.atomic():
        for number in range(10):
            workitem_services.workitem_create(tenant=tenant, description=f"batch {number}")
    in_flight = {request.headers["webhook-id"] for request in receiver.wait_for(2)}

    doomed.kill()
    receiver.hold.set()
    receiver.hold = None
    start_worker()
    wait_until(
        lambda: IntegrationSync.objects.filter(integration=integration, status="synced").count() == 10,
        timeout=60,
        on_poll=sweep.syncs_requeue_due,
    )

    arrivals = [request.headers["webhook-id"] for request in receiver.requests]
    expected = {str(event_id) for event_id in IntegrationSync.objects.values_list("event__event_id", flat=True)}
    assert set(arrivals) == expected
    assert {webhook_id for webhook_id in arrivals if arrivals.count(webhook_id) > 1} <= in_flight
    assert len(in_flight) == 2
