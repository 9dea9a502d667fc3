"""manage.py retry_syncs: an operator gives matching syncs a new round of attempts."""

import datetime
from io import StringIO

import pytest
import responses
from django.core.management import CommandError, call_command

from integrations.models import IntegrationSync
from tests.factories import TenantIntegrationFactory, WorkItemFactory

URL = "https://receiver.example.com/hook"


@pytest.fixture
def integration(tenant):
    return TenantIntegrationFactory(tenant=tenant, config={"url": URL})


def failed_sync(integration, *, created: str = "2024-06-01T12:00:00Z", status: str = "failed") -> IntegrationSync:
    workitem = WorkItemFactory(tenant=integration.tenant)
    IntegrationSync.objects.filter(object_id=workitem.pk).exclude(integration=integration).delete()
    sync = IntegrationSync.objects.get(object_id=workitem.pk)
    moment = datetime.datetime.fromisoformat(created)
    IntegrationSync.objects.filter(pk=sync.pk).update(status=status, attempts=8, created_at=moment)
    return sync


def retry_syncs(*args: str) -> tuple[str, str]:
    stdout, stderr = StringIO(), StringIO()
    call_command("retry_syncs", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def statuses() -> dict[int, tuple[str, int]]:
    return {
        pk: (status, attempts)
        for pk, status, attempts in IntegrationSync.objects.values_list("pk", "status", "attempts")
    }


def test_it_queues_only_the_matching_failed_syncs(tenant, integration):
    matching = failed_sync(integration)
    too_old = failed_sync(integration, created="2019-12-31T23:59:59Z")
    synced = failed_sync(integration, status="synced")
    elsewhere = failed_sync(TenantIntegrationFactory(tenant=tenant))

    retry_syncs("--status", "failed", "--integration", str(integration.pk), "--since", "2020-01-01")

    assert statuses() == {
        matching.pk: ("pending", 0),
        too_old.pk: ("failed", 8),
        synced.pk: ("synced", 8),
        elsewhere.pk: ("failed", 8),
    }


def test_it_prints_a_summary(integration):
    failed_sync(integration)
    failed_sync(integration)

    stdout, _ = retry_syncs("--status", "failed", "--integration", str(integration.pk), "--since", "2020-01-01")

    assert stdout.strip() == "Queued 2 of 2 failed sync(s) for delivery."


def test_the_queued_syncs_are_delivered(committed, integration):
    sync = failed_sync(integration)

    with responses.RequestsMock() as receiver:
        receiver.add(responses.POST, URL, json={"received": True})
        with committed():
            retry_syncs("--integration", str(integration.pk))
        (call,) = receiver.calls

    sync.refresh_from_db()
    assert (sync.status, sync.attempts) == ("synced", 1)
    assert call.request.headers["webhook-id"] == str(sync.event.event_id)


def test_pending_syncs_can_be_retried_too(integration):
    failed = failed_sync(integration)
    pending = failed_sync(integration, status="pending")

    stdout, _ = retry_syncs("--status", "pending")

    assert statuses() == {failed.pk: ("failed", 8), pending.pk: ("pending", 0)}
    assert "Queued 1 of 1 pending sync(s)" in stdout


def test_since_accepts_an_iso_datetime(integration):
    before = failed_sync(integration, created="2024-06-01T09:59:00Z")
    after = failed_sync(integration, created="2024-06-01T10:01:00Z")

    retry_syncs("--since", "2024-06-01T12:00:00+02:00")

    assert statuses() == {before.pk: ("failed", 8), after.pk: ("pending", 0)}


@pytest.mark.parametrize("since", ["yesterday", "2024-02-30", "2024-06-01T25:00:00"])
def test_a_bad_since_is_a_command_error(db, since):
    with pytest.raises(CommandError, match="--since"):
        retry_syncs("--since", since)


def test_it_says_so_when_nothing_matches(integration):
    failed_sync(integration, status="synced")

    stdout, _ = retry_syncs("--status", "failed")

    assert stdout.strip() == "No matching syncs."
    assert IntegrationSync.objects.get().status == "synced"
