"""Periodic tasks declared in code and written to django-celery-beat after every migrate.

An app that owns periodic tasks declares them in a `SCHEDULES` tuple (the delivery engine's
in integrations/engine/schedules.py, the API's in tenants/schedules.py) and connects a
post_migrate receiver that calls `schedules_sync_after_migrate` with them. The tuple is the
truth: a missing schedule is created, the interval, task, queue and enabled flag of ours
(found by name) are put back, and every other row is left alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS
from django_celery_beat.models import IntervalSchedule, PeriodicTask


@dataclass(frozen=True)
class Schedule:
    name: str  # finds the row again: renaming one would leave the old row running too
    task: str  # the registered task name (`name=` of the task)
    every_seconds: int
    queue: str | None = None  # None: CELERY_TASK_ROUTES decides


def schedules_sync(*, schedules: Iterable[Schedule], using: str = DEFAULT_DB_ALIAS) -> int:
    """Make these beat rows match `schedules`; returns how many were created or changed. A row
    that is already right is not saved, so a running beat is not told to reload for nothing."""
    changed = 0
    for schedule in schedules:
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


def schedules_sync_after_migrate(
    *, schedules: Iterable[Schedule], using: str = DEFAULT_DB_ALIAS, apps=global_apps, **kwargs
) -> None:
    """What a post_migrate receiver does (the signal is also sent after a flush, without
    `apps`); nothing while django-celery-beat's tables are not migrated."""
    try:
        apps.get_model("django_celery_beat", "PeriodicTask")
    except LookupError:
        return
    schedules_sync(schedules=schedules, using=using)
