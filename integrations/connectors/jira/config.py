"""Settings of a Jira integration: the site and the account that acts, where issues go (project,
issue type), which work item values fill which Jira fields, the statuses both ways (a Fieldhook
status → the Jira transition to make; a Jira status → the Fieldhook status), the label that
marks our issues, polling and the webhook secret."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django import forms

from integrations.connectors.config import (
    ConfigField,
    PollingConfig,
    destination_url_error,
    password_input,
    polling_fields,
    status_map_field,
)
from integrations.widgets import KeyValueTableField
from workitems.models import WorkItem

PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,9}$")  # Jira's default project key pattern
CUSTOM_FIELD = re.compile(r"^customfield_\d+$")
LABEL = re.compile(r"^[^\s]{1,255}$")  # Jira labels have no spaces
CUSTOM_FIELD_SETTINGS = ("reference_field", "estimated_price_field", "final_price_field")


def default_transition_map() -> dict[str, str]:
    return {"New": "To Do", "In Progress": "In Progress", "Closed": "Done", "Cancelled": "Done"}


def default_status_map() -> dict[str, str]:
    return {"To Do": "New", "In Progress": "In Progress", "Done": "Closed"}


def default_priority_map() -> dict[str, str]:
    return {"Low": "Low", "Standard": "Medium", "High": "High", "Urgent": "Highest"}


@dataclass(frozen=True)
class JiraConfig(PollingConfig):
    """The non-secret settings; the API token and the webhook secret are secrets."""

    site_url: str = ""
    email: str = ""
    project_key: str = ""
    issue_type: str = "Task"
    marker_label: str = "fieldhook"
    extra_labels: list[str] = field(default_factory=list)
    priority_map: dict[str, str] = field(default_factory=default_priority_map)
    send_due_date: bool = True
    reference_field: str = ""
    estimated_price_field: str = ""
    final_price_field: str = ""
    transition_map: dict[str, str] = field(default_factory=default_transition_map)
    status_map: dict[str, str] = field(default_factory=default_status_map)


class LabelsField(forms.CharField):
    """Labels typed as 'repairs, workshop' (commas or spaces), stored as a list."""

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, list):
            return [str(label) for label in value]
        return [label for label in re.split(r"[,\s]+", super().to_python(value) or "") if label]


def _custom_field(name: str, label: str, what: str) -> ConfigField:
    return ConfigField(
        name,
        forms.CharField(
            label=label,
            required=False,
            max_length=40,
            help_text=f"The id of the custom field that receives {what}, e.g. customfield_10050 "
            "(Jira settings › Issues › Custom fields › the field's ⋯ › its id is in the address). "
            "Empty: not sent. The field must be on the project's create screen.",
        ),
    )


FIELDS = [
    ConfigField(
        "site_url",
        forms.URLField(
            label="Jira site URL",
            assume_scheme="https",
            help_text="Your Jira Cloud site, e.g. https://acme.atlassian.net (without /rest/api/3).",
        ),
    ),
    ConfigField(
        "email",
        forms.EmailField(
            label="Account email",
            help_text="The email of the Atlassian account Fieldhook acts as; it needs Browse projects, Create "
            "issues, Transition issues, Add comments and Link issues in the project.",
        ),
    ),
    ConfigField(
        "api_token",
        forms.CharField(
            label="API token",
            required=False,
            max_length=500,
            widget=password_input(),
            help_text="An API token of that account (id.atlassian.com › Security › Create and manage API tokens). "
            "Stored encrypted.",
        ),
        secret=True,
    ),
    ConfigField(
        "project_key",
        forms.CharField(label="Project key", max_length=10, help_text="The key of the project, e.g. SVC."),
    ),
    ConfigField(
        "issue_type",
        forms.CharField(
            label="Issue type",
            max_length=60,
            help_text="The issue type of new issues, as Jira names it in the project, e.g. Task or Bug.",
        ),
    ),
    ConfigField(
        "marker_label",
        forms.CharField(
            label="Marker label",
            max_length=255,
            help_text="A label on every issue Fieldhook creates (no spaces); the poll and the search for an "
            "issue an interrupted attempt may have created look for it.",
        ),
    ),
    ConfigField(
        "extra_labels",
        LabelsField(
            label="More labels",
            required=False,
            help_text="Labels added to every new issue besides the marker, separated by commas, e.g. repairs.",
        ),
    ),
    ConfigField(
        "priority_map",
        KeyValueTableField(
            label="Priorities",
            key_label="Fieldhook priority",
            value_label="Jira priority",
            required=False,
            help_text="Fieldhook priority → the name of a Jira priority (Highest, High, Medium, Low, Lowest in a "
            "new site). A priority not listed is not sent (Jira's default applies). Clear both cells to remove a row.",
        ),
    ),
    ConfigField(
        "send_due_date",
        forms.BooleanField(
            label="Send the due date",
            required=False,
            help_text="Copy the work item's due date into the issue's Due date (the field must be on the create "
            "screen).",
        ),
    ),
    _custom_field("reference_field", "Reference id field", "the work item's reference id (a text field)"),
    _custom_field("estimated_price_field", "Estimated price field", "the estimated price (a number field)"),
    _custom_field("final_price_field", "Final price field", "the final price (a number field)"),
    ConfigField(
        "transition_map",
        KeyValueTableField(
            label="Transitions",
            key_label="Fieldhook status",
            value_label="Jira transition or status",
            required=False,
            help_text="When a work item moves to a Fieldhook status, Fieldhook makes the Jira transition of this "
            "name, or the one leading to a status of this name (case-insensitive), if the issue's workflow "
            "offers it now. A status not listed moves nothing.",
        ),
    ),
    ConfigField(
        "status_map",
        status_map_field(
            tool="Jira",
            help_text="Jira status → Fieldhook status, for changes made in Jira (poll and webhook). A Jira "
            "status not listed changes nothing. Names are matched case-insensitively.",
        ),
    ),
    *polling_fields("Jira"),
    ConfigField(
        "webhook_secret",
        forms.CharField(
            label="Webhook secret",
            required=False,
            max_length=500,
            widget=password_input(),
            help_text="The secret of the Jira webhook (Jira settings › System › WebHooks) whose URL is "
            "https://<fieldhook>/webhooks/jira/<this integration's uuid>/; Jira signs each call with it "
            "(X-Hub-Signature). Empty: webhook calls are refused, the poll still runs.",
        ),
        secret=True,
    ),
]


def clean_config(cleaned: dict[str, Any], form: Any) -> dict[str, Any]:
    """Cross-field checks, each reported on its field."""
    url = cleaned.get("site_url")
    if url:
        refusal = destination_url_error(url, credentials_belong="the account email and API token fields")
        if refusal:
            form.add_error("site_url", refusal)
        cleaned["site_url"] = url.rstrip("/").removesuffix("/rest/api/3").rstrip("/")
    if not cleaned.get("api_token"):
        form.add_error("api_token", "Enter the account's API token.")
    key = (cleaned.get("project_key") or "").strip().upper()
    if key and not PROJECT_KEY.match(key):
        form.add_error("project_key", "A project key is a capital letter, then capital letters, digits or _.")
    cleaned["project_key"] = key
    marker = (cleaned.get("marker_label") or "").strip()
    if marker and not LABEL.match(marker):
        form.add_error("marker_label", "Jira labels cannot contain spaces.")
    cleaned["marker_label"] = marker
    for name in CUSTOM_FIELD_SETTINGS:
        value = (cleaned.get(name) or "").strip()
        if value and not CUSTOM_FIELD.match(value):
            form.add_error(name, f"“{value}” is not a custom field id; write it as customfield_ and the number.")
        cleaned[name] = value
    _check_local_names(cleaned, form, "priority_map", WorkItem.Priority.values, "priority")
    _check_local_names(cleaned, form, "transition_map", WorkItem.Status.values, "status")
    return cleaned


def _check_local_names(cleaned: dict[str, Any], form: Any, name: str, known: list[str], what: str) -> None:
    unknown = [key for key in (cleaned.get(name) or {}) if key not in known]
    if unknown:
        form.add_error(name, f"“{unknown[0]}” is not a Fieldhook {what}; use one of: {', '.join(known)}.")
