"""Jira Cloud (REST API v3): a work item becomes an issue; a status change makes the workflow
transition the map names; other changes become a comment. Statuses come back by poll
(`search/jql` for our issues updated since the previous poll) and by signed admin webhook.

Jira has no idempotency key or optimistic locking on create, so a creation retried after an
unknown outcome first searches for an issue with our marker label and reference id.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from django.core.cache import cache

from integrations.connectors.base import Capability, Connector, DeliveryResult, Event, InboundCall, RemoteStatus
from integrations.connectors.config import status_for
from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.connectors.jira import config, inbound, render
from integrations.connectors.jira.client import JiraClient
from integrations.connectors.jira.config import JiraConfig
from integrations.connectors.jira.packages import JiraPackages
from integrations.connectors.text import local_date

NO_LINK = "No Jira issue is linked yet: replay the creation first."
POLL_PAGE = 100
# The poll asks for issues updated since its previous answer, less this margin (Jira's search
# index lags a little behind writes, and JQL counts in whole minutes).
POLL_OVERLAP_SECONDS = 120
FULL_POLL_SECONDS = 24 * 3600  # at least once a day the poll reads every issue with our label


class JiraConnector(JiraPackages, Connector):
    kind = "jira"
    label = "Jira Cloud"
    capabilities = frozenset(
        {Capability.DELIVERS, Capability.POLLS, Capability.RECEIVES_WEBHOOKS, Capability.CONNECTION_STATE}
    ) | {Capability.CREATES_PACKAGES}
    description = (
        "Creates a Jira issue per work item, makes the mapped transition on status changes, comments on edits."
    )
    default_rate_per_second = 10
    uses_external_links = True
    polls_changes_only = True
    config_class = JiraConfig
    config_fields = config.FIELDS
    destination_fields = ("site_url",)
    remote_noun = "issue"
    remote_object_name = "issue {id}"
    config: JiraConfig

    @classmethod
    def clean_config(cls, cleaned: dict[str, Any], form: Any) -> dict[str, Any]:
        return config.clean_config(cleaned, form)

    @cached_property
    def client(self) -> JiraClient:
        return JiraClient(
            site_url=self.config.site_url,
            email=self.config.email,
            api_token=self.secrets.get("api_token") or "",
            cache_namespace=self.cache_namespace,
        )

    # --- Delivering events -------------------------------------------------------------------

    def deliver(self, event: Event) -> DeliveryResult:
        return self.deliver_by_type(
            event,
            {
                "workitem_created": self._create,
                "workitem_status_changed": self._transition,
                "workitem_updated": self._comment,
                "integration_test": self._check,
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
                return self._result(found["key"], found["id"], status_code=200)
        created = self.client.issue_create(self.issue_fields(workitem))
        return self._result(created["key"], created["id"], status_code=201)

    def issue_fields(self, workitem: dict[str, Any]) -> dict[str, Any]:
        """The `fields` of a new issue for this work item, as the settings map them."""
        settings = self.config
        fields: dict[str, Any] = {
            "project": {"key": settings.project_key},
            "issuetype": {"name": settings.issue_type},
            "summary": render.summary(workitem),
            "description": render.description(workitem),
            "labels": list(dict.fromkeys([settings.marker_label, *settings.extra_labels])),
        }
        priority = settings.priority_map.get(str(workitem.get("priority") or ""))
        if priority:
            fields["priority"] = {"name": priority}
        if settings.send_due_date and workitem.get("due_date"):
            fields["duedate"] = local_date(workitem["due_date"])
        if settings.reference_field:
            fields[settings.reference_field] = workitem["reference_id"]
        for name, key in (
            (settings.estimated_price_field, "estimated_price"),
            (settings.final_price_field, "final_price"),
        ):
            if name and workitem.get(key) not in (None, ""):
                fields[name] = float(workitem[key])
        return fields

    def _find_created(self, reference_id: str) -> dict[str, Any] | None:
        """Our issue for this reference, if an earlier attempt made it: marker label, then the
        reference in its field (or at the start of the summary), checked exactly."""
        reference_field = self.config.reference_field
        searched = f"cf[{reference_field.removeprefix('customfield_')}]" if reference_field else "summary"
        jql = f"{self._our_issues()} AND {searched} ~ {jql_string(jql_string(reference_id))}"
        wanted = [reference_field or "summary"]
        for issue in self.client.issues_search(jql, fields=wanted, page_size=20, max_pages=1):
            value = str((issue.get("fields") or {}).get(wanted[0]) or "")
            if (value == reference_id) if reference_field else value.startswith(f"{reference_id}:"):
                return issue
        return None

    def _transition(self, event: Event) -> DeliveryResult:
        if not event.existing:
            raise ConnectorError(NO_LINK, permanent=True, error_class=ErrorClass.CONFIG)
        key, local = event.existing.external_id, event.payload["workitem"]["status"]
        wanted = status_for(self.config.transition_map, local)
        if wanted is None:
            excerpt = f"'{local}' is not in the transition map: {key} was left as it is."
            return self._linked(event, status_code=200, excerpt=excerpt)
        offered = self.client.issue_transitions(key)
        chosen = next((t for t in offered if _leads_to(t, wanted)), None)
        if chosen is None:
            current = self.client.issue_status(key)
            if current.casefold() == wanted.strip().casefold():
                return self._linked(event, status_code=200, excerpt=f"{key} is already in '{current}'.")
            raise ConnectorError(no_transition_message(key, local, wanted, current, offered), permanent=True)
        self.client.issue_transition(key, str(chosen["id"]))
        return self._linked(event, status_code=204, excerpt=f"{key}: '{chosen.get('name')}' made.")

    def _comment(self, event: Event) -> DeliveryResult:
        if not event.existing:
            raise ConnectorError(NO_LINK, permanent=True, error_class=ErrorClass.CONFIG)
        body = render.changes_comment(event.payload["workitem"], event.payload.get("changes") or {})
        self.client.issue_comment_add(event.existing.external_id, body)
        return self._linked(event, status_code=201)

    def _check(self, event: Event) -> DeliveryResult:
        return DeliveryResult(status_code=200, response_excerpt=f"{self.test_connection()} Nothing was created.")

    def _result(self, key: str, issue_id: str, *, status_code: int) -> DeliveryResult:
        return DeliveryResult(
            external_id=key,
            external_url=self.client.browse_url(key),
            status_code=status_code,
            details={"issue_id": str(issue_id)},
            rate_limit=self.client.rate_limit,
        )

    def _linked(self, event: Event, *, status_code: int, excerpt: str = "") -> DeliveryResult:
        existing = event.existing
        return DeliveryResult(
            external_id=existing.external_id,
            external_url=existing.external_url,
            status_code=status_code,
            response_excerpt=excerpt,
            details=existing.details,
            rate_limit=self.client.rate_limit,
        )

    def _our_issues(self) -> str:
        """The JQL restriction to the issues this integration made: its project and marker label."""
        return f"project = {jql_string(self.config.project_key)} AND labels = {jql_string(self.config.marker_label)}"

    # --- Statuses back ------------------------------------------------------------------------

    def local_status_for(self, remote_status: str) -> str | None:
        """The Fieldhook status a Jira status maps to (names compared case-insensitively)."""
        return status_for(self.config.status_map, remote_status)

    def remote_statuses(self, external_ids: list[str]) -> dict[str, RemoteStatus]:
        """The statuses of our linked issues updated since the previous poll (all of them on the
        first poll and once a day); issues left out did not change."""
        started, window = time.time(), self._poll_window()
        jql = self._our_issues()
        if window is not None:
            jql += f" AND updated >= -{window}m"
        wanted = set(external_ids)
        found: dict[str, RemoteStatus] = {}
        for issue in self.client.issues_search(
            f"{jql} ORDER BY updated ASC", fields=["status", "updated"], page_size=POLL_PAGE
        ):
            status = inbound.remote_status(issue)
            if status is not None and status.external_id in wanted:
                found[status.external_id] = status
        marks = cache.get(self._poll_key()) or {}
        full_at = started if window is None else marks.get("full_at", started)
        cache.set(self._poll_key(), {"answered_at": started, "full_at": full_at}, FULL_POLL_SECONDS * 2)
        return found

    def _poll_window(self) -> int | None:
        """Minutes since the previous poll's answer (with the overlap), or None for a full poll."""
        marks = cache.get(self._poll_key()) or {}
        now = time.time()
        if "answered_at" not in marks or now - marks.get("full_at", 0) >= FULL_POLL_SECONDS:
            return None
        return max(1, math.ceil((now - marks["answered_at"] + POLL_OVERLAP_SECONDS) / 60))

    def _poll_key(self) -> str:
        return self.client.cache_key("poll", self.config.project_key, self.config.marker_label)

    # --- Inbound webhooks ---------------------------------------------------------------------

    def inbound_verify(self, *, headers: Mapping[str, str], body: bytes) -> bool:
        return inbound.signature_valid(secret=self.secrets.get("webhook_secret") or "", body=body, headers=headers)

    def inbound_parse(self, *, payload: Any) -> InboundCall:
        return inbound.call_parse(payload)

    # --- Admin ----------------------------------------------------------------------------------

    def test_connection(self) -> str:
        """Who the token acts as, and that the project is there: a one-issue search in it."""
        me = self.client.myself()
        project = jql_string(self.config.project_key)
        list(self.client.issues_search(f"project = {project}", fields=["id"], page_size=1, max_pages=1))
        return (
            f"Connected to {self.config.site_url} as {me.get('displayName') or me.get('accountId')}"
            f" ({me.get('emailAddress') or self.config.email}); project {self.config.project_key} is visible."
        )

    def connection_state(self) -> str:
        who = self.config.email or "no account"
        return f"API token of {who}" if self.secrets.get("api_token") else f"No API token stored ({who})"


def jql_string(value: str) -> str:
    """A JQL string literal: double quotes, with backslashes and quotes escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _leads_to(transition: dict[str, Any], wanted: str) -> bool:
    """A transition named `wanted`, or one whose target status is named so (case-insensitive)."""
    name = str(transition.get("name") or "").strip().casefold()
    target = str((transition.get("to") or {}).get("name") or "").strip().casefold()
    return wanted.strip().casefold() in (name, target)


def no_transition_message(key: str, local: str, wanted: str, current: str, offered: list[dict[str, Any]]) -> str:
    """Why a status change cannot be made, naming what Jira offered instead."""
    choices = ", ".join(f"'{t.get('name')}' (to {(t.get('to') or {}).get('name') or '?'})" for t in offered) or "none"
    return (
        f"Jira offers no transition '{wanted}' (for Fieldhook status '{local}') on {key}, which is in "
        f"'{current}'. Transitions offered now: {choices}. Change the integration's transition map, or the "
        "project's workflow."
    )
