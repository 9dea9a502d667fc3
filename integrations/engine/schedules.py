"""The engine's periodic tasks, declared once here and written to django-celery-beat after
every migrate (app/schedules.py says how).

Migrations 0002 and 0006 created the first rows and stay as history. From then on this list
is the truth.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS

from app.schedules import Schedule, schedules_sync, schedules_sync_after_migrate

SCHEDULES = (
    Schedule("Fieldhook: retry due and stranded syncs", "integrations.tasks.retry_failed_syncs", 60),
    Schedule("Fieldhook: prune old sync attempts", "integrations.tasks.prune_sync_attempts", 24 * 3600),
    Schedule("Fieldhook: prune delivered events", "integrations.tasks.prune_events", 24 * 3600),
    Schedule("Fieldhook: poll integrations for status changes", "integrations.tasks.poll_integrations", 60),
)


def periodic_tasks_sync(*, using: str = DEFAULT_DB_ALIAS) -> int:
    """Make the engine's beat rows match SCHEDULES; returns how many were created or changed."""
    return schedules_sync(schedules=SCHEDULES, using=using)


def periodic_tasks_sync_after_migrate(**kwargs) -> None:
    """post_migrate receiver of the integrations app."""
    schedules_sync_after_migrate(schedules=SCHEDULES, **kwargs)
