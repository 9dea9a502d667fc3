"""Per-integration circuit breaker and rate limit, shared by every worker process.

Both keep their state in Redis (REDIS_URL), keyed by the integration's random uuid, so
any number of workers on any number of machines agree. Without REDIS_URL (embedded
mode) the state is per process.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.signals import setting_changed
from django.dispatch import receiver

from integrations.connectors.base import RateLimitHint
from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.models import TenantIntegration

logger = logging.getLogger("integrations.resilience")
STATE_TTL = 24 * 3600

# Errors that say the receiver is unwell; others (a 400, a bad config) say nothing about it.
CIRCUIT_FAILURES = {ErrorClass.CONNECTION, ErrorClass.TIMEOUT, ErrorClass.SERVER, ErrorClass.AUTH}


# --- Circuit breaker ---------------------------------------------------------------------


class CircuitState(StrEnum):
    """The values are shown by the admin and exported as metrics: keep them."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"  # one probe may go


@dataclass(frozen=True)
class Circuit:
    state: CircuitState
    retry_at: float = 0.0  # epoch seconds: when an open circuit lets a probe through


def _keys(integration: TenantIntegration) -> tuple[str, str, str]:
    prefix = f"circuit:{integration.uuid}"
    return f"{prefix}:failures", f"{prefix}:open_until", f"{prefix}:probe"


def circuit_state(integration: TenantIntegration) -> Circuit:
    """What the breaker says now, without taking the probe."""
    open_until = caches["default"].get(_keys(integration)[1])
    if open_until is None:
        return Circuit(CircuitState.CLOSED)
    if time.time() < open_until:
        return Circuit(CircuitState.OPEN, open_until)
    return Circuit(CircuitState.HALF_OPEN)


def circuit_allow(integration: TenantIntegration) -> Circuit:
    """May a delivery go out? Closed: yes. Open: no, until `retry_at`. Half-open: exactly
    one caller (the probe) gets through; the others wait for its outcome."""
    circuit = circuit_state(integration)
    if circuit.state != CircuitState.HALF_OPEN:
        return circuit
    probe_key = _keys(integration)[2]
    if caches["default"].add(probe_key, 1, timeout=settings.SYNC_CLAIM_SECONDS):
        return Circuit(CircuitState.HALF_OPEN)
    return Circuit(CircuitState.OPEN, time.time() + min(5.0, settings.CIRCUIT_RECOVERY_SECONDS))


def circuit_record(integration: TenantIntegration, *, error_class: str | None) -> bool:
    """A success closes the circuit; the Nth consecutive failure (or a failed probe) opens it.
    Returns True when this outcome closed a circuit that had been open."""
    store = caches["default"]
    failures_key, open_key, probe_key = _keys(integration)
    if error_class is None or error_class not in CIRCUIT_FAILURES:
        state = store.get_many([failures_key, open_key])
        if state:
            store.delete_many([failures_key, open_key, probe_key])
        if open_key in state:
            _unblock(CIRCUIT_BLOCKS, integration)
        return open_key in state
    store.add(failures_key, 0, timeout=STATE_TTL)
    failures = store.incr(failures_key)
    if failures >= settings.CIRCUIT_FAILURE_THRESHOLD:
        open_until = time.time() + settings.CIRCUIT_RECOVERY_SECONDS
        store.set(open_key, open_until, timeout=STATE_TTL)
        store.delete(probe_key)
        _block(CIRCUIT_BLOCKS, integration, until=open_until)
        if failures == settings.CIRCUIT_FAILURE_THRESHOLD:
            logger.warning("circuit opened integration=%s failures=%s", integration.pk, failures)
    return False


def outcome_record(
    integration: TenantIntegration, *, error: ConnectorError | None, rate_limit: RateLimitHint | None = None
) -> bool:
    """What a delivery or a poll learned about the receiver: it feeds the breaker; a 429, or
    a service saying its quota is spent, pauses every sender until it may send again. True
    when this outcome closed an open circuit."""
    if error is not None and error.error_class == ErrorClass.RATE_LIMITED and error.retry_after:
        rate_limit_pause(integration, error.retry_after)
    elif rate_limit is not None and rate_limit.exhausted:
        rate_limit_pause(integration, rate_limit.reset_after)
    return circuit_record(integration, error_class=error.error_class if error else None)


def circuit_reset(integration: TenantIntegration) -> None:
    caches["default"].delete_many(list(_keys(integration)))
    _unblock(CIRCUIT_BLOCKS, integration)


def circuit_wakeup_claim(integration: TenantIntegration, *, seconds: float) -> bool:
    """True for the first caller in an open window: it schedules the one delivery that will
    probe; the other syncs are parked until then without a message each."""
    return caches["default"].add(f"circuit:{integration.uuid}:wakeup", 1, timeout=max(1, int(seconds)))


def circuit_states() -> dict[int, CircuitState]:
    """State of every active integration's breaker (for metrics and the admin)."""
    return {
        integration.pk: circuit_state(integration).state
        for integration in TenantIntegration.objects.filter(is_active=True).only("pk", "uuid")
    }


# --- One at a time per integration ---------------------------------------------------------


@contextmanager
def integration_exclusive(integration: TenantIntegration, *, work: str, seconds: float) -> Iterator[bool]:
    """Yields True to the one caller doing `work` for this integration now, False to the others.
    The lock lapses after `seconds` if its holder dies: make it longer than the task's hard limit."""
    store, key, token = caches["default"], f"exclusive:{integration.uuid}:{work}", secrets.token_hex(8)
    acquired = store.add(key, token, timeout=math.ceil(seconds))
    try:
        yield acquired
    finally:
        if acquired and store.get(key) == token:
            store.delete(key)


# --- Bulkhead: deliveries in flight per integration -------------------------------------

# A sorted set of the syncs being delivered, scored by when their claim lapses (so a dead
# worker's entry expires); one atomic script admits a delivery only below the cap.
INFLIGHT_SCRIPT = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], tonumber(ARGV[4]), ARGV[2])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[4]) - now) + 60)
return 1
"""
_local_inflight: dict[str, dict[str, float]] = {}


def _inflight_key(integration: TenantIntegration) -> str:
    return f"fieldhook:inflight:{integration.uuid}"


def inflight_acquire(integration: TenantIntegration, token: str) -> bool:
    """Admit one more delivery to this integration unless INTEGRATION_MAX_IN_FLIGHT are
    already under way, so one slow receiver cannot occupy every worker."""
    now, key, cap = time.time(), _inflight_key(integration), settings.INTEGRATION_MAX_IN_FLIGHT
    lapses = now + settings.SYNC_CLAIM_SECONDS
    client = _redis()
    if client is not None:
        return bool(client.eval(INFLIGHT_SCRIPT, 1, key, now, token, cap, lapses))
    with _local_lock:
        claims = {t: at for t, at in _local_inflight.get(key, {}).items() if at > now}
        if len(claims) >= cap:
            return False
        _local_inflight[key] = {**claims, token: lapses}
        return True


def inflight_extend(integration: TenantIntegration, token: str) -> None:
    """A live delivery keeps its place: its entry lapses SYNC_CLAIM_SECONDS from now (XX: an
    entry already released or lapsed is not brought back)."""
    key, lapses = _inflight_key(integration), time.time() + settings.SYNC_CLAIM_SECONDS
    client = _redis()
    if client is not None:
        client.zadd(key, {token: lapses}, xx=True)
        client.expire(key, math.ceil(settings.SYNC_CLAIM_SECONDS) + 60)
        return
    with _local_lock:
        claims = _local_inflight.get(key, {})
        if token in claims:
            claims[token] = lapses


def inflight_release(integration: TenantIntegration, token: str) -> None:
    client, key = _redis(), _inflight_key(integration)
    if client is not None:
        client.zrem(key, token)
        return
    with _local_lock:
        _local_inflight.get(key, {}).pop(token, None)


# --- Rate limit ---------------------------------------------------------------------------

# GCRA: one key per integration holds the "theoretical arrival time" of the next allowed
# request. Atomic in Redis through this script; a lock guards the same arithmetic in-process.
GCRA_SCRIPT = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local longest = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat - now > longest then
  tat = now + longest
  redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil((longest + 60) * 1000))
end
if tat - now > 0.000001 then return tostring(tat - now) end
if interval > 0 then
  redis.call('SET', KEYS[1], tostring(now + interval), 'PX', math.ceil((interval + 60) * 1000))
end
return '0'
"""
PENALTY_SCRIPT = """
local until_ts = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ts > tat then
  redis.call('SET', KEYS[1], tostring(until_ts), 'PX', math.ceil((until_ts - tonumber(ARGV[2]) + 60) * 1000))
end
return 1
"""


@cache
def _redis() -> redis.Redis | None:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2) if settings.REDIS_URL else None


@receiver(setting_changed)
def _forget_client(setting: str, **kwargs) -> None:
    if setting == "REDIS_URL":
        _redis.cache_clear()


_local_lock = threading.Lock()
_local_tat: dict[str, float] = {}


def _rate_key(integration: TenantIntegration) -> str:
    return f"fieldhook:rate:{integration.uuid}"


def rate_per_second(integration: TenantIntegration) -> float | None:
    """The integration's own limit, else its kind's default; None means unlimited."""
    if integration.rate_limit_per_second:
        return integration.rate_limit_per_second
    from integrations.connectors import registry

    return registry.get(integration.integration_type).default_rate_per_second


def rate_limit_wait(integration: TenantIntegration) -> float:
    """Take a slot if one is free now (returns 0), else return the seconds until the next one.
    Unlimited integrations only wait out a receiver's Retry-After (see rate_limit_pause). A
    stored wait longer than any limit or pause allows (a pause from before the cap, a clock
    jump) is cut back to that, so no integration stays parked for ever."""
    rate = rate_per_second(integration)
    interval, now, key = (1.0 / rate if rate else 0.0), time.time(), _rate_key(integration)
    longest = max(interval, settings.HTTP_RETRY_AFTER_MAX_SECONDS)
    client = _redis()
    if client is not None:
        return float(client.eval(GCRA_SCRIPT, 1, key, now, interval, longest))
    with _local_lock:
        tat = min(_local_tat.get(key, 0.0), now + longest)
        if tat - now > 1e-6:
            return tat - now
        if interval:
            _local_tat[key] = now + interval
        return 0.0


def rate_limit_pause(integration: TenantIntegration, seconds: float) -> None:
    """After a 429: nobody sends to this integration for `seconds` (Retry-After), at most
    HTTP_RETRY_AFTER_MAX_SECONDS."""
    if math.isnan(seconds):
        return
    seconds = min(seconds, settings.HTTP_RETRY_AFTER_MAX_SECONDS)
    now, key = time.time(), _rate_key(integration)
    _block(PAUSE_BLOCKS, integration, until=now + seconds)
    client = _redis()
    if client is not None:
        client.eval(PENALTY_SCRIPT, 1, key, now + seconds, now)
        return
    with _local_lock:
        _local_tat[key] = max(_local_tat.get(key, 0.0), now + seconds)


def rate_limit_reset(integration: TenantIntegration) -> None:
    """Forget the integration's rate-limit state, a receiver's pause included (operator reset)."""
    key = _rate_key(integration)
    _unblock(PAUSE_BLOCKS, integration)
    client = _redis()
    if client is not None:
        client.delete(key)
        return
    with _local_lock:
        _local_tat.pop(key, None)


# --- Integrations a claim leaves out ------------------------------------------------------

# Sorted sets of integration ids scored by when they may send again: an open circuit, and a
# receiver's pause (Retry-After, a spent quota). The batched claim skips them.
CIRCUIT_BLOCKS = "fieldhook:blocked:circuit"
PAUSE_BLOCKS = "fieldhook:blocked:pause"
_local_blocks: dict[str, dict[int, float]] = {CIRCUIT_BLOCKS: {}, PAUSE_BLOCKS: {}}


def _block(key: str, integration: TenantIntegration, *, until: float) -> None:
    client = _redis()
    if client is not None:
        client.zadd(key, {str(integration.pk): until}, gt=True)
        client.expire(key, STATE_TTL)
        return
    with _local_lock:
        blocks = _local_blocks[key]
        blocks[integration.pk] = max(blocks.get(integration.pk, 0.0), until)


def _unblock(key: str, integration: TenantIntegration) -> None:
    client = _redis()
    if client is not None:
        client.zrem(key, str(integration.pk))
        return
    with _local_lock:
        _local_blocks[key].pop(integration.pk, None)


def blocked_integrations() -> list[int]:
    """Integrations that may not send now: the claim leaves their syncs alone (one round trip)."""
    now = time.time()
    client = _redis()
    if client is not None:
        with client.pipeline(transaction=False) as pipe:
            for key in (CIRCUIT_BLOCKS, PAUSE_BLOCKS):
                pipe.zrangebyscore(key, now, "+inf")
            found = pipe.execute()
        return sorted({int(member) for members in found for member in members})
    with _local_lock:
        return sorted({pk for blocks in _local_blocks.values() for pk, until in blocks.items() if until > now})
