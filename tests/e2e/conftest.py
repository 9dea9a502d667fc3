"""End-to-end harness: a real local HTTP receiver, real Celery worker processes on the
test database, and private redis-servers for outage tests (the shared one is never touched)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from app.celery import celery_app

ROOT = Path(__file__).resolve().parents[2]
WORKER_ENV = {
    # Short leases and grace periods so that recovery paths finish within a test.
    "SYNC_CLAIM_SECONDS": "3",
    "SYNC_STRANDED_GRACE_SECONDS": "0",
    "SYNC_RETRY_COUNTDOWN_MAX_SECONDS": "300",
    # Real workers send on threads, as in production (the test process itself sends inline).
    "SYNC_SEND_THREADS": "4",
    "SYNC_DRAIN_SECONDS": "5",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], object], *, timeout: float = 20.0, every: float = 0.05, on_poll=None):
    """Poll a condition until it holds or the deadline passes (no blind sleeps)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        if on_poll:
            on_poll()
        pause.wait(every)
    raise AssertionError(f"condition not met within {timeout} s: {predicate}")


# --- Receiver ------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every request; answers from a script of (status, headers), then `default`.
    With `dribble_every`, it sends the headers at once, then one byte of a long body every
    that many seconds (until the client gives up: `gave_up_at`)."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    default: int = 200
    hold: threading.Event | None = None
    dribble_every: float = 0.0
    gave_up_at: list[float] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def answer(self) -> tuple[int, dict[str, str]]:
        with self.changed:
            return self.script.pop(0) if self.script else (self.default, {})

    def record(self, received: Received) -> None:
        with self.changed:
            self.requests.append(received)
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float = 20.0, on_poll=None) -> list[Received]:
        return wait_until(lambda: len(self.requests) >= count and list(self.requests), timeout=timeout, on_poll=on_poll)


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.record(Received(self.path, dict(self.headers.items()), body, time.monotonic()))
            if receiver.hold is not None:
                receiver.hold.wait(30)
            status, headers = receiver.answer()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if receiver.dribble_every:
                self.dribble()
                return
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def dribble(self) -> None:
            self.send_header("Content-Length", "100000")
            self.end_headers()
            while not receiver.stopping.wait(receiver.dribble_every):
                try:
                    self.wfile.write(b".")
                except OSError:
                    receiver.gave_up_at.append(time.monotonic())
                    break
            self.close_connection = True

        def log_message(self, *args) -> None:
            pass

    return Handler


@pytest.fixture
def start_receiver() -> Iterator[Callable[..., Receiver]]:
    """Start receivers on free ports (`start_receiver(dribble_every=1.0)`); all stop at teardown."""
    running: list[tuple[Receiver, ThreadingHTTPServer]] = []

    def start(**options) -> Receiver:
        receiver = Receiver(**options)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(receiver))
        server.daemon_threads = True
        receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        running.append((receiver, server))
        return receiver

    yield start
    for receiver, server in running:
        receiver.stopping.set()
        if receiver.hold is not None:
            receiver.hold.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver(start_receiver) -> Receiver:
    return start_receiver()


# --- Brokers and workers -----------------------------------------------------------------


class RedisServer:
    """A private redis-server on a free port that a test may stop and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.answers, timeout=10)

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def answers(self) -> bool:
        try:
            return redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
        except redis.ConnectionError:
            return False


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@contextmanager
def publishing_to(broker_url: str) -> Iterator[None]:
    """Point this process's Celery producer at another broker (env wins over conf in Celery)."""
    previous = os.environ["CELERY_BROKER_URL"]
    _reset_producer_pool(broker_url)
    try:
        yield
    finally:
        _reset_producer_pool(previous)


def _reset_producer_pool(broker_url: str) -> None:
    os.environ["CELERY_BROKER_URL"] = broker_url
    # Celery caches its pools per app, as after a fork; drop the references (not the pools:
    # kombu keeps them in a global registry keyed by URL and would hand back a closed one).
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


class Worker:
    """`celery worker` in its own process group, on the test database."""

    def __init__(self, broker_url: str, database_url: str, extra_env: dict[str, str]) -> None:
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "TEST_DATABASE_URL": database_url,
            "TEST_BROKER_URL": broker_url,
            **WORKER_ENV,
            **extra_env,
        }
        self.process: subprocess.Popen | None = None
        self.output: list[str] = []

    def start(self) -> Worker:
        self.output = []
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "app",
                "worker",
                "--concurrency=2",
                "--queues=celery,polls",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read_output, daemon=True).start()
        wait_until(lambda: any("ready." in line for line in self.output), timeout=30)
        return self

    def _read_output(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def database_url(transactional_db) -> str:
    """The URL of the test database this test process uses, for worker processes."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def start_worker(database_url) -> Iterator[Callable[..., Worker]]:
    workers: list[Worker] = []

    def start(broker_url: str | None = None, **extra_env: str) -> Worker:
        worker = Worker(broker_url or settings.CELERY_BROKER_URL, database_url, extra_env)
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()
    connection.close()


@pytest.fixture
def worker(start_worker, clean_test_broker) -> Worker:
    return start_worker()


@pytest.fixture
def clean_test_broker() -> None:
    """Drop messages left in the test broker by earlier runs (its database is ours alone)."""
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
