"""The periodic tasks, declared once here and written to django-celery-beat after every migrate.

Migrations 0002 and 0006 created the first rows and stay as history. From then on this list
is the truth: `periodic_tasks_sync` creates a missing schedule and puts back the interval,
task, queue and enabled flag of ours (found by name), and leaves every other row alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS
from django_celery_beat.models import IntervalSchedule, PeriodicTask


@dataclass(frozen=True)
class Schedule:
    name: str  # finds the row again: renaming one would leave the old row running too
    task: str  # the registered task name (`name=` in integrations/tasks.py)
    every_seconds: int
    queue: str | None = None  # None: CELERY_TASK_ROUTES decides


SCHEDULES = (
    Schedule("Fieldhook: retry due and stranded syncs", "integrations.tasks.retry_failed_syncs", 60),
    Schedule("Fieldhook: prune old sync attempts", "integrations.tasks.prune_sync_attempts", 24 * 3600),
    Schedule("Fieldhook: prune delivered events", "integrations.tasks.prune_events", 24 * 3600),
    Schedule("Fieldhook: poll integrations for status changes", "integrations.tasks.poll_integrations", 60),
)


def periodic_tasks_sync(*, using: str = DEFAULT_DB_ALIAS) -> int:
    """Make our beat rows match SCHEDULES; returns how many were created or changed. A row
    that is already right is not saved, so a running beat is not told to reload for nothing."""
    changed = 0
    for schedule in SCHEDULES:
        interval, _ = IntervalSchedule.objects.using(using).get_or_create(
            every=schedule.every_seconds, period=IntervalSchedule.SECONDS
        )
        wanted = {
            "task": schedule.task,
            "interval_id": interval.pk,
            "crontab_id": None,
            "solar_id": None,
            "clocked_id": None,
            "queue": schedule.queue,
            "enabled": True,
        }
        row = PeriodicTask.objects.using(using).filter(name=schedule.name).first() or PeriodicTask(name=schedule.name)
        if row.pk and all(getattr(row, field) == value for field, value in wanted.items()):
            continue
        for field, value in wanted.items():
            setattr(row, field, value)
        row.save(using=using)  # save(), not update(): beat learns of the change from it
        changed += 1
    return changed


def periodic_tasks_sync_after_migrate(*, using: str = DEFAULT_DB_ALIAS, apps=global_apps, **kwargs) -> None:
    """post_migrate receiver (also sent after a flush, without `apps`); nothing to do while
    django-celery-beat's tables are not migrated."""
    try:
        apps.get_model("django_celery_beat", "PeriodicTask")
    except LookupError:
        return
    periodic_tasks_sync(using=using)
