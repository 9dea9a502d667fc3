"""Scaling benchmark: deliveries/s of a backlog with 1, 2 and 4 Celery worker processes on one
PostgreSQL and one Redis, each beside a bare requests.Session loop with as many processes in
the same run — so the road to several hosts (the same workers on more machines) is measured.

    make bench    # or: .venv/bin/python -m bench.scale --events 2000 --processes 1 2 4 --tenants 4

The backlog is spread over `--tenants` tenants, one webhook integration each, all to the
same receiver: one integration alone is capped by its bulkhead (INTEGRATION_MAX_IN_FLIGHT
across all workers, by design), so more workers could not send to it any faster.

Runs on its own database (fieldhook_bench_scale, dropped and re-created) and Redis database 5.
The bare loop shows what the machine itself allows: on a machine with two cores, four
processes share two cores with the receiver and the databases.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time

from bench.common import (
    bare_rate,
    bench_env,
    broker_flush,
    celery_workers,
    database_and_broker_reset,
    django_setup,
    receiving,
    webhook_integration,
)

DB_NAME = "fieldhook_bench_scale"
BENCH_ENV = bench_env(db_name=DB_NAME, redis_db=5)
BROKER_URL = BENCH_ENV["CELERY_BROKER_URL"]
django_setup(BENCH_ENV)

from django.db import transaction  # noqa: E402

from integrations.models import IntegrationSync  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from workitems.models import Customer  # noqa: E402
from workitems.services import workitem_create  # noqa: E402

TARGET_SCALING = 1.7


def drained_per_second(customers: list[Customer], receiver, events: int) -> float:
    """A backlog committed at once, round-robin over the tenants; deliveries/s from the commit
    to the last arrival."""
    stamp: list[float] = []
    with transaction.atomic():
        transaction.on_commit(lambda: stamp.append(time.perf_counter()))
        pks = [
            workitem_create(tenant=customer.tenant, customer=customer, description="Bench").pk
            for customer in itertools.islice(itertools.cycle(customers), events)
        ]
    event_ids = [
        str(e) for e in IntegrationSync.objects.filter(object_id__in=pks).values_list("event__event_id", flat=True)
    ]
    receiver.wait_for(event_ids, timeout=60 + events / 10)
    return events / (max(receiver.arrivals[event_id] for event_id in event_ids) - stamp[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="backlog per measure")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4], help="worker processes to try")
    parser.add_argument("--tenants", type=int, default=4, help="tenants (one integration each) sharing the backlog")
    args = parser.parse_args()
    database_and_broker_reset(db_name=DB_NAME, broker_url=BROKER_URL)
    customers = []
    rows = []
    with receiving() as receiver:
        for number in range(args.tenants):
            tenant = Tenant.objects.create(name=f"Bench Repairs {number}", slug=f"bench-{number}")
            customers.append(Customer.objects.create(tenant=tenant, name="Jane Doe", email="jane@example.com"))
            webhook_integration(tenant, "Receiver", receiver.url)
        for processes in args.processes:
            broker_flush(BROKER_URL)
            with celery_workers(processes):
                drained_per_second(customers, receiver, 50)  # warm-up: connections, pools
                ours = drained_per_second(customers, receiver, args.events)
            bare = bare_rate(receiver.url, receiver.body, processes, args.events * 2)
            rows.append((processes, ours, bare))
    print(
        f"\nFieldhook scaling benchmark: nproc={os.cpu_count()} python={sys.version.split()[0]} events={args.events}"
        f" tenants={args.tenants} load={os.getloadavg()[0]:.1f}"
    )
    print(
        f"\n  {'worker processes':<18}{'deliveries/s':>14}{'bare req/s':>12}{'ratio':>8}{'vs 1 worker':>13}{'bare vs 1':>11}"
    )
    base_ours, base_bare = rows[0][1], rows[0][2]
    for processes, ours, bare in rows:
        print(
            f"  {processes:<18}{ours:14.1f}{bare:12.1f}{ours / bare:8.2f}{ours / base_ours:12.2f}x{bare / base_bare:10.2f}x"
        )
    two = next((ours for processes, ours, _ in rows if processes == 2), None)
    if two is not None and rows[0][0] == 1:
        scaling = two / base_ours
        met = "PASS" if scaling >= TARGET_SCALING else "MISS"
        print(f"\n  one worker process vs two: {scaling:.2f}x  target >= {TARGET_SCALING}: {met}")


if __name__ == "__main__":
    main()
