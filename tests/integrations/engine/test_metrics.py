"""/metrics: delivery counters shared through Redis by every worker, gauges from the database,
the bearer token, and what the labels never carry (names, secrets).

Each test writes under its own Redis key prefix and deletes only those keys afterwards.
"""

import os
import subprocess
import sys
import types
import uuid
from pathlib import Path

import pytest
import redis
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from integrations.engine import metrics
from integrations.models import IntegrationSync, TenantIntegration
from tests.factories import TenantIntegrationFactory, syncs_made

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def metrics_prefix(settings):
    """A key prefix of this test's own; a fresh process state before and after."""
    prefix = f"fieldhook:test-metrics:{uuid.uuid4().hex}"
    settings.METRICS_KEY_PREFIX = prefix
    settings.METRICS_TOKEN = ""
    settings.METRICS_PUBLIC = True  # most tests scrape without a token; access has tests of its own
    redis_url = settings.REDIS_URL
    metrics.reset_process_state()
    yield prefix
    metrics.reset_process_state()
    store = redis.Redis.from_url(redis_url)
    own_keys = list(store.scan_iter(f"{prefix}:*"))
    if own_keys:
        store.delete(*own_keys)


def scrape(**headers) -> str:
    response = Client().get("/metrics", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.text


def value(text: str, sample: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == sample and found.labels == labels:
                return found.value
    return None


def family_names(text: str) -> set[str]:
    return {family.name for family in text_string_to_metric_families(text)}


def observe(*, integration_id: int = 7, outcome: str = "synced", duration: float = 0.2, kind: str = "webhook"):
    metrics.deliveries_observed([metrics.Observation(kind, integration_id, outcome, duration)])


def make_sync(integration: TenantIntegration, status: str) -> IntegrationSync:
    (sync,) = syncs_made(integration, status=status)
    return sync


# --- Delivery counters ---------------------------------------------------------------------


def test_each_delivery_adds_one_to_its_outcome_counter():
    observe()
    assert value(scrape(), "fieldhook_deliveries_total", kind="webhook", integration="7", outcome="synced") == 1

    observe()

    assert value(scrape(), "fieldhook_deliveries_total", kind="webhook", integration="7", outcome="synced") == 2


def test_outcomes_and_integrations_are_counted_apart():
    observe(outcome="synced")
    observe(outcome="retry_scheduled")
    observe(outcome="retry_scheduled")
    observe(integration_id=8, outcome="failed")

    text = scrape()

    counted = {
        (integration, outcome): value(
            text, "fieldhook_deliveries_total", kind="webhook", integration=integration, outcome=outcome
        )
        for integration, outcome in [("7", "synced"), ("7", "retry_scheduled"), ("8", "failed"), ("8", "synced")]
    }
    assert counted == {("7", "synced"): 1, ("7", "retry_scheduled"): 2, ("8", "failed"): 1, ("8", "synced"): None}


def test_durations_fill_cumulative_histogram_buckets():
    for duration in (0.03, 0.05, 0.7, 40.0):
        observe(duration=duration)

    text = scrape()

    buckets = {
        le: value(text, "fieldhook_delivery_duration_seconds_bucket", kind="webhook", le=le)
        for le in ("0.05", "0.1", "0.5", "1.0", "30.0", "+Inf")
    }
    assert buckets == {"0.05": 2, "0.1": 2, "0.5": 2, "1.0": 3, "30.0": 3, "+Inf": 4}
    assert value(text, "fieldhook_delivery_duration_seconds_count", kind="webhook") == 4
    assert value(text, "fieldhook_delivery_duration_seconds_sum", kind="webhook") == pytest.approx(40.78)


def test_durations_are_kept_per_kind():
    observe(kind="webhook", duration=0.2)
    observe(kind="slack", duration=3.0)

    text = scrape()

    assert value(text, "fieldhook_delivery_duration_seconds_count", kind="webhook") == 1
    assert value(text, "fieldhook_delivery_duration_seconds_sum", kind="slack") == 3.0


def test_status_conflicts_are_counted_by_kind_and_resolution():
    metrics.status_conflict_observed(kind="openproject", resolution="fieldhook_wins")
    metrics.status_conflict_observed(kind="openproject", resolution="fieldhook_wins")
    metrics.status_conflict_observed(kind="openproject", resolution="tool_wins")

    text = scrape()

    counted = {
        resolution: value(text, "fieldhook_status_conflicts_total", kind="openproject", resolution=resolution)
        for resolution in ("fieldhook_wins", "tool_wins")
    }
    assert counted == {"fieldhook_wins": 2, "tool_wins": 1}


# --- Shared between processes, or not (embedded) ---------------------------------------------


def test_counts_live_in_redis_and_a_fresh_client_reads_them(metrics_prefix, settings):
    observe()

    metrics.reset_process_state()

    stored = redis.Redis.from_url(settings.REDIS_URL).hgetall(f"{metrics_prefix}:deliveries")
    assert stored == {b"webhook|7|synced": b"1"}
    assert value(scrape(), "fieldhook_deliveries_total", kind="webhook", integration="7", outcome="synced") == 1


def test_a_delivery_recorded_by_another_process_is_scraped_here(metrics_prefix, settings):
    script = (
        "import sys, django; django.setup(); from django.conf import settings; "
        "settings.METRICS_KEY_PREFIX = sys.argv[1]; from integrations.engine.metrics import Observation, "
        "deliveries_observed; deliveries_observed([Observation('webhook', 41, 'failed', 0.3)])"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "TEST_REDIS_URL": settings.REDIS_URL}
    subprocess.run([sys.executable, "-c", script, metrics_prefix], cwd=ROOT, env=env, check=True, timeout=60)

    text = scrape()

    assert value(text, "fieldhook_deliveries_total", kind="webhook", integration="41", outcome="failed") == 1
    assert value(text, "fieldhook_delivery_duration_seconds_bucket", kind="webhook", le="0.5") == 1


def test_without_redis_counts_are_kept_in_the_process(metrics_prefix, settings):
    redis_url = settings.REDIS_URL
    settings.REDIS_URL = ""

    observe()
    observe()

    assert value(scrape(), "fieldhook_deliveries_total", kind="webhook", integration="7", outcome="synced") == 2
    assert not redis.Redis.from_url(redis_url).exists(f"{metrics_prefix}:deliveries")


def test_without_redis_a_fresh_process_starts_from_zero(settings):
    settings.REDIS_URL = ""
    observe()

    metrics.reset_process_state()

    assert value(scrape(), "fieldhook_deliveries_total", kind="webhook", integration="7", outcome="synced") is None


def test_a_redis_outage_neither_breaks_the_delivery_nor_the_scrape(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    observe()  # does not raise

    text = scrape()
    assert value(text, "fieldhook_metrics_store_up") == 0
    assert "fieldhook_deliveries" not in family_names(text)
    assert value(text, "fieldhook_pending_syncs", kind="webhook") == 0


def test_the_store_is_reported_up_when_it_answers():
    assert value(scrape(), "fieldhook_metrics_store_up") == 1


# --- Gauges from the database ----------------------------------------------------------------


def test_pending_syncs_gauge_counts_the_pending_syncs_of_each_kind(tenant):
    integration = TenantIntegrationFactory(tenant=tenant)
    for status in ("pending", "pending", "synced", "failed"):
        make_sync(integration, status)

    assert value(scrape(), "fieldhook_pending_syncs", kind="webhook") == 2


def test_pending_syncs_gauge_is_zero_when_nothing_waits():
    assert value(scrape(), "fieldhook_pending_syncs", kind="webhook") == 0


def test_integrations_gauge_counts_active_and_inactive_integrations(tenant):
    TenantIntegrationFactory.create_batch(2, tenant=tenant)
    TenantIntegrationFactory(tenant=tenant, is_active=False)

    text = scrape()

    assert value(text, "fieldhook_integrations", kind="webhook", state="active") == 2
    assert value(text, "fieldhook_integrations", kind="webhook", state="inactive") == 1


# --- Circuit breaker hook ----------------------------------------------------------------------


def fake_resilience(monkeypatch, **attributes) -> None:
    module = types.ModuleType("integrations.engine.resilience")
    module.__dict__.update(attributes)
    monkeypatch.setitem(sys.modules, "integrations.engine.resilience", module)


def test_circuit_states_become_a_gauge_per_integration(monkeypatch):
    fake_resilience(monkeypatch, circuit_states=lambda: {5: "open", 6: "closed", 7: "half_open"})

    text = scrape()

    states = {pk: value(text, "fieldhook_circuit_open", integration=pk) for pk in ("5", "6", "7")}
    assert states == {"5": 1, "6": 0, "7": 0.5}


def test_no_circuit_metric_without_circuit_states(monkeypatch):
    fake_resilience(monkeypatch)

    assert "fieldhook_circuit_open" not in family_names(scrape())


def test_no_circuit_metric_when_the_resilience_module_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "integrations.engine.resilience", None)  # import raises ImportError

    assert "fieldhook_circuit_open" not in family_names(scrape())


def test_failing_circuit_states_leave_the_rest_of_the_scrape(monkeypatch):
    def broken() -> dict[int, str]:
        raise redis.ConnectionError("cache down")

    fake_resilience(monkeypatch, circuit_states=broken)

    text = scrape()
    assert "fieldhook_circuit_open" not in family_names(text)
    assert value(text, "fieldhook_pending_syncs", kind="webhook") == 0


# --- Access and what is never exposed ----------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_AUTHORIZATION": "Bearer wrong-token"}, {"HTTP_AUTHORIZATION": "Token s3cret-scrape-token"}],
    ids=["no-token", "wrong-token", "wrong-scheme"],
)
def test_metrics_refuses_a_scraper_without_the_token(settings, headers):
    settings.METRICS_TOKEN = "s3cret-scrape-token"

    response = Client().get("/metrics", **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert "fieldhook_" not in response.text


def test_metrics_answers_a_scraper_with_the_token(settings):
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    observe()

    text = scrape(HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")

    assert value(text, "fieldhook_deliveries_total", kind="webhook", integration="7", outcome="synced") == 1


def test_metrics_are_refused_without_a_token_unless_made_public(settings):
    settings.METRICS_PUBLIC = False
    observe()

    response = Client().get("/metrics")

    assert response.status_code == 403
    assert "METRICS_TOKEN" in response.text
    assert "fieldhook_" not in response.text


def test_public_metrics_still_require_the_token_when_one_is_set(settings):
    settings.METRICS_TOKEN = "s3cret-scrape-token"

    assert Client().get("/metrics").status_code == 401


def test_metrics_name_integrations_by_id_only(tenant):
    integration = TenantIntegrationFactory(
        tenant=tenant,
        name="Acme n8n",
        secrets={"secret": "whsec-very-private"},
        config={"url": "https://n8n.acme.test/hook"},
    )
    make_sync(integration, "pending")
    observe(integration_id=integration.pk)

    text = scrape()

    assert value(text, "fieldhook_deliveries_total", kind="webhook", integration=str(integration.pk), outcome="synced")
    for private in ("Acme", "n8n", "whsec-very-private", str(integration.uuid), tenant.slug):
        assert private not in text
