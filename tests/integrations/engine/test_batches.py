"""The batched engine: one claim statement takes a fair, ordered batch; one short transaction
records it; a drain goes on until nothing is due — on PostgreSQL, with HTTP faked."""

import datetime
import json

import pytest
import redis
import responses
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from app.celery import celery_app
from integrations.engine import claim, delivery, dispatch, resilience, sweep
from integrations.engine.claim import syncs_claim
from integrations.models import IntegrationSync
from tests.factories import TenantFactory, TenantIntegrationFactory, WorkItemFactory, syncs_made
from workitems import services
from workitems.models import WorkItemNote

URL = "https://receiver.example.com/hook"
OTHER_URL = "https://other.example.com/hook"


@pytest.fixture
def receiver():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(URL, json={"ok": True})
        mock.post(OTHER_URL, json={"ok": True})
        yield mock


@pytest.fixture
def integration(tenant):
    return TenantIntegrationFactory(tenant=tenant, config={"url": URL})


def until() -> datetime.datetime:
    return timezone.now() + datetime.timedelta(minutes=1)


def claimed_ids(limit: int = 100, **kwargs) -> list[int]:
    return [item.sync_id for item in syncs_claim(limit=limit, until=until(), blocked=[], **kwargs)]


def test_a_claim_returns_what_a_delivery_needs_and_marks_the_syncs_claimed(integration):
    workitem = WorkItemFactory(tenant=integration.tenant)
    sync = IntegrationSync.objects.get(integration=integration)

    (item,) = syncs_claim(limit=10, until=until(), blocked=[])

    assert (item.sync_id, item.event_type, item.payload["workitem"]["id"]) == (sync.pk, "workitem_created", workitem.pk)
    assert item.event_id == str(sync.event.event_id)
    sync.refresh_from_db()
    assert sync.claimed_until > timezone.now()
    assert claimed_ids() == []


def test_only_the_earliest_pending_event_of_an_object_is_claimed(integration):
    workitem = WorkItemFactory(tenant=integration.tenant)
    services.workitem_update(workitem=workitem, status="Closed")
    first, _later = IntegrationSync.objects.filter(integration=integration).order_by("id")

    assert claimed_ids() == [first.pk]


def test_events_of_other_objects_are_claimed_together(integration):
    for _ in range(3):
        WorkItemFactory(tenant=integration.tenant)

    assert len(claimed_ids()) == 3


def test_a_claim_looks_each_candidate_up_once_in_the_object_order_index_without_planner_statistics(integration):
    """Right after a burst the table has no statistics; the claim must not compare every
    candidate with every other pending sync (that was 750 ms for a backlog of 1000)."""
    backlog = 300
    syncs_made(integration, count=backlog)
    sql, params = claim.claim_statement(limit=100, until=until(), blocked=[], only=None, now=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        (plan,) = cursor.fetchone()

    def rows_read(node: dict) -> int:
        own = node["Actual Rows"] * node["Actual Loops"] if node.get("Index Name") == "sync_object_order_idx" else 0
        return own + sum(rows_read(child) for child in node.get("Plans", []))

    assert rows_read((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]) <= 2 * backlog


def test_a_claim_takes_each_integrations_first_sync_before_any_integrations_second(tenant):
    busy = TenantIntegrationFactory(tenant=tenant, name="Busy", config={"url": URL})
    syncs_made(busy, count=50)
    other_tenant = TenantFactory(slug="quiet")
    quiet = TenantIntegrationFactory(tenant=other_tenant, name="Quiet", config={"url": OTHER_URL})
    (fresh,) = syncs_made(quiet)

    assert fresh.pk in claimed_ids(limit=2)


def test_a_rate_limited_integration_gets_only_what_its_limit_allows_in_a_batch(integration, settings):
    settings.SYNC_RATE_WINDOW_SECONDS = 2
    integration.rate_limit_per_second = 1.5
    integration.save()
    syncs_made(integration, count=10)

    assert len(claimed_ids()) == 3


def test_an_integration_whose_circuit_is_open_or_that_is_paused_is_left_alone(integration):
    syncs_made(integration, count=2)

    assert claimed_ids_blocking(integration) == []
    resilience.rate_limit_pause(integration, 30)
    assert [i.sync_id for i in syncs_claim(limit=10, until=until(), blocked=resilience.blocked_integrations())] == []


def claimed_ids_blocking(integration) -> list[int]:
    return [item.sync_id for item in syncs_claim(limit=10, until=until(), blocked=[integration.pk])]


def test_the_embedded_claim_selects_like_the_postgresql_one(integration, tenant):
    workitem = WorkItemFactory(tenant=tenant)
    services.workitem_update(workitem=workitem, status="Closed")
    WorkItemFactory(tenant=tenant)
    other = TenantIntegrationFactory(tenant=tenant, name="Other", config={"url": OTHER_URL}, rate_limit_per_second=0.5)
    syncs_made(other, count=3)
    expected = claimed_ids()
    IntegrationSync.objects.update(claimed_until=None)

    portable = claim._claim_portable(limit=100, until=until(), blocked=[], only=None, now=timezone.now())

    assert sorted(item.sync_id for item in portable) == sorted(expected)
    assert len(expected) == 3  # the first event of each work item, one of the rate-limited integration


def test_a_batch_of_a_hundred_is_claimed_and_recorded_in_a_handful_of_statements(receiver, integration):
    for _ in range(100):
        WorkItemFactory(tenant=integration.tenant)

    with CaptureQueriesContext(connection) as queries:
        delivery.syncs_drain()

    assert IntegrationSync.objects.filter(status="synced").count() == 100
    assert WorkItemNote.objects.filter(kind="system").count() == 100
    statements = [query for query in queries.captured_queries if not query["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) / 100 <= 0.2, [query["sql"][:80] for query in statements]


def test_a_drain_goes_on_until_nothing_is_due_and_follows_each_objects_order(receiver, integration, settings):
    settings.SYNC_BATCH_SIZE = 5
    workitems = [WorkItemFactory(tenant=integration.tenant) for _ in range(6)]
    for workitem in workitems:
        services.workitem_update(workitem=workitem, status="Closed")

    delivery.syncs_drain()

    assert IntegrationSync.objects.exclude(status="synced").count() == 0
    sent = [json.loads(call.request.body) for call in receiver.calls]
    for workitem in workitems:
        events = [body["event_type"] for body in sent if body["workitem"]["id"] == workitem.pk]
        assert events == ["workitem_created", "workitem_status_changed"]


def test_a_drain_stops_claiming_an_integration_whose_bulkhead_is_full_while_others_go_on(
    receiver, tenant, integration, settings
):
    """Every place of `integration` is taken by other workers: its syncs are set back once,
    then left out of this drain's claims, instead of filling every batch and being set back
    again and again (they stay due: a set-back is shorter than the claim's early margin)."""
    settings.SYNC_BATCH_SIZE, settings.SYNC_DRAIN_SECONDS = 20, 1.0
    for number in range(settings.INTEGRATION_MAX_IN_FLIGHT):
        assert resilience.inflight_acquire(integration, f"another-worker:{number}")
    syncs_made(integration, count=50)
    other = TenantIntegrationFactory(tenant=tenant, name="Other", config={"url": OTHER_URL})
    syncs_made(other, count=60)

    with CaptureQueriesContext(connection) as queries:
        delivery.syncs_drain()

    assert IntegrationSync.objects.filter(integration=other, status="synced").count() == 60
    assert IntegrationSync.objects.filter(integration=integration, status="pending", attempts=0).count() == 50
    claims = [query for query in queries.captured_queries if "WITH candidates" in query["sql"]]
    assert len(claims) <= 6  # 10 + 20 + 20 + 10 of `other`, and the one that finds nothing


def test_a_fresh_event_of_another_tenant_is_not_held_back_by_a_backlog(receiver, tenant, settings):
    """10,000 events of one tenant are waiting; another tenant's new one goes in the next batch."""
    settings.SYNC_BATCH_SIZE = 100
    busy = TenantIntegrationFactory(tenant=tenant, name="Busy", config={"url": URL})
    syncs_made(busy, count=10_000)
    quiet = TenantIntegrationFactory(tenant=TenantFactory(slug="quiet"), name="Quiet", config={"url": OTHER_URL})
    fresh = WorkItemFactory(tenant=quiet.tenant)

    first_batch = claimed_ids(limit=settings.SYNC_BATCH_SIZE)

    assert IntegrationSync.objects.get(integration=quiet, object_id=fresh.pk).pk in first_batch


@pytest.fixture
def broker_queue(settings):
    """The real broker (Redis) instead of eager tasks: how many messages wait in the queue."""
    celery_app.conf.task_always_eager = False
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("celery")
    dispatch.wake_taken()
    yield lambda: client.llen("celery")
    client.delete("celery")
    dispatch.wake_taken()  # the queued flag would hold back the next tests' wake-ups
    celery_app.conf.task_always_eager = True


def test_one_commit_of_many_events_sends_one_wake_up(integration, committed, broker_queue):
    with committed():
        for _ in range(50):
            WorkItemFactory(tenant=integration.tenant)

    assert broker_queue() == 1


def test_commits_add_no_wake_up_while_one_waits_for_a_worker(integration, committed, broker_queue):
    for _ in range(3):
        with committed():
            WorkItemFactory(tenant=integration.tenant)

    assert broker_queue() == 1


def test_a_commit_after_a_worker_took_the_wake_up_sends_its_own(integration, committed, broker_queue):
    with committed():
        WorkItemFactory(tenant=integration.tenant)
    dispatch.wake_taken()  # what a worker does when it starts on the wake-up

    with committed():
        WorkItemFactory(tenant=integration.tenant)

    assert broker_queue() == 2


def test_a_replay_of_many_syncs_costs_the_request_one_wake_up(integration, committed, broker_queue):
    for _ in range(5):
        WorkItemFactory(tenant=integration.tenant)
    broker_queue_before = broker_queue()

    with committed():
        count = sweep.syncs_retry_now(syncs=IntegrationSync.objects.all(), include_synced=True)

    assert (count, broker_queue() - broker_queue_before) == (5, 1)
