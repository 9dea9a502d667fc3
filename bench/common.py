"""What every benchmark needs: its own environment set before Django starts, its own
database and Redis database, a local receiver, Celery workers, and a verdict line.

Import this module before Django is set up; the helpers that need Django import it
when called, after `django_setup`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import redis
import requests
from psycopg import sql

if TYPE_CHECKING:
    from integrations.models import TenantIntegration
    from tenants.models import Tenant

ROOT = Path(__file__).resolve().parents[1]
ADMIN_DATABASE_URL = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"


def bench_env(*, db_name: str, redis_db: int, **extra: str) -> dict[str, str]:
    """The environment of one benchmark: its own PostgreSQL database and Redis database."""
    redis_url = f"redis://127.0.0.1:6379/{redis_db}"
    return {
        "DJANGO_SETTINGS_MODULE": "app.settings",
        "DATABASE_URL": f"postgres://postgres:postgres@127.0.0.1:5432/{db_name}",
        "CELERY_BROKER_URL": redis_url,
        "REDIS_URL": redis_url,
        # Production settings refuse short keys and want encryption keys; these are public, for benchmarks only.
        "SECRET_KEY": "bench-only-secret-key-long-enough-for-the-production-check",
        "FIELD_ENCRYPTION_KEYS": "YmVuY2gtb25seS1maWVsZC1lbmNyeXB0aW9uLWtleTA=",
        "DEBUG": "0",
        # The in-process API client speaks plain http.
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        # The receivers run on loopback over plain http: allow exactly that through the SSRF guard.
        "INTEGRATIONS_ALLOWED_NETWORKS": "127.0.0.0/8",
        "INTEGRATIONS_ALLOW_HTTP": "1",
        **extra,
    }


def django_setup(env: dict[str, str]) -> None:
    """Settings are read once, at django.setup(): the environment must be ours before that.
    Worker processes inherit it."""
    os.environ.update(env)
    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise: static files are not collected
    import django

    django.setup()


def wait_until(predicate: Callable[[], object], *, timeout: float, what: str) -> None:
    """Poll a condition until it holds; fail loudly at the deadline."""
    deadline, pause = time.monotonic() + timeout, threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        pause.wait(0.02)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def stats(values: list[float]) -> tuple[float, float, float]:
    return percentile(values, 50), percentile(values, 95), statistics.fmean(values)


def verdict(value: float, target: float, *, at_most: bool) -> str:
    met = value <= target if at_most else value >= target
    return f"target {'<=' if at_most else '>='} {target}: {'PASS' if met else 'MISS'}"


# --- Receiver and workers -------------------------------------------------------------


class ReceiverHandler(BaseHTTPRequestHandler):
    """Answers 200 "ok" with keep-alive; the server's Receiver records the arrival."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY the body of a keep-alive
    # answer waits for the client's delayed ACK (40 ms). Real servers set it too.
    disable_nagle_algorithm = True

    def handle(self) -> None:
        with contextlib.suppress(ConnectionError):  # a client hanging up between requests
            super().handle()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.receiver.record(self.headers.get("webhook-id", ""), body)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


class Receiver:
    """A local webhook receiver that records when each webhook-id first arrived (perf_counter)
    and how many requests came in."""

    def __init__(self, handler: type[BaseHTTPRequestHandler] = ReceiverHandler) -> None:
        self.arrivals: dict[str, float] = {}
        self.requests = 0
        self.body = b""  # the last webhook body: the bare loop sends the same bytes
        self.changed = threading.Condition()
        self.closing = threading.Event()  # set when the server stops: handlers holding requests let go
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.server.receiver = self
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def record(self, webhook_id: str, body: bytes) -> None:
        arrived = time.perf_counter()
        if webhook_id:
            with self.changed:
                self.requests += 1
                self.arrivals.setdefault(webhook_id, arrived)
                self.body = body
                self.changed.notify_all()

    def wait_for(self, webhook_ids: Iterable[str], timeout: float) -> None:
        wanted = set(webhook_ids)
        with self.changed:
            if not self.changed.wait_for(lambda: wanted <= self.arrivals.keys(), timeout):
                missing = len(wanted - self.arrivals.keys())
                raise TimeoutError(f"{missing} of {len(wanted)} webhooks did not arrive within {timeout} s")


@contextlib.contextmanager
def receiving(handler: type[BaseHTTPRequestHandler] = ReceiverHandler) -> Iterator[Receiver]:
    receiver = Receiver(handler)
    threading.Thread(target=receiver.server.serve_forever, daemon=True).start()
    try:
        yield receiver
    finally:
        receiver.closing.set()
        receiver.server.shutdown()
        receiver.server.server_close()


def worker_command(index: int, concurrency: int) -> list[str]:
    return [
        sys.executable,
        *("-m", "celery", "-A", "app", "worker", f"--concurrency={concurrency}", "--loglevel=INFO", "-P", "prefork"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat", f"--hostname=bench{index}@%h"),
    ]


@contextlib.contextmanager
def celery_workers(count: int, *, concurrency: int = 1) -> Iterator[list[Path]]:
    """`count` celery worker processes on the bench environment, each in its own process
    group; yields their log files."""
    processes: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="fieldhook-bench-") as log_dir:
        logs = [Path(log_dir) / f"worker{index}.log" for index in range(count)]

        def ready() -> bool:
            if any(process.poll() is not None for process in processes):
                raise RuntimeError("a worker exited:\n" + "".join(log.read_text()[-2000:] for log in logs))
            return all("ready." in log.read_text() for log in logs)

        try:
            for index, log in enumerate(logs):
                with log.open("w") as out:
                    command = worker_command(index, concurrency)
                    options = {"cwd": ROOT, "stdout": out, "stderr": subprocess.STDOUT, "start_new_session": True}
                    processes.append(subprocess.Popen(command, **options))  # noqa: S603 (our interpreter, fixed args)
            wait_until(ready, timeout=60, what="celery workers ready")
            yield logs
        finally:
            for process in processes:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(5)


# --- Setup ------------------------------------------------------------------------------


def database_and_broker_reset(*, db_name: str, broker_url: str) -> None:
    """Drop and re-create the benchmark's own database, migrate it, and empty its Redis database."""
    from django.core.management import call_command

    with psycopg.connect(ADMIN_DATABASE_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db_name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db_name)))
    call_command("migrate", verbosity=0)
    broker_flush(broker_url)


def broker_flush(broker_url: str) -> None:
    redis.Redis.from_url(broker_url).flushdb()


def webhook_integration(tenant: Tenant, name: str, url: str) -> TenantIntegration:
    from integrations.models import SUBSCRIBABLE_EVENTS, TenantIntegration

    events = [event.value for event in SUBSCRIBABLE_EVENTS]
    config = {"url": url, "sign": False}
    return TenantIntegration.objects.create(
        tenant=tenant, name=name, integration_type="webhook", event_types=events, config=config
    )


# --- The baseline ---------------------------------------------------------------------------

BARE_WARMUP = 20


def bare_client(url: str, body: bytes, count: int, start, results) -> None:
    """The baseline: a plain requests.Session POST loop with keep-alive, same body, same receiver."""
    session = requests.Session()
    session.trust_env = False
    for number in range(BARE_WARMUP + count):
        if number == BARE_WARMUP:
            start.wait(60)
            started = time.time()  # wall clock: compared across processes
        session.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=5).raise_for_status()
    results.put((started, time.time()))


def bare_rate(url: str, body: bytes, clients: int, total: int) -> float:
    """Requests/second of `clients` processes sharing `total` requests."""
    context = multiprocessing.get_context("spawn")
    start, results, per_client = context.Barrier(clients), context.Queue(), total // clients
    processes = [
        context.Process(target=bare_client, args=(url, body, per_client, start, results)) for _ in range(clients)
    ]
    try:
        for process in processes:
            process.start()
        spans = [results.get(timeout=120) for _ in processes]
    finally:
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.terminate()
                process.join(5)
    return per_client * clients / (max(end for _, end in spans) - min(begin for begin, _ in spans))
