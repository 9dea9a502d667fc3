"""The delivery engine: the only code that writes sync status, attempts and errors.

Claim (a short locked transaction), deliver (the connector, outside any transaction),
record (a second short transaction) — see docs/decisions/0005-claim-deliver-record.md.
"""

from __future__ import annotations

import datetime
import logging
import random
import time
from dataclasses import dataclass
from enum import StrEnum

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from integrations.connectors import registry
from integrations.connectors.base import DeliveryResult, Event, ExternalRef, RateLimitHint
from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.crypto import SecretsUnreadable
from integrations.engine import dispatch, metrics, resilience
from integrations.engine.claims import claim_kept
from integrations.engine.policy import retry_delay_seconds, scrub, secret_strings
from integrations.engine.resilience import CircuitState
from integrations.models import ExternalLink, IntegrationSync, SyncAttempt, TenantIntegration
from integrations.services import integration_connector
from workitems.models import WorkItem, WorkItemNote
from workitems.services import workitem_note_create

logger = logging.getLogger("integrations.delivery")
Pending = IntegrationSync.Status.PENDING


class DeliveryVerdict(StrEnum):
    """What one delivery task did. The values are logged and are the `outcome` label of the
    delivery metrics: keep them."""

    SYNCED = "synced"
    RETRY_SCHEDULED = "retry_scheduled"
    FAILED = "failed"
    # Nothing was sent and no attempt spent:
    LOCKED_OR_GONE = "locked_or_gone"  # another worker holds the row lock, or the sync was deleted
    ALREADY_DONE = "already_done"
    IN_FLIGHT = "in_flight"  # claimed by a live worker
    NOT_DUE = "not_due"
    INTEGRATION_INACTIVE = "integration_inactive"
    WAITING_FOR_EARLIER_EVENT = "waiting_for_earlier_event"
    CIRCUIT_OPEN = "circuit_open"
    CONCURRENCY_LIMITED = "concurrency_limited"
    RATE_LIMITED = "rate_limited"
    GONE = "gone"  # deleted while its connector ran


@dataclass(frozen=True)
class Outcome:
    result: DeliveryResult | None = None
    error: ConnectorError | None = None


def sync_deliver(*, sync_id: int) -> DeliveryVerdict:
    """Deliver one sync if it is due and nobody else is delivering it; returns what happened."""
    claimed = _sync_claim(sync_id)
    if isinstance(claimed, DeliveryVerdict):
        return claimed
    sync, integration = claimed
    started_at = timezone.now()
    started = time.perf_counter()
    with claim_kept(sync):
        outcome = _run_connector(sync, integration)
    duration = time.perf_counter() - started
    verdict = _sync_record(sync.pk, outcome=outcome, started_at=started_at, duration_ms=int(duration * 1000))
    metrics.delivery_observed(
        kind=integration.integration_type, integration_id=integration.pk, outcome=verdict, duration_seconds=duration
    )
    return verdict


def _sync_claim(sync_id: int) -> tuple[IntegrationSync, TenantIntegration] | DeliveryVerdict:
    """Lock the row briefly and mark it claimed, so the HTTP call runs outside any transaction."""
    now = timezone.now()
    with transaction.atomic():
        sync = (
            IntegrationSync.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("integration")
            .filter(pk=sync_id)
            .first()
        )
        if sync is None:
            return DeliveryVerdict.LOCKED_OR_GONE
        if sync.status != Pending:
            return DeliveryVerdict.ALREADY_DONE
        if sync.claimed_until and sync.claimed_until > now:
            return DeliveryVerdict.IN_FLIGHT
        if sync.next_attempt_at > now + datetime.timedelta(seconds=1):
            return DeliveryVerdict.NOT_DUE
        if not sync.integration.is_active:
            return DeliveryVerdict.INTEGRATION_INACTIVE
        if _earlier_pending(sync).exists():
            return DeliveryVerdict.WAITING_FOR_EARLIER_EVENT
        deferred = _defer_if_gated(sync)
        if deferred:
            return deferred
        sync.claimed_until = now + datetime.timedelta(seconds=settings.SYNC_CLAIM_SECONDS)
        sync.save(update_fields=["claimed_until", "updated_at"])
    return sync, sync.integration


def _defer_if_gated(sync: IntegrationSync) -> DeliveryVerdict | None:
    """An open circuit, a full bulkhead or an exhausted rate limit moves the sync to when it
    may go, without an HTTP call and without spending an attempt; a worker never sleeps."""
    integration = sync.integration
    circuit = resilience.circuit_allow(integration)
    if circuit.state == CircuitState.OPEN:
        # Parked: one wake-up message per open window, not one per sync; the rest follow
        # when the probe closes the circuit (or the sweep finds them due).
        wait = max(0.0, circuit.retry_at - time.time())
        _defer(sync, wait, enqueue=resilience.circuit_wakeup_claim(integration, seconds=wait))
        return DeliveryVerdict.CIRCUIT_OPEN
    probing = circuit.state == CircuitState.HALF_OPEN
    if not probing and not resilience.inflight_acquire(integration, str(sync.pk)):
        _defer(sync, 0.05 + random.uniform(0, 0.25), enqueue=True)  # noqa: S311 (jitter)
        return DeliveryVerdict.CONCURRENCY_LIMITED
    wait = resilience.rate_limit_wait(integration)
    if wait:
        resilience.inflight_release(integration, str(sync.pk))
        _defer(sync, wait + random.uniform(0, wait), enqueue=True)  # noqa: S311 (spreads waiting syncs)
        return DeliveryVerdict.RATE_LIMITED
    return None


def _defer(sync: IntegrationSync, wait: float, *, enqueue: bool) -> None:
    sync.next_attempt_at = timezone.now() + datetime.timedelta(seconds=wait)
    sync.save(update_fields=["next_attempt_at", "updated_at"])
    if enqueue:
        dispatch.sync_enqueue_later(sync_id=sync.pk, delay=wait)


def _earlier_pending(sync: IntegrationSync) -> QuerySet[IntegrationSync]:
    return IntegrationSync.objects.filter(
        integration_id=sync.integration_id,
        content_type_id=sync.content_type_id,
        object_id=sync.object_id,
        status=Pending,
        id__lt=sync.pk,
    )


def _run_connector(sync: IntegrationSync, integration: TenantIntegration) -> Outcome:
    try:
        connector_class = registry.get(integration.integration_type)
    except ConnectorError as error:
        return Outcome(error=error)
    link = (
        ExternalLink.objects.filter(
            integration=integration, content_type_id=sync.content_type_id, object_id=sync.object_id
        ).first()
        if connector_class.uses_external_links
        else None
    )
    event = Event(
        event_type=sync.event_type,
        event_id=str(sync.event_id),
        payload=sync.payload,
        existing=ExternalRef(link.external_id, link.external_url, link.details) if link else None,
        attempt=sync.attempts + 1,
    )
    size = len(event.body())
    if size > settings.INTEGRATIONS_MAX_PAYLOAD_BYTES:
        message = f"The event is {size} bytes, over the {settings.INTEGRATIONS_MAX_PAYLOAD_BYTES}-byte limit (INTEGRATIONS_MAX_PAYLOAD_BYTES)."
        return Outcome(error=ConnectorError(message, permanent=True, error_class=ErrorClass.PAYLOAD))
    try:
        return Outcome(result=integration_connector(integration=integration).deliver(event))
    except ConnectorError as error:
        return Outcome(error=error)
    except SecretsUnreadable as exc:
        return Outcome(error=ConnectorError(str(exc), permanent=True, error_class=ErrorClass.CONFIG))
    except SoftTimeLimitExceeded:
        limit = settings.SYNC_TASK_SOFT_TIME_LIMIT
        message = f"The delivery took longer than {limit:g} s (SYNC_TASK_SOFT_TIME_LIMIT) and was stopped."
        return Outcome(error=ConnectorError(message, error_class=ErrorClass.TIMEOUT))
    except Exception as exc:  # a bug in a connector must not lose the event: record it and retry
        logger.exception("Connector %s crashed on sync %s", integration.integration_type, sync.pk)
        return Outcome(error=ConnectorError(f"Internal error: {type(exc).__name__}", error_class=ErrorClass.INTERNAL))


def _sync_record(sync_id: int, *, outcome: Outcome, started_at: datetime.datetime, duration_ms: int) -> DeliveryVerdict:
    """Write the attempt and the sync's new state; schedule what comes next after commit."""
    with transaction.atomic():
        sync = IntegrationSync.objects.select_for_update().select_related("integration").filter(pk=sync_id).first()
        if sync is None:
            return DeliveryVerdict.GONE
        integration = sync.integration
        hidden = secret_strings(integration.secrets_or_empty())
        sync.attempts += 1
        sync.claimed_until = None
        error = outcome.error
        status_code = outcome.result.status_code if outcome.result else error.status_code
        SyncAttempt.objects.create(
            sync=sync,
            number=sync.attempts,
            started_at=started_at,
            duration_ms=duration_ms,
            succeeded=error is None,
            status_code=status_code,
            error_class=error.error_class if error else "",
            error=scrub(error.message, hidden) if error else "",
            response_excerpt=scrub((outcome.result or error).response_excerpt, hidden, cut=True)[:500],
        )
        sync.last_status_code = status_code
        if error is None:
            verdict = _mark_synced(sync, outcome.result)
        elif error.permanent or sync.attempts >= integration.max_attempts:
            verdict = _mark_failed(sync, scrub(error.message, hidden), permanent=error.permanent)
        else:
            verdict = _schedule_retry(sync, scrub(error.message, hidden), error.retry_after)
        sync.save()
        _track_integration_health(integration, failed=error is not None, last_error=sync.last_error)
    _resilience_feedback(sync, error, (outcome.result or error).rate_limit)
    _log_delivery(sync, verdict, duration_ms)
    return verdict


def _resilience_feedback(sync: IntegrationSync, error: ConnectorError | None, rate_limit: RateLimitHint | None) -> None:
    integration = sync.integration
    resilience.inflight_release(integration, str(sync.pk))
    if resilience.outcome_record(integration, error=error, rate_limit=rate_limit):
        _release_parked(integration)


def _release_parked(integration: TenantIntegration) -> None:
    """The circuit closed: send what waited for it now instead of at the next sweep."""
    parked = IntegrationSync.objects.filter(
        integration=integration, status=Pending, next_attempt_at__lte=timezone.now()
    ).order_by("id")
    dispatch.syncs_enqueue(sync_ids=list(parked.values_list("id", flat=True)[: settings.SYNC_SWEEP_BATCH_SIZE]))


def _track_integration_health(integration: TenantIntegration, *, failed: bool, last_error: str) -> None:
    """Remember since when every delivery failed; past AUTO_PAUSE_AFTER_HOURS, pause the
    integration (its pending syncs wait and resume when it is re-activated)."""
    now = timezone.now()
    if not failed:
        if integration.failing_since:
            TenantIntegration.objects.filter(pk=integration.pk).update(failing_since=None)
        return
    if integration.failing_since is None:
        TenantIntegration.objects.filter(pk=integration.pk, failing_since__isnull=True).update(failing_since=now)
        return
    if integration.is_active and now - integration.failing_since >= datetime.timedelta(
        hours=settings.AUTO_PAUSE_AFTER_HOURS
    ):
        reason = (
            f"Paused automatically on {now:%Y-%m-%d %H:%M} UTC: every delivery has failed since "
            f"{integration.failing_since:%Y-%m-%d %H:%M} UTC. Last error: {last_error[:300]} "
            "Fix the cause, then tick 'Is active' to resume; pending syncs are kept."
        )
        TenantIntegration.objects.filter(pk=integration.pk).update(is_active=False, paused_reason=reason)
        logger.warning("integration paused tenant=%s integration=%s", integration.tenant_id, integration.pk)


def _mark_synced(sync: IntegrationSync, result: DeliveryResult) -> DeliveryVerdict:
    now = timezone.now()
    sync.status = IntegrationSync.Status.SYNCED
    sync.synced_at = now
    sync.last_error = ""
    if result.external_id:
        sync.external_id, sync.external_url = result.external_id, result.external_url
        remembered = {"external_id": result.external_id, "external_url": result.external_url}
        if result.details:
            remembered["details"] = result.details
        ExternalLink.objects.update_or_create(
            integration=sync.integration,
            content_type_id=sync.content_type_id,
            object_id=sync.object_id,
            defaults=remembered,
        )
    where = f" ({sync.external_url or sync.external_id})" if sync.external_id else ""
    _note(sync, f"Sent {sync.event_type} to {sync.integration.name}{where}.")
    _after_commit_start_next(sync)
    return DeliveryVerdict.SYNCED


def _mark_failed(sync: IntegrationSync, message: str, *, permanent: bool) -> DeliveryVerdict:
    sync.status = IntegrationSync.Status.FAILED
    sync.last_error = message
    why = "permanent error" if permanent else f"{sync.attempts} attempts"
    _note(sync, f"Could not send {sync.event_type} to {sync.integration.name} ({why}): {message}")
    _after_commit_start_next(sync)
    return DeliveryVerdict.FAILED


def _schedule_retry(sync: IntegrationSync, message: str, retry_after: float | None) -> DeliveryVerdict:
    delay = retry_delay_seconds(
        attempt=sync.attempts, base_seconds=sync.integration.retry_backoff_seconds, retry_after=retry_after
    )
    sync.last_error = message
    sync.next_attempt_at = timezone.now() + datetime.timedelta(seconds=delay)
    dispatch.sync_enqueue_later(sync_id=sync.pk, delay=delay)
    return DeliveryVerdict.RETRY_SCHEDULED


def _after_commit_start_next(sync: IntegrationSync) -> None:
    """The next pending event of the same object to the same integration was waiting on this one."""
    following = (
        IntegrationSync.objects.filter(
            integration_id=sync.integration_id,
            content_type_id=sync.content_type_id,
            object_id=sync.object_id,
            status=Pending,
            id__gt=sync.pk,
        )
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )
    if following:
        transaction.on_commit(lambda: dispatch.syncs_enqueue(sync_ids=[following]))


def _note(sync: IntegrationSync, body: str) -> None:
    target = sync.content_object
    if isinstance(target, WorkItem):
        workitem_note_create(workitem=target, body=body, kind=WorkItemNote.Kind.SYSTEM)


def _log_delivery(sync: IntegrationSync, verdict: DeliveryVerdict, duration_ms: int) -> None:
    logger.info(
        "delivery tenant=%s integration=%s sync=%s event=%s attempt=%s outcome=%s status=%s duration_ms=%s",
        sync.integration.tenant_id,
        sync.integration_id,
        sync.pk,
        sync.event_id,
        sync.attempts,
        verdict,
        sync.last_status_code,
        duration_ms,
    )
