"""The integration admin shows circuit state and pauses, and lets operators reset and resume."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from integrations.engine import resilience
from integrations.models import TenantIntegration
from tests.factories import TenantIntegrationFactory

CHANGELIST = reverse("admin:integrations_tenantintegration_changelist")


@pytest.fixture
def integration(tenant):
    return TenantIntegrationFactory(tenant=tenant, name="Flaky receiver")


def open_circuit(integration) -> None:
    for _ in range(5):
        resilience.circuit_record(integration, error_class="http_5xx")


def test_the_list_shows_an_open_circuit(superuser_client, integration):
    open_circuit(integration)

    page = superuser_client.get(CHANGELIST)

    assert "Open: deliveries wait until" in page.text


def test_a_healthy_integration_shows_a_closed_circuit(superuser_client, integration):
    assert "Closed (healthy)" in superuser_client.get(CHANGELIST).text


def test_reset_circuit_closes_it(superuser_client, integration):
    open_circuit(integration)

    superuser_client.post(CHANGELIST, {"action": "reset_circuit", "_selected_action": [integration.pk], "index": "0"})

    assert resilience.circuit_state(integration).state == "closed"


def test_reset_circuit_also_clears_a_rate_limit_pause(superuser_client, integration):
    resilience.rate_limit_pause(integration, 3600)

    page = superuser_client.post(
        CHANGELIST, {"action": "reset_circuit", "_selected_action": [integration.pk], "index": "0"}, follow=True
    )

    assert resilience.rate_limit_wait(integration) == 0
    assert "rate-limit pause cleared for 1 integration(s)" in page.text


def test_a_paused_integration_is_announced_on_the_list(superuser_client, integration):
    TenantIntegration.objects.filter(pk=integration.pk).update(
        is_active=False, paused_reason="Paused automatically on 2026-11-20: every delivery has failed."
    )

    page = superuser_client.get(CHANGELIST)

    shown = [str(message) for message in get_messages(page.wsgi_request)]
    assert any("Flaky receiver" in text and "Paused automatically" in text for text in shown)


def test_reactivating_clears_the_pause_and_the_failure_streak(superuser_client, integration):
    TenantIntegration.objects.filter(pk=integration.pk).update(
        is_active=False,
        paused_reason="Paused automatically.",
        failing_since=timezone.now() - datetime.timedelta(days=4),
    )
    url = reverse("admin:integrations_tenantintegration_change", args=[integration.pk])
    data = {
        "tenant": integration.tenant.pk,
        "name": integration.name,
        "integration_type": "webhook",
        "event_types": ["workitem_created"],
        "is_active": "on",
        "max_attempts": "8",
        "retry_backoff_seconds": "600",
        "rate_limit_per_second": "2.5",
        "cfg_url": "https://receiver.example.com/hook",
    }

    response = superuser_client.post(url, data)

    integration.refresh_from_db()
    assert response.status_code == 302
    assert (integration.is_active, integration.paused_reason, integration.failing_since) == (True, "", None)
    assert integration.rate_limit_per_second == 2.5


def test_the_list_runs_a_bounded_number_of_queries(superuser_client, tenant, django_assert_max_num_queries):
    for _ in range(10):
        TenantIntegrationFactory(tenant=tenant)

    with django_assert_max_num_queries(12):
        superuser_client.get(CHANGELIST)
