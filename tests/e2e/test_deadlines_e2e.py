"""No receiver holds a worker past the request deadline, a live worker keeps its claim, and
the soft time limit stops a delivery — with real Celery workers, real local receivers,
PostgreSQL and Redis. While they wait, the tests run the beat sweep, as beat would."""

import datetime
import threading
import time
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from integrations import tasks
from integrations.engine.sweep import syncs_requeue_due
from integrations.models import IntegrationSync, TenantIntegration
from tests.e2e.conftest import free_port, publishing_to, wait_until
from tests.factories import TenantIntegrationFactory, WorkItemFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# A 3 s deadline; each dribbled byte (every 1 s) comes well within the 2 s read timeout.
SHORT_DEADLINE = {"HTTP_CONNECT_TIMEOUT": "1", "HTTP_TIMEOUT": "2"}
LONG_TIMEOUT = {"HTTP_TIMEOUT": "30"}
CLAIM = datetime.timedelta(seconds=3)  # SYNC_CLAIM_SECONDS of the test workers


@pytest.fixture
def sweep(settings):
    """The beat sweep as the workers see it (no grace period), at most twice a second."""
    settings.SYNC_STRANDED_GRACE_SECONDS = 0
    last = [0.0]

    def run() -> None:
        if time.monotonic() - last[0] >= 0.5:
            last[0] = time.monotonic()
            syncs_requeue_due()

    return run


def sync_for(integration) -> IntegrationSync:
    return IntegrationSync.objects.filter(integration=integration).latest("id")


def settled(sync: IntegrationSync):
    sync.refresh_from_db()
    return sync.status != IntegrationSync.Status.PENDING and sync


def test_a_receiver_dribbling_a_byte_a_second_is_cut_off_by_the_deadline_while_others_keep_receiving(
    tenant, other_tenant, start_receiver, start_worker, clean_test_broker, sweep
):
    slow, fast = start_receiver(dribble_every=1.0), start_receiver()
    slow_integration = TenantIntegrationFactory(tenant=tenant, config={"url": slow.url}, max_attempts=1)
    TenantIntegrationFactory(tenant=other_tenant, config={"url": fast.url})
    start_worker(**SHORT_DEADLINE)
    WorkItemFactory(tenant=tenant)
    slow.wait_for(1)
    slow_sync = sync_for(slow_integration)

    # The other tenant's events keep arriving, one after the other, for as long as the
    # dribbled attempt lasts and while the sweep looks for stranded syncs.
    sent, give_up = 0, time.monotonic() + 15
    while not settled(slow_sync):
        assert time.monotonic() < give_up, "the dribbled attempt is still going"
        WorkItemFactory(tenant=other_tenant)
        sent += 1
        fast.wait_for(sent, timeout=2.5, on_poll=sweep)

    attempt = slow_sync.attempt_log.get()
    assert (slow_sync.status, attempt.error_class) == ("failed", "timeout")
    assert attempt.error.startswith(f"127.0.0.1:{urlsplit(slow.url).port} did not finish answering within 3 s")
    assert 2900 <= attempt.duration_ms < 4500
    assert sent >= 3
    assert len(slow.requests) == 1


def test_a_sync_a_live_worker_is_still_delivering_is_not_handed_to_another(
    tenant, receiver, start_worker, clean_test_broker, sweep
):
    receiver.hold = threading.Event()
    integration = TenantIntegrationFactory(tenant=tenant, config={"url": receiver.url}, max_attempts=1)
    start_worker(**LONG_TIMEOUT)
    start_worker(**LONG_TIMEOUT)
    WorkItemFactory(tenant=tenant)
    receiver.wait_for(1)
    sync = sync_for(integration)
    first_claim = sync.claimed_until

    def still_claimed_a_whole_claim_after_its_first_lapse() -> bool:
        sync.refresh_from_db()
        now = timezone.now()
        return now > first_claim + CLAIM and sync.claimed_until is not None and sync.claimed_until > now

    wait_until(still_claimed_a_whole_claim_after_its_first_lapse, timeout=15, on_poll=sweep)
    assert len(receiver.requests) == 1

    receiver.hold.set()
    sync = wait_until(lambda: settled(sync))
    assert (sync.status, sync.attempts) == ("synced", 1)
    assert len(receiver.requests) == 1


def test_a_delivery_past_its_soft_time_limit_is_stopped_and_recorded_as_a_timeout(
    tenant, receiver, start_worker, clean_test_broker
):
    """The limits travel with the message, so the worker's sweep publishes this delivery."""
    receiver.hold = threading.Event()
    integration = TenantIntegrationFactory(tenant=tenant, config={"url": receiver.url}, max_attempts=1)
    start_worker(SYNC_TASK_SOFT_TIME_LIMIT="2", **LONG_TIMEOUT)
    with publishing_to(f"redis://127.0.0.1:{free_port()}/0"):  # no broker: the sync waits in the outbox
        WorkItemFactory(tenant=tenant)

    tasks.requeue_due_syncs.delay()

    sync = wait_until(lambda: settled(sync_for(integration)), timeout=15)

    attempt = sync.attempt_log.get()
    assert (sync.status, attempt.error_class) == ("failed", "timeout")
    assert attempt.error == "The delivery took longer than 2 s (SYNC_TASK_SOFT_TIME_LIMIT) and was stopped."


def test_a_poll_reaches_a_worker_through_the_polls_queue(tenant, start_worker, clean_test_broker):
    integration = TenantIntegrationFactory(
        tenant=tenant,
        integration_type="openproject",
        config={"base_url": "https://openproject.example.com", "project": "3", "poll_enabled": True},
    )
    start_worker()

    tasks.poll_integration.delay(integration.pk)

    polled = wait_until(lambda: TenantIntegration.objects.get(pk=integration.pk).last_poll_result)
    assert polled == "No linked work packages to check."
