"""Nextcloud: a folder per work item under the root folder, holding workitem.md (replaced on every
event) and history.md (one dated line per event, newest last), optionally shared with a user or
group and/or by a public link.

Idempotent, so that a delivery retried after an unknown outcome changes nothing twice: making an
existing folder is a no-op (MKCOL answers 405), workitem.md is simply replaced, history.md gets
an event's line only if it does not carry that event's marker yet, and existing shares of the
folder are looked up before one is created (unless this attempt made the folder).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any
from urllib.parse import quote

from integrations.connectors.base import Capability, Connector, DeliveryResult, Event
from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.connectors.http import HttpResponse
from integrations.connectors.nextcloud import config, render
from integrations.connectors.nextcloud.client import NextcloudClient
from integrations.connectors.nextcloud.config import FolderNames, NextcloudConfig, SharePermissions, ShareType
from integrations.connectors.nextcloud.paths import (
    child,
    folder_name,
    folder_path,
    root_segments,
)

WORKITEM_EVENTS = ("workitem_created", "workitem_status_changed", "workitem_updated")
SHARE_USER, SHARE_GROUP, SHARE_LINK = 0, 1, 3  # OCS shareType
PERMISSIONS = {SharePermissions.EDIT: 15, SharePermissions.VIEW: 1}  # read 1, update 2, create 4, delete 8
LINK_PERMISSIONS = 1  # read only


class NextcloudConnector(Connector):
    kind = "nextcloud"
    label = "Nextcloud"
    capabilities = frozenset({Capability.DELIVERS})
    description = (
        "Keeps a folder per work item in Nextcloud with a readable workitem.md and a history.md of its "
        "changes, optionally shared with a user or group or by a public link."
    )
    default_rate_per_second = 10
    uses_external_links = True
    config_class = NextcloudConfig
    config_fields = config.FIELDS
    destination_fields = ("base_url",)
    config: NextcloudConfig

    @classmethod
    def clean_config(cls, cleaned: dict[str, Any], form: Any) -> dict[str, Any]:
        return config.clean_config(cleaned, form)

    @cached_property
    def client(self) -> NextcloudClient:
        password = self.secrets.get("app_password") or ""
        if not password:
            raise ConnectorError(
                "No Nextcloud app password is stored: enter one in the integration's settings.",
                permanent=True,
                error_class=ErrorClass.CONFIG,
            )
        return NextcloudClient(base_url=self.config.base_url, user=self.config.username, app_password=password)

    # --- Delivering events -------------------------------------------------------------------

    def deliver(self, event: Event) -> DeliveryResult:
        if event.event_type == "integration_test":
            return DeliveryResult(status_code=200, response_excerpt=self._check(event.payload["tenant"]["name"]))
        if event.event_type not in WORKITEM_EVENTS:
            message = f"Nextcloud does not handle {event.event_type} events."
            raise ConnectorError(message, permanent=True, error_class=ErrorClass.CONFIG)
        return self._sync(event)

    def _sync(self, event: Event) -> DeliveryResult:
        """Any work item event brings the folder up to date; the first one (or the first after the
        link was lost) makes the folder."""
        payload = event.payload
        details: dict[str, Any] = dict(event.existing.details) if event.existing else {}
        path = details.get("path") or (event.existing.external_id if event.existing else "")
        made_now = False
        if not path:
            folder = self.client.make_folder(self._new_folder_path(payload))
            path, made_now, details["file_id"] = folder.path, folder.created, folder.file_id
        details["path"] = path
        written, remade = self._write(path, render.WORKITEM_FILE, render.workitem_markdown(payload), details)
        added = self._append_history(path, payload, event.event_id)
        details["shares"] = self._ensure_shares(path, details.get("shares") or {}, made_now=made_now or remade)
        history = "added this event" if added else "already had this event"
        return DeliveryResult(
            external_id=path,
            external_url=self._url(path, details),
            status_code=written.status_code,
            response_excerpt=f"Folder {path}: {render.WORKITEM_FILE} written; {render.HISTORY_FILE} {history}.",
            details=details,
        )

    def _new_folder_path(self, payload: dict[str, Any]) -> str:
        root = root_segments(self.config.root_folder, tenant=payload["tenant"]["name"])
        with_description = self.config.folder_names == FolderNames.REFERENCE_AND_DESCRIPTION
        return folder_path([*root, folder_name(payload["workitem"], with_description=with_description)])

    def _write(self, path: str, name: str, text: str, details: dict[str, Any]) -> tuple[HttpResponse, bool]:
        """PUT a file into the folder; if the folder is gone (deleted or moved in Nextcloud: 404/409,
        nothing was written), make it again — a new folder, without the old one's shares — and
        write once more. Returns the answer and whether the folder was made again."""
        target = child(path, name)
        response = self.client.put_text(target, text)
        remade = response.status_code in (404, 409)
        if remade:
            details["file_id"], details["shares"] = self.client.make_folder(path).file_id, {}
            response = self.client.put_text(target, text)
        self.client.check_dav(response, what=target)
        return response, remade

    def _append_history(self, path: str, payload: dict[str, Any], event_id: str) -> bool:
        """Read history.md (404: none yet), add this event's line unless it is there, write it back
        only over the version read (a user's edit meanwhile makes it a 412, tried again later)."""
        target = child(path, render.HISTORY_FILE)
        current = self.client.read_text(target)
        if current is not None and render.event_marker(event_id) in current.text:
            return False
        entry = render.history_entry(payload, event_id=event_id)
        text = render.history_markdown(
            current.text if current else None, entry, reference=payload["workitem"]["reference_id"]
        )
        response = self.client.put_text(target, text, replaces=current, new=current is None)
        self.client.check_dav(response, what=target)
        return True

    # --- Shares --------------------------------------------------------------------------------

    def _wanted_shares(self) -> dict[str, dict[str, Any]]:
        """Share key → the OCS create body of each share the settings ask for."""
        settings, wanted = self.config, {}
        if settings.share_with:
            share_type = SHARE_GROUP if settings.share_type == ShareType.GROUP else SHARE_USER
            wanted[share_key(share_type, settings.share_with)] = {
                "shareType": share_type,
                "shareWith": settings.share_with,
                "permissions": PERMISSIONS.get(settings.share_permissions, PERMISSIONS[SharePermissions.VIEW]),
            }
        if settings.public_link:
            wanted[share_key(SHARE_LINK, "")] = {"shareType": SHARE_LINK, "permissions": LINK_PERMISSIONS}
        return wanted

    def _ensure_shares(self, path: str, known: dict[str, Any], *, made_now: bool) -> dict[str, Any]:
        """Create the shares the folder lacks. Nextcloud allows any number of public links to one
        folder, so unless this attempt made the folder, its shares are looked up first."""
        missing = {key: body for key, body in self._wanted_shares().items() if key not in known}
        if not missing:
            return known
        known = dict(known)
        if not made_now:
            for share in self.client.shares(path):
                key = share_key(share.get("share_type"), share.get("share_with") or "")
                if key in missing and key not in known:
                    known[key] = {"id": str(share.get("id", "")), "url": share.get("url") or ""}
        for key, body in missing.items():
            if key not in known:
                what = f"the {'public link' if key == 'link' else 'share with ' + key} of {path}"
                share = self.client.share_create({"path": path, **body}, what=what)
                known[key] = {"id": str(share.get("id", "")), "url": share.get("url") or ""}
        return known

    def _url(self, path: str, details: dict[str, Any]) -> str:
        """The public link when there is one; else the folder's internal link (/f/<file id>, what
        Nextcloud's 'Copy internal link' gives: it follows renames and moves), else the Files app."""
        link = (details.get("shares") or {}).get(share_key(SHARE_LINK, ""), {}).get("url")
        if self.config.public_link and link:
            return link
        if not details.get("file_id"):
            details["file_id"] = self.client.file_id(path)
        base = self.config.base_url.rstrip("/")
        if details["file_id"]:
            return f"{base}/index.php/f/{details['file_id']}"
        return f"{base}/index.php/apps/files/?dir={quote(path)}"

    # --- Checks ----------------------------------------------------------------------------------

    def _check(self, tenant: str | None) -> str:
        """What the server is and what Fieldhook can do there, without writing anything."""
        found = self.client.capabilities()
        version = (found.get("version") or {}).get("string") or "(version not reported)"
        user = self.config.username
        if not self.client.exists(""):
            raise ConnectorError(
                f"Nextcloud {version} has no files for user '{user}' (HTTP 404): check the User field, "
                "it must be the user id (Administration settings › Users shows it).",
                permanent=True,
                error_class=ErrorClass.CONFIG,
            )
        root = folder_path(root_segments(self.config.root_folder, tenant=tenant))
        where = "exists" if self.client.exists(root) else "will be created on the first delivery"
        notes = sharing_notes(found.get("capabilities") or {}, self.config)
        return f"Connected to Nextcloud {version} as '{user}'; the folder {root} {where}. {notes}".strip()

    def test_connection(self) -> str:
        """Capabilities (the version), the user's files, the root folder up to its {tenant} part."""
        return self._check(None)


def share_key(share_type: Any, share_with: str) -> str:
    """How a share is remembered: 'user:ana', 'group:technicians' or 'link' (ids compared case-insensitively)."""
    names = {SHARE_USER: "user", SHARE_GROUP: "group", SHARE_LINK: "link"}
    try:
        name = names.get(int(share_type), f"type{share_type}")
    except (TypeError, ValueError):
        name = f"type{share_type}"
    return name if name == "link" else f"{name}:{share_with.casefold()}"


def sharing_notes(capabilities: dict[str, Any], settings: NextcloudConfig) -> str:
    """What the server's sharing settings mean for ours, in a sentence or two ('' when nothing)."""
    sharing = capabilities.get("files_sharing") or {}
    public = sharing.get("public") or {}
    notes = []
    if (settings.share_with or settings.public_link) and sharing.get("api_enabled") is False:
        notes.append("Sharing is turned off on this server, so no share can be created.")
    if settings.share_with and settings.share_type == ShareType.GROUP and sharing.get("group_sharing") is False:
        notes.append("Sharing with groups is turned off on this server.")
    if settings.public_link and public.get("enabled") is False:
        notes.append("Public links are turned off on this server (Administration settings › Sharing).")
    elif settings.public_link and (public.get("password") or {}).get("enforced"):
        notes.append(
            "This server requires a password on public links and Fieldhook creates them without one: "
            "turn off 'Public link' here or the password enforcement there."
        )
    return " ".join(notes)
