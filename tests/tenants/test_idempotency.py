"""Idempotency-Key on API writes: the first answer is replayed to retries of the same request,
per (tenant, user, key), for IDEMPOTENCY_KEY_TTL_HOURS."""

import datetime

import pytest
from django.utils import timezone

from integrations.models import IntegrationSync
from tenants.idempotency import idempotency_keys_prune
from tenants.models import IdempotencyKey
from tenants.tasks import prune_idempotency_keys
from tests.conftest import token_client
from tests.factories import MembershipFactory, TenantIntegrationFactory, WorkItemFactory
from workitems.models import WorkItem

LIST_URL = "/api/v1/workitems/"
KEY = "3f0c9b9e-6a55-4f1c-9d1e-0c2d7c1d5a11"


def post(client, body, key=KEY, **extra):
    return client.post(LIST_URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key, **extra)


@pytest.fixture
def integration(tenant):
    return TenantIntegrationFactory(tenant=tenant)


def test_a_retried_create_makes_one_workitem_and_one_event(api, tenant, integration):
    first = post(api, {"description": "Cracked screen"})
    retry = post(api, {"description": "Cracked screen"})

    assert WorkItem.objects.count() == 1
    assert IntegrationSync.objects.values("event_id").distinct().count() == 1
    assert (retry.status_code, retry.content) == (first.status_code, first.content) == (201, first.content)


def test_a_replayed_answer_says_so_and_the_first_does_not(api, tenant):
    first = post(api, {"description": "Cracked screen"})
    retry = post(api, {"description": "Cracked screen"})

    assert "Idempotent-Replayed" not in first
    assert retry["Idempotent-Replayed"] == "true"
    assert retry["Content-Type"] == "application/json"


def test_the_same_key_with_another_body_is_a_422_and_changes_nothing(api, tenant):
    post(api, {"description": "Cracked screen"})

    response = post(api, {"description": "Battery"})

    assert response.status_code == 422
    assert "Idempotency-Key" in response.data["detail"]
    assert list(WorkItem.objects.values_list("description", flat=True)) == ["Cracked screen"]


def test_the_same_key_on_another_path_is_a_422(api, tenant):
    workitem = WorkItemFactory(tenant=tenant)
    api.patch(f"{LIST_URL}{workitem.pk}/", {"status": "Closed"}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    response = api.patch(f"{LIST_URL}{workitem.pk + 1}/", {"status": "Closed"}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert response.status_code == 422


def test_a_retried_patch_is_replayed_even_after_another_change(api, tenant):
    workitem = WorkItemFactory(tenant=tenant)
    url = f"{LIST_URL}{workitem.pk}/"
    first = api.patch(url, {"status": "In Progress"}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    api.patch(url, {"status": "Closed"}, format="json")

    retry = api.patch(url, {"status": "In Progress"}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert retry.content == first.content
    workitem.refresh_from_db()
    assert workitem.status == "Closed"


def test_a_retried_delete_answers_204_again(tenant, owner):
    client = token_client(owner)
    workitem = WorkItemFactory(tenant=tenant)
    url = f"{LIST_URL}{workitem.pk}/"
    client.delete(url, HTTP_IDEMPOTENCY_KEY=KEY)

    retry = client.delete(url, HTTP_IDEMPOTENCY_KEY=KEY)

    assert (retry.status_code, retry["Idempotent-Replayed"]) == (204, "true")


def test_a_key_is_per_user(api, tenant, member):
    post(api, {"description": "Owner's"})

    response = post(token_client(member), {"description": "Member's"})

    assert response.status_code == 201
    assert WorkItem.objects.count() == 2


def test_a_key_is_per_tenant(tenant, other_tenant, owner):
    MembershipFactory(user=owner, tenant=other_tenant)
    client = token_client(owner)
    post(client, {"description": "Acme"}, HTTP_X_TENANT="acme")

    response = post(client, {"description": "Globex"}, HTTP_X_TENANT="globex")

    assert response.status_code == 201
    assert WorkItem.objects.filter(tenant=other_tenant).count() == 1


def test_an_expired_key_runs_the_request_again(api, tenant):
    post(api, {"description": "Cracked screen"})
    IdempotencyKey.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    response = post(api, {"description": "Cracked screen"})

    assert "Idempotent-Replayed" not in response
    assert WorkItem.objects.count() == 2


def test_a_key_is_kept_for_the_configured_hours(api, tenant, settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 2
    before = timezone.now()

    post(api, {"description": "Cracked screen"})

    kept_for = IdempotencyKey.objects.get().expires_at - before
    assert datetime.timedelta(hours=2) <= kept_for < datetime.timedelta(hours=2, seconds=30)


def test_a_rejected_request_is_replayed_too(api, tenant):
    first = post(api, {"description": "", "status": "Bogus"})
    retry = post(api, {"description": "", "status": "Bogus"})

    assert (first.status_code, retry.status_code) == (400, 400)
    assert retry.content == first.content


def test_a_request_that_crashed_leaves_no_key_behind(api, tenant, monkeypatch):
    def crash(**fields):
        raise RuntimeError("boom")

    monkeypatch.setattr("workitems.api.views.services.workitem_create", crash)
    api.raise_request_exception = False
    assert post(api, {"description": "Cracked screen"}).status_code == 500
    monkeypatch.undo()

    response = post(api, {"description": "Cracked screen"})

    assert "Idempotent-Replayed" not in response
    assert response.status_code == 201


def test_a_key_that_is_not_visible_ascii_is_a_400(api, tenant):
    response = post(api, {"description": "Cracked screen"}, key="with space")

    assert response.status_code == 400
    assert "Idempotency-Key" in response.data
    assert not WorkItem.objects.exists()


def test_a_read_ignores_the_header(api, tenant):
    response = api.get(LIST_URL, HTTP_IDEMPOTENCY_KEY=KEY)

    assert response.status_code == 200
    assert not IdempotencyKey.objects.exists()


def test_an_outsider_with_the_same_key_gets_their_own_answer(api, outsider_api, tenant, other_tenant):
    post(api, {"description": "Acme"})

    response = post(outsider_api, {"description": "Globex"})

    assert response.status_code == 201
    assert response.data["description"] == "Globex"


def test_expired_keys_are_pruned_and_live_ones_kept(api, tenant):
    post(api, {"description": "Old"}, key="old")
    post(api, {"description": "New"}, key="new")
    IdempotencyKey.objects.filter(key="old").update(expires_at=timezone.now() - datetime.timedelta(minutes=1))

    assert prune_idempotency_keys() == 1

    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    assert idempotency_keys_prune() == 0


def test_the_schema_documents_the_header_on_writes_only(client, db):
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]

    def headers(method: str) -> set[str]:
        return {p["name"] for p in paths["/api/v1/workitems/"][method]["parameters"] if p["in"] == "header"}

    assert headers("post") == {"X-Tenant", "Idempotency-Key"}
    assert headers("get") == {"X-Tenant"}
