"""Isolation benchmark: one receiver that times out must not lower the throughput to a
healthy receiver by more than 10%, against the healthy receiver alone in the same run.

    make bench    # or: .venv/bin/python -m bench.isolation --events 2000 --workers 2 --concurrency 1

Runs on its own database (fieldhook_bench_iso, dropped and re-created) and its own Redis
database (11, flushed). The slow receiver accepts every request and never answers; the
workers run with HTTP_TIMEOUT=2, so each attempt to it times out after 2 s. The circuit
breaker keeps its defaults (open after 5 failures, for 60 s): it is what frees the worker
slots. Arrival times are taken with perf_counter in this process (the receivers are threads).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from itertools import pairwise

from bench.common import (
    Receiver,
    ReceiverHandler,
    bench_env,
    celery_workers,
    database_and_broker_reset,
    django_setup,
    receiving,
    verdict,
    webhook_integration,
)

DB_NAME = "fieldhook_bench_iso"
HTTP_TIMEOUT = 2
BENCH_ENV = bench_env(db_name=DB_NAME, redis_db=11, HTTP_TIMEOUT=str(HTTP_TIMEOUT))
BROKER_URL = BENCH_ENV["CELERY_BROKER_URL"]
django_setup(BENCH_ENV)

from django.conf import settings  # noqa: E402
from django.db import transaction  # noqa: E402

from integrations.engine import resilience  # noqa: E402
from integrations.models import IntegrationSync, SyncAttempt, TenantIntegration  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from workitems.models import Customer  # noqa: E402
from workitems.services import workitem_create  # noqa: E402

WARMUP = 30
TARGET_RATIO = 0.9


class HoldingHandler(ReceiverHandler):
    """Records the request and never answers: holds it until the benchmark ends."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.receiver.record(self.headers.get("webhook-id", ""), body)
        self.server.receiver.closing.wait(120)
        self.close_connection = True


@dataclass
class Run:
    """A backlog delivered to the healthy receiver: when it was committed, and when each event arrived."""

    committed: float
    arrivals: list[float]

    @property
    def seconds(self) -> float:
        return self.arrivals[-1] - self.committed

    @property
    def per_second(self) -> float:
        """Deliveries/s from the commit to the last arrival."""
        return len(self.arrivals) / self.seconds

    @property
    def longest_pause(self) -> float:
        """The longest wait for the next healthy delivery, from the commit on."""
        return max(later - earlier for earlier, later in pairwise([self.committed, *self.arrivals]))

    def per_second_after(self, moment: float) -> tuple[float, int]:
        """Deliveries/s (and how many) that arrived after `moment`."""
        later = [arrived for arrived in self.arrivals if arrived > moment]
        return len(later) / (self.arrivals[-1] - moment), len(later)


@dataclass
class Bench:
    tenant: Tenant
    customer: Customer
    healthy: TenantIntegration
    receiver: Receiver

    def backlog(self, events: int) -> Run:
        """`events` work items in one transaction (an import), so that the workers face a full queue."""
        stamp: list[float] = []
        with transaction.atomic():
            transaction.on_commit(lambda: stamp.append(time.perf_counter()))  # runs before the engine publishes
            pks = [
                workitem_create(tenant=self.tenant, customer=self.customer, description="Bench").pk
                for _ in range(events)
            ]
        syncs = IntegrationSync.objects.filter(integration=self.healthy, object_id__in=pks)
        event_ids = [str(event_id) for event_id in syncs.values_list("event__event_id", flat=True)]
        self.receiver.wait_for(event_ids, timeout=30 + events / 5)
        return Run(stamp[0], sorted(self.receiver.arrivals[event_id] for event_id in event_ids))


def slow_side(slow: TenantIntegration, receiver: Receiver) -> str:
    """What the slow integration cost: HTTP attempts, and syncs held back without one."""
    attempts = SyncAttempt.objects.filter(sync__integration=slow)
    timeouts = attempts.filter(error_class="timeout").count()
    held = IntegrationSync.objects.filter(integration=slow, status="pending", attempts=0).count()
    return (
        f"{receiver.requests} requests reached it, {attempts.count()} attempts recorded ({timeouts} timed out), "
        f"{held} syncs held back without an HTTP call; circuit {resilience.circuit_state(slow).state}"
    )


def report(args, alone: Run, beside: Run, released: float, slow_text: str) -> None:
    ratio = beside.per_second / alone.per_second
    after, count = beside.per_second_after(released)
    print(
        f"\nFieldhook isolation benchmark: nproc={os.cpu_count()} python={sys.version.split()[0]} "
        f"events={args.events} workers={args.workers}x{args.concurrency} (prefork)\n"
        f"  database {DB_NAME}, broker {BROKER_URL}; HTTP_TIMEOUT={HTTP_TIMEOUT} s, circuit opens after "
        f"{settings.CIRCUIT_FAILURE_THRESHOLD} failures for {settings.CIRCUIT_RECOVERY_SECONDS:.0f} s"
    )
    print(f"\n  {'backlog of events in one transaction':<56}{'deliv/s':>9}{'seconds':>9}{'pause s':>9}")
    print(f"  {'A  healthy receiver alone':<56}{alone.per_second:9.1f}{alone.seconds:9.2f}{alone.longest_pause:9.2f}")
    label = "B  healthy receiver, beside one that times out"
    print(f"  {label:<56}{beside.per_second:9.1f}{beside.seconds:9.2f}{beside.longest_pause:9.2f}")
    label = f"   ... after its last request timed out (+{released - beside.committed:.1f} s)"
    print(f"  {label:<56}{after:9.1f}  {count} of {args.events} events")
    print(f"  {'ratio B / A':<56}{ratio:9.2f}  {verdict(round(ratio, 2), TARGET_RATIO, at_most=False)}")
    print(f"\n  slow receiver during B: {slow_text}")
    print("  (pause s: the longest wait for the next healthy delivery, from the commit on)")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="events per run (B sends each to both receivers)")
    parser.add_argument("--workers", type=int, default=2, help="celery worker processes")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="prefork children per worker (each sends on threads)"
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    database_and_broker_reset(db_name=DB_NAME, broker_url=BROKER_URL)
    tenant = Tenant.objects.create(name="Bench Repairs", slug="bench")
    customer = Customer.objects.create(tenant=tenant, name="Jane Doe", email="jane@example.com")
    with receiving() as healthy_receiver, receiving(HoldingHandler) as slow_receiver:
        healthy = webhook_integration(tenant, "Healthy receiver", healthy_receiver.url)
        bench = Bench(tenant, customer, healthy, healthy_receiver)
        with celery_workers(args.workers, concurrency=args.concurrency):
            bench.backlog(WARMUP)
            alone = bench.backlog(args.events)
            slow = webhook_integration(tenant, "Slow receiver", slow_receiver.url)
            beside = bench.backlog(args.events)
            slow_text = slow_side(slow, slow_receiver)
            released = max(slow_receiver.arrivals.values()) + HTTP_TIMEOUT
        report(args, alone, beside, released, slow_text)
    print(f"\nTotal run time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
