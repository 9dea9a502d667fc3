"""The scenario that found the bug, end to end through the engine (eager Celery) against the
fake OpenProject, with a webhook integration beside it:

1. a work item is created and linked to work package #1 (New on both sides);
2. its status becomes In Progress in Fieldhook; the PATCH to OpenProject answers 503 and waits;
3. OpenProject still says New — to the beat poll, or in a webhook sent for another edit;
4. the delayed PATCH is retried and lands; 5. the next poll changes nothing.

Before the three-way merge, step 3 set the work item back to New and told the webhook
integration In Progress → New.
"""

import datetime

import pytest
import responses
from django.utils import timezone

from integrations import tasks
from integrations.models import EventType, ExternalLink, IntegrationSync, TenantIntegration
from tests.factories import WorkItemFactory
from tests.fakes.openproject import FakeOpenProject
from tests.integrations.conftest import RECEIVER_URL
from tests.integrations.connectors.openproject.inbound_fixtures import signed_post
from workitems import services
from workitems.models import WorkItem, WorkItemNote

PACKAGE = r"/api/v3/work_packages/\d+"
IN_PROGRESS_ID = 7


@pytest.fixture
def fake_openproject():
    """The fake OpenProject and the webhook integration's receiver behind one mock."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeOpenProject().install(mock)
        mock.add(responses.POST, RECEIVER_URL, json={"received": True})
        yield fake
    assert fake.violations == [], "requests the real OpenProject would refuse"


@pytest.fixture
def waiting_patch(fake_openproject, tenant, openproject, webhook, committed) -> WorkItem:
    """Steps 1 and 2: the work item is In Progress here, its PATCH failed with 503 and waits."""
    with committed():
        workitem = WorkItemFactory(tenant=tenant, description="Cracked screen")
    link = ExternalLink.objects.get(integration=openproject, object_id=workitem.pk)
    assert (link.external_id, link.base_status, fake_openproject.work_packages[1]["status_id"]) == ("1", "New", 1)
    fake_openproject.fail_next("PATCH", PACKAGE, status=503, times=100)  # down for a while

    with committed():
        services.workitem_update(workitem=workitem, status=WorkItem.Status.IN_PROGRESS)

    sync = latest_status_sync(openproject)
    assert (sync.status, sync.last_status_code) == ("pending", 503)
    assert ExternalLink.objects.get(pk=link.pk).base_status == "New"  # nothing agreed yet
    return workitem


def latest_status_sync(integration: TenantIntegration) -> IntegrationSync:
    return IntegrationSync.objects.filter(
        integration=integration, event__event_type=EventType.WORKITEM_STATUS_CHANGED
    ).latest("id")


def status_of(workitem: WorkItem) -> str:
    workitem.refresh_from_db()
    return workitem.status


def announced_to(integration: TenantIntegration) -> list[dict]:
    syncs = IntegrationSync.objects.filter(integration=integration, event__event_type=EventType.WORKITEM_STATUS_CHANGED)
    return [sync.event.payload["changes"]["status"] for sync in syncs.order_by("id")]


def status_notes(workitem: WorkItem) -> list[str]:
    bodies = WorkItemNote.objects.filter(workitem=workitem, kind="system").values_list("body", flat=True)
    return [body for body in bodies if "Status" in body]


def poll(integration: TenantIntegration, committed) -> str:
    """What beat does: the poll task, due now."""
    TenantIntegration.objects.filter(pk=integration.pk).update(last_polled_at=None)
    with committed():
        return tasks.poll_integration(integration.pk)


def patch_retried(fake: FakeOpenProject, integration: TenantIntegration, committed) -> IntegrationSync:
    """OpenProject is back; the retry comes due (past the sweep's grace) and the sweep sends it."""
    fake.faults.clear()
    sync = latest_status_sync(integration)
    IntegrationSync.objects.filter(pk=sync.pk).update(next_attempt_at=timezone.now() - datetime.timedelta(hours=1))
    with committed():
        tasks.requeue_due_syncs()
    sync.refresh_from_db()
    return sync


USERS_CHANGE = [{"old": "New", "new": "In Progress"}]


def test_a_poll_while_the_patch_waits_keeps_the_users_status(
    fake_openproject, openproject, webhook, waiting_patch, committed
):
    result = poll(openproject, committed)

    assert result == "Checked 1 linked work package: 0 updated, 1 kept (changed in Fieldhook since), 0 unchanged."
    assert status_of(waiting_patch) == WorkItem.Status.IN_PROGRESS
    assert announced_to(webhook) == USERS_CHANGE
    assert status_notes(waiting_patch) == []


def test_after_the_poll_the_delayed_patch_lands_and_the_next_poll_changes_nothing(
    fake_openproject, openproject, webhook, waiting_patch, committed
):
    poll(openproject, committed)

    sync = patch_retried(fake_openproject, openproject, committed)
    result = poll(openproject, committed)

    assert sync.status == "synced"
    assert fake_openproject.work_packages[1]["status_id"] == IN_PROGRESS_ID
    assert ExternalLink.objects.get(integration=openproject).base_status == "In Progress"
    assert result == "Checked 1 linked work package: 0 updated, 1 unchanged."
    assert status_of(waiting_patch) == WorkItem.Status.IN_PROGRESS
    assert announced_to(webhook) == USERS_CHANGE
    assert announced_to(openproject) == USERS_CHANGE
    assert status_notes(waiting_patch) == []


def openproject_webhook(client, integration: TenantIntegration, fake: FakeOpenProject):
    """OpenProject's webhook for work package #1 as it is now (its full representation)."""
    event = {"action": "work_package:updated", "work_package": fake.representation(fake.work_packages[1])}
    return signed_post(client, integration, event)


def test_a_webhook_while_the_patch_waits_keeps_the_users_status(
    client, fake_openproject, openproject, webhook, waiting_patch, committed
):
    fake_openproject.work_packages[1]["lockVersion"] += 1  # someone edits the description in OpenProject

    with committed():
        response = openproject_webhook(client, openproject, fake_openproject)

    assert (response.status_code, response.json()) == (200, {"result": "kept"})
    assert status_of(waiting_patch) == WorkItem.Status.IN_PROGRESS
    assert announced_to(webhook) == USERS_CHANGE
    assert status_notes(waiting_patch) == []


def test_after_the_webhook_the_delayed_patch_lands_and_nothing_flips_back(
    client, fake_openproject, openproject, webhook, waiting_patch, committed
):
    fake_openproject.work_packages[1]["lockVersion"] += 1
    with committed():
        openproject_webhook(client, openproject, fake_openproject)

    sync = patch_retried(fake_openproject, openproject, committed)
    with committed():
        echo = openproject_webhook(client, openproject, fake_openproject)  # OpenProject tells of our PATCH
    result = poll(openproject, committed)

    assert (sync.status, echo.json()) == ("synced", {"result": "unchanged"})
    assert result == "Checked 1 linked work package: 0 updated, 1 unchanged."
    assert status_of(waiting_patch) == WorkItem.Status.IN_PROGRESS
    assert announced_to(webhook) == USERS_CHANGE
    assert announced_to(openproject) == USERS_CHANGE
    assert status_notes(waiting_patch) == []
