"""The delivery engine: claim a batch of due syncs in one statement, send them over the pooled
session (several at a time, a few lanes per integration), record every outcome in one short
transaction — see decisions 0005 and 0010. No transaction is open while a request is.

A worker drains: it claims batch after batch while syncs are due, overlapping batches so that
one slow receiver ties up only its own lanes, never the worker.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import logging
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connections
from django.utils import timezone

from integrations.connectors.base import Connector, Event, ExternalRef
from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.crypto import SecretsUnreadable
from integrations.engine import dispatch, metrics, resilience
from integrations.engine.claim import DUE_EARLY_SECONDS, Claimed, syncs_claim
from integrations.engine.claims import KeptClaim
from integrations.engine.record import Attempted, Deferred, Recorded, batch_record
from integrations.engine.resilience import CircuitState
from integrations.engine.verdicts import DeliveryVerdict
from integrations.models import IntegrationSync, TenantIntegration
from integrations.services import integration_connector

logger = logging.getLogger("integrations.delivery")
Pending = IntegrationSync.Status.PENDING
PARTIAL_RECORD_SECONDS = 1.0  # a long batch records what it has done at least this often
SATURATED_RETRY_SECONDS = 1.0  # a drain leaves an integration with a full bulkhead alone this long


# --- Sending, lane by lane ---------------------------------------------------------------------


@dataclass
class Batch:
    """One claimed batch: its claim, what happened to each sync so far, its running lanes."""

    claim: KeptClaim
    integrations: dict[int, TenantIntegration]
    attempted: list[Attempted] = field(default_factory=list)
    deferred: list[Deferred] = field(default_factory=list)
    lanes: list[concurrent.futures.Future] = field(default_factory=list)
    held: dict[int, tuple[DeliveryVerdict, float]] = field(default_factory=dict)  # integration → why, until
    succeeded: set[int] = field(default_factory=set)  # integrations with a success not yet told the breaker
    saturated: set[int] = field(default_factory=set)  # integrations that got no place in their bulkhead
    lock: threading.Lock = field(default_factory=threading.Lock)

    def done(self) -> bool:
        return all(lane.done() for lane in self.lanes)

    def take(self) -> tuple[list[Attempted], list[Deferred]]:
        """The outcomes gathered so far, handed to the recorder once."""
        with self.lock:
            attempted, deferred = self.attempted, self.deferred
            self.attempted, self.deferred = [], []
        return attempted, deferred

    def hold(self, integration_id: int, verdict: DeliveryVerdict, seconds: float) -> None:
        """The rest of this integration's syncs in the batch wait (its circuit opened, it was paused)."""
        with self.lock:
            self.held[integration_id] = (verdict, time.time() + seconds)

    def holding(self, integration_id: int) -> tuple[DeliveryVerdict, float] | None:
        with self.lock:
            held = self.held.get(integration_id)
        return (held[0], max(0.0, held[1] - time.time())) if held else None

    def defer(self, claimed: Claimed, verdict: DeliveryVerdict, seconds: float) -> None:
        with self.lock:
            self.deferred.append(Deferred(claimed, verdict, seconds))


_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_pid: int | None = None


def _submit(work: Callable[[], None]) -> concurrent.futures.Future:
    """Run `work` on the process's send pool, or right here when SYNC_SEND_THREADS is 0."""
    global _pool, _pool_pid
    if settings.SYNC_SEND_THREADS <= 0:
        future: concurrent.futures.Future = concurrent.futures.Future()
        _guarded(work)
        future.set_result(None)
        return future
    if _pool is None or _pool_pid != os.getpid():  # a forked worker must not share its parent's threads
        _pool = concurrent.futures.ThreadPoolExecutor(settings.SYNC_SEND_THREADS, thread_name_prefix="send")
        _pool_pid = os.getpid()
    return _pool.submit(_in_thread, work)


def _in_thread(work: Callable[[], None]) -> None:
    try:
        _guarded(work)
    finally:
        connections.close_all()  # a connector that read the database used this thread's connection


def _guarded(work: Callable[[], None]) -> None:
    """A lane that breaks loses nothing: its unsent syncs stay claimed until the claim lapses."""
    try:
        work()
    except Exception:
        logger.exception("A delivery lane failed")


def batch_start(claimed: list[Claimed], *, until: datetime.datetime) -> Batch:
    """Start sending a batch claimed until `until`: per integration, its gates, then lanes."""
    integrations = TenantIntegration.objects.in_bulk(sorted({item.integration_id for item in claimed}))
    batch = Batch(KeptClaim([item.sync_id for item in claimed], until), integrations)
    batch.claim.keep()
    groups: dict[int, list[Claimed]] = {}
    for item in claimed:
        groups.setdefault(item.integration_id, []).append(item)
    for integration_id, items in groups.items():
        _group_start(batch, batch.integrations[integration_id], items)
    return batch


def _group_start(batch: Batch, integration: TenantIntegration, items: list[Claimed]) -> None:
    """An open circuit parks the group (one wake-up per open window); a half-open one lets one
    probe through; otherwise up to SYNC_LANES_PER_INTEGRATION lanes, each with a place in the
    integration's bulkhead (INTEGRATION_MAX_IN_FLIGHT across workers)."""
    circuit = resilience.circuit_allow(integration)
    if circuit.state == CircuitState.OPEN:
        wait = max(0.0, circuit.retry_at - time.time())
        for item in items:
            batch.defer(item, DeliveryVerdict.CIRCUIT_OPEN, wait)
        if resilience.circuit_wakeup_claim(integration, seconds=wait):
            dispatch.wake_later(delay=wait)
        return
    if _unlimited(integration) and (paused := resilience.rate_limit_wait(integration)):
        for item in items:  # a receiver's Retry-After holds an unlimited integration too
            batch.defer(item, DeliveryVerdict.RATE_LIMITED, paused + random.uniform(0, paused))  # noqa: S311 (spreads waiting syncs)
        return
    queue = deque(items)
    if circuit.state == CircuitState.HALF_OPEN:
        while len(queue) > 1:
            batch.defer(queue.pop(), DeliveryVerdict.CIRCUIT_OPEN, min(5.0, settings.CIRCUIT_RECOVERY_SECONDS))
        batch.lanes.append(_submit(lambda: _lane(batch, integration, queue, token=None, probing=True)))
        return
    lanes = 0
    for number in range(min(settings.SYNC_LANES_PER_INTEGRATION, len(queue))):
        token = f"{batch.claim.sync_ids[0]}:{integration.pk}:{number}"
        if not resilience.inflight_acquire(integration, token):
            break
        batch.claim.hold_place(integration, token)
        batch.lanes.append(_submit(lambda token=token: _lane(batch, integration, queue, token=token, probing=False)))
        lanes += 1
    if not lanes:
        batch.saturated.add(integration.pk)
        while queue:
            batch.defer(queue.popleft(), DeliveryVerdict.CONCURRENCY_LIMITED, 0.05 + random.uniform(0, 0.25))  # noqa: S311 (jitter)


def _lane(batch: Batch, integration: TenantIntegration, queue: deque, *, token: str | None, probing: bool) -> None:
    """Send the group's syncs one after another until the queue is empty."""
    connector: Connector | ConnectorError | None = None
    rate = None if _unlimited(integration) else resilience.rate_per_second(integration)
    try:
        while True:
            with batch.lock:
                if not queue:
                    return
                claimed = queue.popleft()
            held = batch.holding(integration.pk)
            if held:
                batch.defer(claimed, held[0], held[1])
                continue
            if rate and (wait := resilience.rate_limit_wait(integration)):
                batch.defer(claimed, DeliveryVerdict.RATE_LIMITED, wait + random.uniform(0, wait))  # noqa: S311 (spreads waiting syncs)
                continue
            if connector is None:
                connector = _connector(integration)
            attempted = _send(connector, integration, claimed)
            with batch.lock:
                batch.attempted.append(attempted)
            _learn(batch, integration, attempted, probing=probing)
    finally:
        if token is not None:
            resilience.inflight_release(integration, token)


def _unlimited(integration: TenantIntegration) -> bool:
    """No rate limit of its own or its kind's (an unknown kind fails each sync in its lane)."""
    try:
        return resilience.rate_per_second(integration) is None
    except ConnectorError:
        return True


def _connector(integration: TenantIntegration) -> Connector | ConnectorError:
    try:
        return integration_connector(integration=integration)
    except ConnectorError as error:
        return error
    except SecretsUnreadable as exc:
        return ConnectorError(str(exc), permanent=True, error_class=ErrorClass.CONFIG)


def _send(connector: Connector | ConnectorError, integration: TenantIntegration, claimed: Claimed) -> Attempted:
    """Run the connector for one sync; whatever goes wrong is an outcome, never lost."""
    started_at, started = timezone.now(), time.perf_counter()
    outcome = Attempted(claimed, started_at, 0.0)
    if isinstance(connector, ConnectorError):
        outcome.error = connector
        return outcome
    existing = None
    if connector.uses_external_links and claimed.external_id is not None:
        existing = ExternalRef(claimed.external_id, claimed.external_url, claimed.details)
    event = Event(claimed.event_type, claimed.event_id, claimed.payload, existing, attempt=claimed.attempts + 1)
    size, limit = len(event.body()), settings.INTEGRATIONS_MAX_PAYLOAD_BYTES
    try:
        if size > limit:
            message = f"The event is {size} bytes, over the {limit}-byte limit (INTEGRATIONS_MAX_PAYLOAD_BYTES)."
            raise ConnectorError(message, permanent=True, error_class=ErrorClass.PAYLOAD)
        outcome.result = connector.deliver(event)
    except ConnectorError as error:
        outcome.error = error
    except SecretsUnreadable as exc:
        outcome.error = ConnectorError(str(exc), permanent=True, error_class=ErrorClass.CONFIG)
    except SoftTimeLimitExceeded:
        limit_seconds = settings.SYNC_TASK_SOFT_TIME_LIMIT
        message = f"The delivery took longer than {limit_seconds:g} s (SYNC_TASK_SOFT_TIME_LIMIT) and was stopped."
        outcome.error = ConnectorError(message, error_class=ErrorClass.TIMEOUT)
    except Exception as exc:  # a bug in a connector must not lose the event: record it and retry
        logger.exception("Connector %s crashed on sync %s", integration.integration_type, claimed.sync_id)
        outcome.error = ConnectorError(f"Internal error: {type(exc).__name__}", error_class=ErrorClass.INTERNAL)
    outcome.duration_seconds = time.perf_counter() - started
    return outcome


def _learn(batch: Batch, integration: TenantIntegration, attempted: Attempted, *, probing: bool) -> None:
    """Tell the breaker and the rate limit at once what went wrong (so the rest of the batch
    and other workers hold back); successes are told once per batch, probes at once."""
    error, result = attempted.error, attempted.result
    hint = (result or error).rate_limit
    if error is None and not probing and not (hint and hint.exhausted):
        with batch.lock:
            batch.succeeded.add(integration.pk)
        return
    if resilience.outcome_record(integration, error=error, rate_limit=hint):
        dispatch.wake_later(delay=0)  # the probe closed the circuit: what it parked may go now
    circuit = resilience.circuit_state(integration)
    if circuit.state == CircuitState.OPEN:
        wait = max(0.0, circuit.retry_at - time.time())
        batch.hold(integration.pk, DeliveryVerdict.CIRCUIT_OPEN, wait)
    elif error is not None and error.error_class == ErrorClass.RATE_LIMITED and error.retry_after:
        wait = min(error.retry_after, settings.HTTP_RETRY_AFTER_MAX_SECONDS)
        batch.hold(integration.pk, DeliveryVerdict.RATE_LIMITED, wait)
    elif hint and hint.exhausted:
        wait = hint.reset_after
        batch.hold(integration.pk, DeliveryVerdict.RATE_LIMITED, wait)
    else:
        return
    # Claims leave the integration alone until then: one wake-up for when it may send again.
    if circuit.state != CircuitState.OPEN or resilience.circuit_wakeup_claim(integration, seconds=wait):
        dispatch.wake_later(delay=wait)


# --- Recording -----------------------------------------------------------------------------------


def batch_record_progress(batch: Batch, *, final: bool) -> Recorded:
    """Record what the batch did so far (all of it when `final`), then what follows from it."""
    attempted, deferred = batch.take()
    with batch.claim.lock:
        if final:
            batch.claim.released = True
        recorded = batch_record(
            attempted=attempted,
            deferred=deferred,
            claimed_until=batch.claim.claimed_until,
            integrations=batch.integrations,
        )
    if final:
        for integration_id in batch.succeeded:
            if resilience.outcome_record(batch.integrations[integration_id], error=None):
                dispatch.wake_later(delay=0)
    for seconds in {round(wait, 1) for wait in recorded.retries}:
        dispatch.wake_later(delay=seconds)
    for item in deferred:
        if item.verdict != DeliveryVerdict.CIRCUIT_OPEN:  # a circuit's window has its one wake-up
            dispatch.wake_later(delay=item.wait_seconds)
    _observe(batch, attempted, deferred, recorded)
    return recorded


def _observe(batch: Batch, attempted: list[Attempted], deferred: list[Deferred], recorded: Recorded) -> None:
    """One metrics round trip and one log line per delivery."""
    observations = []
    for item in [*attempted, *deferred]:
        verdict = recorded.verdicts.get(item.claimed.sync_id, DeliveryVerdict.GONE)
        integration = batch.integrations[item.claimed.integration_id]
        duration = item.duration_seconds if isinstance(item, Attempted) else 0.0
        observations.append(metrics.Observation(integration.integration_type, integration.pk, verdict, duration))
        if isinstance(item, Attempted):
            answer = item.result or item.error
            logger.info(
                "delivery tenant=%s integration=%s sync=%s event=%s attempt=%s outcome=%s status=%s duration_ms=%s",
                integration.tenant_id,
                integration.pk,
                item.claimed.sync_id,
                item.claimed.event_id,
                item.claimed.attempts + 1,
                verdict,
                answer.status_code,
                int(item.duration_seconds * 1000),
            )
    metrics.deliveries_observed(observations)


# --- Draining, and one sync on its own -------------------------------------------------------------


def syncs_drain() -> int:
    """Deliver due syncs batch after batch until none is due; returns how many were claimed.

    Claims stop after SYNC_DRAIN_SECONDS; what is still due then is handed to another wake-up.
    A full batch invites another worker (one more wake-up), so a backlog spreads over all of them.
    """
    dispatch.wake_taken()
    stop_claiming = time.monotonic() + settings.SYNC_DRAIN_SECONDS
    threads = max(1, settings.SYNC_SEND_THREADS)
    running: list[Batch] = []
    # Integrations whose bulkhead was full at their last batch → when to try them again: their
    # syncs would only be claimed to be set back (a place frees when a lane ends, here or elsewhere).
    saturated: dict[int, float] = {}
    claimed_total, exhausted = 0, False
    try:
        while True:
            for batch in [batch for batch in running if batch.done()]:
                batch_record_progress(batch, final=True)
                running.remove(batch)
                for integration_id in batch.integrations.keys() - batch.saturated:
                    saturated.pop(integration_id, None)  # its lanes here ended: places are free
                exhausted = False  # what it finished may have unblocked a later event of an object
            busy = sum(not lane.done() for batch in running for lane in batch.lanes)
            if not exhausted and busy < threads and time.monotonic() < stop_claiming:
                now = time.monotonic()
                skip = [integration_id for integration_id, retry_at in saturated.items() if retry_at > now]
                claimed, until = _claim(limit=settings.SYNC_BATCH_SIZE, skip=skip)
                if claimed:
                    if len(claimed) == settings.SYNC_BATCH_SIZE and settings.SYNC_SEND_THREADS > 0:
                        dispatch.wake_later(delay=0)
                    running.append(batch := batch_start(claimed, until=until))
                    saturated.update(dict.fromkeys(batch.saturated, now + SATURATED_RETRY_SECONDS))
                    claimed_total += len(claimed)
                    continue
                exhausted = True
            if not running:
                break
            _wait_for_a_lane(running)
    finally:
        for batch in running:  # a soft time limit: keep what is done; the rest's claims lapse
            batch_record_progress(batch, final=True)
    if not exhausted:
        dispatch.wake_later(delay=0)
    return claimed_total


def _wait_for_a_lane(running: list[Batch]) -> None:
    """Wait until a lane finishes; a batch still running after that records its progress."""
    lanes = [lane for batch in running for lane in batch.lanes if not lane.done()]
    if not lanes:
        return
    concurrent.futures.wait(lanes, timeout=PARTIAL_RECORD_SECONDS, return_when=concurrent.futures.FIRST_COMPLETED)
    for batch in running:
        if not batch.done():
            batch_record_progress(batch, final=False)


def _claim(
    *, limit: int, only: list[int] | None = None, skip: list[int] | None = None
) -> tuple[list[Claimed], datetime.datetime]:
    until = timezone.now() + datetime.timedelta(seconds=settings.SYNC_CLAIM_SECONDS)
    blocked = [] if only is not None else resilience.blocked_integrations() + (skip or [])
    return syncs_claim(limit=limit, until=until, blocked=blocked, only=only), until


def sync_deliver(*, sync_id: int) -> DeliveryVerdict:
    """Deliver this one sync now if it may go (due, unclaimed, first of its object, integration
    active), through the same claim, gates and record as a batch; returns what happened."""
    claimed, until = _claim(limit=1, only=[sync_id])
    if not claimed:
        return sync_not_claimed_because(sync_id=sync_id)
    batch = batch_start(claimed, until=until)
    concurrent.futures.wait(batch.lanes)
    recorded = batch_record_progress(batch, final=True)
    if recorded.finished and _pending_after(recorded.finished[0]):
        dispatch.wake_later(delay=0)  # the next event of the same object waited for this one
    return recorded.verdicts.get(sync_id, DeliveryVerdict.GONE)


def sync_not_claimed_because(*, sync_id: int) -> DeliveryVerdict:
    """Why a sync was not claimed (for the one-sync path and its callers)."""
    sync = IntegrationSync.objects.select_related("integration").filter(pk=sync_id).first()
    now = timezone.now()
    if sync is None:
        return DeliveryVerdict.LOCKED_OR_GONE
    if sync.status != Pending:
        return DeliveryVerdict.ALREADY_DONE
    if sync.claimed_until and sync.claimed_until >= now:
        return DeliveryVerdict.IN_FLIGHT
    if sync.next_attempt_at > now + datetime.timedelta(seconds=DUE_EARLY_SECONDS):
        return DeliveryVerdict.NOT_DUE
    if not sync.integration.is_active:
        return DeliveryVerdict.INTEGRATION_INACTIVE
    if _same_object_pending(sync).filter(id__lt=sync.pk).exists():
        return DeliveryVerdict.WAITING_FOR_EARLIER_EVENT
    return DeliveryVerdict.LOCKED_OR_GONE


def _pending_after(claimed: Claimed) -> bool:
    return _same_object_pending(claimed).filter(id__gt=claimed.sync_id).exists()


def _same_object_pending(item: Claimed | IntegrationSync):
    return IntegrationSync.objects.filter(
        integration_id=item.integration_id,
        content_type_id=item.content_type_id,
        object_id=item.object_id,
        status=Pending,
    )
