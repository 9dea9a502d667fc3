"""Dispatch benchmark: what the outbox adds to an API create, and how fast and how soon
Celery workers deliver webhooks, each against a baseline measured in the same run.

    make bench    # or: .venv/bin/python -m bench.dispatch --creates 200 --events 500 --workers 2

Runs on its own database (fieldhook_bench, dropped and re-created) and its own Redis
database (7, flushed); the shared servers are never reconfigured. Loopback only.
Commit and arrival times are both taken with perf_counter in this process (the
receiver is a thread here), so latencies do not depend on wall-clock steps.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass

from bench.common import (
    Receiver,
    bare_rate,
    bench_env,
    broker_flush,
    celery_workers,
    database_and_broker_reset,
    django_setup,
    percentile,
    receiving,
    stats,
    verdict,
    webhook_integration,
)

DB_NAME = "fieldhook_bench"
BENCH_ENV = bench_env(db_name=DB_NAME, redis_db=7)
BROKER_URL = BENCH_ENV["CELERY_BROKER_URL"]
# (The spawned bare-loop clients re-import this module and set up Django too; harmless.)
django_setup(BENCH_ENV)

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from integrations.engine import dispatch  # noqa: E402
from integrations.models import IntegrationSync, TenantIntegration  # noqa: E402
from tenants.models import Membership, Tenant  # noqa: E402
from workitems.models import Customer  # noqa: E402
from workitems.services import workitem_create  # noqa: E402

INTEGRATIONS = 10  # active webhook integrations in the loaded case of (a)
WARMUP = 20
BLOCK = 25  # (a) alternates blocks of creates with 0 and 10 integrations, so drift hits both alike
IDLE_EVENTS = 50
BARE_REQUESTS_PER_EVENT = 4  # the bare loop is fast: give it enough requests to time
TARGET_CREATE_RATIO, TARGET_THROUGHPUT_RATIO, TARGET_IDLE_P50_MS = 1.2, 0.5, 10.0  # issue 10 (engine v2)
CREATE_BODY = {"description": "Cracked screen", "priority": "High", "estimated_price": "120.00"}


def tenant_with_api_client() -> tuple[Tenant, Customer, APIClient]:
    """One tenant, one member (so the tenant is implied), a token client and a customer."""
    tenant = Tenant.objects.create(name="Bench Repairs", slug="bench")
    user = get_user_model().objects.create_user(username="bench", password="bench-only-password")  # noqa: S106
    Membership.objects.create(user=user, tenant=tenant, role=Membership.Role.ADMIN)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return tenant, Customer.objects.create(tenant=tenant, name="Jane Doe", email="jane@example.com"), client


# --- (a) API create latency ---------------------------------------------------------------


def api_create(client: APIClient, body: dict) -> float:
    """One POST; its latency in ms."""
    started = time.perf_counter()
    response = client.post("/api/v1/workitems/", body, format="json")
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 201:
        raise RuntimeError(f"create failed: {response.status_code} {response.content[:300]!r}")
    return elapsed


def create_latency(client: APIClient, body: dict, loaded: list[int], creates: int) -> dict[int, list[float]]:
    """ms per POST with 0 and with len(loaded) active integrations, in alternating blocks after a warm-up."""
    samples: dict[int, list[float]] = {0: [], len(loaded): []}
    for block in [WARMUP, *[BLOCK] * math.ceil(creates / BLOCK)]:
        for count, values in samples.items():
            TenantIntegration.objects.filter(pk__in=loaded).update(is_active=count > 0)
            values.extend(api_create(client, body) for _ in range(block))
    return {count: values[WARMUP : WARMUP + creates] for count, values in samples.items()}


def create_profile(client: APIClient, body: dict, loaded: list[int], active: bool, runs: int = 20) -> tuple:
    """(queries, ms spent publishing on commit) per create, measured apart from the latency runs."""
    TenantIntegration.objects.filter(pk__in=loaded).update(is_active=active)
    original, spent = dispatch._wake_unless_queued, []

    def timed_enqueue():
        started = time.perf_counter()
        try:
            return original()
        finally:
            spent.append(time.perf_counter() - started)

    dispatch._wake_unless_queued = timed_enqueue  # looked up when the outbox registers its on-commit hook
    try:
        with CaptureQueriesContext(connection) as queries:
            for _ in range(runs):
                api_create(client, body)
    finally:
        dispatch._wake_unless_queued = original
    return len(queries) / runs, sum(spent) * 1000 / runs


# --- (b) Delivery -----------------------------------------------------------------------


@dataclass
class Deliveries:
    """Work items created in (b), and when their webhooks reached the receiver."""

    receiver: Receiver
    tenant: Tenant
    customer: Customer
    integration: TenantIntegration

    def create(self) -> int:
        return workitem_create(tenant=self.tenant, customer=self.customer, description="Bench").pk

    def create_committed(self) -> tuple[int, float]:
        """A work item in its own transaction, and perf_counter right after its COMMIT."""
        stamp: list[float] = []
        with transaction.atomic():
            transaction.on_commit(lambda: stamp.append(time.perf_counter()))  # runs before the engine publishes
            pk = self.create()
        return pk, stamp[0]

    def delivered(self, committed: dict[int, float]) -> tuple[list[float], float]:
        """Waits for every event (webhook-id is its event's event_id); returns the commit → received
        ms per event and deliveries/s from the first commit to the last arrival."""
        syncs = IntegrationSync.objects.filter(integration=self.integration, object_id__in=committed)
        event_ids = {pk: str(event_id) for pk, event_id in syncs.values_list("object_id", "event__event_id")}
        self.receiver.wait_for(event_ids.values(), timeout=30 + len(committed) / 5)
        arrived = {pk: self.receiver.arrivals[event_ids[pk]] for pk in committed}
        latencies = [(arrived[pk] - at) * 1000 for pk, at in committed.items()]
        return latencies, len(committed) / (max(arrived.values()) - min(committed.values()))

    def idle(self) -> list[float]:
        """One event at a time, each delivered before the next is created (after a warm-up)."""
        latencies = [self.delivered(dict([self.create_committed()]))[0][0] for _ in range(WARMUP + IDLE_EVENTS)]
        return latencies[WARMUP:]

    def stream(self, events: int) -> tuple[list[float], float, float]:
        """Events committed one by one as fast as this process can; also returns creates/s."""
        committed = dict(self.create_committed() for _ in range(events))
        created_per_s = events / (max(committed.values()) - min(committed.values()))
        return *self.delivered(committed), created_per_s

    def backlog(self, events: int) -> tuple[list[float], float]:
        """Events committed in one transaction (an import), so that the workers face a full queue:
        the stream is paced by this one creating process, the backlog by the workers alone."""
        stamp: list[float] = []
        with transaction.atomic():
            transaction.on_commit(lambda: stamp.append(time.perf_counter()))
            pks = [self.create() for _ in range(events)]
        return self.delivered(dict.fromkeys(pks, stamp[0]))


# --- Report and main --------------------------------------------------------------------


def table(title: str, note: str, rows: list[tuple[str, Iterable[float], str]]) -> None:
    print(f"\n{title}\n  {'':<46}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}  {note}")
    for label, values, text in rows:
        print(f"  {label:<46}{''.join(f'{value:9.2f}' for value in values):<27}  {text}".rstrip())


def report(args, receiver_url, created, profiles, idle, streamed, drained, bare) -> None:
    empty, loaded = created.values()
    ratios = [with_ / without for with_, without in zip(stats(loaded), stats(empty), strict=True)]
    (stream_ms, stream_rate, create_rate), (backlog_ms, backlog_rate) = streamed, drained
    per_bare, idle_p50 = backlog_rate / bare, percentile(idle, 50)
    print(
        f"\nFieldhook dispatch benchmark: nproc={os.cpu_count()} python={sys.version.split()[0]} "
        f"creates={args.creates} events={args.events} workers={args.workers}\n"
        f"  database {DB_NAME}, broker {BROKER_URL}, receiver {receiver_url}"
    )
    api = [
        (f"{n} active integrations", stats(v), "{:.0f} queries, publish {:.2f} ms".format(*profiles[n]))
        for n, v in created.items()
    ]
    api.append((f"ratio {INTEGRATIONS} / 0", ratios, "p50 " + verdict(ratios[0], TARGET_CREATE_RATIO, at_most=True)))
    table("(a) API create: POST /api/v1/workitems/, APIClient in-process, token auth", "per create, separate pass", api)
    delivery = [
        (f"idle queue: {IDLE_EVENTS} events one at a time", stats(idle), ""),
        (f"stream: {args.events} events, a transaction each", stats(stream_ms), f"{stream_rate:.1f} deliveries/s"),
        ("  ... created by this one process at", (), f"{create_rate:.1f} creates/s"),
        (f"backlog: {args.events} events in one transaction", stats(backlog_ms), f"{backlog_rate:.1f} deliveries/s"),
        (f"bare requests.Session loop, {args.workers} processes", (), f"{bare:.1f} requests/s"),
        (
            "ratio backlog deliveries/s / bare req/s",
            [per_bare],
            verdict(per_bare, TARGET_THROUGHPUT_RATIO, at_most=False),
        ),
        ("idle p50 ms", [idle_p50], verdict(idle_p50, TARGET_IDLE_P50_MS, at_most=True)),
    ]
    table(f"(b) Webhook delivery: 1 integration, {args.workers} celery workers", "commit -> received", delivery)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=200, help="timed API creates per case in (a)")
    parser.add_argument("--events", type=int, default=500, help="events per delivery run in (b)")
    parser.add_argument("--workers", type=int, default=2, help="celery worker processes (and bare-loop clients)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    database_and_broker_reset(db_name=DB_NAME, broker_url=BROKER_URL)
    tenant, customer, client = tenant_with_api_client()
    body = {**CREATE_BODY, "customer_id": customer.pk}
    with receiving() as receiver:
        loaded = [webhook_integration(tenant, f"Receiver {n}", receiver.url).pk for n in range(INTEGRATIONS)]
        created = create_latency(client, body, loaded, args.creates)
        profiles = {count: create_profile(client, body, loaded, active=count > 0) for count in created}
        # No worker consumed the messages of (a): drop them, so that (b) starts on an empty queue.
        TenantIntegration.objects.filter(pk__in=loaded).update(is_active=False)
        broker_flush(BROKER_URL)
        integration = webhook_integration(tenant, "Delivery", receiver.url)
        deliveries = Deliveries(receiver, tenant, customer, integration)
        with celery_workers(args.workers):
            idle, streamed, drained = deliveries.idle(), deliveries.stream(args.events), deliveries.backlog(args.events)
        bare = bare_rate(receiver.url, receiver.body, args.workers, args.events * BARE_REQUESTS_PER_EVENT)
        report(args, receiver.url, created, profiles, idle, streamed, drained, bare)
    print(f"\n{len(receiver.body)}-byte webhook bodies; total run time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
