"""The batched claim: one statement takes up to N due syncs for this worker and returns
everything their delivery needs (the event, the link), see decision 0010.

Inside the selection: only active integrations whose circuit is not open and who are not
paused by a receiver's Retry-After; per integration at most what its rate limit allows in
a batch window; only the earliest pending event of an object to an integration (per-object
order); and fairly across integrations — each integration's first due sync comes before any
integration's second, so one tenant's backlog cannot hold back another's fresh event.
Each integration's candidates are locked with `FOR UPDATE SKIP LOCKED` as they are chosen,
so two workers claiming at once take different syncs, and the claim is re-checked on the
locked row's newest version, so a sync another worker has just claimed is never taken again.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min, Q
from django.utils import timezone

from integrations.connectors import registry
from integrations.models import ExternalLink, IntegrationEvent, IntegrationSync, TenantIntegration

Pending = IntegrationSync.Status.PENDING
# A wake-up may come a little early (a countdown, another host's clock): a sync due within
# this many seconds goes now.
DUE_EARLY_SECONDS = 1.0


@dataclass
class Claimed:
    """One claimed sync with what its delivery needs; `details` are its link's."""

    sync_id: int
    integration_id: int
    attempts: int
    content_type_id: int
    object_id: int
    event_id: str
    event_type: str
    payload: dict[str, Any]
    external_id: str | None = None
    external_url: str = ""
    details: dict[str, Any] = field(default_factory=dict)


CLAIM_SQL = """
WITH candidates AS (
    SELECT c.id, c.next_attempt_at,
           row_number() OVER (PARTITION BY c.integration_id ORDER BY c.next_attempt_at, c.id) AS rank
    FROM {integration} i
    CROSS JOIN LATERAL (
        SELECT s.id, s.integration_id, s.next_attempt_at
        FROM {sync} s
        WHERE s.integration_id = i.id
          AND s.status = 'pending'
          AND s.next_attempt_at <= %(due_by)s
          AND (s.claimed_until IS NULL OR s.claimed_until < %(now)s)
          AND (%(only)s::bigint[] IS NULL OR s.id = ANY(%(only)s::bigint[]))
          -- the object's earliest pending sync to this integration: a subquery run per candidate,
          -- so that it probes the object-order index whatever the planner's statistics say
          AND s.id = (
              SELECT e.id FROM {sync} e
              WHERE e.integration_id = s.integration_id
                AND e.content_type_id = s.content_type_id
                AND e.object_id = s.object_id
                AND e.status = 'pending'
              ORDER BY e.id
              LIMIT 1
          )
        ORDER BY s.next_attempt_at, s.id
        LIMIT (
            SELECT CASE WHEN rate IS NULL THEN %(per_integration)s
                        ELSE LEAST(%(per_integration)s, GREATEST(1, floor(rate * %(window)s)::int)) END
            FROM (SELECT COALESCE(i.rate_limit_per_second,
                                  (%(kind_rates)s::jsonb ->> i.integration_type)::float) AS rate) r
        )
        FOR UPDATE OF s SKIP LOCKED
    ) c
    WHERE i.is_active AND NOT (i.id = ANY(%(blocked)s::bigint[]))
),
picked AS (
    SELECT id FROM candidates ORDER BY rank, next_attempt_at, id LIMIT %(limit)s
),
claimed AS (
    UPDATE {sync} s SET claimed_until = %(until)s, updated_at = %(now)s
    FROM picked WHERE s.id = picked.id
    RETURNING s.id, s.integration_id, s.attempts, s.content_type_id, s.object_id, s.event_id
)
SELECT c.id, c.integration_id, c.attempts, c.content_type_id, c.object_id,
       e.event_id, e.event_type, e.payload, l.external_id, l.external_url, l.details
FROM claimed c
JOIN {event} e ON e.id = c.event_id
LEFT JOIN {link} l
  ON l.integration_id = c.integration_id AND l.content_type_id = c.content_type_id AND l.object_id = c.object_id
ORDER BY c.id
"""


def syncs_claim(
    *,
    limit: int,
    until: datetime.datetime,
    blocked: list[int],
    only: list[int] | None = None,
    now: datetime.datetime | None = None,
) -> list[Claimed]:
    """Claim up to `limit` due syncs until `until` (or only those of `only` that are due)."""
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        return _claim_postgresql(limit=limit, until=until, blocked=blocked, only=only, now=now)
    return _claim_portable(limit=limit, until=until, blocked=blocked, only=only, now=now)


def _kind_rates() -> dict[str, float]:
    """Each kind's default rate per second (None: unlimited), for the selection's per-integration caps."""
    rates = {kind: registry.get(kind).default_rate_per_second for kind in registry.kinds()}
    return {kind: rate for kind, rate in rates.items() if rate}


def claim_statement(
    *, limit: int, until: datetime.datetime, blocked: list[int], only: list[int] | None, now: datetime.datetime
) -> tuple[str, dict[str, Any]]:
    """The claim's SQL and parameters (PostgreSQL)."""
    sql = CLAIM_SQL.format(
        integration=TenantIntegration._meta.db_table,
        sync=IntegrationSync._meta.db_table,
        event=IntegrationEvent._meta.db_table,
        link=ExternalLink._meta.db_table,
    )
    params = {
        "now": now,
        "due_by": now + datetime.timedelta(seconds=DUE_EARLY_SECONDS),
        "until": until,
        "limit": limit,
        "only": only,
        "blocked": blocked,
        "per_integration": settings.SYNC_BATCH_PER_INTEGRATION,
        "kind_rates": json.dumps(_kind_rates()),
        "window": settings.SYNC_RATE_WINDOW_SECONDS,
    }
    return sql, params


def _claim_postgresql(
    *, limit: int, until: datetime.datetime, blocked: list[int], only: list[int] | None, now: datetime.datetime
) -> list[Claimed]:
    sql, params = claim_statement(limit=limit, until=until, blocked=blocked, only=only, now=now)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        Claimed(
            sync_id=row[0],
            integration_id=row[1],
            attempts=row[2],
            content_type_id=row[3],
            object_id=row[4],
            event_id=str(row[5]),
            event_type=row[6],
            payload=json.loads(row[7]) if isinstance(row[7], str) else row[7],
            external_id=row[8],
            external_url=row[9] or "",
            details=(json.loads(row[10]) if isinstance(row[10], str) else row[10]) or {},
        )
        for row in rows
    ]


def _claim_portable(
    *, limit: int, until: datetime.datetime, blocked: list[int], only: list[int] | None, now: datetime.datetime
) -> list[Claimed]:
    """The same selection with the ORM, for the embedded mode (SQLite, one worker): its
    transactions take the database's write lock first, so no two claims interleave."""
    rates = _kind_rates()
    with transaction.atomic():
        due = IntegrationSync.objects.filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
            status=Pending,
            next_attempt_at__lte=now + datetime.timedelta(seconds=DUE_EARLY_SECONDS),
            integration__is_active=True,
        ).exclude(integration_id__in=blocked)
        if only is not None:
            due = due.filter(id__in=only)
        rows = list(
            due.order_by("next_attempt_at", "id").values(
                "id", "integration_id", "content_type_id", "object_id", "integration__rate_limit_per_second",
                "integration__integration_type",
            )[: limit * 10]
        )  # fmt: skip
        first_pending = {
            (integration_id, content_type_id, object_id): first
            for integration_id, content_type_id, object_id, first in IntegrationSync.objects.filter(
                status=Pending,
                integration_id__in={row["integration_id"] for row in rows},
                object_id__in={row["object_id"] for row in rows},
            )
            .values("integration_id", "content_type_id", "object_id")
            .annotate(first=Min("id"))
            .values_list("integration_id", "content_type_id", "object_id", "first")
        }
        ranked: list[tuple[int, int, int]] = []
        taken: dict[int, int] = {}
        for position, row in enumerate(rows):
            key = (row["integration_id"], row["content_type_id"], row["object_id"])
            if first_pending.get(key) != row["id"]:
                continue
            rate = row["integration__rate_limit_per_second"] or rates.get(row["integration__integration_type"])
            cap = settings.SYNC_BATCH_PER_INTEGRATION
            if rate:
                cap = min(cap, max(1, int(rate * settings.SYNC_RATE_WINDOW_SECONDS)))
            rank = taken.get(row["integration_id"], 0) + 1
            if rank > cap:
                continue
            taken[row["integration_id"]] = rank
            ranked.append((rank, position, row["id"]))
        chosen = [sync_id for _, _, sync_id in sorted(ranked)[:limit]]
        IntegrationSync.objects.filter(id__in=chosen).update(claimed_until=until, updated_at=now)
        syncs = list(
            IntegrationSync.objects.filter(id__in=chosen)
            .select_related("event")
            .order_by("id")
            .only(
                "id", "integration_id", "attempts", "content_type_id", "object_id",
                "event__event_id", "event__event_type", "event__payload",
            )
        )  # fmt: skip
    links = {
        (link.integration_id, link.content_type_id, link.object_id): link
        for link in ExternalLink.objects.filter(
            integration_id__in={sync.integration_id for sync in syncs},
            object_id__in={sync.object_id for sync in syncs},
        )
    }
    claimed = []
    for sync in syncs:
        link = links.get((sync.integration_id, sync.content_type_id, sync.object_id))
        claimed.append(
            Claimed(
                sync_id=sync.pk,
                integration_id=sync.integration_id,
                attempts=sync.attempts,
                content_type_id=sync.content_type_id,
                object_id=sync.object_id,
                event_id=str(sync.event.event_id),
                event_type=sync.event.event_type,
                payload=sync.event.payload,
                external_id=link.external_id if link else None,
                external_url=link.external_url if link else "",
                details=link.details if link else {},
            )
        )
    return claimed
