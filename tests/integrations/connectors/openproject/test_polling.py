"""Polling: every minute, integrations whose interval has passed ask OpenProject for the
status of their linked work packages (100 ids per request) and apply the changes."""

import datetime

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from integrations import tasks
from integrations.inbound import polling
from integrations.inbound.polling import integration_poll, integrations_due_for_poll
from integrations.models import ExternalLink, IntegrationSync, TenantIntegration
from tests.factories import TenantIntegrationFactory
from tests.fakes.openproject import API_KEY
from workitems.models import WorkItem, WorkItemNote

WORK_PACKAGES = r"/api/v3/work_packages"
ON_HOLD = {"id": 20, "name": "On hold", "isClosed": False, "isDefault": False}
CLOSED, IN_PROGRESS, REVIEW = 12, 7, 8


def ago(seconds: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(seconds=seconds)


def configure(integration: TenantIntegration, **config) -> TenantIntegration:
    integration.config = {**integration.config, **config}
    integration.save(update_fields=["config"])
    return integration


def linked_work_items(integration: TenantIntegration, fake, count: int) -> list[WorkItem]:
    """`count` work items (status New), each linked to its own work package (status New) in the fake."""
    items = WorkItem.objects.bulk_create(
        WorkItem(tenant=integration.tenant, reference_id=f"RMA-{n}", description=f"Repair {n}")
        for n in range(1, count + 1)
    )
    packages = [fake.add_work_package(subject=f"{item.reference_id}: x") for item in items]
    ExternalLink.objects.bulk_create(
        ExternalLink(integration=integration, content_object=item, external_id=str(package["id"]))
        for item, package in zip(items, packages, strict=True)
    )
    return items


def status_of(item: WorkItem) -> str:
    item.refresh_from_db()
    return item.status


def reloaded(integration: TenantIntegration) -> TenantIntegration:
    return TenantIntegration.objects.get(pk=integration.pk)


# --- A poll -------------------------------------------------------------------------------------


@pytest.fixture
def polled_250(fake_openproject, openproject_integration):
    """250 linked work packages: #5 closed, #77 in progress, #150 on hold (unmapped), #200 in
    review while its work item is already In Progress (an equivalent status); then one poll."""
    items = linked_work_items(openproject_integration, fake_openproject, 250)
    fake_openproject.statuses.append(ON_HOLD)
    WorkItem.objects.filter(pk=items[199].pk).update(status="In Progress")
    for package_id, status_id in {5: CLOSED, 77: IN_PROGRESS, 150: ON_HOLD["id"], 200: REVIEW}.items():
        fake_openproject.work_packages[package_id]["status_id"] = status_id
    result = integration_poll(integration=openproject_integration)
    return items, result


def test_a_poll_of_250_work_packages_takes_three_requests_of_100_ids(fake_openproject, polled_250):
    calls = fake_openproject.calls("GET", WORK_PACKAGES)

    id_filters = [next(f["id"]["values"] for f in call.filters if "id" in f) for call in calls]
    assert [len(values) for values in id_filters] == [100, 100, 50]
    assert sorted(int(v) for values in id_filters for v in values) == list(range(1, 251))


def test_a_poll_updates_the_work_items_whose_status_changed(polled_250):
    items, _ = polled_250

    assert [status_of(items[4]), status_of(items[76])] == ["Closed", "In Progress"]
    changed = set(WorkItem.objects.exclude(status="New").values_list("pk", flat=True))
    assert changed == {items[4].pk, items[76].pk, items[199].pk}


def test_a_poll_notes_each_change_on_its_work_item(polled_250):
    items, _ = polled_250

    notes = WorkItemNote.objects.filter(kind="system").values_list("workitem_id", "body")
    assert sorted(notes) == [
        (items[4].pk, "Status changed to Closed in OpenProject (work package #5, status 'Closed', via poll)."),
        (
            items[76].pk,
            "Status changed to In Progress in OpenProject (work package #77, status 'In progress', via poll).",
        ),
    ]


def test_a_poll_records_when_it_ran_and_what_it_found(openproject_integration, polled_250):
    before = timezone.now()
    _, result = polled_250

    integration = reloaded(openproject_integration)
    assert result == "Checked 250 linked work packages: 2 updated, 1 with unmapped status 'On hold', 247 unchanged."
    assert integration.last_poll_result == result
    assert before - datetime.timedelta(seconds=30) < integration.last_polled_at <= timezone.now()


def test_a_poll_sends_nothing_back_to_openproject(fake_openproject, openproject_integration, polled_250):
    assert not IntegrationSync.objects.filter(integration=openproject_integration).exists()
    assert [call.method for call in fake_openproject.requests] == ["GET"] * 3


def test_work_packages_openproject_no_longer_shows_are_counted(fake_openproject, openproject_integration):
    items = linked_work_items(openproject_integration, fake_openproject, 3)
    del fake_openproject.work_packages[2]

    result = integration_poll(integration=openproject_integration)

    assert result == "Checked 3 linked work packages: 0 updated, 1 not found in OpenProject, 2 unchanged."
    assert status_of(items[1]) == "New"


def test_links_of_deleted_work_items_are_not_asked_for(fake_openproject, openproject_integration):
    items = linked_work_items(openproject_integration, fake_openproject, 2)
    items[0].delete()

    result = integration_poll(integration=openproject_integration)

    assert result == "Checked 1 linked work package: 0 updated, 1 unchanged."
    (call,) = fake_openproject.calls("GET", WORK_PACKAGES)
    assert next(f["id"]["values"] for f in call.filters if "id" in f) == ["2"]


def test_a_poll_without_links_asks_nothing(fake_openproject, openproject_integration):
    result = integration_poll(integration=openproject_integration)

    assert result == "No linked work packages to check."
    assert fake_openproject.requests == []
    assert reloaded(openproject_integration).last_polled_at is not None


def test_a_poll_only_follows_its_own_links(fake_openproject, openproject_integration, tenant):
    other = TenantIntegrationFactory(
        tenant=tenant, integration_type="openproject", config=openproject_integration.config
    )
    item = linked_work_items(other, fake_openproject, 1)[0]
    fake_openproject.work_packages[1]["status_id"] = CLOSED

    assert integration_poll(integration=openproject_integration) == "No linked work packages to check."
    assert status_of(item) == "New"


# --- Failures -----------------------------------------------------------------------------------


def test_a_refused_api_key_is_recorded_not_raised(fake_openproject, openproject_integration):
    items = linked_work_items(openproject_integration, fake_openproject, 2)
    fake_openproject.work_packages[1]["status_id"] = CLOSED
    fake_openproject.api_keys = {"another-key"}

    result = integration_poll(integration=openproject_integration)

    integration = reloaded(openproject_integration)
    assert result == (
        "Poll failed: OpenProject refused our credentials (HTTP 401); check the integration's authentication "
        "settings. (Unauthenticated): You did not provide the correct credentials."
    )
    assert API_KEY not in result
    assert (integration.last_poll_result, integration.last_polled_at is not None) == (result, True)
    assert status_of(items[0]) == "New"


def test_a_server_error_on_every_try_fails_the_poll(fake_openproject, openproject_integration, read_retry_pauses):
    linked_work_items(openproject_integration, fake_openproject, 2)
    fake_openproject.fail_next("GET", WORK_PACKAGES, status=503, times=3)

    result = integration_poll(integration=openproject_integration)

    assert result.startswith("Poll failed: OpenProject failed with HTTP 503.")
    assert len(fake_openproject.calls("GET", WORK_PACKAGES)) == 3
    assert len(read_retry_pauses) == 2


def test_a_brief_server_error_is_retried_within_the_poll(fake_openproject, openproject_integration):
    items = linked_work_items(openproject_integration, fake_openproject, 2)
    fake_openproject.work_packages[1]["status_id"] = CLOSED
    fake_openproject.fail_next("GET", WORK_PACKAGES, status=503)

    result = integration_poll(integration=openproject_integration)

    assert result == "Checked 2 linked work packages: 1 updated, 1 unchanged."
    assert status_of(items[0]) == "Closed"


def test_a_status_the_work_item_cannot_take_is_counted_not_raised(fake_openproject, openproject_integration):
    configure(openproject_integration, status_map={"New": "New", "Closed": "Shipped"})
    items = linked_work_items(openproject_integration, fake_openproject, 2)
    fake_openproject.work_packages[1]["status_id"] = CLOSED

    result = integration_poll(integration=openproject_integration)

    assert result == "Checked 2 linked work packages: 0 updated, 1 refused by validation, 1 unchanged."
    assert (status_of(items[0]), WorkItemNote.objects.count()) == ("New", 0)


# --- Which integrations are due -----------------------------------------------------------------


def test_an_integration_never_polled_is_due(openproject_integration):
    assert integrations_due_for_poll() == [openproject_integration]


@pytest.mark.parametrize(("polled_seconds_ago", "due"), [(290, False), (310, True)])
def test_an_integration_is_due_once_its_interval_has_passed(openproject_integration, polled_seconds_ago, due):
    TenantIntegration.objects.filter(pk=openproject_integration.pk).update(last_polled_at=ago(polled_seconds_ago))

    assert integrations_due_for_poll() == ([openproject_integration] if due else [])


def test_each_integration_has_its_own_interval(tenant, openproject_integration):
    configure(openproject_integration, poll_interval_seconds=3600)
    minutely = TenantIntegrationFactory(
        tenant=tenant,
        integration_type="openproject",
        config={**openproject_integration.config, "poll_interval_seconds": 60},
    )
    TenantIntegration.objects.update(last_polled_at=ago(120))

    assert integrations_due_for_poll() == [minutely]


def test_polling_can_be_turned_off(openproject_integration):
    configure(openproject_integration, poll_enabled=False)

    assert integrations_due_for_poll() == []


def test_a_setting_left_empty_polls_as_the_default_says(openproject_integration):
    configure(openproject_integration, poll_enabled=None)

    assert integrations_due_for_poll() == [openproject_integration]


def test_an_inactive_integration_is_not_polled(openproject_integration):
    TenantIntegration.objects.filter(pk=openproject_integration.pk).update(is_active=False)

    assert integrations_due_for_poll() == []


def test_a_kind_that_cannot_report_statuses_is_not_polled(tenant):
    TenantIntegrationFactory(tenant=tenant, config={"url": "https://n8n.example.com/hook", "poll_enabled": True})

    assert integrations_due_for_poll() == []


# --- Tasks and schedule -------------------------------------------------------------------------


def test_the_beat_task_polls_the_due_integrations_only(fake_openproject, openproject_integration, tenant):
    resting = TenantIntegrationFactory(
        tenant=tenant, integration_type="openproject", config=openproject_integration.config, name="Resting"
    )
    TenantIntegration.objects.filter(pk=resting.pk).update(last_polled_at=ago(10), last_poll_result="earlier")
    linked_work_items(openproject_integration, fake_openproject, 1)

    assert tasks.enqueue_due_polls() == 1

    assert reloaded(openproject_integration).last_poll_result.startswith("Checked 1 linked work package")
    assert reloaded(resting).last_poll_result == "earlier"


def test_a_poll_task_for_an_integration_no_longer_due_does_nothing(fake_openproject, openproject_integration):
    linked_work_items(openproject_integration, fake_openproject, 1)

    first = tasks.poll_integration(openproject_integration.pk)
    second = tasks.poll_integration(openproject_integration.pk)

    assert (first.startswith("Checked 1"), second) == (True, "not_due")
    assert len(fake_openproject.calls("GET", WORK_PACKAGES)) == 1


def test_of_two_poll_tasks_racing_only_the_first_to_claim_polls(fake_openproject, openproject_integration, monkeypatch):
    linked_work_items(openproject_integration, fake_openproject, 1)
    checked_due = polling._poll_due

    def another_worker_claims_meanwhile(integration, now):
        due = checked_due(integration, now)
        TenantIntegration.objects.filter(pk=integration.pk).update(last_polled_at=now)
        return due

    monkeypatch.setattr(polling, "_poll_due", another_worker_claims_meanwhile)

    assert tasks.poll_integration(openproject_integration.pk) == "already_polled"
    assert fake_openproject.requests == []


def test_a_poll_task_for_a_deleted_integration_does_nothing(db):
    assert tasks.poll_integration(123456) == "not_due"


def test_the_beat_schedule_polls_every_minute(db):
    task = PeriodicTask.objects.get(task="integrations.tasks.poll_integrations")

    assert (task.interval.every, task.interval.period, task.enabled) == (60, "seconds", True)
