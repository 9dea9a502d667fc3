"""/api/v1/syncs/: the tenant's deliveries with their attempts, filtered; retry and replay by
ids or by filter, answering how many were queued."""

import datetime

import pytest
from django.utils import timezone

from integrations.models import IntegrationSync, SyncAttempt
from tests.factories import TenantIntegrationFactory, WorkItemFactory
from workitems import services
from workitems.models import WorkItem

LIST_URL = "/api/v1/syncs/"
Status = IntegrationSync.Status


@pytest.fixture
def history(tenant, webhook):
    """Two work items to one webhook: `a` created (synced with one attempt, two days ago) and
    moved (failed); `b` created (pending). Plus a test event."""
    a = WorkItemFactory(tenant=tenant)
    b = WorkItemFactory(tenant=tenant)
    services.workitem_update(workitem=a, status=WorkItem.Status.IN_PROGRESS)
    a_created = IntegrationSync.objects.get(object_id=a.pk, event__event_type="workitem_created")
    a_moved = IntegrationSync.objects.get(object_id=a.pk, event__event_type="workitem_status_changed")
    IntegrationSync.objects.filter(pk=a_created.pk).update(
        status=Status.SYNCED, attempts=1, created_at=timezone.now() - datetime.timedelta(days=2)
    )
    SyncAttempt.objects.create(
        sync=a_created, number=1, started_at=timezone.now(), duration_ms=12, succeeded=True, status_code=200
    )
    IntegrationSync.objects.filter(pk=a_moved.pk).update(status=Status.FAILED, attempts=8, last_error="HTTP 500")
    return {
        "a": a,
        "b": b,
        "a_created": a_created,
        "a_moved": a_moved,
        "b_created": IntegrationSync.objects.get(object_id=b.pk),
    }


def ids(response) -> list[int]:
    return [row["id"] for row in response.data["results"]]


def test_the_list_is_newest_first_with_each_syncs_attempts(api, history):
    response = api.get(LIST_URL)

    assert response.status_code == 200
    assert ids(response) == [history["a_moved"].pk, history["b_created"].pk, history["a_created"].pk]
    oldest = response.data["results"][2]
    assert (oldest["workitem"], oldest["status"], oldest["event_type"]) == (
        history["a"].pk,
        "synced",
        "workitem_created",
    )
    assert [(row["number"], row["succeeded"], row["status_code"]) for row in oldest["attempt_log"]] == [(1, True, 200)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "failed"}, ["a_moved"]),
        ({"status": ["failed", "pending"]}, ["a_moved", "b_created"]),
        ({"event_type": "workitem_created"}, ["b_created", "a_created"]),
        ({"workitem": "A"}, ["a_moved", "a_created"]),
        ({"created_before": "ONE_DAY_AGO"}, ["a_created"]),
        ({"created_after": "ONE_DAY_AGO"}, ["a_moved", "b_created"]),
    ],
)
def test_the_list_filters(api, history, query, expected):
    one_day_ago = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    query = {
        key: {"A": history["a"].pk, "ONE_DAY_AGO": one_day_ago}.get(value, value) if isinstance(value, str) else value
        for key, value in query.items()
    }

    response = api.get(LIST_URL, query)

    assert ids(response) == [history[name].pk for name in expected]


def test_the_list_filters_by_integration(api, tenant, history):
    other = TenantIntegrationFactory(tenant=tenant)
    later = WorkItemFactory(tenant=tenant)

    response = api.get(LIST_URL, {"integration": other.pk})

    assert ids(response) == list(
        IntegrationSync.objects.filter(integration=other, object_id=later.pk).values_list("id", flat=True)
    )


def test_a_bad_filter_value_is_a_400_on_it(api, history):
    response = api.get(LIST_URL, {"status": "lost"})

    assert (response.status_code, list(response.data)) == (400, ["status"])


def test_one_sync_shows_its_payload(api, history):
    sync = history["b_created"]

    response = api.get(f"{LIST_URL}{sync.pk}/")

    assert response.data["payload"] == sync.event.payload
    assert response.data["event_id"] == str(sync.event.event_id)


def test_retry_by_ids_queues_the_failed_and_pending_ones(api, history):
    chosen = [history["a_moved"].pk, history["a_created"].pk, history["b_created"].pk]

    response = api.post(f"{LIST_URL}retry/", {"ids": chosen}, format="json")

    assert response.data == {"queued": 2}
    moved = IntegrationSync.objects.get(pk=history["a_moved"].pk)
    assert (moved.status, moved.attempts) == ("pending", 0)
    assert IntegrationSync.objects.get(pk=history["a_created"].pk).status == "synced"


def test_replay_by_filter_sends_synced_ones_again_with_their_event_id(api, history):
    created = history["a_created"]

    response = api.post(f"{LIST_URL}replay/", {"filter": {"status": "synced"}}, format="json")

    assert response.data == {"queued": 1}
    replayed = IntegrationSync.objects.get(pk=created.pk)
    assert (replayed.status, replayed.event.event_id) == ("pending", created.event.event_id)


def test_retry_by_filter_takes_the_lists_criteria(api, history):
    body = {"filter": {"status": ["failed"], "workitem": history["a"].pk, "event_type": ["workitem_status_changed"]}}

    response = api.post(f"{LIST_URL}retry/", body, format="json")

    assert response.data == {"queued": 1}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "non_field_errors"),
        ({"ids": [1], "filter": {"status": "failed"}}, "non_field_errors"),
        ({"filter": {}}, "filter"),
        ({"filter": {"colour": "red"}}, "filter.colour"),
        ({"filter": {"status": "lost"}}, "filter.status"),
        ({"filter": {"created_after": "yesterday"}}, "filter.created_after"),
        ({"ids": []}, "ids"),
        ({"ids": ["x"]}, "ids"),
    ],
)
def test_a_bad_selection_is_a_400(api, history, body, field):
    response = api.post(f"{LIST_URL}retry/", body, format="json")

    assert response.status_code == 400
    assert field in response.data, response.data


def test_another_tenants_sync_id_is_a_400_and_nothing_is_queued(api, history, other_tenant):
    TenantIntegrationFactory(tenant=other_tenant)
    WorkItemFactory(tenant=other_tenant)
    foreign = IntegrationSync.objects.get(integration__tenant=other_tenant)
    IntegrationSync.objects.filter(pk=foreign.pk).update(status=Status.FAILED)

    response = api.post(f"{LIST_URL}retry/", {"ids": [history["a_moved"].pk, foreign.pk]}, format="json")

    assert response.status_code == 400
    assert str(foreign.pk) in str(response.data["ids"])
    assert IntegrationSync.objects.get(pk=foreign.pk).status == "failed"
    assert IntegrationSync.objects.get(pk=history["a_moved"].pk).status == "failed"


def test_a_member_reads_syncs_but_cannot_retry(member_api, history):
    assert member_api.get(LIST_URL).status_code == 200

    response = member_api.post(f"{LIST_URL}retry/", {"ids": [history["a_moved"].pk]}, format="json")

    assert response.status_code == 403
    assert IntegrationSync.objects.get(pk=history["a_moved"].pk).status == "failed"


def test_an_outsider_sees_none_of_the_syncs(outsider_api, history):
    assert outsider_api.get(LIST_URL).data["results"] == []
    assert outsider_api.get(f"{LIST_URL}{history['a_moved'].pk}/").status_code == 404


def test_an_outsiders_filter_replays_nothing_of_another_tenant(outsider_api, history):
    response = outsider_api.post(f"{LIST_URL}replay/", {"filter": {"status": ["synced", "failed"]}}, format="json")

    assert response.data == {"queued": 0}
    assert IntegrationSync.objects.get(pk=history["a_created"].pk).status == "synced"
