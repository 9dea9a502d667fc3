"""Prometheus metrics: delivery and status-conflict counters shared by every worker, and gauges read
from the database.

Workers run in many processes on many machines, so `deliveries_observed` adds to hashes in
Redis (REDIS_URL) and `metrics_registry` reads them back at scrape time (the /metrics view
is integrations/views.py). Without REDIS_URL
(embedded mode) the counts live in the recording process only: /metrics then shows what
the web process itself delivered, and nothing from separate workers.
"""

from __future__ import annotations

import importlib
import logging
import math
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings
from django.core.signals import setting_changed
from django.db.models import Count
from django.dispatch import receiver
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from integrations.connectors import registry as connectors
from integrations.engine.resilience import CircuitState
from integrations.models import IntegrationSync, TenantIntegration

logger = logging.getLogger("integrations.metrics")

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, math.inf)
CIRCUIT_VALUES = {CircuitState.CLOSED: 0.0, CircuitState.HALF_OPEN: 0.5, CircuitState.OPEN: 1.0}
DEFAULT_KEY_PREFIX = "fieldhook:metrics"


# --- The shared store ---------------------------------------------------------------------


def _keys() -> dict[str, str]:
    prefix = getattr(settings, "METRICS_KEY_PREFIX", DEFAULT_KEY_PREFIX)
    return {name: f"{prefix}:{name}" for name in ("deliveries", "duration_buckets", "duration_sum", "conflicts")}


@cache
def _client() -> redis.Redis | None:
    """One client per process, made on first use; short timeouts, so a dead Redis costs little."""
    if not settings.REDIS_URL:
        return None
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)


_local_lock = threading.Lock()
_local: dict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))


@receiver(setting_changed)
def _forget_client(setting: str, **kwargs) -> None:
    if setting == "REDIS_URL":
        _client.cache_clear()


def reset_process_state() -> None:
    """Forget this process's client and embedded counts: what a freshly started process sees."""
    _client.cache_clear()
    with _local_lock:
        _local.clear()


def _add(increments: list[tuple[str, str, float]]) -> None:
    client = _client()
    if client is None:
        with _local_lock:
            for key, field, amount in increments:
                _local[key][field] += amount
        return
    with client.pipeline(transaction=True) as pipe:
        for key, field, amount in increments:
            if isinstance(amount, int):
                pipe.hincrby(key, field, amount)
            else:
                pipe.hincrbyfloat(key, field, amount)
        pipe.execute()


def _snapshot() -> dict[str, dict[str, float]] | None:
    """Every stored count, read in one consistent round trip; None when the store is unreachable."""
    keys = _keys()
    try:
        client = _client()
        if client is None:
            with _local_lock:
                return {name: dict(_local.get(key, {})) for name, key in keys.items()}
        with client.pipeline(transaction=True) as pipe:
            for key in keys.values():
                pipe.hgetall(key)
            hashes = pipe.execute()
    except (redis.RedisError, ValueError) as exc:  # down, timing out, or a malformed REDIS_URL
        logger.warning("Metrics store unreachable at scrape (%s: %s)", type(exc).__name__, exc)
        return None
    return {
        name: {field.decode(): float(value) for field, value in values.items()}
        for name, values in zip(keys, hashes, strict=True)
    }


# --- Recording ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    """One delivery attempt (or deferral) as the metrics count it."""

    kind: str
    integration_id: int
    outcome: str  # a DeliveryVerdict: "synced", "retry_scheduled", ...
    duration_seconds: float


def deliveries_observed(observations: list[Observation]) -> None:
    """Count deliveries by outcome and their latency, a whole batch in one round trip.

    Never raises: a metrics outage must not turn a delivered event into a failed one.
    """
    keys, increments = _keys(), []
    for seen in observations:
        duration = max(0.0, float(seen.duration_seconds))
        upper = next(bound for bound in DURATION_BUCKETS if duration <= bound)
        increments += [
            (keys["deliveries"], f"{seen.kind}|{seen.integration_id}|{seen.outcome}", 1),
            (keys["duration_buckets"], f"{seen.kind}|{floatToGoString(upper)}", 1),
            (keys["duration_sum"], seen.kind, duration),
        ]
    try:
        _add(increments)
    except Exception:  # any failure of the store (down, timeout, bad URL) is only worth a debug line
        logger.debug("Could not record delivery metrics", exc_info=True)


def status_conflict_observed(*, kind: str, resolution: str) -> None:
    """Count one status conflict (changed both in Fieldhook and in the tool) by how it was
    settled (a Winner: "fieldhook_wins" or "tool_wins"). Never raises, as above."""
    try:
        _add([(_keys()["conflicts"], f"{kind}|{resolution}", 1)])
    except Exception:  # the store being down must not undo the merge
        logger.debug("Could not record conflict metrics", exc_info=True)


# --- Reading, at scrape time ----------------------------------------------------------------


class FieldhookCollector(Collector):
    """Builds every Fieldhook metric when scraped; labels carry ids and kinds, never names."""

    def collect(self) -> Iterator[Metric]:
        snapshot = _snapshot()
        up = GaugeMetricFamily("fieldhook_metrics_store_up", "1 when the shared delivery counters could be read.")
        up.add_metric([], 0.0 if snapshot is None else 1.0)
        yield up
        if snapshot is not None:
            yield _deliveries(snapshot["deliveries"])
            yield _durations(snapshot["duration_buckets"], snapshot["duration_sum"])
            yield _conflicts(snapshot["conflicts"])
        yield _pending_syncs()
        yield _integrations()
        circuits = _circuits()
        if circuits is not None:
            yield circuits


def _deliveries(counts: dict[str, float]) -> CounterMetricFamily:
    family = CounterMetricFamily(
        "fieldhook_deliveries", "Delivery attempts by outcome.", labels=["kind", "integration", "outcome"]
    )
    for field, value in sorted(counts.items()):
        kind, integration_id, outcome = field.rsplit("|", 2)
        family.add_metric([kind, integration_id, outcome], value)
    return family


def _conflicts(counts: dict[str, float]) -> CounterMetricFamily:
    family = CounterMetricFamily(
        "fieldhook_status_conflicts",
        "Statuses changed both in Fieldhook and in the tool since they last agreed, by who won.",
        labels=["kind", "resolution"],
    )
    for field, value in sorted(counts.items()):
        family.add_metric(field.rsplit("|", 1), value)
    return family


def _durations(bucket_counts: dict[str, float], sums: dict[str, float]) -> HistogramMetricFamily:
    """Each observation was counted in its own bucket only; Prometheus wants them cumulative."""
    family = HistogramMetricFamily(
        "fieldhook_delivery_duration_seconds", "Time the integration took to answer a delivery.", labels=["kind"]
    )
    per_kind: defaultdict[str, dict[str, float]] = defaultdict(dict)
    for field, value in bucket_counts.items():
        kind, upper = field.rsplit("|", 1)
        per_kind[kind][upper] = value
    for kind in sorted(per_kind):
        running, buckets = 0.0, []
        for bound in DURATION_BUCKETS:
            upper = floatToGoString(bound)
            running += per_kind[kind].get(upper, 0.0)
            buckets.append((upper, running))
        family.add_metric([kind], buckets, sum_value=sums.get(kind, 0.0))
    return family


def _pending_syncs() -> GaugeMetricFamily:
    family = GaugeMetricFamily("fieldhook_pending_syncs", "Syncs waiting to be delivered.", labels=["kind"])
    counts = dict.fromkeys(connectors.kinds(), 0)
    rows = (
        IntegrationSync.objects.filter(status=IntegrationSync.Status.PENDING)
        .values_list("integration__integration_type")
        .annotate(count=Count("id"))
        .order_by()
    )
    counts.update(dict(rows))
    for kind, count in sorted(counts.items()):
        family.add_metric([kind], count)
    return family


def _integrations() -> GaugeMetricFamily:
    family = GaugeMetricFamily("fieldhook_integrations", "Configured integrations.", labels=["kind", "state"])
    counts = {(kind, active): 0 for kind in connectors.kinds() for active in (True, False)}
    rows = TenantIntegration.objects.values_list("integration_type", "is_active").annotate(count=Count("id")).order_by()
    counts.update({(kind, active): count for kind, active, count in rows})
    for (kind, active), count in sorted(counts.items()):
        family.add_metric([kind, "active" if active else "inactive"], count)
    return family


def _circuits() -> GaugeMetricFamily | None:
    """Hook for the circuit breaker: integrations.engine.resilience.circuit_states(), when it exists."""
    try:
        circuit_states = importlib.import_module("integrations.engine.resilience").circuit_states
    except (ImportError, AttributeError):
        return None
    except Exception as exc:  # a half-written module must not take /metrics down with it
        logger.warning("integrations.engine.resilience does not import (%s: %s)", type(exc).__name__, exc)
        return None
    try:
        states = circuit_states()
    except Exception as exc:  # the breaker's store being down must not fail the whole scrape
        logger.warning("Circuit states unavailable (%s: %s)", type(exc).__name__, exc)
        return None
    family = GaugeMetricFamily(
        "fieldhook_circuit_open",
        "Circuit breaker per integration: 1 open, 0.5 half-open (one probe allowed), 0 closed.",
        labels=["integration"],
    )
    for integration_id, state in sorted(states.items()):
        if state in CIRCUIT_VALUES:
            family.add_metric([str(integration_id)], CIRCUIT_VALUES[state])
    return family


metrics_registry = CollectorRegistry(auto_describe=False)
metrics_registry.register(FieldhookCollector())
