"""The beat sweep and the operator's second chances: requeue what is due or stranded, retry
and replay on request, prune old attempts."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from integrations.engine import dispatch
from integrations.models import IntegrationSync, SyncAttempt

Pending = IntegrationSync.Status.PENDING


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
        sent = dispatch.syncs_enqueue(sync_ids=batch)
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
        transaction.on_commit(lambda: dispatch.syncs_hand_over(sync_ids=ids))
    return len(ids)


def sync_attempts_prune(*, older_than_days: int | None = None) -> int:
    """Delete attempt rows past the retention period (the syncs themselves stay)."""
    days = settings.SYNC_ATTEMPT_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - datetime.timedelta(days=days)
    deleted, _ = SyncAttempt.objects.filter(started_at__lt=cutoff).delete()
    return deleted
