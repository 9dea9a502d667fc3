"""Periodic tasks are declared once (integrations/engine/schedules.py, tenants/schedules.py) and
synced after every migrate: missing ones created, ours corrected, everyone else's left alone."""

import pytest
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask, PeriodicTasks

from app.celery import celery_app
from integrations import tasks  # noqa: F401  (registers them)
from integrations.engine.schedules import SCHEDULES, periodic_tasks_sync
from tenants import tasks as tenant_tasks  # noqa: F401  (registers them)
from tenants.schedules import SCHEDULES as TENANT_SCHEDULES

pytestmark = pytest.mark.django_db

SWEEP = "Fieldhook: retry due and stranded syncs"


def declared() -> set[tuple]:
    return {(s.name, s.task, s.every_seconds, "seconds", s.queue, True) for s in (*SCHEDULES, *TENANT_SCHEDULES)}


def stored(rows=None) -> set[tuple]:
    rows = PeriodicTask.objects.all() if rows is None else rows
    return {(t.name, t.task, t.interval.every, t.interval.period, t.queue, t.enabled) for t in rows}


def every(seconds: int) -> IntervalSchedule:
    return IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)[0]


def test_a_fresh_migrate_ends_with_exactly_our_schedules():
    assert stored() == declared()


def test_every_schedule_names_a_registered_task():
    assert {schedule.task for schedule in (*SCHEDULES, *TENANT_SCHEDULES)} <= set(celery_app.tasks)


def test_syncing_again_changes_nothing_and_does_not_make_beat_reload():
    PeriodicTasks.update_changed()
    before = PeriodicTasks.last_change()

    assert periodic_tasks_sync() == 0
    assert periodic_tasks_sync() == 0

    assert stored() == declared()
    assert PeriodicTasks.last_change() == before


def test_a_changed_interval_is_put_back_on_migrate():
    PeriodicTask.objects.filter(name=SWEEP).update(interval=every(300))

    call_command("migrate", verbosity=0)

    sweep = PeriodicTask.objects.get(name=SWEEP)
    assert (sweep.interval.every, sweep.interval.period) == (60, "seconds")


def test_a_changed_task_queue_or_enabled_flag_of_ours_is_put_back():
    PeriodicTask.objects.filter(name=SWEEP).update(task="integrations.tasks.gone", queue="elsewhere", enabled=False)

    assert periodic_tasks_sync() == 1

    assert stored() == declared()


def test_a_deleted_schedule_of_ours_is_created_again():
    PeriodicTask.objects.filter(name=SWEEP).delete()

    assert periodic_tasks_sync() == 1

    assert stored() == declared()


def test_a_changed_schedule_wakes_a_running_beat():
    PeriodicTasks.update_changed()
    before = PeriodicTasks.last_change()
    PeriodicTask.objects.filter(name=SWEEP).update(interval=every(300))

    periodic_tasks_sync()

    assert PeriodicTasks.last_change() > before


def test_other_peoples_tasks_are_left_alone():
    nightly = PeriodicTask.objects.create(
        name="Nightly export", task="reports.export", interval=every(3600), enabled=False, queue="reports"
    )
    nightly_before = stored([nightly])
    changed_at = PeriodicTask.objects.get(pk=nightly.pk).date_changed

    periodic_tasks_sync()

    assert stored(PeriodicTask.objects.filter(pk=nightly.pk)) == nightly_before
    assert PeriodicTask.objects.get(pk=nightly.pk).date_changed == changed_at
    assert stored(PeriodicTask.objects.exclude(pk=nightly.pk)) == declared()


def test_a_crontab_put_on_one_of_ours_is_replaced_by_its_interval():
    PeriodicTask.objects.filter(name=SWEEP).update(crontab=CrontabSchedule.objects.create(minute="*/5"), interval=None)

    periodic_tasks_sync()

    sweep = PeriodicTask.objects.get(name=SWEEP)
    assert (sweep.crontab, sweep.interval.every) == (None, 60)
