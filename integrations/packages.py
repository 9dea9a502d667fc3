"""Issue packages: a parent and its children, made from a template for one work item, in every
chosen integration that creates packages (`Capability.CREATES_PACKAGES`).

Each integration gets a `PackageRun`. What it should create is rendered when it starts
(`plan`), so editing the template never changes a run half-way. A Celery task creates what is
missing: first it asks the tool for what an earlier try made (every issue carries a marker
unique to the run and the element), then the parent, the children in batches, the links.
Progress is saved after each step, so a stopped run resumed creates only what is still
missing. Every try ends with a system note on the work item.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integrations.connectors import registry, text
from integrations.connectors.base import Capability, Connector, PackageBatch, PackageCreated, PackageIssue
from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.crypto import SecretsUnreadable
from integrations.engine import dispatch, resilience
from integrations.engine.policy import scrub, secret_strings
from integrations.models import PackageRun, PackageTemplate, PackageTemplateElement, TenantIntegration
from integrations.payloads import workitem_representation
from integrations.placeholders import placeholders_fill
from integrations.services import integration_connector
from workitems.models import WorkItem, WorkItemNote
from workitems.services import workitem_note_create

logger = logging.getLogger("integrations.packages")
SUMMARY_CHARS = 255  # the longest summary the tools we know take (Jira: 255)
RESUMABLE = (PackageRun.Status.QUEUED, PackageRun.Status.PARTIAL, PackageRun.Status.FAILED)


@dataclass(frozen=True)
class PackageTarget:
    """Where one run creates its package: the integration, the project, the chosen elements."""

    integration: TenantIntegration
    project_key: str
    elements: list[PackageTemplateElement]


class PackageRunNotResumable(Exception):
    """A resume asked of a run that is done or still running (the message says which)."""


# --- Templates -------------------------------------------------------------------------------


def package_template_save(
    *, template: PackageTemplate, elements: list[dict[str, Any]] | None = None
) -> PackageTemplate:
    """Save a template and, when given, its elements in their new order: an element with an
    `id` is kept (runs refer to it), one without is added, one left out is removed."""
    with transaction.atomic():
        template.save()
        if elements is not None:
            kept = {element["id"] for element in elements if element.get("id")}
            template.elements.exclude(pk__in=kept).delete()
            for position, element in enumerate(elements, start=1):
                fields = {
                    "position": position,
                    "summary": element["summary"],
                    "description": element.get("description", ""),
                }
                if element.get("id"):
                    template.elements.filter(pk=element["id"]).update(**fields)
                else:
                    template.elements.create(**fields)
    return template


# --- Starting and resuming -------------------------------------------------------------------


def package_runs_start(
    *, workitem: WorkItem, template: PackageTemplate, targets: list[PackageTarget]
) -> list[PackageRun]:
    """One queued run per target, each sent to a worker once the transaction commits."""
    with transaction.atomic():
        runs = [
            PackageRun.objects.create(
                tenant_id=workitem.tenant_id,
                workitem=workitem,
                template=template,
                integration=target.integration,
                project_key=target.project_key,
                elements=[element.pk for element in target.elements],
                plan=package_plan(template=template, elements=target.elements, workitem=workitem),
                total=1 + len(target.elements),
            )
            for target in targets
        ]
        for run in runs:
            dispatch.package_run_enqueue(run_id=run.pk)
    return runs


def package_run_resume(*, run: PackageRun) -> PackageRun:
    """Queue the run again; its next try creates only what is still missing. A run that stopped
    without ending (its worker died) counts as stopped once its time limit has passed."""
    stale = timezone.now() - datetime.timedelta(seconds=package_run_lapse())
    if run.status == PackageRun.Status.DONE:
        raise PackageRunNotResumable("Everything in this package was created already; there is nothing to resume.")
    if run.status == PackageRun.Status.RUNNING and run.updated_at > stale:
        raise PackageRunNotResumable("This run is under way; wait for it to end, then resume it if needed.")
    with transaction.atomic():
        PackageRun.objects.filter(pk=run.pk, status=run.status).update(
            status=PackageRun.Status.QUEUED, updated_at=timezone.now()
        )
        dispatch.package_run_enqueue(run_id=run.pk)
    run.refresh_from_db()
    return run


def package_run_lapse() -> float:
    """Seconds after which a run still marked running has certainly been stopped."""
    return settings.PACKAGE_TASK_SOFT_TIME_LIMIT + settings.TASK_HARD_LIMIT_GRACE_SECONDS + 60


def package_plan(*, template: PackageTemplate, elements: Iterable[PackageTemplateElement], workitem: WorkItem) -> dict:
    """The parent and children of a run, rendered with the work item's facts as they are now."""
    facts = workitem_representation(workitem)
    return {
        "template": template.name,
        "parent": {
            "issue_type": template.parent_issue_type,
            "summary": _summary(template.parent_summary, facts),
            "description": placeholders_fill(template.parent_description, workitem=facts),
        },
        "child_issue_type": template.child_issue_type,
        "children": [
            {
                "element": element.pk,
                "summary": _summary(element.summary, facts),
                "description": placeholders_fill(element.description, workitem=facts),
            }
            for element in elements
        ],
        "facts": [list(fact) for fact in text.workitem_facts(facts)],
        "link": text.workitem_url(facts),
    }


def _summary(template: str, facts: dict) -> str:
    return text.cut(text.one_line(placeholders_fill(template, workitem=facts)), SUMMARY_CHARS)


def package_integrations(*, integrations: Iterable[TenantIntegration]) -> list[TenantIntegration]:
    """Those of `integrations` whose kind creates packages."""
    kinds = set(registry.with_capability(Capability.CREATES_PACKAGES))
    return [integration for integration in integrations if integration.integration_type in kinds]


# --- One try ---------------------------------------------------------------------------------


def package_run_execute(*, run_id: int) -> str:
    """The task's entry: claim the queued run, create what is missing, record how it ended."""
    now = timezone.now()
    claimed = PackageRun.objects.filter(pk=run_id, status=PackageRun.Status.QUEUED).update(
        status=PackageRun.Status.RUNNING,
        started_at=now,
        finished_at=None,
        tries=F("tries") + 1,
        error="",
        element_errors={},
        updated_at=now,
    )
    if not claimed:
        return "not queued"
    run = PackageRun.objects.select_related("integration", "workitem").get(pk=run_id)
    error = ""
    try:
        _create_missing(run)
    except ConnectorError as exc:
        resilience.outcome_record(run.integration, error=exc)
        error = scrub(str(exc), secret_strings(run.integration.secrets_or_empty()))
    except SecretsUnreadable as exc:
        error = str(exc)
    except SoftTimeLimitExceeded:
        limit = settings.PACKAGE_TASK_SOFT_TIME_LIMIT
        error = f"The run took longer than {limit:g} s (PACKAGE_TASK_SOFT_TIME_LIMIT) and was stopped."
    except Exception:
        logger.exception("package run %s failed", run.pk)
        error = "An unexpected error stopped the run (see the worker's log)."
    return _finish(run, error=error)


def _create_missing(run: PackageRun) -> None:
    if not run.integration.is_active:
        raise ConnectorError(
            "The integration is paused; resume it first.", permanent=True, error_class=ErrorClass.CONFIG
        )
    connector = integration_connector(integration=run.integration)
    if _missing(run):
        _pace(run.integration)
        _record_found(run, connector.package_find(project_key=run.project_key, group=_group(run)))
    if not run.parent_key:
        _pace(run.integration)
        parent = connector.package_create_parent(project_key=run.project_key, issue=_parent_issue(run))
        run.parent_key, run.parent_url = parent.key, parent.url
        _save(run)
    parent = PackageCreated(marker=_marker(run, "parent"), key=run.parent_key, url=run.parent_url, linked=True)
    todo = [child for child in run.plan["children"] if str(child["element"]) not in run.child_keys]
    for start in range(0, len(todo), connector.package_batch_size):
        batch = todo[start : start + connector.package_batch_size]
        _pace(run.integration)
        outcome = connector.package_create_children(
            project_key=run.project_key, parent=parent, children=[_child_issue(run, child) for child in batch]
        )
        _record_batch(run, batch, outcome)
    _link_children(run, connector, parent)


def _link_children(run: PackageRun, connector: Connector, parent: PackageCreated) -> None:
    for element, child in run.child_keys.items():
        if child["linked"]:
            continue
        _pace(run.integration)
        created = PackageCreated(marker=_marker(run, element), key=child["key"], url=child["url"])
        connector.package_link_child(parent=parent, child=created)
        child["linked"] = True
        _save(run)


def _pace(integration: TenantIntegration) -> None:
    """Wait for the integration's rate limit (shared with its deliveries); a longer wait than
    PACKAGE_RATE_WAIT_MAX_SECONDS (the tool asked us to back off) stops the run instead."""
    deadline = time.monotonic() + settings.PACKAGE_RATE_WAIT_MAX_SECONDS
    while wait := resilience.rate_limit_wait(integration):
        if time.monotonic() + wait > deadline:
            raise ConnectorError(
                f"The tool asked Fieldhook to wait {wait:.0f} s before sending more; resume the run after that.",
                error_class=ErrorClass.RATE_LIMITED,
                retry_after=wait,
            )
        time.sleep(wait)


# --- Markers and what exists ------------------------------------------------------------------


def _group(run: PackageRun) -> str:
    """The same on every issue of the run; letters, digits and dashes (a valid Jira label)."""
    return f"fieldhook-package-{run.uuid.hex[:16]}"


def _marker(run: PackageRun, element: str | int) -> str:
    """Unique to the run and the element."""
    return f"{_group(run)}-{element}"


def _missing(run: PackageRun) -> bool:
    return not run.parent_key or len(run.child_keys) < len(run.plan["children"])


def _record_found(run: PackageRun, found: dict[str, PackageCreated]) -> None:
    if not found:
        return
    parent = found.get(_marker(run, "parent"))
    if parent is not None and not run.parent_key:
        run.parent_key, run.parent_url = parent.key, parent.url
    for child in run.plan["children"]:
        element = str(child["element"])
        match = found.get(_marker(run, element))
        if match is not None and element not in run.child_keys:
            run.child_keys[element] = {"key": match.key, "url": match.url, "linked": match.linked}
    _save(run)


def _record_batch(run: PackageRun, batch: list[dict], outcome: PackageBatch) -> None:
    by_marker = {_marker(run, child["element"]): str(child["element"]) for child in batch}
    for created in outcome.created:
        run.child_keys[by_marker[created.marker]] = {"key": created.key, "url": created.url, "linked": created.linked}
    for marker, reason in outcome.refused.items():
        run.element_errors[by_marker[marker]] = reason
    _save(run)


def _save(run: PackageRun) -> None:
    """Progress after every step: what exists is never forgotten, whatever stops the run next."""
    run.created = int(bool(run.parent_key)) + len(run.child_keys)
    run.save(update_fields=["parent_key", "parent_url", "child_keys", "element_errors", "created", "updated_at"])


def _parent_issue(run: PackageRun) -> PackageIssue:
    plan = run.plan
    return PackageIssue(
        group=_group(run),
        marker=_marker(run, "parent"),
        issue_type=plan["parent"]["issue_type"],
        summary=plan["parent"]["summary"],
        description=plan["parent"]["description"],
        facts=tuple((label, value) for label, value in plan["facts"]),
        link=plan["link"],
    )


def _child_issue(run: PackageRun, child: dict) -> PackageIssue:
    return PackageIssue(
        group=_group(run),
        marker=_marker(run, child["element"]),
        issue_type=run.plan["child_issue_type"],
        summary=child["summary"],
        description=child["description"],
        link=run.plan["link"],
    )


# --- How it ended ------------------------------------------------------------------------------


def _finish(run: PackageRun, *, error: str) -> str:
    complete = bool(run.parent_key) and len(run.child_keys) == len(run.plan["children"])
    linked = all(child["linked"] for child in run.child_keys.values())
    if not error and run.element_errors:
        error = _refusals(run)
    if complete and linked and not error:
        run.status = PackageRun.Status.DONE
    else:
        run.status = PackageRun.Status.PARTIAL if run.created else PackageRun.Status.FAILED
        error = error or "Some children are not linked to the parent yet."
    run.error, run.finished_at = error, timezone.now()
    run.save(update_fields=["status", "error", "finished_at", "updated_at"])
    workitem_note_create(workitem=run.workitem, kind=WorkItemNote.Kind.SYSTEM, body=package_run_note(run))
    return run.status


def _refusals(run: PackageRun) -> str:
    """e.g. "Jira Cloud refused 2 children: 'Order parts': summary: …; 'Test': …." """
    summaries = {str(child["element"]): child["summary"] for child in run.plan["children"]}
    reasons = "; ".join(f"'{summaries[element]}': {reason}" for element, reason in run.element_errors.items())
    count = len(run.element_errors)
    tool = registry.get(run.integration.integration_type).label
    return f"{tool} refused {count} child{'ren' if count != 1 else ''}: {reasons}."


def package_run_note(run: PackageRun) -> str:
    """e.g. "Package 'Laptop repair' in Jira EU (project SVC): SVC-1 with 3 children (SVC-2, SVC-3,
    SVC-4)." or, stopped: "… stopped after 2 of 4 issues: <why>. Resume package run 7 to create the rest." """
    where = f"Package '{run.plan['template']}' in {run.integration.name} (project {run.project_key})"
    if run.status == PackageRun.Status.DONE:
        keys = ", ".join(child["key"] for child in run.child_keys.values())
        count = len(run.child_keys)
        children = f" with {count} child{'ren' if count != 1 else ''} ({keys})" if count else ""
        return f"{where}: {run.parent_key}{children}."
    return (
        f"{where} stopped after {run.created} of {run.total} issues: {run.error} "
        f"Resume package run {run.pk} to create the rest."
    )
