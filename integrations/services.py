"""Writes around the delivery engine: the outbox, enqueueing, the sweep and operator actions.

Life of a sync: `syncs_create_for_event` writes it (pending) in the caller's
transaction and enqueues it on commit; `integrations.delivery.sync_deliver` claims it,
runs the connector outside any transaction and records the outcome; `syncs_requeue_due`
(beat, every minute) re-enqueues syncs that are due or were stranded by a broker or
worker failure.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from integrations import resilience
from integrations.connectors import registry
from integrations.connectors.errors import ConnectorError
from integrations.crypto import SecretsUnreadable
from integrations.models import EventType, IntegrationSync, SyncAttempt, TenantIntegration
from integrations.policy import scrub, secret_strings

logger = logging.getLogger("integrations.delivery")

Pending = IntegrationSync.Status.PENDING


# --- Writing the outbox -------------------------------------------------------------


def integrations_subscribed(*, tenant_id: int, event_type: str) -> list[TenantIntegration]:
    """Active integrations of the tenant that want this event (filtered in Python: works on SQLite too)."""
    candidates = TenantIntegration.objects.filter(tenant_id=tenant_id, is_active=True)
    return [integration for integration in candidates if event_type in integration.event_types]


def syncs_create_for_event(
    *, obj: Model, event_type: str, payload: dict[str, Any], event_id: str, integrations: list[TenantIntegration]
) -> list[IntegrationSync]:
    """Write one pending sync per integration in the current transaction; enqueue them on commit."""
    if not integrations:
        return []
    now = timezone.now()
    content_type = ContentType.objects.get_for_model(obj)
    syncs = IntegrationSync.objects.bulk_create(
        IntegrationSync(
            integration=integration,
            content_type=content_type,
            object_id=obj.pk,
            event_type=event_type,
            event_id=event_id,
            payload=payload,
            next_attempt_at=now,
        )
        for integration in integrations
    )
    sync_ids = [sync.pk for sync in syncs]
    transaction.on_commit(lambda: syncs_publish_new(sync_ids=sync_ids))
    return syncs


def syncs_enqueue(*, sync_ids: list[int], countdown: float | None = None) -> int:
    """Hand syncs to Celery, one message each; returns how many were handed over."""
    from integrations.tasks import send_integration_webhook

    for index, sync_id in enumerate(sync_ids):
        if not _publish(send_integration_webhook, [sync_id], countdown, pending=len(sync_ids) - index):
            return index
    return len(sync_ids)


def syncs_publish_new(*, sync_ids: list[int]) -> None:
    """On commit of an event: one message whatever the number of integrations listening; a
    worker fans it out, so a request does not pay one broker round trip per integration."""
    from integrations.tasks import fan_out_syncs

    if len(sync_ids) == 1:
        syncs_enqueue(sync_ids=sync_ids)
    else:
        _publish(fan_out_syncs, [sync_ids], None, pending=len(sync_ids))


def _publish(task, args: list, countdown: float | None, *, pending: int) -> bool:
    """A broker outage is logged, not raised: the rows are safe in the outbox and the sweep sends them."""
    try:
        task.apply_async(args=args, countdown=countdown)
    except Exception as exc:
        logger.warning("Broker unavailable (%s: %s); %d sync(s) left for the sweep", type(exc).__name__, exc, pending)
        return False
    return True


# --- Sweeping, retrying, replaying ----------------------------------------------------


def syncs_due_for_requeue(*, now: datetime.datetime | None = None) -> QuerySet[IntegrationSync]:
    """Pending syncs overdue by more than the grace period and not claimed by a live worker:
    due retries, and syncs stranded by a broker outage at commit or a dead worker."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.SYNC_STRANDED_GRACE_SECONDS)
    return IntegrationSync.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        status=Pending,
        next_attempt_at__lte=cutoff,
        integration__is_active=True,
    )


def syncs_requeue_due() -> int:
    """Enqueue every overdue sync, in batches by id; returns how many were enqueued."""
    batch_size = settings.SYNC_SWEEP_BATCH_SIZE
    enqueued, last_id = 0, 0
    while True:
        batch = list(
            syncs_due_for_requeue().filter(id__gt=last_id).order_by("id").values_list("id", flat=True)[:batch_size]
        )
        if not batch:
            return enqueued
        sent = syncs_enqueue(sync_ids=batch)
        enqueued += sent
        if sent < len(batch) or len(batch) < batch_size:
            return enqueued
        last_id = batch[-1]


def syncs_retry_now(*, syncs: QuerySet[IntegrationSync], include_synced: bool = False) -> int:
    """Give the selected syncs a fresh round of attempts, now. With include_synced, synced
    ones are sent again too (a replay: same event_id, so receivers can dedupe)."""
    allowed = [IntegrationSync.Status.PENDING, IntegrationSync.Status.FAILED]
    if include_synced:
        allowed.append(IntegrationSync.Status.SYNCED)
    with transaction.atomic():
        ids = list(syncs.filter(status__in=allowed).values_list("id", flat=True))
        IntegrationSync.objects.filter(id__in=ids).update(
            status=Pending, attempts=0, next_attempt_at=timezone.now(), claimed_until=None, synced_at=None
        )
        transaction.on_commit(lambda: syncs_enqueue(sync_ids=ids))
    return len(ids)


def integration_resilience_reset(*, integration: TenantIntegration) -> int:
    """An operator says the receiver is fine again: close its circuit breaker, clear a
    rate-limit pause (a 429's Retry-After), and send its waiting syncs now instead of when
    those told them to wait. Returns how many syncs were brought forward."""
    resilience.circuit_reset(integration)
    resilience.rate_limit_reset(integration)
    now = timezone.now()
    with transaction.atomic():
        waiting = IntegrationSync.objects.filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
            integration=integration,
            status=Pending,
            next_attempt_at__gt=now,
        )
        ids = list(waiting.order_by("id").values_list("id", flat=True))
        IntegrationSync.objects.filter(id__in=ids).update(next_attempt_at=now)
        # The first batch goes at once; the sweep finds the rest, now due.
        transaction.on_commit(lambda: syncs_enqueue(sync_ids=ids[: settings.SYNC_SWEEP_BATCH_SIZE]))
    return len(ids)


def integration_send_test_event(*, integration: TenantIntegration) -> IntegrationSync:
    """Queue a sample event through the normal outbox (the admin's 'Send test event')."""
    event_id = str(uuid.uuid4())
    payload = {
        "event_type": EventType.INTEGRATION_TEST,
        "event_id": event_id,
        "timestamp": timezone.now().isoformat().replace("+00:00", "Z"),
        "tenant": {"id": integration.tenant_id, "name": integration.tenant.name},
        "test": True,
        "message": f"Test event from Fieldhook for integration '{integration.name}'.",
    }
    with transaction.atomic():
        (sync,) = syncs_create_for_event(
            obj=integration,
            event_type=EventType.INTEGRATION_TEST,
            payload=payload,
            event_id=event_id,
            integrations=[integration],
        )
    return sync


def integration_connector(*, integration: TenantIntegration):
    """The integration's connector, able to persist secrets it renews (OAuth tokens)."""
    connector_class = registry.get(integration.integration_type)
    return connector_class(
        config=integration.config,
        secrets=integration.secrets,
        save_secrets=lambda values: integration_secrets_save(integration=integration, secrets=values),
        load_secrets=lambda: TenantIntegration.objects.get(pk=integration.pk).secrets_or_empty(),
        cache_namespace=str(integration.uuid),
    )


def integration_secrets_save(*, integration: TenantIntegration, secrets: dict[str, Any]) -> None:
    integration.secrets = secrets
    TenantIntegration.objects.filter(pk=integration.pk).update(secrets_encrypted=integration.secrets_encrypted)


def integration_clear_pause(*, integration: TenantIntegration) -> None:
    """An operator re-activated the integration: forget the failure streak and the pause note."""
    integration.failing_since = None
    integration.paused_reason = ""


def integration_test_connection(*, integration: TenantIntegration) -> tuple[bool, str]:
    """Run the connector's side-effect-free check; the message never contains a secret."""
    secrets = integration.secrets_or_empty()
    try:
        return True, integration_connector(integration=integration).test_connection()
    except (ConnectorError, SecretsUnreadable) as error:
        return False, scrub(str(error), secret_strings(secrets))


def sync_attempts_prune(*, older_than_days: int | None = None) -> int:
    """Delete attempt rows past the retention period (the syncs themselves stay)."""
    days = settings.SYNC_ATTEMPT_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - datetime.timedelta(days=days)
    deleted, _ = SyncAttempt.objects.filter(started_at__lt=cutoff).delete()
    return deleted
