"""Actions on one integration: test the connection (also as test-credentials), send a test
event, pause and resume, rotate the signing secret, backfill."""

import pytest
import responses

from integrations.models import IntegrationSync, TenantIntegration
from tests.factories import TenantIntegrationFactory, WorkItemFactory
from tests.integrations.api.conftest import RECEIVER
from tests.integrations.conftest import RECEIVER_URL
from workitems.models import WorkItem


def action_url(integration: TenantIntegration, action: str) -> str:
    return f"/api/v1/integrations/{integration.pk}/{action}/"


@pytest.mark.parametrize("action", ["test", "test-credentials"])
@responses.activate
def test_testing_the_connection_answers_what_the_check_found(api, webhook, action):
    responses.head(RECEIVER, status=200)

    response = api.post(action_url(webhook, action))

    assert response.status_code == 200
    assert response.data["ok"] is True
    assert "HTTP 200" in response.data["message"]
    assert responses.calls[0].request.headers["X-API-Key"] == "s3cr3t-header-value"


@responses.activate
def test_a_failed_connection_test_is_ok_false_without_the_secret(api, webhook):
    responses.head(RECEIVER, status=401, body="bad key s3cr3t-header-value")

    response = api.post(action_url(webhook, "test"))

    assert (response.status_code, response.data["ok"]) == (200, False)
    assert "s3cr3t-header-value" not in response.data["message"]


def test_send_test_event_queues_one_through_the_outbox(api, webhook):
    response = api.post(action_url(webhook, "send-test-event"))

    assert response.status_code == 202
    sync = IntegrationSync.objects.get()
    assert (sync.event.event_type, sync.integration, sync.status) == ("integration_test", webhook, "pending")
    assert (response.data["id"], response.data["workitem"], response.data["attempt_log"]) == (sync.pk, None, [])


def test_pause_stops_deliveries_and_says_who(api, webhook, owner):
    response = api.post(action_url(webhook, "pause"))

    webhook.refresh_from_db()
    assert webhook.is_active is False
    assert owner.get_full_name() in webhook.paused_reason
    assert response.data["active"] is False


def test_resume_clears_the_pause_and_sends_waiting_syncs(api, webhook, tenant, django_capture_on_commit_callbacks):
    TenantIntegration.objects.filter(pk=webhook.pk).update(is_active=False, paused_reason="Paused.")
    WorkItemFactory(tenant=tenant)

    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(action_url(webhook, "resume"), {}, format="json")

    webhook.refresh_from_db()
    assert (webhook.is_active, webhook.paused_reason, response.data["active"]) == (True, "", True)
    assert len(callbacks) == 1  # the due syncs, handed to dispatch once committed


def test_resume_with_backfill_sends_open_workitems_the_integration_has_not_received(
    api, webhook, tenant, django_capture_on_commit_callbacks, receiver
):
    TenantIntegration.objects.filter(pk=webhook.pk).update(is_active=False)
    before = WorkItemFactory(tenant=tenant)  # while paused: no sync
    WorkItemFactory(tenant=tenant, status=WorkItem.Status.CLOSED)

    with django_capture_on_commit_callbacks(execute=True):
        api.post(action_url(webhook, "resume"), {"backfill": True}, format="json")

    created = IntegrationSync.objects.filter(integration=webhook, event__event_type="workitem_created")
    assert [sync.object_id for sync in created] == [before.pk]


def test_resume_with_a_bad_flag_is_a_400(api, webhook):
    response = api.post(action_url(webhook, "resume"), {"backfill": "maybe"}, format="json")

    assert (response.status_code, list(response.data)) == (400, ["backfill"])


def test_rotating_the_signing_secret_answers_the_new_one_once(api, webhook):
    response = api.post(action_url(webhook, "rotate-signing-secret"))

    secret = response.data["signing_secret"]
    webhook.refresh_from_db()
    assert secret.startswith("whsec_")
    assert webhook.secrets == {"headers": {"X-API-Key": "s3cr3t-header-value"}, "signing_secret": secret}
    assert secret not in api.get(f"/api/v1/integrations/{webhook.pk}/").content.decode()
    assert api.post(action_url(webhook, "rotate-signing-secret")).data["signing_secret"] != secret


def test_a_kind_without_a_signing_secret_cannot_rotate_one(api, tenant):
    openproject = TenantIntegrationFactory(
        tenant=tenant, integration_type="openproject", config={"base_url": "https://op.example.com", "project": "3"}
    )

    response = api.post(action_url(openproject, "rotate-signing-secret"))

    assert (response.status_code, list(response.data)) == (400, ["kind"])


def test_backfill_with_statuses_and_since(api, webhook, tenant, django_capture_on_commit_callbacks, receiver):
    TenantIntegration.objects.filter(pk=webhook.pk).update(is_active=False)
    closed = WorkItemFactory(tenant=tenant, status=WorkItem.Status.CLOSED)
    WorkItemFactory(tenant=tenant, status=WorkItem.Status.CLOSED, created_date="2020-01-01T00:00:00Z")
    WorkItemFactory(tenant=tenant)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            action_url(webhook, "backfill"), {"statuses": ["Closed"], "since": "2021-01-01T00:00:00Z"}, format="json"
        )

    assert response.status_code == 202
    assert list(IntegrationSync.objects.values_list("object_id", flat=True)) == [closed.pk]


def test_backfill_with_an_unknown_status_is_a_400(api, webhook):
    response = api.post(action_url(webhook, "backfill"), {"statuses": ["Lost"]}, format="json")

    assert (response.status_code, list(response.data)) == (400, ["statuses"])


def test_creating_with_backfill_sends_the_open_workitems(api, tenant, django_capture_on_commit_callbacks, receiver):
    open_item = WorkItemFactory(tenant=tenant)
    WorkItemFactory(tenant=tenant, status=WorkItem.Status.CANCELLED)
    body = {"kind": "webhook", "name": "Late", "events": ["workitem_created"], "config": {"url": RECEIVER_URL}}

    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/integrations/", {**body, "backfill": True}, format="json")

    (sync,) = IntegrationSync.objects.all()
    assert (sync.object_id, sync.event.event_type, sync.status) == (open_item.pk, "workitem_created", "synced")


def test_rotating_with_unreadable_stored_secrets_is_a_400_and_changes_nothing(api, webhook):
    TenantIntegration.objects.filter(pk=webhook.pk).update(secrets_encrypted="not-a-fernet-token")

    response = api.post(action_url(webhook, "rotate-signing-secret"))

    assert (response.status_code, list(response.data)) == (400, ["secrets"])
    webhook.refresh_from_db()
    assert webhook.secrets_encrypted == "not-a-fernet-token"


def test_an_integration_with_unreadable_secrets_is_still_listed(api, webhook):
    TenantIntegration.objects.filter(pk=webhook.pk).update(secrets_encrypted="not-a-fernet-token")

    response = api.get("/api/v1/integrations/")

    assert response.data["results"][0]["secrets_set"] == []
