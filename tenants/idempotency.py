"""Idempotency-Key on API writes: the first answer is kept per (tenant, user, key) and replayed.

The key's row is inserted in the transaction that runs the write and stores its answer, so the
row, the write and the answer commit together or not at all (decision 0011). A retry that
arrives while the first request still runs waits on the row's unique index (PostgreSQL blocks
the second insert until the first transaction ends), then replays the answer; after
IDEMPOTENCY_WAIT_SECONDS it gets a 409 instead.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from tenants.models import IdempotencyKey, Tenant

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as the IETF draft's examples
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout expired


class IdempotencyKeyReused(Exception):
    """The key was first sent with another request (method, path or body)."""


class IdempotencyKeyBusy(Exception):
    """The first request with the key is still running."""


def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    """SHA-256 over the method, the path with its query string and the raw body (each
    length-prefixed, so no two requests share a fingerprint by moving bytes between parts)."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def idempotency_key_claim(
    *, tenant: Tenant, user: AbstractBaseUser, key: str, fingerprint: str
) -> tuple[IdempotencyKey, bool]:
    """Inside the write's transaction: (new row, True) when this request is the first with the
    key — it runs, then `idempotency_key_complete` stores its answer; (stored row, False) when
    it is a retry, to be answered with the stored answer. Raises IdempotencyKeyReused or
    IdempotencyKeyBusy."""
    now = timezone.now()
    mine = IdempotencyKey.objects.filter(tenant=tenant, user=user, key=key)
    mine.filter(expires_at__lte=now).delete()
    expires_at = now + datetime.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    try:
        with _lock_wait_at_most(settings.IDEMPOTENCY_WAIT_SECONDS), transaction.atomic():
            new = IdempotencyKey.objects.create(
                tenant=tenant, user=user, key=key, fingerprint=fingerprint, expires_at=expires_at
            )
        return new, True
    except IntegrityError:
        stored = mine.get()
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        raise IdempotencyKeyBusy from None
    if stored.fingerprint != fingerprint:
        raise IdempotencyKeyReused
    return stored, False


def idempotency_key_complete(*, record: IdempotencyKey, status_code: int, content_type: str, body: bytes) -> None:
    """Store the first request's answer, in its transaction. A server error is not an answer:
    the key is released, so that a retry runs again."""
    if status_code >= 500:
        record.delete()
        return
    record.status_code, record.content_type, record.body = status_code, content_type, body
    record.save(update_fields=["status_code", "content_type", "body"])


def idempotency_keys_prune(*, now: datetime.datetime | None = None) -> int:
    """Forget expired keys (beat, hourly); returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted


@contextmanager
def _lock_wait_at_most(seconds: float) -> Iterator[None]:
    """PostgreSQL: lock waits in the block give up after `seconds` (LockNotAvailable). SQLite
    serialises writers anyway (its busy timeout bounds the wait)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)",
            [f"{max(1, round(seconds * 1000))}ms"],
        )
        (previous, _) = cursor.fetchone()
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
