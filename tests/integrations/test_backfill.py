"""Backfill: the tenant's existing open work items reach an integration added (or activated)
after them, through the outbox in batches, each once — from a Celery task chain or from
`manage.py backfill` with a progress bar."""

import io

import pytest
from django.core.management import CommandError, call_command

from integrations import events, services
from integrations.models import IntegrationSync
from tests.factories import TenantIntegrationFactory, WorkItemFactory
from workitems.models import WorkItem


@pytest.fixture
def items(tenant):
    """Three open work items, one closed, one cancelled; made before any integration."""
    return {
        "open": [WorkItemFactory(tenant=tenant) for _ in range(3)],
        "closed": WorkItemFactory(tenant=tenant, status=WorkItem.Status.CLOSED),
        "cancelled": WorkItemFactory(tenant=tenant, status=WorkItem.Status.CANCELLED),
    }


@pytest.fixture
def late(tenant):
    """An integration added after the work items, inactive so that nothing is delivered."""
    return TenantIntegrationFactory(tenant=tenant, is_active=False)


def sent_to(integration) -> list[int]:
    return sorted(
        IntegrationSync.objects.filter(integration=integration, event__event_type="workitem_created").values_list(
            "object_id", flat=True
        )
    )


def test_a_task_chain_sends_every_open_workitem_in_batches(late, items, settings, django_capture_on_commit_callbacks):
    settings.BACKFILL_BATCH_SIZE = 2

    with django_capture_on_commit_callbacks(execute=True):
        services.integration_backfill_start(integration=late)

    assert sent_to(late) == sorted(w.pk for w in items["open"])


def test_a_batch_is_one_transaction_of_at_most_the_batch_size(late, items, settings):
    settings.BACKFILL_BATCH_SIZE = 2

    first = events.integration_backfill_batch(integration=late)
    second = events.integration_backfill_batch(integration=late, after_id=first.next_after_id)

    assert (first.scanned, first.sent, first.next_after_id) == (2, 2, items["open"][1].pk)
    assert (second.scanned, second.sent, second.next_after_id) == (1, 1, None)


def test_a_workitem_the_integration_has_is_not_sent_again(late, items):
    events.integration_backfill_batch(integration=late)

    again = events.integration_backfill_batch(integration=late)

    assert (again.scanned, again.sent) == (3, 0)
    assert len(sent_to(late)) == 3


def test_each_workitem_is_its_own_event(late, items):
    events.integration_backfill_batch(integration=late)

    assert IntegrationSync.objects.values("event__event_id").distinct().count() == 3


def test_other_tenants_workitems_are_never_sent(late, items, other_tenant):
    WorkItemFactory(tenant=other_tenant)

    events.integration_backfill_batch(integration=late)

    assert len(sent_to(late)) == 3


def test_statuses_and_since_narrow_the_backfill(late, items, tenant):
    old_closed = WorkItemFactory(tenant=tenant, status=WorkItem.Status.CLOSED, created_date="2020-01-01T00:00:00Z")

    events.integration_backfill_batch(integration=late, statuses=["Closed"])

    assert sent_to(late) == sorted([items["closed"].pk, old_closed.pk])


def test_a_deleted_integration_ends_the_chain(late, items):
    late_id = late.pk
    late.delete()

    assert services.integration_backfill_continue(integration_id=late_id, since=None, statuses=None, after_id=0) == 0


def test_the_command_sends_with_a_progress_bar_and_a_summary(late, items):
    out, err = io.StringIO(), io.StringIO()

    call_command("backfill", str(late.pk), stdout=out, stderr=err)

    assert len(sent_to(late)) == 3
    assert "Queued 3 of 3 work item(s)" in out.getvalue()
    assert "inactive" in out.getvalue()


def test_the_command_takes_a_uuid_statuses_and_since(late, items, tenant):
    WorkItemFactory(tenant=tenant, status=WorkItem.Status.CLOSED, created_date="2020-01-01T00:00:00Z")
    out = io.StringIO()

    call_command(
        "backfill", str(late.uuid), "--status", "Closed", "--since", "2021-01-01", stdout=out, stderr=io.StringIO()
    )

    assert sent_to(late) == [items["closed"].pk]


def test_the_command_run_again_queues_nothing_new(late, items):
    call_command("backfill", str(late.pk), stdout=io.StringIO(), stderr=io.StringIO())
    out = io.StringIO()

    call_command("backfill", str(late.pk), stdout=out, stderr=io.StringIO())

    assert "Queued 0 of 3" in out.getvalue()
    assert len(sent_to(late)) == 3


@pytest.mark.parametrize(("args", "message"), [(["999999"], "No integration"), (["abc"], "No integration")])
def test_the_command_refuses_an_unknown_integration(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("backfill", *args)


def test_the_command_refuses_a_bad_date(late):
    with pytest.raises(CommandError, match="--since"):
        call_command("backfill", str(late.pk), "--since", "last week")


def test_the_command_says_when_nothing_matches(late):
    out = io.StringIO()

    call_command("backfill", str(late.pk), stdout=out)

    assert "No matching work items" in out.getvalue()
