"""The only module that touches Celery tasks: every message the engine sends starts here.

Tasks call the engine, so the engine cannot import them at module level without a cycle;
it imports `integrations.tasks` here only, when it sends (decision 0008). A broker outage is
logged, not raised, for syncs: their rows are safe in the outbox and the sweep sends them.
"""

from __future__ import annotations

import datetime
import logging
from types import ModuleType

from django.conf import settings
from django.db import transaction

logger = logging.getLogger("integrations.delivery")


def syncs_enqueue(*, sync_ids: list[int], countdown: float | None = None) -> int:
    """Hand syncs to Celery, one message each; returns how many were handed over."""
    deliver_sync = _tasks().deliver_sync
    for index, sync_id in enumerate(sync_ids):
        if not _publish(deliver_sync, [sync_id], countdown, pending=len(sync_ids) - index):
            return index
    return len(sync_ids)


def syncs_publish_new(*, sync_ids: list[int]) -> None:
    """On commit of an event: one message whatever the number of integrations listening; a
    worker fans it out, so a request does not pay one broker round trip per integration."""
    if len(sync_ids) == 1:
        syncs_enqueue(sync_ids=sync_ids)
    else:
        _publish(_tasks().fan_out_syncs, [sync_ids], None, pending=len(sync_ids))


def syncs_hand_over(*, sync_ids: list[int]) -> None:
    """Many syncs at once (an operator's retry or replay): one fan-out message per
    SYNC_SWEEP_BATCH_SIZE, so that the request pays a few broker round trips, not one per sync.
    Those a broker outage leaves behind are pending and due: the sweep sends them."""
    size = settings.SYNC_SWEEP_BATCH_SIZE
    for start in range(0, len(sync_ids), size):
        syncs_publish_new(sync_ids=sync_ids[start : start + size])


def sync_enqueue_later(*, sync_id: int, delay: float) -> None:
    """After commit, if the wait is short: it rides on a Celery countdown. Long waits are left
    to the beat sweep, so that workers do not hold hours-long ETA messages."""
    if delay <= settings.SYNC_RETRY_COUNTDOWN_MAX_SECONDS:
        transaction.on_commit(lambda: syncs_enqueue(sync_ids=[sync_id], countdown=delay))


def polls_enqueue(*, integration_ids: list[int]) -> None:
    """One poll task per integration (routed to the `polls` queue by CELERY_TASK_ROUTES)."""
    poll_integration = _tasks().poll_integration
    for integration_id in integration_ids:
        poll_integration.apply_async(args=[integration_id])


def integration_backfill_enqueue(
    *, integration_id: int, since: datetime.datetime | None, statuses: list[str] | None, after_id: int
) -> bool:
    """The next batch of a backfill, as a task of its own. No outbox row stands for a backfill
    not started yet: a broker outage is logged and ends it there; started again, it sends
    only what the integration has not received."""
    try:
        _tasks().backfill_integration.apply_async(
            args=[integration_id],
            kwargs={"since": since.isoformat() if since else None, "statuses": statuses, "after_id": after_id},
        )
    except Exception as exc:
        logger.error(
            "Broker unavailable (%s: %s): backfill of integration %s stopped after work item %s; start it again",
            type(exc).__name__,
            exc,
            integration_id,
            after_id,
        )
        return False
    return True


def _publish(task, args: list, countdown: float | None, *, pending: int) -> bool:
    try:
        task.apply_async(args=args, countdown=countdown)
    except Exception as exc:
        logger.warning("Broker unavailable (%s: %s); %d sync(s) left for the sweep", type(exc).__name__, exc, pending)
        return False
    return True


def _tasks() -> ModuleType:
    from integrations import tasks  # at call time: tasks import the engine (decision 0008)

    return tasks
