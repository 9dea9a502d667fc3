"""A fake vendor API is one handler, `FakeRequest -> Answer`, served two ways: behind
`responses` in unit tests (`install`), or by a real HTTP server on 127.0.0.1 for end-to-end
runs and benchmarks (`serving`). The same handler answers both, so what the tests check is
what the benchmarks hit."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import requests
import responses
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.request.exceptions import InvalidRequestBody
from requests.structures import CaseInsensitiveDict
from werkzeug.datastructures import Headers, ImmutableMultiDict

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


@dataclass
class FakeRequest:
    method: str
    url: str
    headers: CaseInsensitiveDict
    body: bytes = b""

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.url).query, keep_blank_values=True))

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_json(cls, value: Any, status: int = 200, **headers: str) -> Answer:
        return cls(status, json.dumps(value).encode(), {"Content-Type": "application/json", **headers})


Handler = Callable[[FakeRequest], Answer]


@dataclass
class Fault:
    """What a fake does instead of answering the next matching requests."""

    method: str  # "" for any
    path: str  # a regex matched against the whole path
    status: int = 200
    error: str = ""  # the vendor's error string or code
    headers: dict[str, str] = field(default_factory=dict)
    after: bool = False  # do the work, then lose the answer (requests.ReadTimeout)
    times: int = 1


@dataclass
class Faults:
    """Faults injected by a test, taken by the requests they match, in order."""

    pending: list[Fault] = field(default_factory=list)

    def add(self, fault: Fault) -> None:
        self.pending.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        for fault in self.pending:
            if fault.method in ("", method) and re.fullmatch(fault.path, path):
                fault.times -= 1
                if fault.times <= 0:
                    self.pending.remove(fault)
                return fault
        return None


class _OpenAPIRequest:
    """A FakeRequest as openapi-core reads requests."""

    def __init__(self, request: FakeRequest) -> None:
        parts = urlsplit(request.url)
        self.host_url = f"{parts.scheme}://{parts.netloc}"
        self.path = parts.path
        self.method = request.method.lower()
        self.body = request.body or None
        self.content_type = request.headers.get("Content-Type", "")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qs(parts.query, keep_blank_values=True)),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )


def spec_problems(spec: OpenAPI, request: FakeRequest) -> list[str]:
    """What the vendor's OpenAPI spec finds wrong with the request (path, method, security,
    parameters, body). openapi-core's own messages can fail to format: named by type and cause."""
    problems = []
    for error in spec.iter_request_errors(_OpenAPIRequest(request)):
        schema_errors = getattr(error.__cause__, "schema_errors", None)
        if isinstance(error, InvalidRequestBody) and schema_errors:
            problems += [f"body: {e.message} (at {'/'.join(map(str, e.path)) or 'top'})" for e in schema_errors]
        else:
            cause = error.__cause__
            problems.append(f"{type(error).__name__}" + (f" ({type(cause).__name__}: {cause!r})" if cause else ""))
    return problems


# --- Behind `responses` -------------------------------------------------------------------------


def install(mock: responses.RequestsMock, base_url: str, handler: Handler) -> None:
    """Every request under `base_url` goes to `handler`; it may raise requests exceptions
    (e.g. ReadTimeout after doing the work) to act out a lost answer."""

    def callback(prepared: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        body = prepared.body or b""
        request = FakeRequest(
            prepared.method or "GET",
            prepared.url or "",
            CaseInsensitiveDict(prepared.headers),
            body.encode() if isinstance(body, str) else body,
        )
        answer = handler(request)
        return answer.status, answer.headers, answer.body

    for method in METHODS:
        mock.add_callback(method, re.compile(re.escape(base_url.rstrip("/")) + r"(/.*)?(\?.*)?$"), callback=callback)


# --- On a real local server ---------------------------------------------------------------------


@contextlib.contextmanager
def serving(handler: Handler) -> Iterator[str]:
    """Serve `handler` on 127.0.0.1 (keep-alive, TCP_NODELAY) in a thread; yields its base URL."""

    class Server(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def handle_one_request(self) -> None:
            with contextlib.suppress(ConnectionError):
                super().handle_one_request()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            host = f"http://{self.server.server_address[0]}:{self.server.server_address[1]}"
            answer = handler(FakeRequest(self.command, host + self.path, CaseInsensitiveDict(self.headers), body))
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve
        do_MKCOL = do_PROPFIND = do_MOVE = _serve  # WebDAV

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Server)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def basic_credentials(header: str) -> tuple[str, str] | None:
    """The (user, password) of an `Authorization: Basic …` header, or None for any other or
    malformed header — as the tools' own servers read it."""
    scheme, _, credentials = header.partition(" ")
    if scheme != "Basic":
        return None
    try:
        user, _, password = base64.b64decode(credentials, validate=True).decode().partition(":")
    except ValueError:
        return None
    return user, password


class RateWindowed:
    """A tool's request quota over a sliding window, as its servers count it: the fake keeps
    `rate_limit`, `rate_window_seconds` and `window` (the times of the requests counted)."""

    rate_limit: int
    rate_window_seconds: float
    window: list[float]

    def _spent(self) -> bool:
        now = time.time()
        self.window = [t for t in self.window if t > now - self.rate_window_seconds]
        return len(self.window) >= self.rate_limit

    def _remaining(self) -> int:
        return max(0, self.rate_limit - len(self.window))

    def _reset_at(self) -> float:
        """When the oldest counted request leaves the window (now, when none is counted)."""
        return (self.window[0] + self.rate_window_seconds) if self.window else time.time()
