"""Liveness and readiness: database, cache and broker reachable; celery beat ran recently.

A stale beat is "degraded" (200): the web still serves, but retries, sweeps and polls wait.
"""

import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from app.celery import celery_app

# Beat counts as running while its newest run is at most this many of its shortest intervals old.
BEAT_STALE_AFTER_INTERVALS = 2
REQUIRED = ("database", "cache", "broker")


class CacheLostValue(Exception):
    """The cache accepted a value and did not give it back."""


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    key, value = f"healthz:{uuid.uuid4().hex}", "ok"
    cache.set(key, value, timeout=30)
    if cache.get(key) != value:
        raise CacheLostValue
    cache.delete(key)


def _check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=settings.HEALTHCHECK_TIMEOUT)


def _check_beat() -> dict:
    """Beat's scheduler writes each task's last_run_at when it sends it (CELERY_BEAT_SYNC_EVERY=1)."""
    rows = list(
        PeriodicTask.objects.filter(enabled=True, interval__isnull=False).values_list(
            "interval__every", "interval__period", "last_run_at"
        )
    )
    if not rows:
        return {"ok": False, "error": "no periodic tasks"}
    max_age = BEAT_STALE_AFTER_INTERVALS * min(timedelta(**{period: every}) for every, period, _ in rows)
    runs = [last_run_at for _, _, last_run_at in rows if last_run_at is not None]
    if not runs:
        return {"ok": False, "error": "never ran", "max_age_seconds": max_age.total_seconds()}
    age = timezone.now() - max(runs)
    return {
        "ok": age <= max_age,
        "age_seconds": round(age.total_seconds(), 1),
        "max_age_seconds": max_age.total_seconds(),
    }


def _run(check: Callable[[], dict | None]) -> dict:
    started = time.perf_counter()
    try:
        details = check() or {}
    except Exception as exc:  # any failure of a dependency is reported, not raised
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1), **details}


def healthz(request: HttpRequest) -> JsonResponse:
    """200 "ok"; 200 "degraded" when only beat is stale; 503 "unavailable" naming the dependency that fails."""
    checks = {"database": _run(_check_database), "cache": _run(_check_cache), "broker": _run(_check_broker)}
    checks["beat"] = _run(_check_beat) if checks["database"]["ok"] else {"ok": False, "error": "database unavailable"}
    if not all(checks[name]["ok"] for name in REQUIRED):
        status, code = "unavailable", 503
    else:
        status, code = ("ok" if checks["beat"]["ok"] else "degraded"), 200
    return JsonResponse({"status": status, "checks": checks}, status=code)
