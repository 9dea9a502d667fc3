"""Circuit breaker, rate limit, auto-pause and payload limit, with real Redis state."""

import datetime
import time

import pytest
import responses
from django.utils import timezone

from integrations import services
from integrations.connectors.base import RateLimitHint
from integrations.engine import delivery, resilience, sweep
from integrations.models import IntegrationSync, TenantIntegration
from tests.e2e.conftest import wait_until
from tests.factories import TenantIntegrationFactory, WorkItemFactory

URL = "https://receiver.example.com/hook"


@pytest.fixture
def integration(tenant):
    return TenantIntegrationFactory(tenant=tenant, config={"url": URL}, max_attempts=1)


def pending_sync(integration) -> IntegrationSync:
    """A work item event to `integration`, written to the outbox but not yet delivered."""
    WorkItemFactory(tenant=integration.tenant)
    return IntegrationSync.objects.filter(integration=integration).latest("id")


def fail_times(integration, count: int) -> None:
    for _ in range(count):
        delivery.sync_deliver(sync_id=pending_sync(integration).pk)


@responses.activate
def test_five_failures_open_the_circuit_and_the_sixth_event_makes_no_http_call(integration):
    responses.post(URL, status=503)
    fail_times(integration, 5)
    sixth = pending_sync(integration)

    outcome = delivery.sync_deliver(sync_id=sixth.pk)

    sixth.refresh_from_db()
    assert outcome == "circuit_open"
    assert len(responses.calls) == 5
    assert (sixth.status, sixth.attempts) == ("pending", 0)
    assert sixth.next_attempt_at > timezone.now() + datetime.timedelta(seconds=50)
    assert resilience.circuit_state(integration).state == "open"


@responses.activate
def test_four_failures_leave_the_circuit_closed(integration):
    responses.post(URL, status=503)
    fail_times(integration, 4)

    assert delivery.sync_deliver(sync_id=pending_sync(integration).pk) == "failed"
    assert len(responses.calls) == 5


@responses.activate
def test_a_client_error_does_not_count_against_the_receiver(integration):
    responses.post(URL, status=503)
    fail_times(integration, 4)
    responses.replace(responses.POST, URL, status=422)
    fail_times(integration, 1)

    assert resilience.circuit_state(integration).state == "closed"


@responses.activate
def test_after_the_recovery_time_one_probe_goes_out_and_its_success_closes_the_circuit(integration, settings):
    settings.CIRCUIT_RECOVERY_SECONDS = 0.2
    responses.post(URL, status=503)
    fail_times(integration, 5)
    wait_until(lambda: resilience.circuit_state(integration).state == "half_open", timeout=5)
    responses.replace(responses.POST, URL, status=200)
    probe, waiting = pending_sync(integration), pending_sync(integration)
    probe_taken = resilience.circuit_allow(integration)

    assert probe_taken.state == "half_open"
    assert delivery.sync_deliver(sync_id=waiting.pk) == "circuit_open"
    resilience.circuit_record(integration, error_class=None)
    assert delivery.sync_deliver(sync_id=probe.pk) == "synced"
    assert delivery.sync_deliver(sync_id=waiting.pk) == "synced"
    assert resilience.circuit_state(integration).state == "closed"


@responses.activate
def test_a_failed_probe_opens_the_circuit_again(integration, settings):
    settings.CIRCUIT_RECOVERY_SECONDS = 0.2
    responses.post(URL, status=503)
    fail_times(integration, 5)
    wait_until(lambda: resilience.circuit_state(integration).state == "half_open", timeout=5)

    assert delivery.sync_deliver(sync_id=pending_sync(integration).pk) == "failed"

    assert resilience.circuit_state(integration).state == "open"
    assert len(responses.calls) == 6


def test_reset_closes_an_open_circuit(integration):
    for _ in range(5):
        resilience.circuit_record(integration, error_class="connection")

    resilience.circuit_reset(integration)

    assert resilience.circuit_state(integration).state == "closed"


def test_the_rate_limit_hands_out_one_slot_per_interval(integration):
    integration.rate_limit_per_second = 2

    first, second = resilience.rate_limit_wait(integration), resilience.rate_limit_wait(integration)

    assert first == 0
    assert 0.4 < second <= 0.5


def test_a_webhook_is_unlimited_by_default(integration):
    assert [resilience.rate_limit_wait(integration) for _ in range(50)] == [0] * 50


@responses.activate
def test_a_rate_limited_delivery_is_rescheduled_without_an_http_call_or_an_attempt(integration):
    TenantIntegration.objects.filter(pk=integration.pk).update(rate_limit_per_second=0.01)
    responses.post(URL, status=200)
    first, second = pending_sync(integration), pending_sync(integration)

    assert delivery.sync_deliver(sync_id=first.pk) == "synced"
    assert delivery.sync_deliver(sync_id=second.pk) == "rate_limited"

    second.refresh_from_db()
    assert len(responses.calls) == 1
    assert (second.status, second.attempts) == ("pending", 0)
    assert second.next_attempt_at > timezone.now() + datetime.timedelta(seconds=90)


@responses.activate
def test_a_429_pauses_everyone_until_retry_after(integration):
    responses.post(URL, status=429, headers={"Retry-After": "30"})
    integration.max_attempts = 3
    integration.save()

    delivery.sync_deliver(sync_id=pending_sync(integration).pk)

    assert 29 < resilience.rate_limit_wait(integration) <= 30


def test_a_service_saying_its_quota_is_spent_pauses_everyone_until_the_reset(integration):
    resilience.outcome_record(integration, error=None, rate_limit=RateLimitHint(remaining=0, reset_after=30))

    assert 29 < resilience.rate_limit_wait(integration) <= 30


def test_quota_left_does_not_pause(integration):
    resilience.outcome_record(integration, error=None, rate_limit=RateLimitHint(remaining=5, reset_after=30))

    assert resilience.rate_limit_wait(integration) == 0


@responses.activate
@pytest.mark.parametrize("retry_after", ["inf", "1e300", "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_an_endless_retry_after_pauses_for_an_hour_at_most_and_later_claims_work(integration, retry_after):
    responses.post(URL, status=429, headers={"Retry-After": retry_after})
    integration.max_attempts = 3
    integration.save()
    first = pending_sync(integration)

    assert delivery.sync_deliver(sync_id=first.pk) == "retry_scheduled"
    assert delivery.sync_deliver(sync_id=pending_sync(integration).pk) == "rate_limited"

    first.refresh_from_db()
    assert 3590 < resilience.rate_limit_wait(integration) <= 3600
    assert first.next_attempt_at <= timezone.now() + datetime.timedelta(hours=1)


def test_a_pause_stored_beyond_the_cap_is_cut_back_to_it(integration):
    """E.g. written by an earlier version that did not cap Retry-After."""
    resilience._redis().set(resilience._rate_key(integration), str(time.time() + 10**9))

    assert 3590 < resilience.rate_limit_wait(integration) <= 3600


def test_the_embedded_pause_is_capped_too(integration, settings):
    settings.REDIS_URL = ""

    resilience.rate_limit_pause(integration, float("inf"))

    assert 3590 < resilience.rate_limit_wait(integration) <= 3600


def test_reset_clears_a_rate_limit_pause(integration):
    resilience.rate_limit_pause(integration, 600)

    services.integration_resilience_reset(integration=integration)

    assert resilience.rate_limit_wait(integration) == 0


def test_reset_sends_the_syncs_a_pause_held_back_now(integration, django_capture_on_commit_callbacks):
    resilience.rate_limit_pause(integration, 600)
    waiting = pending_sync(integration)
    assert delivery.sync_deliver(sync_id=waiting.pk) == "rate_limited"

    with django_capture_on_commit_callbacks() as enqueued:
        brought_forward = services.integration_resilience_reset(integration=integration)

    waiting.refresh_from_db()
    assert brought_forward == 1
    assert waiting.next_attempt_at <= timezone.now()
    assert len(enqueued) == 1


@responses.activate
def test_an_integration_failing_for_three_days_is_paused_and_keeps_its_pending_syncs(integration):
    responses.post(URL, status=503)
    integration.max_attempts = 8
    integration.save()
    TenantIntegration.objects.filter(pk=integration.pk).update(
        failing_since=timezone.now() - datetime.timedelta(hours=73)
    )
    sync = pending_sync(integration)

    delivery.sync_deliver(sync_id=sync.pk)

    integration.refresh_from_db()
    sync.refresh_from_db()
    assert not integration.is_active
    assert "Paused automatically" in integration.paused_reason
    assert "HTTP 503" in integration.paused_reason
    assert sync.status == "pending"


@responses.activate
def test_a_success_clears_the_failing_since_mark(integration):
    responses.post(URL, status=200)
    TenantIntegration.objects.filter(pk=integration.pk).update(failing_since=timezone.now())

    delivery.sync_deliver(sync_id=pending_sync(integration).pk)

    integration.refresh_from_db()
    assert integration.failing_since is None
    assert integration.is_active


@responses.activate
def test_a_paused_integration_resumes_its_pending_syncs_when_reactivated(integration, committed, settings):
    settings.SYNC_STRANDED_GRACE_SECONDS = 0
    responses.post(URL, status=200)
    sync = pending_sync(integration)
    TenantIntegration.objects.filter(pk=integration.pk).update(is_active=False, paused_reason="paused")
    assert delivery.sync_deliver(sync_id=sync.pk) == "integration_inactive"

    TenantIntegration.objects.filter(pk=integration.pk).update(is_active=True, paused_reason="")
    with committed():
        sweep.syncs_requeue_due()

    sync.refresh_from_db()
    assert sync.status == "synced"


@responses.activate
def test_an_oversized_payload_fails_permanently_without_an_http_call(integration, settings):
    settings.INTEGRATIONS_MAX_PAYLOAD_BYTES = 200
    sync = pending_sync(integration)

    delivery.sync_deliver(sync_id=sync.pk)

    sync.refresh_from_db()
    assert sync.status == "failed"
    assert "over the 200-byte limit" in sync.last_error
    assert sync.attempt_log.get().error_class == "payload"
    assert len(responses.calls) == 0


def test_circuit_states_lists_active_integrations(integration):
    for _ in range(5):
        resilience.circuit_record(integration, error_class="http_5xx")
    other = TenantIntegrationFactory(tenant=integration.tenant)

    assert resilience.circuit_states() == {integration.pk: "open", other.pk: "closed"}


def test_the_embedded_rate_limit_works_without_redis(integration, settings):
    settings.REDIS_URL = ""
    integration.rate_limit_per_second = 1

    waits = [resilience.rate_limit_wait(integration) for _ in range(2)]

    assert waits[0] == 0
    assert 0.9 < waits[1] <= 1.0


def test_the_bulkhead_admits_only_the_configured_number_of_deliveries(integration, settings):
    settings.INTEGRATION_MAX_IN_FLIGHT = 2

    admitted = [resilience.inflight_acquire(integration, token) for token in ("a", "b", "c")]
    resilience.inflight_release(integration, "a")

    assert admitted == [True, True, False]
    assert resilience.inflight_acquire(integration, "c")


def test_a_dead_workers_place_in_the_bulkhead_lapses(integration, settings):
    settings.INTEGRATION_MAX_IN_FLIGHT = 1
    settings.SYNC_CLAIM_SECONDS = 0.2
    resilience.inflight_acquire(integration, "crashed")

    wait_until(lambda: resilience.inflight_acquire(integration, "next"), timeout=5)


def test_the_embedded_bulkhead_works_without_redis(integration, settings):
    settings.REDIS_URL = ""
    settings.INTEGRATION_MAX_IN_FLIGHT = 1

    assert [resilience.inflight_acquire(integration, t) for t in ("a", "b")] == [True, False]


@responses.activate
def test_a_delivery_over_the_bulkhead_waits_without_an_http_call(integration, settings):
    settings.INTEGRATION_MAX_IN_FLIGHT = 2
    responses.post(URL, status=200)
    for token in ("slow-1", "slow-2"):
        resilience.inflight_acquire(integration, token)
    sync = pending_sync(integration)

    assert delivery.sync_deliver(sync_id=sync.pk) == "concurrency_limited"

    sync.refresh_from_db()
    assert (sync.status, sync.attempts, len(responses.calls)) == ("pending", 0, 0)
    assert sync.next_attempt_at > timezone.now()


def test_a_renewed_place_in_the_bulkhead_outlives_its_first_lapse(integration, settings):
    settings.INTEGRATION_MAX_IN_FLIGHT = 1
    settings.SYNC_CLAIM_SECONDS = 0.5
    resilience.inflight_acquire(integration, "live")
    first_lapse = time.monotonic() + 0.5
    settings.SYNC_CLAIM_SECONDS = 60

    resilience.inflight_extend(integration, "live")

    wait_until(lambda: time.monotonic() > first_lapse)
    assert not resilience.inflight_acquire(integration, "other")


def test_a_released_place_is_not_brought_back_by_a_late_renewal(integration, settings):
    settings.INTEGRATION_MAX_IN_FLIGHT = 1
    resilience.inflight_acquire(integration, "done")
    resilience.inflight_release(integration, "done")

    resilience.inflight_extend(integration, "done")

    assert resilience.inflight_acquire(integration, "next")


@responses.activate
def test_a_finished_delivery_leaves_the_bulkhead(integration, settings):
    settings.INTEGRATION_MAX_IN_FLIGHT = 1
    responses.post(URL, status=200)

    assert delivery.sync_deliver(sync_id=pending_sync(integration).pk) == "synced"
    assert delivery.sync_deliver(sync_id=pending_sync(integration).pk) == "synced"


@responses.activate
def test_an_open_circuit_parks_syncs_with_one_wake_up_message(integration, django_capture_on_commit_callbacks):
    responses.post(URL, status=503)
    fail_times(integration, 4)
    fifth, first, second = pending_sync(integration), pending_sync(integration), pending_sync(integration)

    with django_capture_on_commit_callbacks() as opening:
        assert delivery.sync_deliver(sync_id=fifth.pk) == "failed"  # the fifth failure opens the circuit
    with django_capture_on_commit_callbacks() as parking:
        assert delivery.sync_deliver(sync_id=first.pk) == "circuit_open"
        assert delivery.sync_deliver(sync_id=second.pk) == "circuit_open"

    assert (len(opening), len(parking)) == (1, 0)


@responses.activate
def test_a_successful_probe_releases_the_parked_syncs(integration, settings, committed):
    settings.CIRCUIT_RECOVERY_SECONDS = 0.2
    responses.post(URL, status=503)
    fail_times(integration, 5)
    probe, parked = pending_sync(integration), pending_sync(integration)
    assert delivery.sync_deliver(sync_id=parked.pk) == "circuit_open"
    wait_until(lambda: resilience.circuit_state(integration).state == "half_open", timeout=5)
    responses.replace(responses.POST, URL, status=200)

    with committed():
        assert delivery.sync_deliver(sync_id=probe.pk) == "synced"

    parked.refresh_from_db()
    assert parked.status == "synced"
