"""Polling, for every kind that declares `Capability.POLLS`: beat enqueues one poll per due
integration (on the `polls` queue), and a poll asks the tool for the status of every linked
object and merges each one that says something new (three-way, `inbound/merge.py`). One poll
of an integration at a time, through its circuit breaker and rate limit; its result (or
failure) is stored on the integration, never raised.
"""

from __future__ import annotations

import datetime
import logging
from collections import Counter
from enum import StrEnum

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils import timezone

from integrations.connectors import registry
from integrations.connectors.base import Capability, Connector, RemoteStatus
from integrations.connectors.config import PollingConfig
from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.crypto import SecretsUnreadable
from integrations.engine import dispatch, resilience
from integrations.engine.policy import scrub, secret_strings
from integrations.engine.resilience import CircuitState
from integrations.inbound.merge import MergeAction, link_updates, status_merge
from integrations.inbound.services import OUTCOMES, Outcome, link_status_merge, workitem_content_type
from integrations.models import ExternalLink, TenantIntegration
from integrations.services import integration_connector
from workitems.models import WorkItem

logger = logging.getLogger("integrations.inbound")


class PollSkipped(StrEnum):
    """Why a poll task did not poll (otherwise it returns the poll's summary)."""

    NOT_DUE = "not_due"
    IN_PROGRESS = "poll_in_progress"
    CIRCUIT_OPEN = "circuit_open"
    RATE_LIMITED = "rate_limited"
    ALREADY_POLLED = "already_polled"


def integration_poll(*, integration: TenantIntegration) -> str:
    """Ask the tool for the status of every linked object and apply the changes. What the
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
        ExternalLink.objects.filter(integration=integration, content_type=workitem_content_type())
        .order_by("id")
        .only("external_id", "object_id", "base_status", "last_remote_status", "remote_version")
    )
    workitems = WorkItem.objects.filter(tenant_id=integration.tenant_id, pk__in=[link.object_id for link in links])
    current = {workitem.pk: workitem for workitem in workitems.only("status", "status_changed_at")}
    links = [link for link in links if link.object_id in current]
    if not links:
        return f"No linked {connector.remote_noun}s to check."
    remote = connector.remote_statuses(list(dict.fromkeys(link.external_id for link in links)))
    counts: Counter[Outcome] = Counter()
    unmapped: set[str] = set()
    for link in links:
        status = remote.get(link.external_id)
        mapped = None if status is None else connector.local_status_for(status.status)
        if status is None:
            outcome = Outcome.UNCHANGED if connector.polls_changes_only else Outcome.UNLINKED
        elif mapped is None:
            outcome = Outcome.UNMAPPED
            unmapped.add(status.status)
        else:
            outcome = _settled(integration, link, current[link.object_id], status, mapped)
            if outcome is None:
                outcome = link_status_merge(
                    integration=integration, connector=connector, link_id=link.pk, remote=status, via="poll"
                )
        counts[outcome] += 1
    return _poll_summary(connector, counts, unmapped)


def _settled(
    integration: TenantIntegration, link: ExternalLink, workitem: WorkItem, remote: RemoteStatus, mapped: str
) -> Outcome | None:
    """The outcome when the merge would write nothing (the steady state: no lock, no query), else None."""
    merge = status_merge(
        base=link.base_status,
        local=workitem.status,
        remote=mapped,
        policy=integration.status_conflict_policy,
        local_changed_at=workitem.status_changed_at,
        remote_changed_at=remote.changed_at,
    )
    if merge.action == MergeAction.APPLY_REMOTE or link_updates(
        link=link, remote=remote, mapped=mapped, merge=merge, now=timezone.now()
    ):
        return None
    return OUTCOMES[merge.action]


def _poll_summary(connector: Connector, counts: Counter[Outcome], unmapped: set[str]) -> str:
    """e.g. "Checked 250 linked issues: 2 updated, 1 with unmapped status 'On hold', 247 unchanged." """
    total = sum(counts.values())
    parts = [f"{counts[Outcome.UPDATED]} updated"]
    if counts[Outcome.KEPT]:
        parts.append(f"{counts[Outcome.KEPT]} kept (changed in Fieldhook since)")
    if counts[Outcome.UNMAPPED]:
        names = ", ".join(f"'{name}'" for name in sorted(unmapped))
        parts.append(f"{counts[Outcome.UNMAPPED]} with unmapped status{'es' if len(unmapped) > 1 else ''} {names}")
    if counts[Outcome.UNLINKED]:
        parts.append(f"{counts[Outcome.UNLINKED]} not found in {connector.label}")
    if counts[Outcome.INVALID]:
        parts.append(f"{counts[Outcome.INVALID]} refused by validation")
    parts.append(f"{counts[Outcome.UNCHANGED] + counts[Outcome.STALE]} unchanged")
    plural = "s" if total != 1 else ""
    return f"Checked {total} linked {connector.remote_noun}{plural}: {', '.join(parts)}."


def pollable_kinds() -> list[str]:
    """Integration kinds whose connector reports remote statuses when asked."""
    return registry.with_capability(Capability.POLLS)


def integrations_due_for_poll(*, now: datetime.datetime | None = None) -> list[TenantIntegration]:
    """Active pollable integrations with polling on, never polled or polled longer ago than
    their interval (config read in Python: works on SQLite too)."""
    now = now or timezone.now()
    candidates = TenantIntegration.objects.filter(is_active=True, integration_type__in=pollable_kinds()).order_by("pk")
    return [integration for integration in candidates if _poll_due(integration, now)]


def integrations_poll_enqueue() -> int:
    """Beat: one poll task per due integration; returns how many were enqueued."""
    due = integrations_due_for_poll()
    dispatch.polls_enqueue(integration_ids=[integration.pk for integration in due])
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
        return PollSkipped.NOT_DUE
    lapse = settings.POLL_TASK_SOFT_TIME_LIMIT + settings.TASK_HARD_LIMIT_GRACE_SECONDS + 60
    with resilience.integration_exclusive(integration, work="poll", seconds=lapse) as alone:
        if not alone:
            return PollSkipped.IN_PROGRESS
        if resilience.circuit_allow(integration).state == CircuitState.OPEN:
            return PollSkipped.CIRCUIT_OPEN
        if resilience.rate_limit_wait(integration):
            return PollSkipped.RATE_LIMITED
        claimed = TenantIntegration.objects.filter(pk=integration.pk, last_polled_at=integration.last_polled_at).update(
            last_polled_at=now
        )
        if not claimed:
            return PollSkipped.ALREADY_POLLED
        return integration_poll(integration=integration)


def _poll_due(integration: TenantIntegration, now: datetime.datetime) -> bool:
    polling = registry.get(integration.integration_type).config_class.from_dict(integration.config)
    if not isinstance(polling, PollingConfig) or not polling.poll_enabled:
        return False
    if integration.last_polled_at is None:
        return True
    interval = max(polling.poll_interval_seconds, PollingConfig.MIN_POLL_INTERVAL_SECONDS)
    return integration.last_polled_at <= now - datetime.timedelta(seconds=interval)
