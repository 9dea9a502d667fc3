"""Status changes that arrive from OpenProject (signed webhook or poll) applied to work items.

Every change is written inside `events_suppressed_for(integration)`: the tenant's other
integrations hear about it, the integration it came from does not (no echo loop).
"""

from __future__ import annotations

import datetime
import logging
from collections import Counter

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations import resilience
from integrations.connectors import registry
from integrations.connectors.base import Capability
from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.crypto import SecretsUnreadable
from integrations.events import events_suppressed_for
from integrations.models import ExternalLink, TenantIntegration
from integrations.policy import scrub, secret_strings
from integrations.services import integration_connector
from workitems.models import WorkItem, WorkItemNote
from workitems.services import workitem_note_create, workitem_update

logger = logging.getLogger("integrations.inbound")

TOOL_NAME = "OpenProject"
DEFAULT_POLL_INTERVAL_SECONDS = 300
MAX_STATUS_NAME_IN_NOTE = 100


class Outcome:
    """What applying one remote status did (returned to webhook callers, counted by polls)."""

    UPDATED = "updated"
    UNCHANGED = "unchanged"
    UNMAPPED = "unmapped"
    UNKNOWN_WORK_PACKAGE = "unknown_work_package"
    INVALID = "invalid"  # the work item failed validation; nothing was written
    STALE = "stale"  # an update older than one already seen (a replay); nothing was written


# --- One status -------------------------------------------------------------------------


def workitem_status_from_integration(
    *,
    integration: TenantIntegration,
    external_id: str,
    remote_status: str,
    via: str,
    remote_version: int | None = None,
) -> str:
    """Set the status of the work item linked to `external_id` from the tool's status name;
    returns an `Outcome` value. With `remote_version`, an update no newer than one already
    seen is ignored, so a replayed webhook cannot turn the status back."""
    link = (
        ExternalLink.objects.filter(
            integration=integration, content_type=_workitem_type(), external_id=str(external_id)
        )
        .order_by("id")
        .first()
    )
    if link is None:
        return Outcome.UNKNOWN_WORK_PACKAGE
    if remote_version is not None and not _remote_version_is_newest(link, remote_version):
        return Outcome.STALE
    local_status = integration_connector(integration=integration).local_status_for(remote_status)
    if local_status is None:
        return Outcome.UNMAPPED
    return _status_apply(
        integration=integration,
        workitem_id=link.object_id,
        local_status=local_status,
        external_id=str(external_id),
        remote_status=remote_status,
        via=via,
    )


def _remote_version_is_newest(link: ExternalLink, version: int) -> bool:
    """Record `version` if it is newer than any seen; one conditional UPDATE, so two
    concurrent deliveries of one update cannot both pass."""
    newer = Q(remote_version__isnull=True) | Q(remote_version__lt=version)
    return bool(ExternalLink.objects.filter(newer, pk=link.pk).update(remote_version=version))


def _status_apply(
    *,
    integration: TenantIntegration,
    workitem_id: int,
    local_status: str,
    external_id: str,
    remote_status: str,
    via: str,
) -> str:
    """Lock the work item, compare, update and note it in one transaction, with no echo."""
    try:
        with transaction.atomic(), events_suppressed_for(integration.pk):
            workitem = (
                WorkItem.objects.select_for_update().filter(tenant_id=integration.tenant_id, pk=workitem_id).first()
            )
            if workitem is None:
                return Outcome.UNKNOWN_WORK_PACKAGE
            if workitem.status == local_status:
                return Outcome.UNCHANGED
            workitem_update(workitem=workitem, status=local_status)
            workitem_note_create(
                workitem=workitem,
                kind=WorkItemNote.Kind.SYSTEM,
                body=f"Status changed to {local_status} in {TOOL_NAME} (work package #{external_id}, "
                f"status '{remote_status[:MAX_STATUS_NAME_IN_NOTE]}', via {via}).",
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


# --- Polling ----------------------------------------------------------------------------


def integration_poll(*, integration: TenantIntegration) -> str:
    """Ask the tool for the status of every linked work package and apply the changes;
    the readable result (or the failure) is stored on the integration, never raised. What the
    poll learned about the tool feeds its circuit breaker and rate limit, as a delivery does."""
    started = timezone.now()
    error: ConnectorError | None = None
    try:
        result = _poll(integration)
    except SoftTimeLimitExceeded:
        limit = settings.POLL_TASK_SOFT_TIME_LIMIT
        error = ConnectorError(
            f"The poll took longer than {limit:g} s (POLL_TASK_SOFT_TIME_LIMIT) and was stopped.",
            error_class=ErrorClass.TIMEOUT,
        )
    except ConnectorError as exc:
        error = exc
    except SecretsUnreadable as exc:
        result = _poll_failed(integration, exc)
    else:
        resilience.outcome_record(integration, error=None)
    if error is not None:
        result = _poll_failed(integration, error)
        resilience.outcome_record(integration, error=error)
    integration.last_polled_at, integration.last_poll_result = started, result
    TenantIntegration.objects.filter(pk=integration.pk).update(last_polled_at=started, last_poll_result=result)
    return result


def _poll_failed(integration: TenantIntegration, error: Exception) -> str:
    message = scrub(str(error), secret_strings(integration.secrets_or_empty()))
    logger.warning("poll failed integration=%s: %s", integration.pk, message)
    return f"Poll failed: {message}"


def _poll(integration: TenantIntegration) -> str:
    connector = integration_connector(integration=integration)
    links = list(
        ExternalLink.objects.filter(integration=integration, content_type=_workitem_type())
        .order_by("id")
        .values_list("external_id", "object_id")
    )
    current = dict(
        WorkItem.objects.filter(
            tenant_id=integration.tenant_id, pk__in=[object_id for _, object_id in links]
        ).values_list("pk", "status")
    )
    links = [(external_id, object_id) for external_id, object_id in links if object_id in current]
    if not links:
        return "No linked work packages to check."
    remote = {
        str(key): value
        for key, value in connector.work_package_statuses(list(dict.fromkeys(e for e, _ in links))).items()
    }
    counts: Counter[str] = Counter()
    unmapped: set[str] = set()
    for external_id, workitem_id in links:
        remote_status = remote.get(external_id)
        local_status = None if remote_status is None else connector.local_status_for(remote_status)
        if remote_status is None:
            outcome = Outcome.UNKNOWN_WORK_PACKAGE
        elif local_status is None:
            outcome = Outcome.UNMAPPED
            unmapped.add(remote_status)
        elif local_status == current[workitem_id]:
            outcome = Outcome.UNCHANGED
        else:
            outcome = _status_apply(
                integration=integration,
                workitem_id=workitem_id,
                local_status=local_status,
                external_id=external_id,
                remote_status=remote_status,
                via="poll",
            )
        counts[outcome] += 1
    return _poll_summary(counts, unmapped)


def _poll_summary(counts: Counter[str], unmapped: set[str]) -> str:
    """e.g. "Checked 250 linked work packages: 2 updated, 1 with unmapped status 'On hold', 247 unchanged." """
    total = sum(counts.values())
    parts = [f"{counts[Outcome.UPDATED]} updated"]
    if counts[Outcome.UNMAPPED]:
        names = ", ".join(f"'{name}'" for name in sorted(unmapped))
        parts.append(f"{counts[Outcome.UNMAPPED]} with unmapped status{'es' if len(unmapped) > 1 else ''} {names}")
    if counts[Outcome.UNKNOWN_WORK_PACKAGE]:
        parts.append(f"{counts[Outcome.UNKNOWN_WORK_PACKAGE]} not found in {TOOL_NAME}")
    if counts[Outcome.INVALID]:
        parts.append(f"{counts[Outcome.INVALID]} refused by validation")
    parts.append(f"{counts[Outcome.UNCHANGED]} unchanged")
    plural = "s" if total != 1 else ""
    return f"Checked {total} linked work package{plural}: {', '.join(parts)}."


def pollable_kinds() -> list[str]:
    """Integration kinds whose connector can report work package statuses."""
    return registry.with_capability(Capability.POLLS)


def integrations_due_for_poll(*, now: datetime.datetime | None = None) -> list[TenantIntegration]:
    """Active pollable integrations with polling on, never polled or polled longer ago than
    their interval (config filtered in Python: works on SQLite too)."""
    now = now or timezone.now()
    candidates = TenantIntegration.objects.filter(is_active=True, integration_type__in=pollable_kinds()).order_by("pk")
    return [integration for integration in candidates if _poll_due(integration, now)]


def integrations_poll_enqueue() -> int:
    """Beat: one poll task per due integration; returns how many were enqueued."""
    from integrations.tasks import poll_integration

    due = integrations_due_for_poll()
    for integration in due:
        poll_integration.apply_async(args=[integration.pk])
    return len(due)


def integration_poll_if_due(*, integration_id: int) -> str:
    """The task's entry: poll unless it is no longer due, another poll of this integration is
    under way, or its circuit breaker or rate limit holds it back (the next beat tick tries
    again). Moving `last_polled_at` first with a conditional update claims the poll, so a
    duplicate task (a backed-up queue) does nothing."""
    now = timezone.now()
    integration = TenantIntegration.objects.filter(
        pk=integration_id, is_active=True, integration_type__in=pollable_kinds()
    ).first()
    if integration is None or not _poll_due(integration, now):
        return "not_due"
    lapse = settings.POLL_TASK_SOFT_TIME_LIMIT + settings.TASK_HARD_LIMIT_GRACE_SECONDS + 60
    with resilience.integration_exclusive(integration, work="poll", seconds=lapse) as alone:
        if not alone:
            return "poll_in_progress"
        if resilience.circuit_allow(integration).state == "open":
            return "circuit_open"
        if resilience.rate_limit_wait(integration):
            return "rate_limited"
        claimed = TenantIntegration.objects.filter(pk=integration.pk, last_polled_at=integration.last_polled_at).update(
            last_polled_at=now
        )
        if not claimed:
            return "already_polled"
        return integration_poll(integration=integration)


def _poll_due(integration: TenantIntegration, now: datetime.datetime) -> bool:
    if not integration.config.get("poll_enabled"):
        return False
    if integration.last_polled_at is None:
        return True
    return integration.last_polled_at <= now - datetime.timedelta(seconds=_poll_interval(integration))


def _poll_interval(integration: TenantIntegration) -> int:
    try:
        return int(integration.config.get("poll_interval_seconds") or DEFAULT_POLL_INTERVAL_SECONDS)
    except (TypeError, ValueError):
        return DEFAULT_POLL_INTERVAL_SECONDS


def _workitem_type() -> ContentType:
    return ContentType.objects.get_for_model(WorkItem)
