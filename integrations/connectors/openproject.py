"""OpenProject (API v3): a work item becomes a work package; a status change moves it
(optimistic locking with lockVersion); other changes become a comment.

No OpenProject write takes an idempotency key, so a creation retried after an unknown
outcome first looks for a work package whose subject starts with our reference id.
"""

from __future__ import annotations

import datetime
from functools import cached_property
from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from integrations.connectors.base import Capability, ConfigField, Connector, DeliveryResult, Event
from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.connectors.openproject_api import (
    ALL_STATUSES,
    AuthMethod,
    OpenProjectApi,
    assignee_map_error,
    changes_markdown,
    custom_fields_error,
    description_markdown,
    filters_param,
    raise_for_openproject,
)
from integrations.connectors.ssrf import url_refusal
from integrations.connectors.text import local_date, lookup
from integrations.widgets import KeyValueTableField
from workitems.models import WorkItem

DEFAULT_STATUS_MAP = {
    "New": "New",
    "In Progress": "In Progress",
    "Review": "In Progress",
    "Closed": "Closed",
    "Rejected": "Cancelled",
}
SUBJECT_MAX = 255
NO_LINK = "No work package is linked yet: replay the creation first."


def _password() -> forms.PasswordInput:
    return forms.PasswordInput(render_value=False)


class OpenProjectConnector(Connector):
    kind = "openproject"
    label = "OpenProject"
    capabilities = frozenset(
        {
            Capability.DELIVERS,
            Capability.POLLS,
            Capability.RECEIVES_WEBHOOKS,
            Capability.OAUTH2,
            Capability.CONNECTION_STATE,
        }
    )
    description = "Creates a work package per work item, moves it with the status, and comments on other changes."
    default_rate_per_second = 15
    uses_external_links = True
    destination_fields = ("base_url",)
    config_fields = [
        ConfigField(
            "base_url",
            forms.URLField(
                label="OpenProject URL",
                assume_scheme="https",
                help_text="The address of the instance, e.g. https://openproject.example.com (without /api/v3).",
            ),
        ),
        ConfigField(
            "project",
            forms.CharField(
                label="Project", max_length=100, help_text="Id or identifier of the project, e.g. 3 or service-desk."
            ),
        ),
        ConfigField(
            "type_id",
            forms.IntegerField(
                label="Type id", min_value=1, initial=1, help_text="Work package type, e.g. 1 for Task."
            ),
        ),
        ConfigField(
            "default_status_id",
            forms.IntegerField(
                label="Initial status id",
                min_value=1,
                required=False,
                help_text="Status of new work packages; empty: OpenProject's default status.",
            ),
        ),
        ConfigField(
            "auth_method",
            forms.ChoiceField(
                label="Authentication",
                choices=AuthMethod.choices,
                initial=AuthMethod.API_KEY_BASIC,
                help_text="An API token from My account › Access tokens, or OAuth with an application "
                "registered in Administration › Authentication › OAuth applications.",
            ),
        ),
        ConfigField(
            "api_key",
            forms.CharField(label="API key", required=False, widget=_password(), help_text="For the API key methods."),
            secret=True,
        ),
        ConfigField(
            "oauth_client_id",
            forms.CharField(label="OAuth client id", required=False, help_text="For OAuth: the application's UID."),
        ),
        ConfigField(
            "oauth_client_secret",
            forms.CharField(label="OAuth client secret", required=False, widget=_password(), help_text="For OAuth."),
            secret=True,
        ),
        ConfigField(
            "status_map",
            KeyValueTableField(
                label="Status map",
                key_label="OpenProject status",
                value_label="Fieldhook status",
                value_choices=WorkItem.Status.values,
                initial=DEFAULT_STATUS_MAP,
                help_text="OpenProject status name → Fieldhook status, both ways: a Fieldhook status change moves "
                "the work package to a status mapped to it (preferring the same name). Names are matched "
                "case-insensitively. Clear both cells to remove a row.",
            ),
        ),
        ConfigField(
            "custom_fields",
            forms.JSONField(
                label="Custom fields",
                required=False,
                initial=dict,
                help_text='Work item values copied into OpenProject custom fields, e.g. {"customField1": '
                '"reference_id", "customField2": "customer.name"}. A custom field holding reference_id is '
                "also used to find a work package again.",
            ),
        ),
        ConfigField(
            "assignee_map",
            forms.JSONField(
                label="Assignees",
                required=False,
                initial=dict,
                help_text='Technician email → OpenProject user id, e.g. {"ana@example.com": 11}. A technician not '
                "listed is looked up by email in OpenProject (needs an admin API user); not found: no assignee.",
            ),
        ),
        ConfigField(
            "poll_enabled",
            forms.BooleanField(
                label="Poll for status changes",
                required=False,
                initial=True,
                help_text="Ask OpenProject regularly for status changes of linked work packages.",
            ),
        ),
        ConfigField(
            "poll_interval_seconds",
            forms.IntegerField(label="Poll interval (seconds)", min_value=60, initial=300),
        ),
        ConfigField(
            "webhook_secret",
            forms.CharField(
                label="Webhook secret",
                required=False,
                widget=_password(),
                help_text="The secret of an OpenProject webhook (Administration › Webhooks) pointing at Fieldhook; "
                "its X-OP-Signature is checked on every inbound call.",
            ),
            secret=True,
        ),
    ]

    # --- Configuration ---------------------------------------------------------------------

    @classmethod
    def clean_config(cls, cleaned: dict[str, Any], form: Any) -> dict[str, Any]:
        url = cleaned.get("base_url")
        if url and "@" in url.split("//", 1)[-1].split("/", 1)[0]:
            form.add_error("base_url", "Put credentials in the API key field, not in the URL.")
        elif url and (refusal := url_refusal(url)):
            form.add_error("base_url", refusal)
        elif url:
            cleaned["base_url"] = url.rstrip("/")
        method = cleaned.get("auth_method")
        if method in (AuthMethod.API_KEY_BASIC, AuthMethod.API_KEY_BEARER) and not cleaned.get("api_key"):
            form.add_error("api_key", "The API key methods need an API key.")
        if method == AuthMethod.OAUTH2:
            for name in ("oauth_client_id", "oauth_client_secret"):
                if not cleaned.get(name):
                    form.add_error(name, "OAuth needs the application's client id and secret.")
        for name, check in (("custom_fields", custom_fields_error), ("assignee_map", assignee_map_error)):
            error = check(cleaned.get(name))
            if error:
                form.add_error(name, error)
        return cleaned

    @cached_property
    def api(self) -> OpenProjectApi:
        return OpenProjectApi(self)

    @property
    def status_map(self) -> dict[str, str]:
        return self.config.get("status_map") or DEFAULT_STATUS_MAP

    # --- Delivering events -------------------------------------------------------------------

    def deliver(self, event: Event) -> DeliveryResult:
        handlers = {
            "workitem_created": self._create,
            "workitem_status_changed": self._move,
            "workitem_updated": self._comment,
            "integration_test": self._check_project,
        }
        handler = handlers.get(event.event_type)
        if handler is None:
            message = f"OpenProject does not handle {event.event_type} events."
            raise ConnectorError(message, permanent=True, error_class=ErrorClass.CONFIG)
        return handler(event)

    def _create(self, event: Event) -> DeliveryResult:
        if event.existing:
            return self._linked(event, status_code=200)
        workitem = event.payload["workitem"]
        if event.attempt > 1:
            # An earlier attempt may have created it although we never saw the answer (a timeout).
            found = self._find_created(workitem["reference_id"])
            if found is not None:
                return self._result(found, status_code=200)
        response = self.api.send(
            "POST",
            self.api.project_path("/work_packages"),
            params={"notify": "false"},
            body=self._new_package(workitem),
        )
        raise_for_openproject(response, what="the work package", not_found=self._project_not_found())
        return self._result(response.json(), status_code=response.status_code)

    def _new_package(self, workitem: dict[str, Any]) -> dict[str, Any]:
        subject = " ".join(f"{workitem['reference_id']}: {workitem.get('description') or ''}".split())
        body: dict[str, Any] = {
            "subject": subject[:SUBJECT_MAX],
            "description": {"format": "markdown", "raw": description_markdown(workitem)},
        }
        if workitem.get("due_date"):
            body["dueDate"] = local_date(workitem["due_date"])
        for custom_field, key in (self.config.get("custom_fields") or {}).items():
            value = lookup(workitem, key)
            if value is not None:
                body[custom_field] = value
        links = {"type": {"href": f"/api/v3/types/{self.config.get('type_id') or 1}"}}
        if self.config.get("default_status_id"):
            links["status"] = {"href": f"/api/v3/statuses/{self.config['default_status_id']}"}
        assignee = self._assignee_id(workitem.get("technician"))
        if assignee:
            links["assignee"] = {"href": f"/api/v3/users/{assignee}"}
        body["_links"] = links
        return body

    def _find_created(self, reference_id: str) -> dict[str, Any] | None:
        reference_field = next(
            (cf for cf, key in (self.config.get("custom_fields") or {}).items() if key == "reference_id"), None
        )
        if reference_field:
            match = {reference_field: {"operator": "~", "values": [reference_id]}}
        else:
            match = {"subject": {"operator": "~", "values": [f"{reference_id}:"]}}
        found = self.api.read(
            self.api.project_path("/work_packages"),
            params={"filters": filters_param(ALL_STATUSES, match), "pageSize": 20},
            what="the search for an earlier work package",
            not_found=self._project_not_found(),
        )
        for element in found.get("_embedded", {}).get("elements", []):
            ours = (
                str(element.get(reference_field)) == reference_id
                if reference_field
                else str(element.get("subject", "")).startswith(f"{reference_id}:")
            )
            if ours:
                return element
        return None

    def _move(self, event: Event) -> DeliveryResult:
        if not event.existing:
            raise ConnectorError(NO_LINK, permanent=True, error_class=ErrorClass.CONFIG)
        local = event.payload["workitem"]["status"]
        target_name = self._openproject_status_for(local)
        target_id = self._status_id(target_name)
        path = f"/api/v3/work_packages/{event.existing.external_id}"
        for _ in range(2):
            package = self.api.read(path, what="the work package", not_found=self._package_not_found(event))
            current = (package.get("_links", {}).get("status") or {}).get("title") or ""
            if self.local_status_for(current) == local:
                return self._linked(event, status_code=200)  # already there (or an equivalent status)
            body = {
                "lockVersion": package["lockVersion"],
                "_links": {"status": {"href": f"/api/v3/statuses/{target_id}"}},
            }
            response = self.api.send("PATCH", path, body=body)
            if response.status_code != 409:
                raise_for_openproject(response, what="the status change", not_found=self._package_not_found(event))
                return self._linked(event, status_code=response.status_code)
        # Someone else keeps editing the work package: try again later rather than overwrite them.
        raise ConnectorError(
            f"OpenProject work package #{event.existing.external_id} changed while we moved it (HTTP 409, twice).",
            status_code=409,
            response_excerpt=response.excerpt,
        )

    def _comment(self, event: Event) -> DeliveryResult:
        if not event.existing:
            raise ConnectorError(NO_LINK, permanent=True, error_class=ErrorClass.CONFIG)
        raw = changes_markdown(event.payload.get("changes") or {})
        response = self.api.send(
            "POST", f"/api/v3/work_packages/{event.existing.external_id}/activities", body={"comment": {"raw": raw}}
        )
        raise_for_openproject(response, what="the comment", not_found=self._package_not_found(event))
        return self._linked(event, status_code=response.status_code)

    def _check_project(self, event: Event) -> DeliveryResult:
        project = self._project()
        excerpt = f"Project '{project.get('name')}' (#{project.get('id')}) is reachable; nothing was created."
        return DeliveryResult(status_code=200, response_excerpt=excerpt)

    def _result(self, package: dict[str, Any], *, status_code: int) -> DeliveryResult:
        package_id = str(package["id"])
        return DeliveryResult(
            external_id=package_id,
            external_url=f"{self.api.base_url}/work_packages/{package_id}",
            status_code=status_code,
        )

    def _linked(self, event: Event, *, status_code: int) -> DeliveryResult:
        existing = event.existing
        return DeliveryResult(
            external_id=existing.external_id, external_url=existing.external_url, status_code=status_code
        )

    def _project_not_found(self) -> str:
        return (
            f"OpenProject project '{self.config.get('project')}' was not found, or the API user has no permission "
            "to see it (HTTP 404)."
        )

    def _package_not_found(self, event: Event) -> str:
        return (
            f"OpenProject work package #{event.existing.external_id} no longer exists, or the API user may not "
            "see it (HTTP 404)."
        )

    # --- Statuses, both ways ------------------------------------------------------------------

    def local_status_for(self, openproject_status_name: str) -> str | None:
        """The Fieldhook status an OpenProject status maps to (names compared case-insensitively)."""
        wanted = (openproject_status_name or "").strip().casefold()
        return next((local for name, local in self.status_map.items() if name.strip().casefold() == wanted), None)

    def _openproject_status_for(self, local: str) -> str:
        """The OpenProject status name for a Fieldhook status: the same name if mapped, else the first mapped."""
        names = [name for name, mapped in self.status_map.items() if mapped == local]
        if not names:
            raise ConnectorError(
                f"The Fieldhook status '{local}' is not mapped to an OpenProject status: add a row with "
                f"'{local}' as Fieldhook status to the integration's status map.",
                permanent=True,
                error_class=ErrorClass.CONFIG,
            )
        return next((name for name in names if name.casefold() == local.casefold()), names[0])

    def _status_id(self, name: str) -> int:
        statuses = self.api.statuses()
        found = next((s["id"] for s in statuses if s["name"].casefold() == name.strip().casefold()), None)
        if found is None:
            known = ", ".join(s["name"] for s in statuses)
            raise ConnectorError(
                f"OpenProject has no status named '{name}' (it has: {known}); correct the integration's status map.",
                permanent=True,
                error_class=ErrorClass.CONFIG,
            )
        return found

    def work_package_statuses(self, external_ids: list[str]) -> dict[str, str]:
        """OpenProject status name per work package id; ids it does not show are left out."""
        return self.api.work_package_statuses(external_ids)

    # --- Assignee -----------------------------------------------------------------------------

    def _assignee_id(self, technician: dict[str, Any] | None) -> int | None:
        """From the assignee map, else looked up by email (not found: no assignee)."""
        email = _technician_email(technician)
        if not email:
            return None
        mapped = {str(k).casefold(): v for k, v in (self.config.get("assignee_map") or {}).items()}
        if email.casefold() in mapped:
            return int(mapped[email.casefold()])
        return self.api.user_id_by_email(email)

    # --- Admin ------------------------------------------------------------------------------

    def _project(self) -> dict[str, Any]:
        return self.api.read(self.api.project_path(), what="the project request", not_found=self._project_not_found())

    def test_connection(self) -> str:
        project = self._project()
        names = ", ".join(status["name"] for status in self.api.statuses())
        how = "API key" if self.api.method != AuthMethod.OAUTH2 else "OAuth"
        return (
            f"Connected ({how}): project '{project.get('name')}' (#{project.get('id')}); statuses it can see: {names}."
        )

    def connection_state(self) -> str:
        method = self.api.method
        if method == AuthMethod.API_KEY_BASIC:
            return "API key (Basic)"
        if method == AuthMethod.API_KEY_BEARER:
            return "API key (Bearer)"
        if not self.secrets.get("oauth_access_token") and not self.secrets.get("oauth_refresh_token"):
            return "OAuth: not connected — use 'Connect to OpenProject'"
        expires_at = float(self.secrets.get("oauth_expires_at") or 0)
        if expires_at and expires_at <= datetime.datetime.now(datetime.UTC).timestamp():
            return "OAuth: token expired — it will be refreshed on the next delivery"
        who = self.secrets.get("oauth_connected_as") or self.config.get("oauth_connected_as") or "an unknown user"
        if not expires_at:
            return f"OAuth: connected as {who}, token without an expiry date"
        until = datetime.datetime.fromtimestamp(expires_at, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        return f"OAuth: connected as {who}, token valid until {until}"


# --- Helpers ----------------------------------------------------------------------------------


def _technician_email(technician: dict[str, Any] | None) -> str:
    """The payload names the technician without an email, so look the user up by id."""
    if not technician:
        return ""
    if technician.get("email"):
        return str(technician["email"])
    email = get_user_model().objects.filter(pk=technician.get("id")).values_list("email", flat=True).first()
    return email or ""
