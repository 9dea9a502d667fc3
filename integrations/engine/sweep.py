"""The beat sweep and the operator's second chances: wake workers for what is due or stranded,
retry and replay on request, and prune history (payloads hold customer data)."""

from __future__ import annotations

import datetime
import math

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from integrations.engine import dispatch
from integrations.models import IntegrationEvent, IntegrationSync, SyncAttempt

Status = IntegrationSync.Status


def syncs_due_for_requeue(*, now: datetime.datetime | None = None) -> QuerySet[IntegrationSync]:
    """Pending syncs overdue by more than the grace period and not claimed by a live worker:
    due retries, and syncs stranded by a broker outage at commit or a dead worker. Read from
    the pending-only index alone."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.SYNC_STRANDED_GRACE_SECONDS)
    return IntegrationSync.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        status=Status.PENDING,
        next_attempt_at__lte=cutoff,
        integration__is_active=True,
    )


def syncs_requeue_due() -> int:
    """Wake as many workers as the overdue syncs need (one per batch, at most
    SYNC_SWEEP_MAX_WAKEUPS); each drains until nothing is due. Returns how many were overdue."""
    overdue = syncs_due_for_requeue().count()
    if overdue:
        dispatch.wake_workers(count=min(settings.SYNC_SWEEP_MAX_WAKEUPS, math.ceil(overdue / settings.SYNC_BATCH_SIZE)))
    return overdue


def syncs_retry_now(*, syncs: QuerySet[IntegrationSync], include_synced: bool = False) -> int:
    """Give the selected syncs a fresh round of attempts, now. With include_synced, synced
    ones are sent again too (a replay: same event id, so receivers can dedupe)."""
    allowed = [Status.PENDING, Status.FAILED]
    if include_synced:
        allowed.append(Status.SYNCED)
    with transaction.atomic():
        ids = list(syncs.filter(status__in=allowed).values_list("id", flat=True))
        IntegrationSync.objects.filter(id__in=ids).update(
            status=Status.PENDING, attempts=0, next_attempt_at=timezone.now(), claimed_until=None, synced_at=None
        )
        if ids:
            dispatch.wake_after_commit()
    return len(ids)


def sync_attempts_prune(*, older_than_days: int | None = None) -> int:
    """Delete attempt rows past the retention period (the syncs themselves stay)."""
    days = settings.SYNC_ATTEMPT_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - datetime.timedelta(days=days)
    deleted, _ = SyncAttempt.objects.filter(started_at__lt=cutoff).delete()
    return deleted


def events_prunable(*, now: datetime.datetime | None = None) -> QuerySet[IntegrationEvent]:
    """Events whose payload may go: older than SYNC_RETENTION_DAYS with nothing left to send
    and no failure to look into — a failure is kept until resolved or SYNC_FAILED_RETENTION_DAYS;
    an event still pending is never pruned."""
    now = now or timezone.now()
    kept_until = now - datetime.timedelta(days=settings.SYNC_RETENTION_DAYS)
    failures_until = now - datetime.timedelta(days=settings.SYNC_FAILED_RETENTION_DAYS)
    syncs = IntegrationSync.objects.filter(event=OuterRef("pk"))
    return (
        IntegrationEvent.objects.filter(created_at__lt=kept_until)
        .exclude(Exists(syncs.filter(status=Status.PENDING)))
        .exclude(Q(created_at__gte=failures_until) & Exists(syncs.filter(status=Status.FAILED)))
    )


def events_prune() -> int:
    """Delete prunable events with their syncs and attempts, a batch at a time; returns how many."""
    deleted = 0
    while True:
        batch = list(events_prunable().order_by("id").values_list("id", flat=True)[: settings.SYNC_PRUNE_BATCH_SIZE])
        if not batch:
            return deleted
        IntegrationEvent.objects.filter(id__in=batch).delete()
        deleted += len(batch)
