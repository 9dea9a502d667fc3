"""Delivered events are pruned after SYNC_RETENTION_DAYS (their payloads hold customer data),
failures after SYNC_FAILED_RETENTION_DAYS unless resolved sooner; pending ones never."""

import datetime

import pytest
from django.utils import timezone

from integrations import tasks
from integrations.engine import sweep
from integrations.models import IntegrationEvent, IntegrationSync, SyncAttempt
from tests.factories import TenantIntegrationFactory, syncs_made


@pytest.fixture
def integration(tenant):
    return TenantIntegrationFactory(tenant=tenant, config={"url": "https://receiver.example.com/hook"})


def event_aged(integration, *, days: float, statuses: list[str]) -> IntegrationEvent:
    """An event `days` old with one sync per status (one per integration) and an attempt each."""
    (first,) = syncs_made(integration, status=statuses[0])
    for status in statuses[1:]:
        other = TenantIntegrationFactory(tenant=integration.tenant, config={"url": "https://other.example.com/hook"})
        IntegrationSync.objects.create(
            event=first.event, integration=other, content_type=first.content_type, object_id=first.object_id,
            status=status, next_attempt_at=timezone.now(),
        )  # fmt: skip
    for sync in first.event.syncs.all():
        SyncAttempt.objects.create(sync=sync, number=1, started_at=timezone.now(), duration_ms=5, succeeded=True)
    IntegrationEvent.objects.filter(pk=first.event_id).update(created_at=timezone.now() - datetime.timedelta(days=days))
    return first.event


def remaining(*events: IntegrationEvent) -> list[bool]:
    return [IntegrationEvent.objects.filter(pk=event.pk).exists() for event in events]


def test_delivered_events_go_after_the_retention_period_with_their_syncs_and_attempts(integration):
    old, recent = (
        event_aged(integration, days=31, statuses=["synced"]),
        event_aged(integration, days=29, statuses=["synced"]),
    )

    assert tasks.prune_events() == 1

    assert remaining(old, recent) == [False, True]
    assert not IntegrationSync.objects.filter(event_id=old.pk).exists()
    assert SyncAttempt.objects.count() == 1


def test_a_failure_is_kept_to_look_into_until_its_own_longer_period(integration):
    kept = event_aged(integration, days=60, statuses=["failed"])
    gone = event_aged(integration, days=91, statuses=["failed"])
    mixed = event_aged(integration, days=60, statuses=["synced", "failed"])

    sweep.events_prune()

    assert remaining(kept, gone, mixed) == [True, False, True]


def test_an_event_still_on_its_way_is_never_pruned(integration):
    pending = event_aged(integration, days=365, statuses=["pending"])
    partly = event_aged(integration, days=365, statuses=["synced", "pending"])

    sweep.events_prune()

    assert remaining(pending, partly) == [True, True]


def test_pruning_goes_batch_by_batch_until_none_is_left(integration, settings):
    settings.SYNC_PRUNE_BATCH_SIZE = 2
    old = [event_aged(integration, days=40, statuses=["synced"]) for _ in range(5)]

    assert sweep.events_prune() == 5

    assert remaining(*old) == [False] * 5
