"""An in-memory Nextcloud for one user's files, faithful where our connector cares, behind
`responses` (`install`) or on a real local HTTP server (`serving`):

- WebDAV under /remote.php/dav/files/<user>/, checked by hand (it has no spec): Basic auth with
  the app password, every path segment percent-encoded exactly once and canonically, no '.',
  '..' or names sync clients refuse, Depth on PROPFIND, a Markdown Content-Type on PUT. It
  answers as Sabre/Nextcloud do: MKCOL 201 (OC-FileId) / 405 existing / 409 parent missing,
  PUT 201 new / 204 replaced / 404 folder missing / 412 If-Match or If-None-Match failed,
  GET 200 with ETag / 404, PROPFIND 207 Multi-Status / 404, 423 on a locked file, 507 over
  quota — errors as Sabre's XML (<s:exception>, <s:message>);
- OCS v2 (capabilities, shares) validated against Nextcloud's OpenAPI spec (tests/contracts/specs/
  nextcloud), OCS-APIRequest and format=json required, answers in the {"ocs": {"meta", "data"}}
  envelope with real HTTP codes and Nextcloud's messages;
- faults (a status, a timeout after the work is done) injected for the next matching requests.
A request the real server would refuse is answered like it and recorded in `violations`, which
the fixtures assert empty.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from xml.etree import ElementTree

import requests
import responses

BASE_URL = "https://cloud.example.com"
USER = "fieldhook"
APP_PASSWORD = "Fh7kq-Zx2Lm-P9wRt-Bn4Vc-Hs6Yd"
EMAIL = "fieldhook@example.com"
INSTANCE_ID = "oc2ab3cd4ef5"
VERSION = {"major": 31, "minor": 0, "micro": 8, "string": "31.0.8", "edition": "", "extendedSupport": False}
DAV_ROOT = "/remote.php/dav/files/"
OCS_ROOT = "/ocs/v2.php/"
METHODS = ("GET", "PUT", "POST", "MKCOL", "PROPFIND", "DELETE", "MOVE", "HEAD")
REFUSED_IN_NAMES = re.compile(r'[\x00-\x1f\x7f\\:*?"<>|]')
MAX_REQUESTS = 1000  # more in one test is a client loop that does not end
OCS_ROUTES = {  # (method, path) → the fake's handler
    ("GET", "/ocs/v2.php/cloud/capabilities"): "_capabilities",
    ("GET", "/ocs/v2.php/apps/files_sharing/api/v1/shares"): "_list_shares",
    ("POST", "/ocs/v2.php/apps/files_sharing/api/v1/shares"): "_create_share",
}


@dataclass
class Node:
    file_id: int
    folder: bool
    content: bytes = b""
    etag: str = ""


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
class Fault:
    method: str
    path: str  # a regex matched against the whole decoded path
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout_after: bool = False
    times: int = 1


@dataclass
class FakeNextcloud:
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
        for depth in range(1, len(_names(path)) + 1):
            self.files.setdefault("/" + "/".join(_names(path)[:depth]), Node(self._new_id(), folder=True))
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

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.method == method and re.fullmatch(fault.path, path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _authenticated(self, headers: dict[str, str]) -> bool:
        """Basic auth with an app password; the login may be the user id or the user's email."""
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        if scheme != "Basic":
            return False
        try:
            login, _, password = base64.b64decode(credentials, validate=True).decode().partition(":")
        except ValueError:
            return False
        return login in (self.user, self.email) and password in self.app_passwords

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    # --- WebDAV ------------------------------------------------------------------------------

    def _dav_path(self, method: str, raw_path: str) -> str | None:
        """The decoded path inside the user's files, after checking how it was encoded."""
        rest = raw_path.removeprefix(DAV_ROOT)
        raw_files = rest.partition("/")[2]
        names = []
        for raw in [part for part in raw_files.split("/") if part]:
            name = unquote(raw)
            if quote(name, safe="") != raw:
                self.violations.append(f"{method} {raw_path}: segment {raw!r} is not percent-encoded canonically")
            if name in (".", "..") or "/" in name:
                self.violations.append(f"{method} {raw_path}: segment {name!r} leaves its folder")
                return None
            if REFUSED_IN_NAMES.search(name) or name != name.strip() or name.endswith("."):
                self.violations.append(f"{method} {raw_path}: {name!r} is a name sync clients refuse")
            names.append(name)
        if "//" in raw_files:
            self.violations.append(f"{method} {raw_path}: an empty segment")
        return "/" + "/".join(names)

    def _dav(self, recorded: Recorded):
        method, path, headers = recorded.method, recorded.path, recorded.headers
        if not self._authenticated(headers):
            status, answer_headers, body = dav_error(
                401,
                "Sabre\\DAV\\Exception\\NotAuthenticated",
                "No public access to this resource., Username or password was incorrect, No 'Authorization: "
                "Bearer' header found. Either the client didn't send one, or the server is mis-configured, "
                "Username or password was incorrect",
            )
            return status, {**answer_headers, "WWW-Authenticate": 'Basic realm="Nextcloud", charset="UTF-8"'}, body
        if unquote(recorded.raw_path.removeprefix(DAV_ROOT).partition("/")[0]) != self.user:
            # The files of a user id other than the login's (e.g. its email address given as user).
            return dav_error(404, "Sabre\\DAV\\Exception\\NotFound", "Principal not found")
        fault = self._take_fault(method, path)
        if fault and fault.status:
            status, answer_headers, body = dav_error(
                fault.status, *FAULTS.get(fault.status, ("Sabre\\DAV\\Exception", ""))
            )
            return status, {**answer_headers, **fault.headers}, body
        handler = {"MKCOL": self._mkcol, "PUT": self._put, "GET": self._get, "PROPFIND": self._propfind}.get(method)
        if handler is None:
            self.violations.append(f"{method} {path}: the fake does not serve this method")
            return dav_error(501, "Sabre\\DAV\\Exception\\NotImplemented", f"There was no plugin to handle {method}")
        answer = handler(recorded)
        return fault if fault and fault.timeout_after else answer

    def _parent(self, path: str) -> Node | None:
        return self.files.get(path.rsplit("/", 1)[0] or "/")

    def _mkcol(self, recorded: Recorded):
        path = recorded.path
        if recorded.body:
            self.violations.append(f"MKCOL {path}: a body (Nextcloud answers 415)")
            return dav_error(
                415,
                "Sabre\\DAV\\Exception\\UnsupportedMediaType",
                "The request body for the MKCOL request must have an xml Content-Type",
            )
        if path in self.files:
            return dav_error(
                405, "Sabre\\DAV\\Exception\\MethodNotAllowed", "The resource you tried to create already exists"
            )
        parent = self._parent(path)
        if parent is None or not parent.folder:
            return dav_error(409, "Sabre\\DAV\\Exception\\Conflict", "Parent node does not exist")
        node = self.files[path] = Node(self._new_id(), folder=True)
        return 201, {"OC-FileId": self._oc_file_id(node), "Content-Length": "0"}, b""

    def _put(self, recorded: Recorded):
        path, headers = recorded.path, recorded.headers
        if not headers.get("content-type", "").startswith("text/markdown"):
            self.violations.append(f"PUT {path}: Content-Type {headers.get('content-type')!r}, not text/markdown")
        if not _utf8(recorded.body):
            self.violations.append(f"PUT {path}: the body is not UTF-8")
        parent = self._parent(path)
        if parent is None or not parent.folder:
            return dav_error(
                404, "Sabre\\DAV\\Exception\\NotFound", f"File with name {path.rsplit('/', 1)[0]} could not be located"
            )
        if path in self.locked:
            return dav_error(
                423, "OCA\\DAV\\Connector\\Sabre\\Exception\\FileLocked", f'"{path.lstrip("/")}" is locked'
            )
        current = self.files.get(path)
        if current is not None and current.folder:
            return dav_error(409, "Sabre\\DAV\\Exception\\Conflict", "PUT is not allowed on non-files.")
        precondition = _precondition_failure(headers, current)
        if precondition:
            return dav_error(412, "Sabre\\DAV\\Exception\\PreconditionFailed", precondition)
        if (
            self.quota_bytes is not None
            and self._used() - len(current.content if current else b"") + len(recorded.body) > self.quota_bytes
        ):
            return dav_error(
                507,
                "Sabre\\DAV\\Exception\\InsufficientStorage",
                f"Insufficient space in {path}, {len(recorded.body)} required, {max(0, self.quota_bytes - self._used())} available",
            )
        node = Node(
            current.file_id if current else self._new_id(),
            folder=False,
            content=recorded.body,
            etag=secrets.token_hex(8),
        )
        self.files[path] = node
        etag = f'"{node.etag}"'
        return (204 if current else 201), {"ETag": etag, "OC-ETag": etag, "OC-FileId": self._oc_file_id(node)}, b""

    def _get(self, recorded: Recorded):
        node = self.files.get(recorded.path)
        if node is None:
            return dav_error(
                404,
                "Sabre\\DAV\\Exception\\NotFound",
                f"File with name {recorded.path.lstrip('/')} could not be located",
            )
        if node.folder:
            return 200, {"Content-Type": "text/html; charset=UTF-8"}, b"<html>a folder</html>"
        return 200, {"Content-Type": "text/markdown", "ETag": f'"{node.etag}"'}, node.content

    def _propfind(self, recorded: Recorded):
        path, headers = recorded.path, recorded.headers
        if headers.get("depth") not in ("0", "1"):
            self.violations.append(f"PROPFIND {path}: Depth {headers.get('depth')!r} (Nextcloud refuses infinity)")
        if _propfind_props(recorded.body) is None:
            self.violations.append(f"PROPFIND {path}: the body is not a DAV:propfind document")
        node = self.files.get(path)
        if node is None:
            return dav_error(
                404, "Sabre\\DAV\\Exception\\NotFound", f"File with name {path.lstrip('/')} could not be located"
            )
        href = DAV_ROOT + quote(self.user, safe="") + "/" + "/".join(quote(n, safe="") for n in _names(path))
        href += "/" if node.folder else ""
        body = (
            '<?xml version="1.0"?>\n<d:multistatus xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" '
            'xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns">'
            f"<d:response><d:href>{href}</d:href><d:propstat><d:prop><oc:fileid>{node.file_id}</oc:fileid>"
            "</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>"
        )
        return 207, {"Content-Type": "application/xml; charset=utf-8"}, body.encode()

    def _oc_file_id(self, node: Node) -> str:
        return f"{node.file_id:08d}{INSTANCE_ID}"

    def _used(self) -> int:
        return sum(len(node.content) for node in self.files.values())

    # --- OCS -----------------------------------------------------------------------------------

    def _ocs(self, recorded: Recorded, url: str, headers: dict[str, str]):
        method, path = recorded.method, recorded.raw_path
        if self.validate_spec:
            problems = spec_problems(method, url, headers, recorded.body, server=self.base_url)
            if problems:
                self.violations += [f"{method} {path}: {p}" for p in problems]
                return ocs_answer(400, None, message="; ".join(problems))
        if headers.get("ocs-apirequest", "").lower() != "true":
            self.violations.append(f"{method} {path}: no 'OCS-APIRequest: true' header")
            return 412, {"Content-Type": "application/json"}, b'{"message":"CSRF check failed"}'
        if recorded.query.get("format") != "json":
            self.violations.append(f"{method} {path}: no format=json (Nextcloud would answer XML)")
        if not self._authenticated(headers):
            return ocs_answer(401, [], message="Current user is not logged in", statuscode=997)
        fault = self._take_fault(method, path)
        if fault and fault.status:
            status, answer_headers, body = ocs_answer(
                fault.status, [], message=FAULTS.get(fault.status, ("", "Injected"))[1]
            )
            return status, {**answer_headers, **fault.headers}, body
        handler = getattr(self, OCS_ROUTES[(method, path)]) if (method, path) in OCS_ROUTES else None
        if handler is None:
            self.violations.append(f"{method} {path}: the fake does not serve this endpoint")
            return ocs_answer(
                404,
                [],
                message="Invalid query, please check the syntax. API specifications are here: http://www.freedesktop.org/wiki/Specifications/open-collaboration-services.",
            )
        answer = handler(recorded)
        return fault if fault and fault.timeout_after else answer

    def _capabilities(self, recorded: Recorded):
        sharing = {
            "api_enabled": self.sharing_enabled,
            "public": {
                "enabled": self.public_links_enabled,
                "password": {"enforced": self.link_password_enforced, "askForOptionalPassword": False},
                "multiple_links": True,
            },
            "user": {"send_mail": False},
            "resharing": True,
            "group_sharing": self.group_sharing,
            "federation": {
                "outgoing": True,
                "incoming": True,
                "expire_date": {"enabled": True},
                "expire_date_supported": {"enabled": True},
            },
            "sharee": {"query_lookup_default": False, "always_show_unique": True},
            "default_permissions": 31,
        }
        core = {
            "pollinterval": 60,
            "webdav-root": "remote.php/webdav",
            "reference-api": True,
            "reference-regex": "",
            "mod-rewrite-working": False,
        }
        return ocs_answer(200, {"version": VERSION, "capabilities": {"core": core, "files_sharing": sharing}})

    def _list_shares(self, recorded: Recorded):
        path = recorded.query.get("path", "")
        if path and path not in self.files:
            return ocs_answer(404, [], message="Wrong path, file/folder does not exist")
        return ocs_answer(200, [s for s in self.shares if not path or s["path"] == path])

    def _create_share(self, recorded: Recorded):
        body = recorded.json()
        path, share_type, share_with = body.get("path") or "", int(body.get("shareType", -1)), body.get("shareWith")
        if not self.sharing_enabled:
            return ocs_answer(404, [], message="Share API is disabled")
        if path not in self.files:
            return ocs_answer(404, [], message="Wrong path, file/folder does not exist")
        if share_type == 0 and share_with not in self.users:
            return ocs_answer(404, [], message="Please specify a valid account to share with")
        if share_type == 1 and not self.group_sharing:
            return ocs_answer(404, [], message="Group sharing is disabled by the administrator")
        if share_type == 1 and share_with not in self.groups:
            return ocs_answer(404, [], message="Please specify a valid group")
        if share_type == 3 and not self.public_links_enabled:
            return ocs_answer(404, [], message="Public link sharing is disabled by the administrator")
        if share_type == 3 and self.link_password_enforced and not body.get("password"):
            return ocs_answer(403, [], message="Passwords are enforced for link and mail shares")
        if share_type not in (0, 1, 3):
            return ocs_answer(400, [], message="Unknown share type")
        if share_type in (0, 1) and any(s["path"] == path and s["share_with"] == share_with for s in self.shares):
            name = path.rsplit("/", 1)[-1]
            return ocs_answer(
                403,
                [],
                message=f"Sharing {name} failed, because this item is already shared with the account {share_with}",
            )
        share = self._share(
            path, share_type, share_with, int(body.get("permissions") or (1 if share_type == 3 else 31))
        )
        self.shares.append(share)
        return ocs_answer(200, share)

    def _share(self, path: str, share_type: int, share_with: str | None, permissions: int) -> dict[str, Any]:
        node = self.files[path]
        token = secrets.token_urlsafe(11)[:15] if share_type == 3 else None
        share = {
            "id": str(self._new_id()), "share_type": share_type, "uid_owner": self.user, "displayname_owner": "Fieldhook",
            "permissions": permissions, "can_edit": True, "can_delete": True, "stime": 1_790_000_000, "parent": None,
            "expiration": None, "token": token, "uid_file_owner": self.user, "note": "", "label": "",
            "displayname_file_owner": "Fieldhook", "path": path, "item_type": "folder", "item_permissions": 31,
            "is-mount-root": False, "mount-type": "", "mimetype": "httpd/unix-directory", "has_preview": False,
            "storage_id": f"home::{self.user}", "storage": 1, "item_source": node.file_id, "file_source": node.file_id,
            "file_parent": self.files[path.rsplit("/", 1)[0] or "/"].file_id, "file_target": "/" + path.rsplit("/", 1)[-1],
            "item_size": 0, "item_mtime": 1_790_000_000, "share_with": share_with, "share_with_displayname": share_with or "",
            "attributes": None, "mail_send": 0, "hide_download": 0,
        }  # fmt: skip
        if token:
            share["url"] = f"{self.base_url}/s/{token}"
        return share


FAULTS = {
    401: ("Sabre\\DAV\\Exception\\NotAuthenticated", "Username or password was incorrect"),
    403: ("Sabre\\DAV\\Exception\\Forbidden", "Forbidden"),
    423: ("OCA\\DAV\\Connector\\Sabre\\Exception\\FileLocked", "The file is locked"),
    429: ("Sabre\\DAV\\Exception", "Reached maximum delay"),
    500: ("Sabre\\DAV\\Exception", "Internal Server Error"),
    503: ("Sabre\\DAV\\Exception\\ServiceUnavailable", "System in maintenance mode."),
    507: ("Sabre\\DAV\\Exception\\InsufficientStorage", "Insufficient space in /, 2048 required, 0 available"),
}


def dav_error(status: int, exception: str, message: str) -> tuple[int, dict[str, str], bytes]:
    """Sabre's error body."""
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">\n'
        f"  <s:exception>{_xml_text(exception)}</s:exception>\n  <s:message>{_xml_text(message)}</s:message>\n</d:error>\n"
    )
    return status, {"Content-Type": "application/xml; charset=utf-8"}, body.encode()


def ocs_answer(status: int, data: Any, *, message: str = "", statuscode: int | None = None):
    """OCS v2: real HTTP codes; meta.statuscode is the same code (997 for 'not logged in')."""
    ok = 200 <= status < 300
    meta = {
        "status": "ok" if ok else "failure",
        "statuscode": statuscode or status,
        "message": "OK" if ok else message,
        "totalitems": "",
        "itemsperpage": "",
    }
    return (
        status,
        {"Content-Type": "application/json; charset=utf-8"},
        json.dumps({"ocs": {"meta": meta, "data": data}}).encode(),
    )


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _names(path: str) -> list[str]:
    return [name for name in path.split("/") if name]


def _utf8(body: bytes) -> bool:
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True


def _precondition_failure(headers: dict[str, str], current: Node | None) -> str:
    if_match, if_none_match = headers.get("if-match"), headers.get("if-none-match")
    if if_match and (current is None or if_match.strip('"') != current.etag):
        return "An If-Match header was specified, but none of the specified ETags matched."
    if if_none_match == "*" and current is not None:
        return "An If-None-Match header was specified, but the ETag matched (or * was specified)."
    return ""


def _propfind_props(body: bytes) -> list[str] | None:
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 (our own client's request)
    except ElementTree.ParseError:
        return None
    if root.tag != "{DAV:}propfind":
        return None
    return [prop.tag for prop in root.iter() if prop.tag not in ("{DAV:}propfind", "{DAV:}prop")]


def spec_problems(method: str, url: str, headers: dict[str, str], body: bytes, *, server: str) -> list[str]:
    """What Nextcloud's OpenAPI spec finds wrong with an OCS request: path, method, parameters, body, auth."""
    from openapi_core.contrib.requests import RequestsOpenAPIRequest

    from tests.contracts.openapi import vendor_spec

    request = requests.Request(method, url, headers=headers, data=body or None).prepare()
    spec = vendor_spec("nextcloud", server=server)
    return [f"{type(error).__name__}: {error}" for error in spec.iter_request_errors(RequestsOpenAPIRequest(request))]


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
