"""The three-way status merge on PostgreSQL, through OpenProject statuses: a tool's status is
applied only when the tool made the change; a status older than a change made in Fieldhook is
dropped without a word to anyone; a change on both sides is settled by the integration's
policy, written down once and counted once. A webhook integration of the same tenant shows
what is (not) announced."""

import datetime
import uuid

import pytest
import redis
from django.utils import timezone
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from integrations.connectors.base import RemoteStatus
from integrations.engine import metrics
from integrations.engine.delivery import sync_deliver
from integrations.inbound.links import link_base_record
from integrations.inbound.polling import integration_poll
from integrations.inbound.services import Outcome, link_status_merge, workitem_status_from_integration
from integrations.models import EventType, ExternalLink, IntegrationSync, StatusConflictPolicy, TenantIntegration
from integrations.services import integration_connector
from tests.factories import WorkItemFactory
from tests.integrations.connectors.openproject.inbound_fixtures import (
    signed_post,
    work_package_event,
)
from workitems import services
from workitems.models import WorkItem, WorkItemNote

STATUS_CHANGED = EventType.WORKITEM_STATUS_CHANGED
IN_PROGRESS, CLOSED = WorkItem.Status.IN_PROGRESS, WorkItem.Status.CLOSED


@pytest.fixture
def link(tenant, openproject, webhook) -> ExternalLink:
    """Work item and work package #101 agree on New."""
    item = WorkItemFactory(tenant=tenant, description="Cracked screen")
    IntegrationSync.objects.all().delete()
    return openproject.links.create(content_object=item, external_id="101", base_status="New")


@pytest.fixture
def conflicts_counted(settings):
    """Reads the conflicts counter from a metrics store of this test's own."""
    prefix = f"fieldhook:test-conflicts:{uuid.uuid4().hex}"
    settings.METRICS_KEY_PREFIX = prefix
    metrics.reset_process_state()

    def counted(resolution: str) -> float:
        text = generate_latest(metrics.metrics_registry).decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                wanted = {"kind": "openproject", "resolution": resolution}
                if sample.name == "fieldhook_status_conflicts_total" and sample.labels == wanted:
                    return sample.value
        return 0

    yield counted
    metrics.reset_process_state()
    store = redis.Redis.from_url(settings.REDIS_URL)
    own_keys = list(store.scan_iter(f"{prefix}:*"))
    if own_keys:
        store.delete(*own_keys)


def arrives(integration: TenantIntegration, status: str, *, at=None, version=None, via="webhook") -> Outcome:
    """The tool reports work package #101 in `status` (its own name)."""
    remote = RemoteStatus(external_id="101", status=status, changed_at=at, version=version)
    connector = integration_connector(integration=integration)
    return workitem_status_from_integration(integration=integration, connector=connector, remote=remote, via=via)


def changed_here(link: ExternalLink, status: str) -> WorkItem:
    """A user changes the status in Fieldhook: a status change is queued for every integration."""
    workitem = link.content_object
    services.workitem_update(workitem=workitem, status=status)
    return workitem


def status_of(link: ExternalLink) -> str:
    return WorkItem.objects.get(pk=link.object_id).status


def notes(link: ExternalLink) -> list[str]:
    return list(WorkItemNote.objects.filter(workitem_id=link.object_id, kind="system").values_list("body", flat=True))


def announced_to(integration: TenantIntegration) -> list[str]:
    """The statuses queued for the integration, oldest first."""
    syncs = IntegrationSync.objects.filter(integration=integration, event__event_type=STATUS_CHANGED).order_by("id")
    return [sync.event.payload["workitem"]["status"] for sync in syncs]


def reloaded(link: ExternalLink) -> ExternalLink:
    return ExternalLink.objects.get(pk=link.pk)


def use_policy(integration: TenantIntegration, policy: str) -> None:
    TenantIntegration.objects.filter(pk=integration.pk).update(status_conflict_policy=policy)
    integration.status_conflict_policy = policy


# --- Remote changed, local unchanged ------------------------------------------------------------


def test_a_change_made_only_in_openproject_is_applied_and_announced_to_the_others(openproject, webhook, link):
    outcome = arrives(openproject, "Closed")

    assert (outcome, status_of(link)) == (Outcome.UPDATED, CLOSED)
    assert (announced_to(webhook), announced_to(openproject)) == (["Closed"], [])


def test_an_applied_status_becomes_the_base_with_the_name_openproject_gave(openproject, link):
    at = timezone.now() - datetime.timedelta(minutes=3)

    arrives(openproject, "Review", at=at, version=5)

    stored = reloaded(link)
    assert (stored.base_status, stored.last_remote_status, stored.last_remote_at) == ("In Progress", "Review", at)
    assert stored.remote_version == 5


# --- Local changed, remote unchanged ------------------------------------------------------------


def test_openprojects_old_status_after_a_change_here_is_dropped_without_a_word(openproject, webhook, link):
    changed_here(link, IN_PROGRESS)

    outcome = arrives(openproject, "New")

    assert (outcome, status_of(link)) == (Outcome.KEPT, IN_PROGRESS)
    assert announced_to(webhook) == ["In Progress"]  # the user's own change, nothing after it
    assert notes(link) == []
    assert reloaded(link).base_status == "New"


def test_the_webhook_answers_kept(client, openproject, link):
    changed_here(link, IN_PROGRESS)

    response = signed_post(client, openproject, work_package_event(101, "New", lock_version=3))

    assert (response.status_code, response.json()) == (200, {"result": "kept"})


def test_a_replayed_old_webhook_after_a_newer_change_here_changes_nothing(client, openproject, webhook, link):
    older = work_package_event(101, "In progress", lock_version=4)
    signed_post(client, openproject, older)
    changed_here(link, CLOSED)

    replayed = signed_post(client, openproject, older)
    unversioned = {**older, "work_package": {k: v for k, v in older["work_package"].items() if k != "lockVersion"}}
    without_version = signed_post(client, openproject, unversioned)

    assert (replayed.json(), without_version.json()) == ({"result": "stale"}, {"result": "kept"})
    assert status_of(link) == CLOSED
    assert announced_to(webhook) == ["In Progress", "Closed"]


def test_a_poll_answer_overtaken_by_a_newer_webhook_is_stale(openproject, webhook, link):
    arrives(openproject, "Closed", version=7)
    remote = RemoteStatus(external_id="101", status="New", version=6)
    connector = integration_connector(integration=openproject)

    outcome = link_status_merge(
        integration=openproject, connector=connector, link_id=link.pk, remote=remote, via="poll"
    )

    assert (outcome, status_of(link), announced_to(webhook)) == (Outcome.STALE, CLOSED, ["Closed"])


# --- Both changed: a conflict -------------------------------------------------------------------


def test_a_conflict_is_won_by_fieldhook_by_default_noted_and_not_announced(openproject, webhook, link):
    changed_here(link, IN_PROGRESS)

    outcome = arrives(openproject, "Closed", via="poll")

    assert (outcome, status_of(link)) == (Outcome.KEPT, IN_PROGRESS)
    assert announced_to(webhook) == ["In Progress"]
    assert notes(link) == [
        "Status conflict with OpenProject (work package #101, via poll): since both sides last agreed on 'New', "
        "Fieldhook changed it to 'In Progress' and OpenProject to 'Closed'. Policy 'Fieldhook wins': Fieldhook "
        "keeps 'In Progress'; the status change waiting to be sent will set it in OpenProject."
    ]


def test_a_conflict_is_counted_by_kind_and_resolution(openproject, link, conflicts_counted, committed):
    changed_here(link, IN_PROGRESS)

    with committed():
        arrives(openproject, "Closed")

    assert (conflicts_counted("fieldhook_wins"), conflicts_counted("tool_wins")) == (1, 0)


def test_the_same_conflicting_status_seen_again_is_neither_noted_nor_counted_again(
    openproject, link, conflicts_counted, committed
):
    changed_here(link, IN_PROGRESS)

    with committed():
        first, again = arrives(openproject, "Closed", via="poll"), arrives(openproject, "Closed", via="poll")

    assert (first, again, status_of(link)) == (Outcome.KEPT, Outcome.KEPT, IN_PROGRESS)
    assert len(notes(link)) == 1
    assert conflicts_counted("fieldhook_wins") == 1


def test_another_conflicting_status_later_is_a_new_conflict(openproject, link):
    changed_here(link, IN_PROGRESS)
    arrives(openproject, "Closed")

    arrives(openproject, "Rejected")

    assert len(notes(link)) == 2
    assert "OpenProject to 'Rejected' ('Cancelled' in Fieldhook)" in notes(link)[1]


def test_fieldhook_winning_after_its_change_failed_for_good_says_how_to_send_it(openproject, link):
    changed_here(link, IN_PROGRESS)
    IntegrationSync.objects.filter(integration=openproject).update(status=IntegrationSync.Status.FAILED)

    arrives(openproject, "Closed")

    assert notes(link)[0].endswith(
        "Fieldhook keeps 'In Progress', but no status change is waiting to be sent to OpenProject (the last one "
        "failed), so OpenProject shows 'Closed' until the next status change is sent; use Replay on the failed "
        "sync to send it now."
    )


def test_the_tool_wins_policy_applies_its_status_and_announces_it(openproject, webhook, link):
    use_policy(openproject, StatusConflictPolicy.TOOL_WINS)
    changed_here(link, IN_PROGRESS)

    outcome = arrives(openproject, "Closed")

    assert (outcome, status_of(link), reloaded(link).base_status) == (Outcome.UPDATED, CLOSED, "Closed")
    assert announced_to(webhook) == ["In Progress", "Closed"]
    assert len(notes(link)) == 1
    assert "Policy 'The tool wins': the work item takes 'Closed'." in notes(link)[0]


def test_a_won_tool_status_follows_fieldhooks_change_still_on_its_way(openproject, link):
    """The pending change would otherwise move the work package back to In Progress for good."""
    use_policy(openproject, StatusConflictPolicy.TOOL_WINS)
    changed_here(link, IN_PROGRESS)

    arrives(openproject, "Closed")

    assert announced_to(openproject) == ["In Progress", "Closed"]


def test_an_applied_status_with_nothing_on_its_way_is_not_echoed(openproject, link):
    use_policy(openproject, StatusConflictPolicy.TOOL_WINS)
    changed_here(link, IN_PROGRESS)
    IntegrationSync.objects.filter(integration=openproject).update(status=IntegrationSync.Status.SYNCED)

    arrives(openproject, "Closed")

    assert announced_to(openproject) == ["In Progress"]


def test_newer_wins_applies_openprojects_later_change(openproject, webhook, link):
    use_policy(openproject, StatusConflictPolicy.NEWER_WINS)
    workitem = changed_here(link, IN_PROGRESS)

    outcome = arrives(openproject, "Closed", at=workitem.status_changed_at + datetime.timedelta(seconds=1))

    assert (outcome, status_of(link)) == (Outcome.UPDATED, CLOSED)
    assert "is newer than Fieldhook's" in notes(link)[0]


def test_newer_wins_keeps_fieldhooks_later_change(openproject, webhook, link):
    use_policy(openproject, StatusConflictPolicy.NEWER_WINS)
    workitem = changed_here(link, IN_PROGRESS)

    outcome = arrives(openproject, "Closed", at=workitem.status_changed_at - datetime.timedelta(seconds=1))

    assert (outcome, status_of(link), announced_to(webhook)) == (Outcome.KEPT, IN_PROGRESS, ["In Progress"])
    assert "is not newer than Fieldhook's" in notes(link)[0]


def test_newer_wins_without_openprojects_time_lets_fieldhook_win_and_says_so(openproject, link):
    use_policy(openproject, StatusConflictPolicy.NEWER_WINS)
    changed_here(link, IN_PROGRESS)

    outcome = arrives(openproject, "Closed", at=None)

    assert (outcome, status_of(link)) == (Outcome.KEPT, IN_PROGRESS)
    assert "but OpenProject did not say when its change was made, so the default applies" in notes(link)[0]


# --- Agreement ----------------------------------------------------------------------------------


def test_openproject_catching_up_with_fieldhook_is_agreement(openproject, webhook, link):
    changed_here(link, IN_PROGRESS)

    outcome = arrives(openproject, "In progress")

    assert (outcome, reloaded(link).base_status, notes(link)) == (Outcome.UNCHANGED, "In Progress", [])
    assert announced_to(webhook) == ["In Progress"]


def test_a_poll_that_finds_nothing_new_writes_nothing(fake_openproject, openproject, link, django_assert_num_queries):
    fake_openproject.add_work_package(subject="RMA-1: x")
    ExternalLink.objects.filter(pk=link.pk).update(external_id="1")
    integration_poll(integration=openproject)  # records what OpenProject says

    before = reloaded(link).updated_at
    with django_assert_num_queries(3):  # links, work items, the poll's result
        result = integration_poll(integration=openproject)

    assert result == "Checked 1 linked work package: 0 updated, 1 unchanged."
    assert reloaded(link).updated_at == before


# --- The base, recorded by deliveries -----------------------------------------------------------


def deliver_latest(integration: TenantIntegration, event_type: str) -> IntegrationSync:
    sync = IntegrationSync.objects.filter(integration=integration, event__event_type=event_type).latest("id")
    sync_deliver(sync_id=sync.pk)
    sync.refresh_from_db()
    return sync


def test_a_created_work_package_agrees_on_the_status_the_event_carried_not_a_later_one(
    fake_openproject, tenant, openproject
):
    workitem = WorkItemFactory(tenant=tenant)
    services.workitem_update(workitem=workitem, status=IN_PROGRESS)  # not sent yet

    assert deliver_latest(openproject, EventType.WORKITEM_CREATED).status == "synced"

    assert ExternalLink.objects.get(integration=openproject, object_id=workitem.pk).base_status == "New"


def test_a_status_change_that_reached_openproject_becomes_the_base(fake_openproject, tenant, openproject):
    workitem = WorkItemFactory(tenant=tenant)
    deliver_latest(openproject, EventType.WORKITEM_CREATED)
    services.workitem_update(workitem=workitem, status=CLOSED)

    assert deliver_latest(openproject, STATUS_CHANGED).status == "synced"

    assert ExternalLink.objects.get(integration=openproject, object_id=workitem.pk).base_status == "Closed"


def test_a_status_change_openproject_refused_leaves_the_base(fake_openproject, tenant, openproject):
    workitem = WorkItemFactory(tenant=tenant)
    deliver_latest(openproject, EventType.WORKITEM_CREATED)
    services.workitem_update(workitem=workitem, status=WorkItem.Status.AWAITING_PARTS)  # not mapped: fails

    assert deliver_latest(openproject, STATUS_CHANGED).status == "failed"

    assert ExternalLink.objects.get(integration=openproject, object_id=workitem.pk).base_status == "New"


def test_kinds_that_report_no_statuses_keep_no_base(link, webhook):
    other = webhook.links.create(content_object=link.content_object, external_id="thread-1")

    link_base_record(
        integration=webhook,
        content_type_id=other.content_type_id,
        object_id=other.object_id,
        event_type=STATUS_CHANGED,
        payload={"workitem": {"status": "Closed"}},
    )

    assert (reloaded(other).base_status, reloaded(link).base_status) == ("", "New")
