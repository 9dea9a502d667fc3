"""The OCS half of the fake Nextcloud (tests/fakes/nextcloud.py): capabilities and shares over
OCS v2, every request validated against Nextcloud's OpenAPI spec (tests/contracts/specs/nextcloud),
OCS-APIRequest and format=json required, answers in the {"ocs": {"meta", "data"}} envelope with
real HTTP codes and Nextcloud's messages."""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any

import requests

from tests.fakes.faults import fault_take
from tests.fakes.nextcloud_dav import FAULTS

if TYPE_CHECKING:
    from tests.fakes.nextcloud import Recorded

OCS_ROOT = "/ocs/v2.php/"
VERSION = {"major": 31, "minor": 0, "micro": 8, "string": "31.0.8", "edition": "", "extendedSupport": False}
OCS_ROUTES = {  # (method, path) → the fake's handler
    ("GET", "/ocs/v2.php/cloud/capabilities"): "_capabilities",
    ("GET", "/ocs/v2.php/apps/files_sharing/api/v1/shares"): "_list_shares",
    ("POST", "/ocs/v2.php/apps/files_sharing/api/v1/shares"): "_create_share",
}


class FakeOcs:
    """OCS requests of a FakeNextcloud (its files, shares, sharing settings and violations)."""

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
        fault = fault_take(self.faults, method, path)
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


def spec_problems(method: str, url: str, headers: dict[str, str], body: bytes, *, server: str) -> list[str]:
    """What Nextcloud's OpenAPI spec finds wrong with an OCS request: path, method, parameters, body, auth."""
    from openapi_core.contrib.requests import RequestsOpenAPIRequest

    from tests.contracts.openapi import vendor_spec

    request = requests.Request(method, url, headers=headers, data=body or None).prepare()
    spec = vendor_spec("nextcloud", server=server)
    return [f"{type(error).__name__}: {error}" for error in spec.iter_request_errors(RequestsOpenAPIRequest(request))]
