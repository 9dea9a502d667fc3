"""The tenants app's periodic tasks, written to django-celery-beat after every migrate (app/schedules.py)."""

from app.schedules import Schedule, schedules_sync_after_migrate

SCHEDULES = (Schedule("Fieldhook: prune expired idempotency keys", "tenants.tasks.prune_idempotency_keys", 3600),)


def periodic_tasks_sync_after_migrate(**kwargs) -> None:
    """post_migrate receiver of the tenants app."""
    schedules_sync_after_migrate(schedules=SCHEDULES, **kwargs)
