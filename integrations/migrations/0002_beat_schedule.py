"""Creates the periodic tasks in django-celery-beat, so no one has to add them by hand.

Frozen history: the schedules are declared in integrations/engine/schedules.py and synced
after every migrate; do not copy this into a new migration."""

from django.db import migrations

SCHEDULES = [
    ("Fieldhook: retry due and stranded syncs", "integrations.tasks.retry_failed_syncs", 60),
    ("Fieldhook: prune old sync attempts", "integrations.tasks.prune_sync_attempts", 24 * 3600),
]


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, seconds in SCHEDULES:
        interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
        PeriodicTask.objects.update_or_create(name=name, defaults={"task": task, "interval": interval, "enabled": True})


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, _, _ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
