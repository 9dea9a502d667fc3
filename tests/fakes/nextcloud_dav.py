"""The WebDAV half of the fake Nextcloud (tests/fakes/nextcloud.py): one user's files under
/remote.php/dav/files/<user>/, checked by hand (WebDAV has no spec): Basic auth with the app
password, every path segment percent-encoded exactly once and canonically, no '.', '..' or names
sync clients refuse, Depth on PROPFIND, a Markdown Content-Type on PUT. It answers as
Sabre/Nextcloud do: MKCOL 201 (OC-FileId) / 405 existing / 409 parent missing, PUT 201 new /
204 replaced / 404 folder missing / 412 If-Match or If-None-Match failed, GET 200 with ETag /
404, PROPFIND 207 Multi-Status / 404, 423 on a locked file, 507 over quota; errors as Sabre's
XML (<s:exception>, <s:message>).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote
from xml.etree import ElementTree

from tests.fakes.faults import fault_take

if TYPE_CHECKING:
    from tests.fakes.nextcloud import Recorded

DAV_ROOT = "/remote.php/dav/files/"
INSTANCE_ID = "oc2ab3cd4ef5"
REFUSED_IN_NAMES = re.compile(r'[\x00-\x1f\x7f\\:*?"<>|]')
FAULTS = {
    401: ("Sabre\\DAV\\Exception\\NotAuthenticated", "Username or password was incorrect"),
    403: ("Sabre\\DAV\\Exception\\Forbidden", "Forbidden"),
    423: ("OCA\\DAV\\Connector\\Sabre\\Exception\\FileLocked", "The file is locked"),
    429: ("Sabre\\DAV\\Exception", "Reached maximum delay"),
    500: ("Sabre\\DAV\\Exception", "Internal Server Error"),
    503: ("Sabre\\DAV\\Exception\\ServiceUnavailable", "System in maintenance mode."),
    507: ("Sabre\\DAV\\Exception\\InsufficientStorage", "Insufficient space in /, 2048 required, 0 available"),
}


@dataclass
class Node:
    file_id: int
    folder: bool
    content: bytes = b""
    etag: str = ""


class FakeWebDav:
    """WebDAV requests of a FakeNextcloud (its files, user, faults and violations)."""

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
        fault = fault_take(self.faults, method, path)
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
        href = DAV_ROOT + quote(self.user, safe="") + "/" + "/".join(quote(n, safe="") for n in path_names(path))
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


def dav_error(status: int, exception: str, message: str) -> tuple[int, dict[str, str], bytes]:
    """Sabre's error body."""
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">\n'
        f"  <s:exception>{_xml_text(exception)}</s:exception>\n  <s:message>{_xml_text(message)}</s:message>\n</d:error>\n"
    )
    return status, {"Content-Type": "application/xml; charset=utf-8"}, body.encode()


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def path_names(path: str) -> list[str]:
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
