"""/healthz answers 200 when PostgreSQL, the cache and the broker answer, 503 naming the one
that does not, and "degraded" (still 200) when celery beat has not run recently.

Outages are real: the dependency is pointed at a local port nobody listens on. Beat's runs
are the last_run_at that its database scheduler writes (tests/e2e/test_beat_e2e.py runs it).
"""

import socket
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from tests.helpers import closed_port

HEALTHZ = "/healthz"


@pytest.fixture
def broker_down(monkeypatch):
    """Celery reads CELERY_BROKER_URL from the environment before its own config, at connection time."""
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{closed_port()}/0")


@pytest.fixture
def database_down(transactional_db):
    """Reconnects the default connection to a closed port, then back to the test database."""
    original_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(closed_port())
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = original_port
        connection.ensure_connection()


def beat_sent(*, seconds_ago: float | None, every_seconds: int = 60) -> None:
    """Beat's record of one enabled periodic task; the migrations' own tasks never ran here."""
    interval, _ = IntervalSchedule.objects.get_or_create(every=every_seconds, period=IntervalSchedule.SECONDS)
    last_run_at = None if seconds_ago is None else timezone.now() - timedelta(seconds=seconds_ago)
    PeriodicTask.objects.create(
        name=f"test every {every_seconds} s", task="t", interval=interval, last_run_at=last_run_at
    )


@pytest.fixture
def beat_ran_recently(db) -> None:
    beat_sent(seconds_ago=20)


def test_healthz_is_ok_when_database_cache_and_broker_answer_and_beat_ran(client, beat_ran_recently):
    response = client.get(HEALTHZ)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["cache"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True
    assert isinstance(body["checks"]["broker"]["ms"], float)
    assert body["checks"]["beat"]["ok"] is True
    assert 19 <= body["checks"]["beat"]["age_seconds"] < 60
    assert body["checks"]["beat"]["max_age_seconds"] == 120


def test_healthz_is_503_naming_the_cache_when_it_is_down(client, beat_ran_recently, cache_down):
    response = client.get(HEALTHZ)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["cache"] == {"ok": False, "error": "ConnectionError"}
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True


def test_a_stale_beat_is_degraded_with_its_age_not_down(client, db):
    beat_sent(seconds_ago=600)

    response = client.get(HEALTHZ)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    beat = body["checks"]["beat"]
    assert (beat["ok"], beat["max_age_seconds"]) == (False, 120)
    assert 600 <= beat["age_seconds"] < 660


def test_a_beat_that_never_ran_is_degraded(client, db):
    beat_sent(seconds_ago=None)

    body = client.get(HEALTHZ).json()

    assert body["status"] == "degraded"
    beat = body["checks"]["beat"]
    assert (beat["ok"], beat["error"], beat["max_age_seconds"]) == (False, "never ran", 120)


def test_beat_is_judged_by_the_shortest_interval_of_its_enabled_tasks(client, db):
    PeriodicTask.objects.update(enabled=False)
    beat_sent(seconds_ago=600, every_seconds=3600)

    body = client.get(HEALTHZ).json()

    assert body["status"] == "ok"
    assert body["checks"]["beat"]["max_age_seconds"] == 7200


def test_healthz_is_503_naming_the_broker_when_it_is_down(client, beat_ran_recently, broker_down):
    response = client.get(HEALTHZ)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"] == {"ok": False, "error": "OperationalError"}
    assert body["checks"]["database"]["ok"] is True


def test_healthz_is_503_naming_the_database_when_it_is_down(client, database_down):
    response = client.get(HEALTHZ)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == {"ok": False, "error": "OperationalError"}
    assert body["checks"]["broker"]["ok"] is True


@pytest.fixture
def silent_redis_url():
    """A port that accepts connections (the kernel's backlog) but never answers a byte."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


@pytest.mark.timeout(30)
def test_a_redis_that_accepts_but_never_answers_fails_the_cache_check_instead_of_hanging(
    client, settings, beat_ran_recently, silent_redis_url
):
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": silent_redis_url}}

    response = client.get(HEALTHZ)

    assert response.status_code == 503
    assert response.json()["checks"]["cache"]["ok"] is False
