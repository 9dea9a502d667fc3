"""The only module that touches Celery tasks: every message the engine sends starts here.

Messages carry no sync ids: each one wakes a worker that claims whatever is due (decision
0010). A commit of events sends one; a retry or a deferral sends one for when it is due
(coalesced to one per second); the sweep sends what a backlog needs. Tasks call the engine,
so the engine imports `integrations.tasks` here only, when it sends (decision 0008). A
broker outage is logged, not raised: the syncs are safe in the outbox and the sweep sends them.
"""

from __future__ import annotations

import datetime
import logging
import math
import time
from types import ModuleType

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger("integrations.delivery")
QUEUED_KEY = "fieldhook:wakeup:queued"
QUEUED_SECONDS = 10  # a wake-up lost on the way stops holding commits back after this


def wake(*, countdown: float = 0.0) -> bool:
    """Ask a worker to deliver what is due (in `countdown` seconds); False if the broker is down."""
    if countdown > 0:
        due_second = math.ceil(time.time() + countdown)
        if not cache.add(f"fieldhook:wakeup:{due_second}", 1, timeout=math.ceil(countdown) + 60):
            return True  # a wake-up for that second is on its way already
    return _publish(_tasks().deliver_due, [], countdown or None)


def wake_after_commit() -> None:
    """After commit, one wake-up however many events the transaction wrote (none if it rolls
    back): while a wake-up is queued and no worker has started on it, commits add none — the
    worker that starts on it claims after they committed, so it sees their events too."""
    transaction.on_commit(_wake_unless_queued)


def _wake_unless_queued() -> None:
    if cache.add(QUEUED_KEY, 1, timeout=QUEUED_SECONDS) and not wake():
        cache.delete(QUEUED_KEY)  # nothing went out: the next commit tries again


def wake_taken() -> None:
    """A worker starts on a wake-up: later commits must send their own."""
    cache.delete(QUEUED_KEY)


def wake_later(*, delay: float) -> None:
    """After commit, a wake-up for when something becomes due. Waits longer than
    SYNC_RETRY_COUNTDOWN_MAX_SECONDS are left to the beat sweep, so that workers do not hold
    hours-long ETA messages."""
    if delay <= settings.SYNC_RETRY_COUNTDOWN_MAX_SECONDS:
        transaction.on_commit(lambda: wake(countdown=max(0.0, delay)))


def wake_workers(*, count: int) -> int:
    """Up to `count` wake-ups at once (the sweep, an operator's retry); returns how many went out."""
    for sent in range(count):
        if not wake():
            return sent
    return count


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


def package_run_enqueue(*, run_id: int) -> None:
    """After commit, the task that runs a package (routed to the `polls` queue: a slow tool never
    takes a delivery slot). A broker outage leaves the run queued; resuming it sends it again."""

    def send() -> None:
        try:
            _tasks().run_package.apply_async(args=[run_id])
        except Exception as exc:
            logger.error(
                "Broker unavailable (%s: %s): package run %s stays queued; resume it", type(exc).__name__, exc, run_id
            )

    transaction.on_commit(send)


def _publish(task, args: list, countdown: float | None) -> bool:
    try:
        task.apply_async(args=args, countdown=countdown)
    except Exception as exc:
        logger.warning("Broker unavailable (%s: %s); the sweep will send what is due", type(exc).__name__, exc)
        return False
    return True


def _tasks() -> ModuleType:
    from integrations import tasks  # at call time: tasks import the engine (decision 0008)

    return tasks
