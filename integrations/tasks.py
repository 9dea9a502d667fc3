"""Celery tasks: thin wrappers that load by id and call the engine.

Python names say what a task does; `name=` keeps the name each was first registered under,
because beat rows and queued messages store it (and CELERY_TASK_ROUTES routes by it).
Only integrations.engine.dispatch sends these (decision 0008).

Every task has a soft time limit (the task is interrupted) and a hard one (its process is
killed) just above its longest legitimate run; see docs/operations.md "Time limits".
Poll tasks and package runs go to the `polls` queue (settings.CELERY_TASK_ROUTES)."""

import datetime

from celery import shared_task
from django.conf import settings

from integrations import packages, services
from integrations.engine import delivery, sweep
from integrations.inbound import polling


def time_limits(soft: float) -> dict[str, float]:
    return {"soft_time_limit": soft, "time_limit": soft + settings.TASK_HARD_LIMIT_GRACE_SECONDS}


DELIVERY_LIMITS = time_limits(settings.SYNC_TASK_SOFT_TIME_LIMIT)
POLL_LIMITS = time_limits(settings.POLL_TASK_SOFT_TIME_LIMIT)
PACKAGE_LIMITS = time_limits(settings.PACKAGE_TASK_SOFT_TIME_LIMIT)
LIMITS = time_limits(settings.TASK_SOFT_TIME_LIMIT)


@shared_task(
    name="integrations.tasks.deliver_due",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    **DELIVERY_LIMITS,
)
def deliver_due() -> int:
    """Deliver what is due, batch after batch, until nothing is (a wake-up carries no ids)."""
    return delivery.syncs_drain()


@shared_task(name="integrations.tasks.retry_failed_syncs", ignore_result=True, **LIMITS)
def requeue_due_syncs() -> int:
    """Beat, every minute: enqueue pending syncs that are due or were stranded."""
    return sweep.syncs_requeue_due()


@shared_task(name="integrations.tasks.prune_sync_attempts", ignore_result=True, **LIMITS)
def prune_sync_attempts() -> int:
    """Beat, daily: drop attempt rows older than SYNC_ATTEMPT_RETENTION_DAYS."""
    return sweep.sync_attempts_prune()


@shared_task(name="integrations.tasks.prune_events", ignore_result=True, **LIMITS)
def prune_events() -> int:
    """Beat, daily: drop delivered events (payloads hold customer data) past SYNC_RETENTION_DAYS."""
    return sweep.events_prune()


@shared_task(name="integrations.tasks.poll_integrations", ignore_result=True, **LIMITS)
def enqueue_due_polls() -> int:
    """Beat, every minute: one `poll_integration` per integration whose poll is due."""
    return polling.integrations_poll_enqueue()


@shared_task(name="integrations.tasks.poll_integration", ignore_result=True, **POLL_LIMITS)
def poll_integration(integration_id: int) -> str:
    """Ask one integration for the status of its linked remote objects (if still due)."""
    return polling.integration_poll_if_due(integration_id=integration_id)


@shared_task(name="integrations.tasks.backfill_integration", ignore_result=True, **LIMITS)
def backfill_integration(
    integration_id: int, since: str | None = None, statuses: list[str] | None = None, after_id: int = 0
) -> int:
    """One batch of existing work items to an integration; the next batch is a task of its own."""
    return services.integration_backfill_continue(
        integration_id=integration_id,
        since=datetime.datetime.fromisoformat(since) if since else None,
        statuses=statuses,
        after_id=after_id,
    )


@shared_task(name="integrations.tasks.run_package", ignore_result=True, **PACKAGE_LIMITS)
def run_package(run_id: int) -> str:
    """Create what a queued package run still misses (parent, children, links)."""
    return packages.package_run_execute(run_id=run_id)
