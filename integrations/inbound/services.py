"""Statuses that arrive from a tool (signed webhook or poll) applied to work items, for every
kind that reports them; the connector only says what the tool's status is, when it changed and
what it maps to. Status commands (a person in a chat tool names a work item by its reference
id) are applied here too, to the integration's own tenant only.

Each status goes through the three-way merge (`inbound/merge.py`): only a change made in the
tool is applied; a status older than a change made in Fieldhook is dropped, and a change on
both sides is a conflict settled by the integration's policy, written down in a note and
counted. A status the tool sent is applied inside `events_suppressed_for(integration)`: the
tenant's other integrations hear about it, the integration it came from does not (no echo
loop) — unless status changes to it are still queued; then it follows them (decision 0009).
Nothing dropped is ever announced.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from enum import StrEnum

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.connectors.base import Connector, InboundOutcome, RemoteStatus, StatusCommand
from integrations.connectors.text import workitem_url
from integrations.engine import metrics
from integrations.events import events_suppressed_for
from integrations.inbound.merge import MergeAction, StatusMerge, link_updates, remote_name, status_merge
from integrations.inbound.notes import ConflictFacts, conflict_note
from integrations.models import EventType, ExternalLink, TenantIntegration
from integrations.selectors import status_syncs_pending
from workitems.models import WorkItem, WorkItemNote
from workitems.services import workitem_note_create, workitem_update

logger = logging.getLogger("integrations.inbound")

MAX_STATUS_NAME_IN_NOTE = 100
MAX_NAME_IN_NOTE = 100


class Outcome(StrEnum):
    """What one remote status did (returned to webhook callers, counted by polls)."""

    UPDATED = "updated"
    UNCHANGED = "unchanged"
    KEPT = "kept"  # Fieldhook's own newer status stays (a change not yet sent, or a conflict it won)
    UNMAPPED = "unmapped"
    UNLINKED = "unlinked"  # no work item is linked to that remote object
    UNKNOWN = "unknown"  # a command names a reference id the integration's tenant does not have
    INVALID = "invalid"  # the work item failed validation; nothing was written
    STALE = "stale"  # an update older than one already seen (a replay); nothing was written


OUTCOMES = {
    MergeAction.AGREE: Outcome.UNCHANGED,
    MergeAction.APPLY_REMOTE: Outcome.UPDATED,
    MergeAction.KEEP_LOCAL: Outcome.KEPT,
}


# --- One status -------------------------------------------------------------------------


def workitem_status_from_integration(
    *, integration: TenantIntegration, connector: Connector, remote: RemoteStatus, via: str
) -> Outcome:
    """Merge the tool's status into the work item linked to the remote object (webhooks). With
    a version, an update no newer than one already seen is ignored, so a replayed webhook
    cannot turn the status back."""
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
    return link_status_merge(integration=integration, connector=connector, link_id=link.pk, remote=remote, via=via)


def _remote_version_is_newest(link: ExternalLink, version: int) -> bool:
    """Record `version` if it is newer than any seen; one conditional UPDATE, so two
    concurrent deliveries of one update cannot both pass."""
    newer = Q(remote_version__isnull=True) | Q(remote_version__lt=version)
    return bool(ExternalLink.objects.filter(newer, pk=link.pk).update(remote_version=version))


@dataclass(frozen=True)
class _Arrival:
    """One status a tool reported, with the Fieldhook status it stands for."""

    integration: TenantIntegration
    connector: Connector
    remote: RemoteStatus
    mapped: str
    via: str


def link_status_merge(
    *, integration: TenantIntegration, connector: Connector, link_id: int, remote: RemoteStatus, via: str
) -> Outcome:
    """Merge the tool's status into the linked work item in one transaction. The link is locked
    before the work item, the order a delivery recording the base takes them in too."""
    mapped = connector.local_status_for(remote.status)
    if mapped is None:
        return Outcome.UNMAPPED
    arrival = _Arrival(integration, connector, remote, mapped, via)
    try:
        with transaction.atomic():
            link = ExternalLink.objects.select_for_update().filter(pk=link_id, integration=integration).first()
            if link is None:
                return Outcome.UNLINKED
            if remote.version is not None and link.remote_version is not None and remote.version < link.remote_version:
                return Outcome.STALE  # e.g. a poll's answer overtaken by a newer webhook
            workitem = (
                WorkItem.objects.select_for_update().filter(tenant_id=integration.tenant_id, pk=link.object_id).first()
            )
            if workitem is None:
                return Outcome.UNLINKED
            merge = link_merge_decide(integration, link, workitem, remote, mapped)
            _merge_carry_out(arrival, link, workitem, merge)
    except ValidationError as error:
        logger.warning(
            "inbound status refused integration=%s link=%s status=%r: %s",
            integration.pk,
            link_id,
            mapped,
            "; ".join(error.messages),
        )
        return Outcome.INVALID
    return OUTCOMES[merge.action]


def link_merge_decide(
    integration: TenantIntegration, link: ExternalLink, workitem: WorkItem, remote: RemoteStatus, mapped: str
) -> StatusMerge:
    """The three-way decision for a remote status (mapped to ours) of a linked work item."""
    return status_merge(
        base=link.base_status,
        local=workitem.status,
        remote=mapped,
        policy=integration.status_conflict_policy,
        local_changed_at=workitem.status_changed_at,
        remote_changed_at=remote.changed_at,
    )


def _merge_carry_out(arrival: _Arrival, link: ExternalLink, workitem: WorkItem, merge: StatusMerge) -> None:
    """Note, apply and record what the merge decided."""
    integration = arrival.integration
    changes_status = merge.action == MergeAction.APPLY_REMOTE
    pending = (changes_status or merge.conflict) and status_syncs_pending(integration=integration, workitem=workitem)
    # A conflict is noted and counted once per value the tool reports: the next poll seeing the
    # same value again adds nothing.
    new_conflict = merge.conflict and remote_name(arrival.remote) != link.last_remote_status
    if new_conflict:
        _conflict_count(integration, workitem, merge)
    note = _merge_note(arrival, link, workitem, merge, new_conflict=new_conflict, pending=pending)
    if changes_status:
        # Status changes still waiting to go to this integration carry what Fieldhook had: the
        # applied status is then not exempted, so it follows them and the tool ends on it.
        with contextlib.nullcontext() if pending else events_suppressed_for(integration.pk):
            workitem_update(workitem=workitem, status=arrival.mapped)
    if note:
        workitem_note_create(workitem=workitem, kind=WorkItemNote.Kind.SYSTEM, body=note)
    now = timezone.now()
    changes = link_updates(link=link, remote=arrival.remote, mapped=arrival.mapped, merge=merge, now=now)
    if changes:
        ExternalLink.objects.filter(pk=link.pk).update(**changes, updated_at=now)


def _merge_note(
    arrival: _Arrival, link: ExternalLink, workitem: WorkItem, merge: StatusMerge, *, new_conflict: bool, pending: bool
) -> str:
    """The system note ('' for none), made before the work item changes."""
    connector, remote = arrival.connector, arrival.remote
    remote_object, name = connector.describe_remote(remote.external_id), remote.status[:MAX_STATUS_NAME_IN_NOTE]
    if new_conflict:
        facts = ConflictFacts(
            tool=connector.label,
            where=f"{remote_object}, via {arrival.via}",
            base=link.base_status or workitem.status,
            local=workitem.status,
            local_changed_at=workitem.status_changed_at,
            remote=name,
            remote_changed_at=remote.changed_at,
            mapped=arrival.mapped,
            policy=arrival.integration.status_conflict_policy,
            sync_pending=pending,
            sends_statuses=EventType.WORKITEM_STATUS_CHANGED in arrival.integration.event_types,
        )
        return conflict_note(facts, merge)
    if merge.action == MergeAction.APPLY_REMOTE:
        return (
            f"Status changed to {arrival.mapped} in {connector.label} "
            f"({remote_object}, status '{name}', via {arrival.via})."
        )
    return ""


def _conflict_count(integration: TenantIntegration, workitem: WorkItem, merge: StatusMerge) -> None:
    """Counted once committed: a rolled-back merge settled nothing."""
    kind, resolution = integration.integration_type, merge.winner
    transaction.on_commit(lambda: metrics.status_conflict_observed(kind=kind, resolution=resolution))
    logger.info("status conflict integration=%s workitem=%s resolution=%s", integration.pk, workitem.pk, resolution)


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
