"""An in-memory Nextcloud for one user's files, faithful where our connector cares, behind
`responses` (`install`) or on a real local HTTP server (`serving`):

- WebDAV (folders and files) as Sabre answers it: tests/fakes/nextcloud_dav.py;
- OCS v2 (capabilities, shares), validated against Nextcloud's OpenAPI spec: tests/fakes/nextcloud_ocs.py;
- faults (a status, a timeout after the work is done) injected for the next matching requests.
A request the real server would refuse is answered like it and recorded in `violations`, which
the fixtures assert empty.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import responses

from tests.fakes.faults import Fault
from tests.fakes.nextcloud_dav import DAV_ROOT, FakeWebDav, Node, dav_error, path_names
from tests.fakes.nextcloud_ocs import OCS_ROOT, FakeOcs
from tests.fakes.served import basic_credentials

BASE_URL = "https://cloud.example.com"
USER = "fieldhook"
APP_PASSWORD = "Fh7kq-Zx2Lm-P9wRt-Bn4Vc-Hs6Yd"
EMAIL = "fieldhook@example.com"
METHODS = ("GET", "PUT", "POST", "MKCOL", "PROPFIND", "DELETE", "MOVE", "HEAD")
MAX_REQUESTS = 1000  # more in one test is a client loop that does not end


@dataclass
class Recorded:
    method: str
    path: str  # decoded, relative to the user's files for WebDAV ('/Fieldhook/Acme'), else the URL path
    raw_path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeNextcloud(FakeWebDav, FakeOcs):
    base_url: str = BASE_URL
    user: str = USER
    email: str = EMAIL
    app_passwords: set[str] = field(default_factory=lambda: {APP_PASSWORD})
    users: set[str] = field(default_factory=lambda: {USER, "ana", "bob"})
    groups: set[str] = field(default_factory=lambda: {"technicians"})
    sharing_enabled: bool = True
    public_links_enabled: bool = True
    link_password_enforced: bool = False
    group_sharing: bool = True
    quota_bytes: int | None = None
    validate_spec: bool = True
    max_requests: int | None = MAX_REQUESTS  # None: no limit (benchmarks)
    files: dict[str, Node] = field(default_factory=dict)  # decoded path → node; '/' is the user's home
    shares: list[dict[str, Any]] = field(default_factory=list)
    locked: set[str] = field(default_factory=set)
    requests: list[Recorded] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    next_id: int = 100
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.files.setdefault("/", Node(self._new_id(), folder=True))

    def install(self, mock: responses.RequestsMock) -> FakeNextcloud:
        """One catch-all callback per method (responses would pop overlapping registrations)."""
        for method in METHODS:
            mock.add_callback(method, re.compile(re.escape(self.base_url) + r"/.*"), callback=self._responses_callback)
        return self

    # --- Test helpers ----------------------------------------------------------------------

    def calls(self, method: str, path: str = r".*") -> list[Recorded]:
        """Recorded requests of a method whose (decoded) path matches the regex entirely."""
        return [r for r in self.requests if r.method == method and re.fullmatch(path, r.path)]

    def text(self, path: str) -> str:
        return self.files[path].content.decode()

    def add_folder(self, path: str) -> Node:
        for depth in range(1, len(path_names(path)) + 1):
            self.files.setdefault("/" + "/".join(path_names(path)[:depth]), Node(self._new_id(), folder=True))
        return self.files[path]

    def add_file(self, path: str, text: str) -> Node:
        self.add_folder(path.rsplit("/", 1)[0] or "/")
        self.files[path] = Node(self._new_id(), folder=False, content=text.encode(), etag=secrets.token_hex(8))
        return self.files[path]

    def fail_next(self, method: str, path: str, *, status: int, times: int = 1, **headers: str) -> None:
        self.faults.append(Fault(method, path, status=status, times=times, headers=headers))

    def time_out_after_next(self, method: str, path: str) -> None:
        self.faults.append(Fault(method, path, timeout_after=True))

    def folders(self) -> list[str]:
        return sorted(path for path, node in self.files.items() if node.folder)

    # --- Dispatch ----------------------------------------------------------------------------

    def _responses_callback(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        body = request.body.encode() if isinstance(request.body, str) else (request.body or b"")
        status, headers, payload, timeout = self.handle(request.method, request.url, dict(request.headers), body)
        if timeout:
            raise requests.ReadTimeout("The fake did the work, then never answered.")
        return status, headers, payload

    def handle(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes, bool]:
        """(status, headers, body, time out instead of answering) for one request."""
        with self.lock:
            return self._handle(method, url, {k.lower(): v for k, v in headers.items()}, body)

    def _handle(self, method: str, url: str, headers: dict[str, str], body: bytes):
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        base_path = urlsplit(self.base_url).path.rstrip("/")
        raw_path = parts.path.removeprefix(base_path)
        dav = raw_path.startswith(DAV_ROOT)
        path = self._dav_path(method, raw_path) if dav else raw_path
        recorded = Recorded(method, path or raw_path, raw_path, query, headers, body)
        self.requests.append(recorded)
        if self.max_requests is not None and len(self.requests) > self.max_requests:
            self.violations.append(f"{method} {raw_path}: over {self.max_requests} requests, a runaway loop")
            return (*dav_error(500, "Sabre\\DAV\\Exception", "The fake stopped answering a runaway client."), False)
        if dav:
            answer = self._dav(recorded) if path is not None else dav_error(400, "BadRequest", "Bad path encoding")
        elif raw_path.startswith(OCS_ROOT):
            answer = self._ocs(recorded, url, headers)
        else:
            self.violations.append(f"{method} {raw_path}: not a WebDAV or OCS address")
            answer = dav_error(404, "Sabre\\DAV\\Exception\\NotFound", "Path not found")
        if isinstance(answer, Fault):
            return (*dav_error(0, "", ""), True)
        return (*answer, False)

    def _authenticated(self, headers: dict[str, str]) -> bool:
        """Basic auth with an app password; the login may be the user id or the user's email."""
        credentials = basic_credentials(headers.get("authorization", ""))
        if credentials is None:
            return False
        login, password = credentials
        return login in (self.user, self.email) and password in self.app_passwords

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id


# --- On a real local HTTP server ------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def _dispatch(self) -> None:
        fake: FakeNextcloud = self.server.fake
        body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        url = f"{fake.base_url.rstrip('/')}{self.path.removeprefix(urlsplit(fake.base_url).path.rstrip('/'))}"
        status, headers, payload, timeout = fake.handle(self.command, url, dict(self.headers), body)
        if timeout:
            self.close_connection = True
            return
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_MKCOL = do_PROPFIND = do_DELETE = _dispatch

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serving(fake: FakeNextcloud | None = None, **options: Any) -> Iterator[FakeNextcloud]:
    """A FakeNextcloud answering on 127.0.0.1 (its base_url set to the server's address)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.fake = fake or FakeNextcloud(**options)
    server.fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
