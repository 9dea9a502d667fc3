"""Tasks keep the names they were registered under: beat rows, queued messages and
CELERY_TASK_ROUTES store names, so renaming a function must not rename its task."""

from app.celery import celery_app
from integrations import tasks

REGISTERED = {
    "integrations.tasks.send_integration_webhook": tasks.deliver_sync,
    "integrations.tasks.fan_out_syncs": tasks.fan_out_syncs,
    "integrations.tasks.retry_failed_syncs": tasks.requeue_due_syncs,
    "integrations.tasks.prune_sync_attempts": tasks.prune_sync_attempts,
    "integrations.tasks.poll_integrations": tasks.enqueue_due_polls,
    "integrations.tasks.poll_integration": tasks.poll_integration,
    "integrations.tasks.backfill_integration": tasks.backfill_integration,
}


def test_every_task_is_registered_under_the_name_stored_in_beat_rows_and_queued_messages():
    ours = {name: task for name, task in celery_app.tasks.items() if name.startswith("integrations.")}

    assert ours == REGISTERED
