"""Every outbound request ends by its deadline (connect, headers and body together), however
slowly a receiver answers; a real local server dribbles its answer one byte at a time, each
byte well within the per-read timeout."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations.connectors import http
from integrations.connectors.errors import ConnectorError
from tests.integrations.connectors.test_ssrf import self_signed

DEADLINE = 1.0
BYTE_EVERY = 0.1  # seconds between two dribbled bytes: far below the per-read timeout
DRIBBLE = 60  # bytes: 6 s at that pace, so a request without a deadline would take that long


class SlowReceiver(ThreadingHTTPServer):
    """Answers each POST in the next of `modes` (then promptly) and records the client port."""

    daemon_threads = True

    def __init__(self, *modes: str, tls: ssl.SSLContext | None = None) -> None:
        self.modes = list(modes)
        self.client_ports: list[int] = []
        self.stopping = threading.Event()
        super().__init__(("127.0.0.1", 0), _Handler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)

    def url(self, scheme: str = "http") -> str:
        host = "localhost" if scheme == "https" else "127.0.0.1"
        return f"{scheme}://{host}:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    server: SlowReceiver
    protocol_version = "HTTP/1.1"  # keep-alive: pooled connections are visible by client port

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.client_ports.append(self.client_address[1])
        mode = self.server.modes.pop(0) if self.server.modes else "prompt"
        getattr(self, f"answer_{mode.replace(' ', '_')}")()

    def answer_prompt(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def answer_silent(self) -> None:
        self.server.stopping.wait(DRIBBLE * BYTE_EVERY)
        self.close_connection = True

    def answer_headers(self) -> None:
        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
        self.dribble(b"X-Slow: " + b"a" * DRIBBLE + b"\r\nContent-Length: 2\r\n\r\nok")

    def answer_body(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(DRIBBLE))
        self.end_headers()
        self.dribble(b"x" * DRIBBLE)

    def answer_unsized_body(self) -> None:
        """No length: the end of the body is the end of the connection."""
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        self.dribble(b"x" * DRIBBLE)
        self.close_connection = True

    def answer_chunked_body(self) -> None:
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.dribble(b"1\r\nx\r\n" * DRIBBLE + b"0\r\n\r\n", size=6)

    def dribble(self, data: bytes, size: int = 1) -> None:
        for start in range(0, len(data), size):
            try:
                self.wfile.write(data[start : start + size])
                self.wfile.flush()
            except OSError:  # the client gave up: good
                self.close_connection = True
                return
            if self.server.stopping.wait(BYTE_EVERY):
                return

    def log_message(self, *args) -> None:
        pass


def serving(server: SlowReceiver) -> Iterator[SlowReceiver]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.stopping.set()
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def short_deadline(settings):
    """A 1 s deadline, with connect and per-read timeouts longer than it (they must not be what stops a request)."""
    settings.HTTP_CONNECT_TIMEOUT = 5.0
    settings.HTTP_TIMEOUT = 5.0
    settings.HTTP_DEADLINE_SECONDS = DEADLINE
    http.http_session().close()
    yield
    http.http_session().close()


@pytest.fixture
def start_receiver() -> Iterator:
    servers: list[Iterator[SlowReceiver]] = []

    def start(*modes: str, tls: ssl.SSLContext | None = None) -> SlowReceiver:
        servers.append(serving(SlowReceiver(*modes, tls=tls)))
        return next(servers[-1])

    yield start
    for server in servers:
        next(server, None)


def timed_send(url: str, **kwargs) -> tuple[ConnectorError, float]:
    started = time.monotonic()
    with pytest.raises(ConnectorError) as raised:
        http.send("POST", url, data=b"{}", **kwargs)
    return raised.value, time.monotonic() - started


@pytest.mark.parametrize("mode", ["headers", "body", "unsized body", "chunked body", "silent"])
def test_a_slow_answer_ends_as_a_timeout_at_the_deadline(start_receiver, mode):
    receiver = start_receiver(mode)

    error, elapsed = timed_send(receiver.url())

    assert (error.error_class, error.permanent) == ("timeout", False)
    assert error.message.startswith(f"127.0.0.1:{receiver.server_address[1]} did not finish answering within 1 s")
    assert DEADLINE * 0.9 <= elapsed < DEADLINE + 1.0


@pytest.fixture
def full_listener() -> Iterator[socket.socket]:
    """A listening socket whose accept queue is full: the kernel leaves new connects hanging."""
    with socket.create_server(("127.0.0.1", 0), backlog=0) as server:
        fillers = [socket.socket() for _ in range(4)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(server.getsockname())
        yield server
        for filler in fillers:
            filler.close()


def test_a_connect_that_hangs_ends_at_the_deadline(full_listener):
    error, elapsed = timed_send(f"http://127.0.0.1:{full_listener.getsockname()[1]}/hook")

    assert error.error_class == "timeout"
    assert "did not finish answering within 1 s" in error.message
    assert elapsed < DEADLINE + 1.0


def test_a_dribbled_tls_answer_ends_at_the_deadline_too(start_receiver, tmp_path):
    cert_path, key_path = self_signed(tmp_path, "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    receiver = start_receiver("body", tls=context)

    error, elapsed = timed_send(receiver.url("https"), verify=str(cert_path))

    assert error.error_class == "timeout"
    assert "did not finish answering within 1 s" in error.message
    assert elapsed < DEADLINE + 1.0


def test_after_a_deadline_the_connection_is_closed_not_reused(start_receiver):
    receiver = start_receiver("body", "prompt")

    timed_send(receiver.url())
    response = http.send("POST", receiver.url(), data=b"{}")

    assert (response.status_code, response.body) == (200, b"ok")
    first, second = receiver.client_ports
    assert first != second


def test_prompt_answers_still_share_one_pooled_connection(start_receiver):
    receiver = start_receiver()

    answers = [http.send("POST", receiver.url(), data=b"{}").body for _ in range(3)]

    assert answers == [b"ok"] * 3
    assert len(set(receiver.client_ports)) == 1
