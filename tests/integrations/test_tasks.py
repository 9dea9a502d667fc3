"""Tasks keep the names they were registered under: beat rows, queued messages and
CELERY_TASK_ROUTES store names, so renaming a function must not rename its task. (The
per-sync delivery tasks of the first engine are gone: a message of theirs still queued at an
upgrade is refused by the worker, and the sweep delivers its sync.)"""

from app.celery import celery_app
from integrations import tasks

REGISTERED = {
    "integrations.tasks.deliver_due": tasks.deliver_due,
    "integrations.tasks.retry_failed_syncs": tasks.requeue_due_syncs,
    "integrations.tasks.prune_sync_attempts": tasks.prune_sync_attempts,
    "integrations.tasks.prune_events": tasks.prune_events,
    "integrations.tasks.poll_integrations": tasks.enqueue_due_polls,
    "integrations.tasks.poll_integration": tasks.poll_integration,
    "integrations.tasks.backfill_integration": tasks.backfill_integration,
    "integrations.tasks.run_package": tasks.run_package,
}


def test_every_task_is_registered_under_the_name_stored_in_beat_rows_and_queued_messages():
    ours = {name: task for name, task in celery_app.tasks.items() if name.startswith("integrations.")}

    assert ours == REGISTERED
