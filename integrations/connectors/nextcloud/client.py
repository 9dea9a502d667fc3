"""Requests to one Nextcloud as one user: WebDAV under /remote.php/dav/files/<user>/ for folders
and files, OCS (v2, JSON) for shares and capabilities; and what Nextcloud's answers mean."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

from integrations.connectors import http
from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.connectors.http import HttpResponse
from integrations.connectors.nextcloud.paths import encoded, path_segments

DAV_NS = "DAV:"
OC_NS = "http://owncloud.org/ns"
SABRE_NS = "http://sabredav.org/ns"
PROPFIND_FILE_ID = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<d:propfind xmlns:d="{DAV_NS}" xmlns:oc="{OC_NS}"><d:prop><oc:fileid/></d:prop></d:propfind>'
).encode()
SHARES = "/ocs/v2.php/apps/files_sharing/api/v1/shares"
CAPABILITIES = "/ocs/v2.php/cloud/capabilities"
OCS_OK = (100, 200)  # meta.statuscode of a success under OCS v1 and v2
MARKDOWN = "text/markdown; charset=utf-8"


@dataclass(frozen=True)
class Folder:
    path: str
    created: bool  # False: it was there already
    file_id: int | None = None


@dataclass(frozen=True)
class TextFile:
    text: str
    etag: str


class NextcloudClient:
    def __init__(self, *, base_url: str, user: str, app_password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.user = user
        self.auth = (user, app_password)

    # --- WebDAV -----------------------------------------------------------------------------

    def dav_url(self, path: str) -> str:
        return f"{self.base_url}/remote.php/dav/files/{quote(self.user, safe='')}/{encoded(path)}"

    def dav(self, method: str, path: str, *, headers: dict[str, str] | None = None, data: bytes | None = None):
        return http.send(method, self.dav_url(path), headers=headers or {}, data=data, auth=self.auth)

    def make_folder(self, path: str) -> Folder:
        """MKCOL. An existing folder (405) is fine; a missing parent (409) is made first, top-down."""
        response = self.dav("MKCOL", path)
        if response.status_code == 409 and len(path_segments(path)) > 1:
            self.make_folder(path.rsplit("/", 1)[0])
            response = self.dav("MKCOL", path)
        if response.status_code == 405:
            return Folder(path, created=False)
        self.check_dav(response, what=f"the folder {path}")
        return Folder(path, created=True, file_id=file_id_from_header(response.headers.get("OC-FileId", "")))

    def put_text(self, path: str, text: str, *, replaces: TextFile | None = None, new: bool = False) -> HttpResponse:
        """PUT a Markdown file. With `replaces`, only over that version (If-Match); with `new`, only if
        there is none yet (If-None-Match: *): a 412 means someone else wrote it meanwhile."""
        headers = {"Content-Type": MARKDOWN}
        if replaces is not None and replaces.etag:
            headers["If-Match"] = replaces.etag
        elif new:
            headers["If-None-Match"] = "*"
        return self.dav("PUT", path, headers=headers, data=text.encode())

    def read_text(self, path: str) -> TextFile | None:
        """The file's text and ETag, or None when there is no such file (a read: retried briefly)."""

        def attempt() -> TextFile | None:
            response = self.dav("GET", path)
            if response.status_code == 404:
                return None
            self.check_dav(response, what=path)
            return TextFile(response.text, response.headers.get("ETag", ""))

        return http.read_retrying(attempt)

    def stat(self, path: str) -> HttpResponse | None:
        """PROPFIND Depth 0 asking for oc:fileid: the 207 Multi-Status, or None when there is no
        such file or folder (a read: retried briefly)."""
        headers = {"Depth": "0", "Content-Type": "application/xml; charset=utf-8"}

        def attempt() -> HttpResponse | None:
            response = self.dav("PROPFIND", path, headers=headers, data=PROPFIND_FILE_ID)
            if response.status_code == 404:
                return None
            self.check_dav(response, what=path or "the user's files")
            return response

        return http.read_retrying(attempt)

    def file_id(self, path: str) -> int | None:
        """The folder's file id, for the link that opens it in Nextcloud."""
        found = self.stat(path)
        return file_id_from_multistatus(found.body) if found is not None else None

    def exists(self, path: str) -> bool:
        return self.stat(path) is not None

    def check_dav(self, response: HttpResponse, *, what: str) -> None:
        raise_for_dav(response, what=what, user=self.user)

    # --- OCS --------------------------------------------------------------------------------

    def ocs(self, method: str, path: str, *, what: str, params: dict[str, str] | None = None, body: Any = None) -> Any:
        """An OCS v2 call in JSON; returns `ocs.data`."""
        headers = {"OCS-APIRequest": "true", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        response = http.send(
            method,
            self.base_url + path,
            params={**(params or {}), "format": "json"},
            headers=headers,
            data=json.dumps(body).encode() if body is not None else None,
            auth=self.auth,
        )
        raise_for_ocs(response, what=what, user=self.user)
        return (response.json().get("ocs") or {}).get("data")

    def capabilities(self) -> dict[str, Any]:
        """The server's version and capabilities (a read: retried briefly)."""
        return http.read_retrying(lambda: self.ocs("GET", CAPABILITIES, what="the capabilities request")) or {}

    def shares(self, path: str) -> list[dict[str, Any]]:
        """The shares this user made of `path` (a read: retried briefly)."""
        params = {"path": path, "reshares": "false"}
        found = http.read_retrying(lambda: self.ocs("GET", SHARES, what=f"the share list of {path}", params=params))
        return found if isinstance(found, list) else []

    def share_create(self, body: dict[str, Any], *, what: str) -> dict[str, Any]:
        return self.ocs("POST", SHARES, what=what, body=body) or {}


# --- Reading Nextcloud's answers ---------------------------------------------------------------


def file_id_from_header(value: str) -> int | None:
    """OC-FileId is the file id zero-padded to 8 digits followed by the instance id ('00000042oc2ab…')."""
    match = re.match(r"\d+", value or "")
    return int(match.group()) if match else None


def _xml(body: bytes) -> ElementTree.Element | None:
    # expat (2.4.1+) bounds entity expansion and never loads external entities; bodies are capped
    # at HTTP_MAX_RESPONSE_BYTES by the HTTP seam.
    try:
        return ElementTree.fromstring(body)  # noqa: S314
    except ElementTree.ParseError:
        return None


def file_id_from_multistatus(body: bytes) -> int | None:
    root = _xml(body)
    node = root.find(f".//{{{OC_NS}}}fileid") if root is not None else None
    text = (node.text or "").strip() if node is not None else ""
    return int(text) if text.isdigit() else None


def dav_error(response: HttpResponse) -> str:
    """Sabre's <s:message> (e.g. 'The resource you tried to create already exists'), or ''."""
    root = _xml(response.body) if response.body.lstrip().startswith(b"<") else None
    node = root.find(f"{{{SABRE_NS}}}message") if root is not None else None
    return " ".join((node.text or "").split()) if node is not None else ""


def _detail(message: str) -> str:
    return f": {message.rstrip('.')}." if message else "."


def raise_for_dav(response: HttpResponse, *, what: str, user: str) -> None:
    """Map a WebDAV answer to a ConnectorError that names Nextcloud's reason and what to do."""
    code = response.status_code
    if 200 <= code < 300:
        return
    detail = _detail(dav_error(response))
    common = {"status_code": code, "response_excerpt": response.excerpt}
    if code == 401:
        # Nextcloud answers 401 to a wrong, revoked or expired app password: only a new one helps.
        raise ConnectorError(
            f"Nextcloud refused the app password of '{user}' (HTTP 401){detail} Create a new app password "
            "(Personal settings › Security › Devices & sessions) and enter it in the integration.",
            permanent=True,
            error_class=ErrorClass.AUTH,
            **common,
        )
    if code == 403:
        # 403: the user may not write there (a read-only share, a folder it does not own, a name
        # the server forbids); the same request cannot succeed until someone changes that.
        raise ConnectorError(
            f"Nextcloud does not let '{user}' write {what} (HTTP 403){detail} Check that the root folder "
            "belongs to that user or is shared with it with edit rights.",
            permanent=True,
            error_class=ErrorClass.AUTH,
            **common,
        )
    if code == 423:
        raise ConnectorError(
            f"Nextcloud says {what} is locked (HTTP 423){detail} It is probably open in an editor or being "
            "synced; Fieldhook tries again later.",
            error_class=ErrorClass.CLIENT,
            retry_after=http.retry_after_seconds(response.headers.get("Retry-After")),
            **common,
        )
    if code == 412:
        raise ConnectorError(
            f"{what} changed in Nextcloud while Fieldhook was writing it (HTTP 412); Fieldhook tries again later.",
            error_class=ErrorClass.CLIENT,
            **common,
        )
    if code in (413, 507):
        # 507 Insufficient Storage must not be repeated until someone frees space (RFC 4918 §11.5);
        # Nextcloud answers 413 when the quota runs out during an upload.
        raise ConnectorError(
            f"Nextcloud has no room for {what} (HTTP {code}){detail} '{user}' is over its storage quota or "
            "the server's disk is full: free space or raise the quota, then retry the failed syncs.",
            permanent=True,
            error_class=ErrorClass.SERVER if code == 507 else ErrorClass.CLIENT,
            **common,
        )
    if 400 <= code < 500 and code not in (408, 429):
        # Any other 4xx (409 a parent that cannot be made, 404 a user that does not exist, 400)
        # judges the request itself: sending it again cannot succeed.
        raise ConnectorError(f"Nextcloud could not write {what} (HTTP {code}){detail}", permanent=True, **common)
    _with_detail(response, detail)


def _with_detail(response: HttpResponse, detail: str) -> None:
    try:
        http.raise_for_status(response, service="Nextcloud")
    except ConnectorError as error:
        if detail != ".":
            error.message = f"{error.message.rstrip('.')}{detail}"
            error.args = (error.message,)
        raise


def ocs_meta(response: HttpResponse) -> dict[str, Any]:
    try:
        body = json.loads(response.body)
    except ValueError:
        return {}
    meta = (body.get("ocs") or {}).get("meta") if isinstance(body, dict) else None
    return meta if isinstance(meta, dict) else {}


def raise_for_ocs(response: HttpResponse, *, what: str, user: str) -> None:
    """OCS v2 answers with real HTTP codes and an envelope {"ocs": {"meta": {"statuscode", "message"}}};
    a 200 whose statuscode is not 100/200 (v1 style) is a failure too."""
    meta = ocs_meta(response)
    statuscode, message = meta.get("statuscode"), str(meta.get("message") or "")
    code = response.status_code
    if 200 <= code < 300 and statuscode in (None, *OCS_OK):
        return
    label = f"HTTP {code}, OCS {statuscode}" if statuscode is not None else f"HTTP {code}"
    detail = _detail(message)
    common = {"status_code": code, "response_excerpt": response.excerpt}
    if code == 401 or statuscode == 997:
        # 401 / OCS 997 "Current user is not logged in": a wrong, revoked or expired app password.
        raise ConnectorError(
            f"Nextcloud refused the app password of '{user}' ({label}){detail} Create a new app password "
            "(Personal settings › Security › Devices & sessions) and enter it in the integration.",
            permanent=True,
            error_class=ErrorClass.AUTH,
            **common,
        )
    if code == 429 or code >= 500 or code == 408:
        _with_detail(response, detail)
    # 400 (an invalid share), 403 (sharing or public links disabled, a password required) and 404
    # (no such user, group or path) come from the server's sharing settings or ours: sending the
    # same request again cannot succeed until one of them changes.
    raise ConnectorError(
        f"Nextcloud refused {what} ({label}){detail} Check the integration's sharing settings and the "
        "server's (Administration settings › Sharing).",
        permanent=True,
        error_class=ErrorClass.CONFIG,
        **common,
    )
