"""Writes on work items. Views, admin and commands call these, never `save()` directly."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from tenants.models import Tenant
from workitems.models import WorkItem, WorkItemNote, WorkItemSequence

REFERENCE_PREFIX = "RMA-"


def reference_id_allocate(*, tenant: Tenant) -> str:
    """Next `RMA-<n>` of the tenant; the counter row is locked, so concurrent creates never collide.

    Must run inside the transaction that saves the work item, so that a rollback
    gives the number back.
    """
    WorkItemSequence.objects.get_or_create(tenant=tenant)
    sequence = WorkItemSequence.objects.select_for_update().get(tenant=tenant)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return f"{REFERENCE_PREFIX}{sequence.last_number}"


@transaction.atomic
def workitem_create(*, tenant: Tenant, **fields: Any) -> WorkItem:
    workitem = WorkItem(tenant=tenant, **fields)
    workitem.full_clean(exclude=["reference_id"])
    workitem.reference_id = reference_id_allocate(tenant=tenant)
    workitem.save()
    return workitem


@transaction.atomic
def workitem_update(*, workitem: WorkItem, **changes: Any) -> WorkItem:
    """Apply changes (status included) and save; the integration signals see old vs new values."""
    previous_status = workitem.status
    for field, value in changes.items():
        setattr(workitem, field, value)
    workitem_status_stamp(workitem=workitem, previous_status=previous_status)
    workitem.full_clean()
    workitem.save()
    return workitem


def workitem_status_stamp(*, workitem: WorkItem, previous_status: str) -> None:
    """Remember when the status changed (before the save that changes it): a tool's conflicting
    status can then be settled by which change is newer."""
    if workitem.status != previous_status:
        workitem.status_changed_at = timezone.now()


def workitem_delete(*, workitem: WorkItem) -> None:
    workitem.delete()


def workitem_note_create(
    *,
    workitem: WorkItem,
    body: str,
    author: AbstractBaseUser | None = None,
    kind: str = WorkItemNote.Kind.USER,
) -> WorkItemNote:
    return WorkItemNote.objects.create(workitem=workitem, body=body, author=author, kind=kind)
