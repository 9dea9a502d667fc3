"""A real `celery beat` on the test database: its scheduler records every send at once,
so /healthz can judge from the database that beat is running."""

import os
import signal
import subprocess
import sys

import pytest
from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from tests.e2e.conftest import ROOT, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def start_beat(database_url, clean_test_broker, tmp_path):
    """Starts `celery beat` in its own process group; what it sends stays in the test broker, unread."""
    processes: list[subprocess.Popen] = []
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "TEST_DATABASE_URL": database_url,
        "TEST_BROKER_URL": settings.CELERY_BROKER_URL,
    }

    def start() -> None:
        with (tmp_path / "beat.log").open("w") as log:
            command = [sys.executable, "-m", "celery", "-A", "app", "beat", "--loglevel=INFO"]
            options = {"cwd": ROOT, "env": env, "stdout": log, "stderr": subprocess.STDOUT, "start_new_session": True}
            processes.append(subprocess.Popen(command, **options))

    yield start
    for process in processes:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(15)


def last_run(task: PeriodicTask):
    task.refresh_from_db(fields=["last_run_at"])
    return task.last_run_at


def test_beat_records_each_send_in_the_database_and_healthz_sees_it_running(client, start_beat):
    PeriodicTask.objects.update(enabled=False)
    every_second = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    task = PeriodicTask.objects.create(name="test: every second", task="tests.noop", interval=every_second)
    start_beat()

    first = wait_until(lambda: last_run(task), timeout=30)
    # Beat's own default writes runs every 3 minutes: a second run shows up only with CELERY_BEAT_SYNC_EVERY=1.
    wait_until(lambda: last_run(task) > first, timeout=10)

    wait_until(lambda: client.get("/healthz").json()["checks"]["beat"]["ok"], timeout=10)
