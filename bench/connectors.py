"""Connector benchmark: rendering and sending one event through each kind's connector against
its fake, beside the webhook connector in the same run (ratios, no target).

    .venv/bin/python -m bench.connectors --deliveries 300 --rounds 3

Each fake is the one the tests use (tests/fakes), served by a real HTTP server on 127.0.0.1
in a child process, so that its work does not share this process's interpreter with the
connector being timed; its OpenAPI check is off (that is openapi-core's time, not ours).
Deliveries are sequential calls of `connector.deliver(event)`: what a connector costs, not
the engine around it (bench/dispatch.py measures that). No database is used.

Adding a kind is one entry in CASES: its label, its fake's request handler, and its settings.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.common import bench_env, django_setup

django_setup(bench_env(db_name="fieldhook_bench_connectors", redis_db=12))

from integrations.connectors import registry  # noqa: E402
from integrations.connectors.base import Connector, Event  # noqa: E402
from tests.fakes.served import Answer, FakeRequest, serving  # noqa: E402
from tests.fakes.slack import BOT_TOKEN, CHANNEL_ID, WEBHOOK_PATH, FakeSlack  # noqa: E402
from tests.fakes.zulip import API_KEY, BOT_EMAIL, CHANNEL, FakeZulip  # noqa: E402

WARMUP = 20


def webhook_receiver() -> Callable[[FakeRequest], Answer]:
    """The baseline's receiver: answers 200 at once, like an n8n webhook in 'respond immediately' mode."""
    return lambda request: Answer(200, b"ok", {"Content-Type": "text/plain"})


@dataclass(frozen=True)
class Case:
    """One connector in the benchmark: `fake()` makes its request handler (served in a child
    process); `settings(base_url)` gives the integration's config and secrets pointing there."""

    label: str
    kind: str
    fake: Callable[[], Callable[[FakeRequest], Answer]]
    settings: Callable[[str], tuple[dict[str, Any], dict[str, Any]]]


CASES = [
    Case("webhook", "webhook", webhook_receiver, lambda base: ({"url": f"{base}/hook", "sign": False}, {})),
    Case(
        "slack (incoming webhook)",
        "slack",
        lambda: FakeSlack(validate=False).handle,
        lambda base: ({"mode": "webhook"}, {"webhook_url": base + WEBHOOK_PATH}),
    ),
    Case(
        "slack (bot token)",
        "slack",
        lambda: FakeSlack(validate=False).handle,
        lambda base: ({"mode": "bot", "channel": CHANNEL_ID, "api_url": f"{base}/api"}, {"bot_token": BOT_TOKEN}),
    ),
    Case(
        "zulip",
        "zulip",
        lambda: FakeZulip(validate=False, rate_limit=10**9).handle,
        lambda base: ({"site_url": base, "bot_email": BOT_EMAIL, "channel": CHANNEL}, {"api_key": API_KEY}),
    ),
]


def sample_event(number: int) -> Event:
    """A new work item as the engine hands it to a connector: the payload of docs/integrations.md."""
    event_id = str(uuid.uuid4())
    payload = {
        "event_type": "workitem_created",
        "event_id": event_id,
        "timestamp": "2026-05-04T09:30:00Z",
        "tenant": {"id": 1, "name": "Bench Repairs"},
        "workitem": {
            "id": number,
            "reference_id": f"RMA-{number}",
            "description": "Cracked screen, the phone still boots; customer wants a quote first",
            "status": "New",
            "type": "Chargeable Repair",
            "priority": "High",
            "created_date": "2026-05-04T09:30:00Z",
            "due_date": "2026-05-08T16:00:00Z",
            "customer": {"id": 3, "name": "Ana Silva", "email": "ana@example.com"},
            "owner": {"id": 2, "name": "Mia Member"},
            "technician": {"id": 4, "name": "Tom Tech"},
            "customer_asset": {"id": 5, "name": "iPhone 13 Pro"},
            "estimated_price": "120.00",
            "final_price": None,
            "dropoff_point": {"id": 1, "name": "Main store"},
            "intake_method": "walk_in",
            "comments": "",
        },
    }
    return Event(event_type="workitem_created", event_id=event_id, payload=payload)


def _serve(case_index: int, ready: Any, stop: Any, served: Any) -> None:
    """The child process: serve the case's fake, counting the requests, until told to stop."""
    handler = CASES[case_index].fake()

    def counted(request: FakeRequest) -> Answer:
        with served.get_lock():
            served.value += 1
        return handler(request)

    with serving(counted) as base_url:
        ready.put(base_url)
        stop.wait()


def run(case_index: int, deliveries: int) -> tuple[float, float]:
    """(deliveries per second, requests per delivery) for `deliveries` sequential deliveries of
    the case's connector against its fake."""
    case = CASES[case_index]
    context = multiprocessing.get_context("fork")
    ready, stop, served = context.Queue(), context.Event(), context.Value("l", 0)
    server = context.Process(target=_serve, args=(case_index, ready, stop, served), daemon=True)
    server.start()
    try:
        config, secrets = case.settings(ready.get(timeout=30))
        connector: Connector = registry.get(case.kind)(config=config, secrets=secrets)
        for number in range(WARMUP):
            connector.deliver(sample_event(number))
        started, before = time.perf_counter(), served.value
        for number in range(deliveries):
            connector.deliver(sample_event(WARMUP + number))
        seconds = time.perf_counter() - started
        return deliveries / seconds, (served.value - before) / deliveries
    finally:
        stop.set()
        server.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=300, help="timed deliveries per kind and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the kinds take turns within each round")
    args = parser.parse_args()
    figures: dict[str, list[tuple[float, float]]] = {case.label: [] for case in CASES}
    for _ in range(args.rounds):
        for index, case in enumerate(CASES):
            figures[case.label].append(run(index, args.deliveries))
    report(args, figures)


def report(args: argparse.Namespace, figures: dict[str, list[tuple[float, float]]]) -> None:
    rates = {label: statistics.median(rate for rate, _ in runs) for label, runs in figures.items()}
    baseline = rates[CASES[0].label]
    print(
        f"\nFieldhook connector benchmark: nproc={os.cpu_count()} python={sys.version.split()[0]} "
        f"deliveries={args.deliveries} x {args.rounds} rounds (median), workitem_created, sequential, "
        "fakes on 127.0.0.1 in a child process"
    )
    print(f"\n  {'kind':<28}{'requests/delivery':>19}{'deliveries/s':>14}{'ratio to webhook':>18}")
    for label, runs in figures.items():
        per_delivery = runs[-1][1]
        print(f"  {label:<28}{per_delivery:>19.1f}{rates[label]:>14.0f}{rates[label] / baseline:>18.2f}")


if __name__ == "__main__":
    main()
