"""Engine benchmark: what the delivery engine asks of PostgreSQL.

    make bench    # or: .venv/bin/python -m bench.engine --events 1000 --history 1000000

(a) SQL statements per delivered event while draining a backlog: a backlog of webhook events
    drained by the engine in this process (threads as configured), every statement of every
    connection counted (target <= 2).
(b) The sweep's query with a long history: `--history` synced syncs and 1,000 due ones, after
    VACUUM ANALYZE; prints EXPLAIN (ANALYZE) and whether the plan reads the index only
    (target: index-only, <= 20 ms).

Runs on its own database (fieldhook_bench_engine, dropped and re-created) and Redis database 6.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

from bench.common import bench_env, database_and_broker_reset, django_setup, receiving, verdict, webhook_integration

DB_NAME = "fieldhook_bench_engine"
BENCH_ENV = bench_env(db_name=DB_NAME, redis_db=6)
django_setup(BENCH_ENV)

from django.db import connection, connections, transaction  # noqa: E402
from django.db.backends.signals import connection_created  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from integrations.engine import delivery, dispatch, sweep  # noqa: E402
from integrations.models import IntegrationSync  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from workitems.models import Customer  # noqa: E402
from workitems.services import workitem_create  # noqa: E402

TARGET_STATEMENTS, TARGET_SWEEP_MS, DUE = 2.0, 20.0, 1000


class StatementCounter:
    """Counts the statements of every database connection, in every thread, while active."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, execute, sql, params, many, context):
        with self.lock:
            self.count += 1
        return execute(sql, params, many, context)

    def watch(self, sender, connection, **kwargs) -> None:
        connection.execute_wrappers.append(self)


def statements_per_event(events: int) -> tuple[float, float, int]:
    """(statements per delivered event, deliveries/s, delivered) for a backlog drained here."""
    tenant = Tenant.objects.create(name="Bench Repairs", slug="bench")
    customer = Customer.objects.create(tenant=tenant, name="Jane Doe", email="jane@example.com")
    with receiving() as receiver:
        webhook_integration(tenant, "Receiver", receiver.url)
        with transaction.atomic():
            for _ in range(events):
                workitem_create(tenant=tenant, customer=customer, description="Bench")
        counter = StatementCounter()
        connections.close_all()
        connection_created.connect(counter.watch)
        started = time.perf_counter()
        try:
            dispatch._publish = lambda *args, **kwargs: True
            delivery.syncs_drain()
        finally:
            connection_created.disconnect(counter.watch)
            connections.close_all()
        seconds = time.perf_counter() - started
    delivered = IntegrationSync.objects.filter(status=IntegrationSync.Status.SYNCED).count()
    return counter.count / delivered, delivered / seconds, delivered


def history_with_due_syncs(history: int) -> None:
    """`history` synced syncs and DUE overdue pending ones, written with set-based SQL."""
    tenant = Tenant.objects.create(name="History", slug="history")
    integration = webhook_integration(tenant, "Old receiver", "https://example.com/hook")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH ct AS (SELECT id FROM django_content_type WHERE app_label = 'workitems' AND model = 'workitem'),
            events AS (
                INSERT INTO integrations_integrationevent (event_id, tenant_id, event_type, content_type_id,
                                                           object_id, payload, created_at)
                SELECT gen_random_uuid(), %(tenant)s, 'workitem_created', ct.id, n, '{}'::jsonb, now()
                FROM generate_series(1, %(total)s) AS n, ct
                RETURNING id, object_id, content_type_id
            )
            INSERT INTO integrations_integrationsync (event_id, integration_id, content_type_id, object_id, status,
                attempts, next_attempt_at, last_error, external_id, external_url, created_at, updated_at, synced_at)
            SELECT id, %(integration)s, content_type_id, object_id,
                   CASE WHEN object_id <= %(due)s THEN 'pending' ELSE 'synced' END, 0,
                   now() - interval '1 hour', '', '', '', now(), now(), now()
            FROM events
            """,
            {"tenant": tenant.pk, "integration": integration.pk, "total": history + DUE, "due": DUE},
        )
        cursor.execute("VACUUM ANALYZE integrations_integrationsync")


def sweep_plan() -> tuple[list[str], float]:
    """EXPLAIN ANALYZE of the very statement the sweep runs, and its execution time in ms (best of five)."""
    with CaptureQueriesContext(connection) as captured:
        sweep.syncs_due_for_requeue().count()
    (query,) = captured.captured_queries
    best, plan = float("inf"), []
    with connection.cursor() as cursor:
        for _ in range(5):
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query['sql']}")
            plan = [row[0] for row in cursor.fetchall()]
            executed = next(line for line in plan if line.startswith("Execution Time"))
            best = min(best, float(executed.split(":")[1].split()[0]))
    return plan, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000, help="backlog drained in (a)")
    parser.add_argument("--history", type=int, default=1_000_000, help="synced syncs behind the sweep in (b)")
    args = parser.parse_args()
    database_and_broker_reset(db_name=DB_NAME, broker_url=BENCH_ENV["CELERY_BROKER_URL"])
    per_event, rate, delivered = statements_per_event(args.events)
    history_with_due_syncs(args.history)
    plan, sweep_ms = sweep_plan()
    index_only = any("Index Only Scan" in line for line in plan) and not any(
        "Seq Scan on integrations_integrationsync" in line for line in plan
    )
    print(
        f"\nFieldhook engine benchmark: nproc={os.cpu_count()} python={sys.version.split()[0]} "
        f"database {DB_NAME}, SYNC_SEND_THREADS={BENCH_ENV.get('SYNC_SEND_THREADS', 'default')}"
    )
    print(f"\n(a) drained {delivered} events in this process at {rate:.0f} deliveries/s")
    print(
        f"  SQL statements per delivered event {per_event:9.3f}  {verdict(round(per_event, 3), TARGET_STATEMENTS, at_most=True)}"
    )
    print(f"\n(b) sweep over {args.history:,} synced and {DUE:,} due syncs: EXPLAIN (ANALYZE, BUFFERS)")
    for line in plan:
        print(f"    {line}")
    print(f"  index-only plan: {'yes' if index_only else 'NO'}; execution {sweep_ms:.2f} ms (best of 5)  "
          f"{verdict(round(sweep_ms, 2), TARGET_SWEEP_MS, at_most=True)}")  # fmt: skip


if __name__ == "__main__":
    main()
