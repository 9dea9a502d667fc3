"""Connector benchmark: rendering and sending one event through each kind's connector against
its fake, beside the webhook connector in the same run (ratios, no target).

    .venv/bin/python -m bench.connectors --deliveries 600 --block 20

Each fake is the one the tests use (tests/fakes), served by a real HTTP server on 127.0.0.1
in its own child process, so that its work does not share this process's interpreter with
the connector being timed; its OpenAPI check is off (that is openapi-core's time, not ours).
Deliveries are sequential calls of `connector.deliver(event)`: what a connector costs, not
the engine around it (bench/dispatch.py measures that). No database is used.

Adding a kind is one entry in CASES: its label, its fake's request handler, and its settings.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bench.common import bench_env, django_setup

django_setup(bench_env(db_name="fieldhook_bench_connectors", redis_db=12))

from integrations.connectors import registry  # noqa: E402
from integrations.connectors.base import Connector, Event  # noqa: E402
from tests.fakes import jira  # noqa: E402
from tests.fakes.nextcloud import APP_PASSWORD, USER, FakeNextcloud  # noqa: E402
from tests.fakes.served import Answer, FakeRequest, serving  # noqa: E402
from tests.fakes.slack import BOT_TOKEN, CHANNEL_ID, WEBHOOK_PATH, FakeSlack  # noqa: E402
from tests.fakes.zulip import API_KEY, BOT_EMAIL, CHANNEL, FakeZulip  # noqa: E402

WARMUP = 20


def webhook_receiver() -> Callable[[FakeRequest], Answer]:
    """The baseline's receiver: answers 200 at once, like an n8n webhook in 'respond immediately' mode."""
    return lambda request: Answer(200, b"ok", {"Content-Type": "text/plain"})


def nextcloud_files() -> Callable[[FakeRequest], Answer]:
    """The Nextcloud fake (WebDAV and OCS) behind the generic server, without its spec check or request cap."""
    fake = FakeNextcloud(validate_spec=False, max_requests=None)

    def handle(request: FakeRequest) -> Answer:
        status, headers, body, _ = fake.handle(request.method, request.url, dict(request.headers), request.body)
        return Answer(status, body, headers)

    return handle


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
    Case(
        "jira",
        "jira",
        lambda: jira.FakeJira(validate=False, rate_limit=10**9).handle,
        lambda base: (
            {"site_url": base, "email": jira.EMAIL, "project_key": jira.PROJECT, "issue_type": "Task"},
            {"api_token": jira.API_TOKEN},
        ),
    ),
    Case(
        "nextcloud",
        "nextcloud",
        nextcloud_files,
        lambda base: (
            {"base_url": base, "username": USER, "root_folder": "Fieldhook/{tenant}"},
            {"app_password": APP_PASSWORD},
        ),
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


@dataclass
class Running:
    """One case during the run: its connector, its fake's request counter, what was timed."""

    case: Case
    connector: Connector
    served: Any
    seconds: float = 0.0
    deliveries: int = 0
    requests: int = 0

    def block(self, first: int, count: int) -> None:
        """Time `count` sequential deliveries of new work items numbered from `first`."""
        events = [sample_event(number) for number in range(first, first + count)]
        before, started = self.served.value, time.perf_counter()
        for event in events:
            self.connector.deliver(event)
        self.seconds += time.perf_counter() - started
        self.deliveries += count
        self.requests += self.served.value - before


@contextlib.contextmanager
def fakes_running() -> Iterator[list[Running]]:
    """Every case's fake served from its own child process, and a connector pointed at it."""
    context = multiprocessing.get_context("fork")
    stop, children, running = context.Event(), [], []
    try:
        for index, case in enumerate(CASES):
            ready, served = context.Queue(), context.Value("l", 0)
            child = context.Process(target=_serve, args=(index, ready, stop, served), daemon=True)
            child.start()
            children.append(child)
            config, secrets = case.settings(ready.get(timeout=30))
            connector = registry.get(case.kind)(config=config, secrets=secrets)
            running.append(Running(case, connector, served))
        yield running
    finally:
        stop.set()
        for child in children:
            child.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=600, help="timed deliveries per kind")
    parser.add_argument("--block", type=int, default=20, help="deliveries per turn; the kinds take turns")
    args = parser.parse_args()
    with fakes_running() as running:
        for each in running:
            each.block(0, WARMUP)
            each.seconds = each.deliveries = each.requests = 0
        # Short turns, kind after kind: a load change on this shared machine hits every kind alike.
        for first in range(WARMUP, WARMUP + args.deliveries, args.block):
            for each in running:
                each.block(first, min(args.block, WARMUP + args.deliveries - first))
    report(args, running)


def report(args: argparse.Namespace, running: list[Running]) -> None:
    baseline = running[0].deliveries / running[0].seconds
    print(
        f"\nFieldhook connector benchmark: nproc={os.cpu_count()} python={sys.version.split()[0]} "
        f"load={os.getloadavg()[0]:.2f}; {args.deliveries} workitem_created per kind, sequential, in turns of "
        f"{args.block}; each fake on 127.0.0.1 in its own process"
    )
    print(f"\n  {'kind':<28}{'requests/delivery':>19}{'deliveries/s':>14}{'ratio to webhook':>18}")
    for each in running:
        rate = each.deliveries / each.seconds
        print(f"  {each.case.label:<28}{each.requests / each.deliveries:>19.1f}{rate:>14.0f}{rate / baseline:>18.2f}")


if __name__ == "__main__":
    main()
