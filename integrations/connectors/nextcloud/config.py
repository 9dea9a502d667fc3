"""Settings of a Nextcloud integration: the instance and the user Fieldhook writes as, where and
how folders are named, and how they are shared; the admin fields and the cross-field checks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.db import models

from integrations.connectors.config import ConfigField, ConnectorConfig, destination_url_error, password_input
from integrations.connectors.nextcloud.paths import TENANT, segment

DEFAULT_ROOT = f"Fieldhook/{TENANT}"
ROOT_CHARS = 100
# What people paste from the browser's address bar after the instance's address.
PAGE_SUFFIX = re.compile(r"/(index\.php|remote\.php|ocs|apps|s|f)(/.*)?$")
PLACEHOLDER = re.compile(r"\{[^}]*\}")
NAME_RULES = 'no . or .. names, none of / \\ : * ? " < > |, no spaces or dots at either end'


class FolderNames(models.TextChoices):
    REFERENCE_AND_DESCRIPTION = "reference_and_description", "Reference and description (RMA-12 - Cracked screen)"
    REFERENCE = "reference", "Reference only (RMA-12)"


class ShareType(models.TextChoices):
    USER = "user", "User"
    GROUP = "group", "Group"


class SharePermissions(models.TextChoices):
    EDIT = "edit", "Can edit (read, change, add, delete)"
    VIEW = "view", "View only"


@dataclass(frozen=True)
class NextcloudConfig(ConnectorConfig):
    base_url: str = ""
    username: str = ""
    root_folder: str = DEFAULT_ROOT  # "": the user's home folder
    folder_names: str = FolderNames.REFERENCE_AND_DESCRIPTION
    share_with: str = ""
    share_type: str = ShareType.USER
    share_permissions: str = SharePermissions.EDIT
    public_link: bool = False


FIELDS = [
    ConfigField(
        "base_url",
        forms.URLField(
            label="Nextcloud URL",
            assume_scheme="https",
            help_text="The address you open Nextcloud at, e.g. https://cloud.example.com or "
            "https://example.com/nextcloud (anything after it, such as /index.php/apps/files, is dropped).",
        ),
    ),
    ConfigField(
        "username",
        forms.CharField(
            label="User",
            max_length=64,
            help_text="The Nextcloud account Fieldhook writes as (its user id; a dedicated account such as "
            "'fieldhook' is best). Folders are created in this account's files.",
        ),
    ),
    ConfigField(
        "app_password",
        forms.CharField(
            label="App password",
            required=False,
            widget=password_input(),
            help_text="Logged in as that user: Personal settings › Security › Devices & sessions › "
            "'Create new app password'. Not the account's login password.",
        ),
        secret=True,
    ),
    ConfigField(
        "root_folder",
        forms.CharField(
            label="Root folder",
            required=False,
            max_length=ROOT_CHARS,
            help_text=f"Where work item folders go, inside the user's files; {TENANT} is replaced by the tenant's "
            "name. Created on the first delivery. Empty: directly in the user's home folder.",
        ),
    ),
    ConfigField(
        "folder_names",
        forms.ChoiceField(
            label="Folder names",
            choices=FolderNames.choices,
            help_text="How each work item's folder is named when it is created (a later description change "
            'does not rename it). Characters sync clients refuse (/ \\ : * ? " < > |) become spaces.',
        ),
    ),
    ConfigField(
        "share_with",
        forms.CharField(
            label="Share with",
            required=False,
            max_length=255,
            help_text="Optional: the user id or group id every work item folder is shared with "
            "(e.g. 'technicians'). Empty: no share.",
        ),
    ),
    ConfigField(
        "share_type",
        forms.ChoiceField(
            label="Share with a",
            choices=ShareType.choices,
            help_text="Whether 'Share with' names a user or a group.",
        ),
    ),
    ConfigField(
        "share_permissions",
        forms.ChoiceField(
            label="Share permissions",
            choices=SharePermissions.choices,
            help_text="What the user or group may do in the folder. Edits to workitem.md and history.md are "
            "replaced by Fieldhook's next update; other files they add are kept.",
        ),
    ),
    ConfigField(
        "public_link",
        forms.BooleanField(
            label="Public link",
            required=False,
            help_text="Create a read-only public link to each folder; it becomes the link shown on the "
            "work item's sync. Without it, the link opens the folder in Nextcloud for people who can see it.",
        ),
    ),
]


def clean_config(cleaned: dict[str, Any], form: Any) -> dict[str, Any]:
    """Field errors the admin shows next to the fields; normalises the URL and the root folder."""
    url = cleaned.get("base_url")
    if url and (problem := destination_url_error(url, credentials_belong="the User and App password fields")):
        form.add_error("base_url", problem)
    elif url:
        parts = urlsplit(url)
        path = PAGE_SUFFIX.sub("", parts.path.rstrip("/"))
        cleaned["base_url"] = f"{parts.scheme}://{parts.netloc}{path}"
    username = (cleaned.get("username") or "").strip()
    cleaned["username"] = username
    if "/" in username:
        form.add_error("username", "A Nextcloud user id has no '/'.")
    if not cleaned.get("app_password"):
        form.add_error("app_password", "Enter an app password of that user.")
    root, error = root_folder_cleaned(cleaned.get("root_folder") or "")
    if error:
        form.add_error("root_folder", error)
    else:
        cleaned["root_folder"] = root
    cleaned["share_with"] = (cleaned.get("share_with") or "").strip()
    return cleaned


def root_folder_cleaned(template: str) -> tuple[str, str]:
    """('Fieldhook/{tenant}', '') for a usable template, else ('', why not): only {tenant} may be
    replaced, and every folder name must be one Nextcloud and its sync clients accept as written."""
    if "\\" in template:
        return "", "Separate folders with /, not \\."
    parts = [part.strip() for part in template.split("/") if part.strip()]
    for part in parts:
        unknown = [p for p in PLACEHOLDER.findall(part) if p != TENANT]
        if unknown:
            return "", f"Only {TENANT} can be replaced here, not {unknown[0]}."
        literal = part.replace(TENANT, "tenant")
        if segment(literal) != literal:
            return "", f"'{part}' is not a folder name Nextcloud accepts as written ({NAME_RULES})."
    return "/".join(parts), ""
