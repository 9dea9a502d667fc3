"""OpenProject (API v3): a work item becomes a work package; a status change moves it
(optimistic locking with lockVersion); other changes become a comment. Statuses come back by
poll and by signed webhook.

No OpenProject write takes an idempotency key, so a creation retried after an unknown
outcome first looks for a work package whose subject starts with our reference id.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from django.contrib.auth import get_user_model

from integrations.auth.oauth import connection_state as oauth_connection_state
from integrations.connectors.base import (
    Capability,
    Connector,
    DeliveryResult,
    Event,
    InboundCall,
    OAuthEndpoints,
    RemoteStatus,
)
from integrations.connectors.config import status_for
from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.connectors.openproject import config, inbound, oauth, render
from integrations.connectors.openproject.client import (
    ALL_STATUSES,
    OpenProjectApi,
    filters_param,
    raise_for_openproject,
    status_name,
)
from integrations.connectors.openproject.config import AuthMethod, OpenProjectConfig, default_status_map
from integrations.connectors.text import local_date, lookup

NO_LINK = "No work package is linked yet: replay the creation first."


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
    config_class = OpenProjectConfig
    config_fields = config.FIELDS
    destination_fields = ("base_url",)
    remote_noun = "work package"
    remote_object_name = "work package #{id}"
    config: OpenProjectConfig

    @classmethod
    def clean_config(cls, cleaned: dict[str, Any], form: Any) -> dict[str, Any]:
        return config.clean_config(cleaned, form)

    @cached_property
    def api(self) -> OpenProjectApi:
        return OpenProjectApi(self)

    @property
    def status_map(self) -> dict[str, str]:
        return self.config.status_map or default_status_map()

    # --- Delivering events -------------------------------------------------------------------

    def deliver(self, event: Event) -> DeliveryResult:
        return self.deliver_by_type(
            event,
            {
                "workitem_created": self._create,
                "workitem_status_changed": self._move,
                "workitem_updated": self._comment,
                "integration_test": self._check_project,
            },
        )

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
        body: dict[str, Any] = {
            "subject": render.subject(workitem),
            "description": {"format": "markdown", "raw": render.description_markdown(workitem)},
        }
        if workitem.get("due_date"):
            body["dueDate"] = local_date(workitem["due_date"])
        for custom_field, key in self.config.custom_fields.items():
            value = lookup(workitem, key)
            if value is not None:
                body[custom_field] = value
        links = {"type": {"href": f"/api/v3/types/{self.config.type_id}"}}
        if self.config.default_status_id:
            links["status"] = {"href": f"/api/v3/statuses/{self.config.default_status_id}"}
        assignee = self._assignee_id(workitem.get("technician"))
        if assignee:
            links["assignee"] = {"href": f"/api/v3/users/{assignee}"}
        body["_links"] = links
        return body

    def _find_created(self, reference_id: str) -> dict[str, Any] | None:
        reference_field = self.config.reference_field
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
        target_id = self._status_id(self._openproject_status_for(local))
        path = f"/api/v3/work_packages/{event.existing.external_id}"
        for _ in range(2):
            package = self.api.read(path, what="the work package", not_found=self._package_not_found(event))
            if self.local_status_for(status_name(package)) == local:
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
        raw = render.changes_markdown(event.payload.get("changes") or {})
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
            f"OpenProject project '{self.config.project}' was not found, or the API user has no permission "
            "to see it (HTTP 404)."
        )

    def _package_not_found(self, event: Event) -> str:
        return (
            f"OpenProject work package #{event.existing.external_id} no longer exists, or the API user may not "
            "see it (HTTP 404)."
        )

    # --- Statuses, both ways ------------------------------------------------------------------

    def local_status_for(self, remote_status: str) -> str | None:
        """The Fieldhook status an OpenProject status maps to (names compared case-insensitively)."""
        return status_for(self.status_map, remote_status)

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

    def remote_statuses(self, external_ids: list[str]) -> dict[str, RemoteStatus]:
        """The status of each work package the API user can see, with when and at which lockVersion."""
        found = {
            package_id: inbound.remote_status(package)
            for package_id, package in self.api.work_packages(external_ids).items()
        }
        return {package_id: status for package_id, status in found.items() if status is not None}

    # --- Inbound webhooks ---------------------------------------------------------------------

    def inbound_verify(self, *, headers: Mapping[str, str], body: bytes) -> bool:
        return inbound.signature_valid(secret=self.secrets.get("webhook_secret") or "", body=body, headers=headers)

    def inbound_parse(self, *, payload: Any) -> InboundCall:
        return inbound.call_parse(payload)

    # --- Assignee -----------------------------------------------------------------------------

    def _assignee_id(self, technician: dict[str, Any] | None) -> int | None:
        """From the assignee map, else looked up by email (not found: no assignee)."""
        email = _technician_email(technician)
        if not email:
            return None
        mapped = {str(k).casefold(): v for k, v in self.config.assignee_map.items()}
        if email.casefold() in mapped:
            return int(mapped[email.casefold()])
        return self.api.user_id_by_email(email)

    # --- OAuth ----------------------------------------------------------------------------------

    def uses_oauth(self) -> bool:
        return self.config.auth_method == AuthMethod.OAUTH2

    def oauth_endpoints(self) -> OAuthEndpoints:
        return oauth.endpoints(self.config.base_url)

    def oauth_problem(self) -> str:
        return "" if self.config.base_url else "Enter the OpenProject URL and save before connecting."

    def oauth_account_name(self, access_token: str) -> str:
        return oauth.account_name(base_url=self.config.base_url, access_token=access_token)

    # --- Admin ----------------------------------------------------------------------------------

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
        return oauth_connection_state(self)


def _technician_email(technician: dict[str, Any] | None) -> str:
    """The payload names the technician without an email, so look the user up by id."""
    if not technician:
        return ""
    if technician.get("email"):
        return str(technician["email"])
    email = get_user_model().objects.filter(pk=technician.get("id")).values_list("email", flat=True).first()
    return email or ""
