"""Delivering one sync through the webhook connector: the exact request, and what the
engine records for each answer (HTTP faked with `responses`)."""

import base64
import datetime
import json
import os
import socket
import threading

import pytest
import requests
import responses
from django.test import Client
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from integrations.engine import metrics
from integrations.engine.delivery import DeliveryVerdict, sync_deliver
from integrations.models import IntegrationSync, SyncAttempt
from tests.factories import TenantIntegrationFactory, WorkItemFactory
from workitems.models import WorkItemNote

URL = "https://n8n.example.com/webhook/fieldhook"
API_KEY = "key-7d1c2a9e4b"
PASSWORD = "pw-horse-battery"


@pytest.fixture
def receiver():
    """Every HTTP call is faked; an unregistered one fails as a connection error."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def signing_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def integration(tenant, signing_secret):
    return TenantIntegrationFactory(
        tenant=tenant,
        name="n8n production",
        config={"url": URL, "sign": True, "basic_username": "fieldhook"},
        secrets={"headers": {"X-API-Key": API_KEY}, "basic_password": PASSWORD, "signing_secret": signing_secret},
    )


@pytest.fixture
def sync(integration):
    """A pending workitem_created sync (created without a commit, so nothing was sent yet)."""
    WorkItemFactory(tenant=integration.tenant)
    return IntegrationSync.objects.get(integration=integration)


def refreshed(sync: IntegrationSync) -> IntegrationSync:
    sync.refresh_from_db()
    return sync


def make_due(sync: IntegrationSync) -> None:
    IntegrationSync.objects.filter(pk=sync.pk).update(next_attempt_at=timezone.now() - datetime.timedelta(seconds=5))


def system_notes(sync: IntegrationSync) -> list[str]:
    return list(
        WorkItemNote.objects.filter(workitem_id=sync.object_id, kind=WorkItemNote.Kind.SYSTEM).values_list(
            "body", flat=True
        )
    )


def test_a_delivered_event_is_marked_synced(receiver, sync):
    receiver.add(responses.POST, URL, json={"received": True})

    assert sync_deliver(sync_id=sync.pk) == "synced"

    sync = refreshed(sync)
    assert (sync.status, sync.attempts, sync.last_status_code, sync.last_error) == ("synced", 1, 200, "")
    assert sync.synced_at is not None
    (attempt,) = SyncAttempt.objects.filter(sync=sync)
    assert (attempt.number, attempt.succeeded, attempt.status_code, attempt.error_class) == (1, True, 200, "")
    assert system_notes(sync) == ["Sent workitem_created to n8n production."]


def test_the_request_posts_the_payload_with_the_event_id_as_webhook_id(receiver, sync):
    receiver.add(responses.POST, URL, json={"received": True})

    sync_deliver(sync_id=sync.pk)

    (call,) = receiver.calls
    assert call.request.url == URL
    assert call.request.headers["Content-Type"] == "application/json"
    assert call.request.headers["webhook-id"] == str(sync.event.event_id)
    assert json.loads(call.request.body) == sync.event.payload


def test_the_request_carries_the_secret_headers_and_basic_auth(receiver, sync):
    receiver.add(responses.POST, URL, json={"received": True})

    sync_deliver(sync_id=sync.pk)

    headers = receiver.calls[0].request.headers
    assert headers["X-API-Key"] == API_KEY
    assert headers["Authorization"] == "Basic " + base64.b64encode(f"fieldhook:{PASSWORD}".encode()).decode()


def test_a_signed_delivery_verifies_with_standard_webhooks(receiver, integration, signing_secret):
    WorkItemFactory(tenant=integration.tenant, description="Écran cassé — urgent ✓")
    sync = IntegrationSync.objects.get(integration=integration)
    receiver.add(responses.POST, URL, json={"received": True})

    sync_deliver(sync_id=sync.pk)

    request = receiver.calls[0].request
    assert Webhook(signing_secret).verify(request.body, dict(request.headers)) == sync.event.payload


def test_an_unsigned_delivery_has_no_signature_or_basic_auth(receiver, tenant):
    integration = TenantIntegrationFactory(tenant=tenant, config={"url": URL, "sign": False})
    WorkItemFactory(tenant=tenant)
    receiver.add(responses.POST, URL, json={"received": True})

    sync_deliver(sync_id=IntegrationSync.objects.get(integration=integration).pk)

    headers = receiver.calls[0].request.headers
    assert {"webhook-signature", "webhook-timestamp", "Authorization"}.isdisjoint(headers)


def test_it_retries_after_a_500(receiver, sync):
    receiver.add(responses.POST, URL, status=500, body="boom")
    before = timezone.now()

    assert sync_deliver(sync_id=sync.pk) == "retry_scheduled"

    sync = refreshed(sync)
    assert (sync.status, sync.attempts, sync.last_status_code) == ("pending", 1, 500)
    assert sync.last_error == "The receiver failed with HTTP 500."
    assert before < sync.next_attempt_at <= timezone.now() + datetime.timedelta(seconds=600)
    assert SyncAttempt.objects.get(sync=sync).error_class == "http_5xx"
    assert system_notes(sync) == []


def test_a_due_retry_that_succeeds_is_synced_with_one_note(receiver, sync):
    receiver.add(responses.POST, URL, status=500)
    receiver.add(responses.POST, URL, json={"received": True})
    sync_deliver(sync_id=sync.pk)
    make_due(sync)

    assert sync_deliver(sync_id=sync.pk) == "synced"

    sync = refreshed(sync)
    assert (sync.status, sync.attempts, sync.last_error) == ("synced", 2, "")
    assert list(SyncAttempt.objects.filter(sync=sync).values_list("number", "succeeded")) == [(1, False), (2, True)]
    assert len(system_notes(sync)) == 1


def test_a_retry_is_not_sent_before_it_is_due(receiver, sync):
    receiver.add(responses.POST, URL, status=503)
    sync_deliver(sync_id=sync.pk)
    IntegrationSync.objects.filter(pk=sync.pk).update(next_attempt_at=timezone.now() + datetime.timedelta(hours=1))

    assert sync_deliver(sync_id=sync.pk) == "not_due"

    assert (len(receiver.calls), refreshed(sync).attempts) == (1, 1)


def test_a_400_fails_at_once_with_a_note(receiver, sync):
    receiver.add(responses.POST, URL, status=400, json={"error": "bad payload"})

    assert sync_deliver(sync_id=sync.pk) == "failed"

    sync = refreshed(sync)
    assert (sync.status, sync.attempts, sync.last_status_code) == ("failed", 1, 400)
    assert system_notes(sync) == [
        "Could not send workitem_created to n8n production (permanent error): "
        "The receiver rejected the request (HTTP 400)."
    ]


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_credential_fails_as_an_auth_error(receiver, sync, status):
    receiver.add(responses.POST, URL, status=status)

    sync_deliver(sync_id=sync.pk)

    assert refreshed(sync).status == "failed"
    assert SyncAttempt.objects.get(sync=sync).error_class == "auth"
    assert "refused our credentials" in refreshed(sync).last_error


def test_a_429_waits_at_least_its_retry_after(receiver, sync):
    receiver.add(responses.POST, URL, status=429, headers={"Retry-After": "120"})
    before = timezone.now()

    sync_deliver(sync_id=sync.pk)

    sync = refreshed(sync)
    assert (sync.status, sync.attempts) == ("pending", 1)
    assert sync.next_attempt_at >= before + datetime.timedelta(seconds=120)
    assert SyncAttempt.objects.get(sync=sync).error_class == "http_429"


def test_it_retries_after_a_connection_error(receiver, sync):
    receiver.add(responses.POST, URL, body=requests.ConnectionError("[Errno 111] Connection refused"))

    assert sync_deliver(sync_id=sync.pk) == "retry_scheduled"

    sync = refreshed(sync)
    assert (sync.status, sync.last_status_code) == ("pending", None)
    assert sync.last_error == "Could not connect to n8n.example.com: connection refused"
    assert SyncAttempt.objects.get(sync=sync).error_class == "connection"


@pytest.mark.parametrize("error", [requests.Timeout, requests.ReadTimeout, requests.ConnectTimeout])
def test_it_retries_after_a_timeout(receiver, sync, error):
    receiver.add(responses.POST, URL, body=error("too slow"))

    assert sync_deliver(sync_id=sync.pk) == "retry_scheduled"

    assert refreshed(sync).last_error == "Timed out talking to n8n.example.com."
    assert SyncAttempt.objects.get(sync=sync).error_class == "timeout"


def test_it_fails_after_the_last_attempt(receiver, sync, integration):
    integration.max_attempts = 3
    integration.save()
    receiver.add(responses.POST, URL, status=503)

    verdicts = []
    for _ in range(3):
        verdicts.append(sync_deliver(sync_id=sync.pk))
        make_due(sync)

    assert verdicts == ["retry_scheduled", "retry_scheduled", "failed"]
    sync = refreshed(sync)
    assert (sync.status, sync.attempts, SyncAttempt.objects.filter(sync=sync).count()) == ("failed", 3, 3)
    assert system_notes(sync) == [
        "Could not send workitem_created to n8n production (3 attempts): The receiver failed with HTTP 503."
    ]


def test_an_n8n_webhook_that_is_not_registered_fails_with_a_hint(receiver, sync):
    message = 'The requested webhook "POST fieldhook" is not registered.'
    receiver.add(responses.POST, URL, status=404, json={"code": 404, "message": message})

    assert sync_deliver(sync_id=sync.pk) == "failed"

    sync = refreshed(sync)
    assert (sync.attempts, sync.last_status_code) == (1, 404)
    assert "production URL (/webhook/…)" in sync.last_error
    assert "production URL" in system_notes(sync)[0]


def test_a_redirect_is_not_followed_and_fails(receiver, sync):
    receiver.add(responses.POST, URL, status=302, headers={"Location": "https://elsewhere.example.com/hook"})
    receiver.add(responses.POST, "https://elsewhere.example.com/hook", json={"received": True})
    receiver.add(responses.GET, "https://elsewhere.example.com/hook", json={"received": True})

    assert sync_deliver(sync_id=sync.pk) == "failed"

    assert [call.request.url for call in receiver.calls] == [URL]
    assert "redirect (HTTP 302) to https://elsewhere.example.com/hook" in refreshed(sync).last_error
    assert SyncAttempt.objects.get(sync=sync).error_class == "config"


def test_secrets_echoed_by_the_receiver_are_redacted(receiver, sync):
    authorization = base64.b64encode(f"fieldhook:{PASSWORD}".encode()).decode()
    echo = f"bad request: X-API-Key={API_KEY} Authorization=Basic {authorization} password={PASSWORD}"
    receiver.add(responses.POST, URL, status=422, body=echo)

    sync_deliver(sync_id=sync.pk)

    excerpt = SyncAttempt.objects.get(sync=sync).response_excerpt
    assert excerpt == "bad request: X-API-Key=[redacted] Authorization=Basic [redacted] password=[redacted]"


def test_a_secret_cut_off_at_the_end_of_the_excerpt_is_redacted(receiver, sync):
    receiver.add(responses.POST, URL, status=422, body="x" * 490 + f"{API_KEY} was not accepted")

    sync_deliver(sync_id=sync.pk)

    excerpt = SyncAttempt.objects.get(sync=sync).response_excerpt
    assert excerpt == "x" * 490 + "[redacted]"


@pytest.fixture
def truncating_receiver():
    """A real server that promises 100 bytes of answer and hangs up after 5."""
    server = socket.create_server(("127.0.0.1", 0))

    def answer_once() -> None:
        connection, _ = server.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")

    thread = threading.Thread(target=answer_once, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    thread.join(5)
    server.close()


def test_an_answer_cut_off_mid_body_is_a_retryable_connection_error(tenant, truncating_receiver):
    TenantIntegrationFactory(tenant=tenant, config={"url": truncating_receiver})
    WorkItemFactory(tenant=tenant)
    sync = IntegrationSync.objects.get()

    assert sync_deliver(sync_id=sync.pk) == "retry_scheduled"

    assert sync.attempt_log.get().error_class == "connection"


def test_the_log_line_and_the_metrics_label_carry_the_verdicts_plain_value(receiver, sync, caplog, settings):
    """Operators' log searches and dashboards use today's strings, not enum member names."""
    receiver.add(responses.POST, URL, status=503)
    settings.REDIS_URL, settings.METRICS_PUBLIC, settings.METRICS_TOKEN = "", True, ""  # counts kept in this process
    metrics.reset_process_state()

    with caplog.at_level("INFO", logger="integrations.delivery"):
        verdict = sync_deliver(sync_id=sync.pk)
    scraped = Client().get("/metrics").text
    metrics.reset_process_state()

    assert (type(verdict), verdict) == (DeliveryVerdict, "retry_scheduled")
    assert "outcome=retry_scheduled status=503" in caplog.text
    labels = f'integration="{sync.integration_id}",kind="webhook",outcome="retry_scheduled"'
    assert f"fieldhook_deliveries_total{{{labels}}} 1.0" in scraped
