"""Statuses that arrive from a tool (signed webhook or poll) applied to work items, for every
kind that reports them; the connector only says what the tool's status is and what it maps to.
Status commands (a person in a chat tool names a work item by its reference id) are applied
here too, to the integration's own tenant only.

Every change is written inside `events_suppressed_for(integration)`: the tenant's other
integrations hear about it, the integration it came from does not (no echo loop).
"""

from __future__ import annotations

import logging
from enum import StrEnum

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from integrations.connectors.base import Connector, InboundOutcome, RemoteStatus, StatusCommand
from integrations.connectors.text import workitem_url
from integrations.events import events_suppressed_for
from integrations.models import ExternalLink, TenantIntegration
from workitems.models import WorkItem, WorkItemNote
from workitems.services import workitem_note_create, workitem_update

logger = logging.getLogger("integrations.inbound")

MAX_STATUS_NAME_IN_NOTE = 100
MAX_NAME_IN_NOTE = 100


class Outcome(StrEnum):
    """What applying one remote status did (returned to webhook callers, counted by polls)."""

    UPDATED = "updated"
    UNCHANGED = "unchanged"
    UNMAPPED = "unmapped"
    UNLINKED = "unlinked"  # no work item is linked to that remote object
    UNKNOWN = "unknown"  # a command names a reference id the integration's tenant does not have
    INVALID = "invalid"  # the work item failed validation; nothing was written
    STALE = "stale"  # an update older than one already seen (a replay); nothing was written


# --- One status -------------------------------------------------------------------------


def workitem_status_from_integration(
    *, integration: TenantIntegration, connector: Connector, remote: RemoteStatus, via: str
) -> Outcome:
    """Set the status of the work item linked to the remote object from the tool's status.
    With a version, an update no newer than one already seen is ignored, so a replayed
    webhook cannot turn the status back."""
    link = (
        ExternalLink.objects.filter(
            integration=integration, content_type=workitem_content_type(), external_id=remote.external_id
        )
        .order_by("id")
        .first()
    )
    if link is None:
        return Outcome.UNLINKED
    if remote.version is not None and not _remote_version_is_newest(link, remote.version):
        return Outcome.STALE
    local_status = connector.local_status_for(remote.status)
    if local_status is None:
        return Outcome.UNMAPPED
    return status_apply(
        integration=integration,
        connector=connector,
        workitem_id=link.object_id,
        local_status=local_status,
        remote=remote,
        via=via,
    )


def _remote_version_is_newest(link: ExternalLink, version: int) -> bool:
    """Record `version` if it is newer than any seen; one conditional UPDATE, so two
    concurrent deliveries of one update cannot both pass."""
    newer = Q(remote_version__isnull=True) | Q(remote_version__lt=version)
    return bool(ExternalLink.objects.filter(newer, pk=link.pk).update(remote_version=version))


def status_apply(
    *,
    integration: TenantIntegration,
    connector: Connector,
    workitem_id: int,
    local_status: str,
    remote: RemoteStatus,
    via: str,
) -> Outcome:
    """Lock the work item, compare, update and note it in one transaction, with no echo."""
    try:
        with transaction.atomic(), events_suppressed_for(integration.pk):
            workitem = (
                WorkItem.objects.select_for_update().filter(tenant_id=integration.tenant_id, pk=workitem_id).first()
            )
            if workitem is None:
                return Outcome.UNLINKED
            if workitem.status == local_status:
                return Outcome.UNCHANGED
            workitem_update(workitem=workitem, status=local_status)
            workitem_note_create(
                workitem=workitem,
                kind=WorkItemNote.Kind.SYSTEM,
                body=f"Status changed to {local_status} in {connector.label} "
                f"({connector.describe_remote(remote.external_id)}, "
                f"status '{remote.status[:MAX_STATUS_NAME_IN_NOTE]}', via {via}).",
            )
    except ValidationError as error:
        logger.warning(
            "inbound status refused integration=%s workitem=%s status=%r: %s",
            integration.pk,
            workitem_id,
            local_status,
            "; ".join(error.messages),
        )
        return Outcome.INVALID
    return Outcome.UPDATED


def workitem_content_type() -> ContentType:
    return ContentType.objects.get_for_model(WorkItem)


# --- A status command ----------------------------------------------------------------------


def workitem_status_command_apply(
    *, integration: TenantIntegration, connector: Connector, command: StatusCommand
) -> InboundOutcome:
    """Set the status of the integration's tenant's work item with that reference id, as a
    person in the tool asked: locked, compared, updated and noted (who asked, in which tool)
    in one transaction, with no echo. Another tenant's reference id is not found."""
    local_status = connector.local_status_for(command.status)
    if local_status is None:
        return InboundOutcome(result=Outcome.UNMAPPED)
    try:
        with transaction.atomic(), events_suppressed_for(integration.pk):
            workitem = (
                WorkItem.objects.select_for_update()
                .filter(tenant_id=integration.tenant_id, reference_id__iexact=command.reference_id)
                .order_by("id")
                .first()
            )
            if workitem is None:
                return InboundOutcome(result=Outcome.UNKNOWN, status=local_status)
            found = {"status": local_status, "previous": workitem.status, "url": workitem_url({"id": workitem.pk})}
            if workitem.status == local_status:
                return InboundOutcome(result=Outcome.UNCHANGED, **found)
            workitem_update(workitem=workitem, status=local_status)
            workitem_note_create(
                workitem=workitem,
                kind=WorkItemNote.Kind.SYSTEM,
                body=f"Status changed from {found['previous']} to {local_status} in {connector.label}, "
                f"as {command.by[:MAX_NAME_IN_NOTE]} asked there.",
            )
    except ValidationError as error:
        problem = "; ".join(error.messages)
        logger.warning(
            "inbound command refused integration=%s workitem=%s status=%r: %s",
            integration.pk,
            workitem.pk,
            local_status,
            problem,
        )
        return InboundOutcome(result=Outcome.INVALID, problem=problem, **found)
    return InboundOutcome(result=Outcome.UPDATED, **found)
