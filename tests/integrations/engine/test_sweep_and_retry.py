"""The beat sweep re-enqueues due and stranded syncs; operators retry failed ones or
replay synced ones with the same event id."""

import datetime

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from integrations.engine import sweep
from integrations.models import IntegrationSync
from tests.factories import TenantIntegrationFactory, WorkItemFactory, syncs_made
from tests.integrations.conftest import RECEIVER_URL

URL = RECEIVER_URL


@pytest.fixture
def integration(tenant):
    return TenantIntegrationFactory(tenant=tenant, config={"url": URL})


def overdue_sync(integration, *, seconds: float | None = None, **fields) -> IntegrationSync:
    """A pending sync of a new work item, due `seconds` ago (default: just past the grace period)."""
    seconds = settings.SYNC_STRANDED_GRACE_SECONDS + 5 if seconds is None else seconds
    workitem = WorkItemFactory(tenant=integration.tenant)
    sync = IntegrationSync.objects.get(integration=integration, object_id=workitem.pk)
    due = timezone.now() - datetime.timedelta(seconds=seconds)
    IntegrationSync.objects.filter(pk=sync.pk).update(next_attempt_at=due, **fields)
    return sync


def due_ids() -> list[int]:
    return list(sweep.syncs_due_for_requeue().values_list("id", flat=True))


def test_the_sweep_selects_a_sync_overdue_beyond_the_grace_period(integration):
    sync = overdue_sync(integration)

    assert due_ids() == [sync.pk]


def test_the_sweep_leaves_a_sync_within_the_grace_period(integration):
    overdue_sync(integration, seconds=settings.SYNC_STRANDED_GRACE_SECONDS - 5)

    assert due_ids() == []


def test_the_sweep_leaves_a_sync_claimed_by_a_live_worker(integration):
    overdue_sync(integration, claimed_until=timezone.now() + datetime.timedelta(seconds=30))

    assert due_ids() == []


def test_the_sweep_selects_a_sync_whose_worker_died(integration):
    sync = overdue_sync(integration, claimed_until=timezone.now() - datetime.timedelta(seconds=1))

    assert due_ids() == [sync.pk]


def test_the_sweep_leaves_the_syncs_of_an_inactive_integration(integration):
    overdue_sync(integration)
    integration.is_active = False
    integration.save()

    assert due_ids() == []


@pytest.mark.parametrize("status", ["synced", "failed"])
def test_the_sweep_leaves_finished_syncs(integration, status):
    overdue_sync(integration, status=status)

    assert due_ids() == []


@pytest.mark.parametrize("batch_size", [2, 500])
def test_the_sweep_delivers_every_due_sync_in_batches(receiver, integration, settings, batch_size):
    settings.SYNC_SWEEP_BATCH_SIZE = batch_size
    syncs = [overdue_sync(integration) for _ in range(5)]

    assert sweep.syncs_requeue_due() == 5

    assert len(receiver.calls) == 5
    assert set(IntegrationSync.objects.values_list("status", flat=True)) == {"synced"}
    sent = {call.request.headers["webhook-id"] for call in receiver.calls}
    assert sent == {str(sync.event.event_id) for sync in syncs}


# Transactional: it starts on a table truncated by the flush of the test before, not one
# carrying the dead rows of every rolled-back test so far (with autovacuum off, as on a
# shared test server, those rows make a sequential scan look cheaper to the planner).
@pytest.mark.django_db(transaction=True)
def test_the_sweep_query_scans_only_pending_rows_through_an_index(integration):
    workitem = WorkItemFactory(tenant=integration.tenant)
    syncs_made(
        integration,
        count=2000,
        subject=workitem,
        event_type="workitem_updated",
        status=IntegrationSync.Status.SYNCED,
        next_attempt_at=timezone.now() - datetime.timedelta(days=1),
    )
    for _ in range(3):
        overdue_sync(integration)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {IntegrationSync._meta.db_table}")

    # The query syncs_requeue_due runs, batch by batch.
    batch = sweep.syncs_due_for_requeue().filter(id__gt=0).order_by("id").values_list("id", flat=True)[:500]

    plan = batch.explain()
    # Several indexes lead to the few pending rows (the planner picks by cost); what must
    # never happen is a scan of the whole, ever-growing table.
    assert "Index" in plan
    assert "Seq Scan on integrations_integrationsync" not in plan


def test_retry_now_gives_a_failed_sync_a_fresh_round(integration):
    sync = overdue_sync(integration, status="failed", attempts=8, last_error="The receiver failed with HTTP 503.")

    assert sweep.syncs_retry_now(syncs=IntegrationSync.objects.filter(pk=sync.pk)) == 1

    sync.refresh_from_db()
    assert (sync.status, sync.attempts) == ("pending", 0)
    assert sync.next_attempt_at <= timezone.now()


def test_a_failed_sync_retried_now_is_delivered(receiver, committed, integration):
    sync = overdue_sync(integration, status="failed", attempts=8, last_error="The receiver failed with HTTP 503.")

    with committed():
        sweep.syncs_retry_now(syncs=IntegrationSync.objects.filter(pk=sync.pk))

    sync.refresh_from_db()
    assert (sync.status, sync.attempts, sync.last_error) == ("synced", 1, "")
    assert receiver.calls[0].request.headers["webhook-id"] == str(sync.event.event_id)


def test_retry_now_leaves_a_synced_sync_alone(receiver, committed, integration):
    with committed():
        WorkItemFactory(tenant=integration.tenant)

    with committed():
        count = sweep.syncs_retry_now(syncs=IntegrationSync.objects.all())

    assert (count, len(receiver.calls)) == (0, 1)


def test_a_replay_resends_a_synced_event_with_the_same_event_id(receiver, committed, integration):
    with committed():
        WorkItemFactory(tenant=integration.tenant)
    sync = IntegrationSync.objects.get()

    with committed():
        count = sweep.syncs_retry_now(syncs=IntegrationSync.objects.all(), include_synced=True)

    first, replay = receiver.calls
    assert count == 1
    assert replay.request.headers["webhook-id"] == first.request.headers["webhook-id"] == str(sync.event.event_id)
    assert replay.request.body == first.request.body
    sync.refresh_from_db()
    assert (sync.status, sync.attempts) == ("synced", 1)


def test_the_beat_schedule_sweeps_every_minute(db):
    task = PeriodicTask.objects.get(task="integrations.tasks.retry_failed_syncs")

    assert (task.interval.every, task.interval.period, task.enabled) == (60, "seconds", True)
