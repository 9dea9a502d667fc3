"""The sync admin: watch deliveries, find them by status, reference or event id, read the
attempts and the payload, retry and replay.

Acme's work items RMA-1, RMA-2 and RMA-3 were delivered to its webhook (200), refused
(400, a permanent failure) and not yet sent. Receivers are faked with `responses`.
"""

import html
import json
import re

import pytest
import responses
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from integrations.models import IntegrationSync, TenantIntegration
from tests.factories import TenantIntegrationFactory, WorkItemFactory
from workitems.models import WorkItem

CHANGELIST = reverse("admin:integrations_integrationsync_changelist")
RECEIVER = "https://receiver.example.com/hook"
FAILED_ERROR = "The receiver rejected the request (HTTP 400)."


def change_url(sync: IntegrationSync) -> str:
    return reverse("admin:integrations_integrationsync_change", args=[sync.pk])


def sync_of(workitem: WorkItem) -> IntegrationSync:
    return IntegrationSync.objects.get(object_id=workitem.pk, content_type__model="workitem")


def listed_pks(response) -> set[int]:
    return {sync.pk for sync in response.context["cl"].result_list}


def rows(response) -> list[dict[str, str]]:
    """The changelist's result rows as {column: cell HTML}."""
    body = response.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    cell = r'<t[dh] class="field-(\w+)[^"]*">(.*?)</t[dh]>'
    return [dict(re.findall(cell, row, re.S)) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def text(cell: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()


def row_for(response, reference_id: str) -> dict[str, str]:
    (row,) = [row for row in rows(response) if text(row["workitem_link"]) == reference_id]
    return row


def run_action(client: Client, action: str, *syncs: IntegrationSync):
    return client.post(CHANGELIST, {"action": action, "_selected_action": [s.pk for s in syncs], "index": "0"})


def shown_messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def receiver():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def integration(tenant) -> TenantIntegration:
    return TenantIntegrationFactory(tenant=tenant, name="Acme n8n", config={"url": RECEIVER, "sign": False})


@pytest.fixture
def deliver(receiver, committed):
    """Create a work item and deliver its event to a receiver answering `status`."""

    def create(tenant, *, status: int) -> WorkItem:
        receiver.post(RECEIVER, status=status)
        with committed():
            return WorkItemFactory(tenant=tenant)

    return create


@pytest.fixture
def synced(tenant, integration, deliver) -> WorkItem:
    return deliver(tenant, status=200)


@pytest.fixture
def failed(tenant, integration, deliver, synced) -> WorkItem:
    return deliver(tenant, status=400)


@pytest.fixture
def pending(tenant, integration, failed) -> WorkItem:
    return WorkItemFactory(tenant=tenant)


@pytest.fixture
def globex_failed(other_tenant, deliver) -> WorkItem:
    TenantIntegrationFactory(tenant=other_tenant, name="Globex Zapier", config={"url": RECEIVER, "sign": False})
    return deliver(other_tenant, status=400)


def test_the_fixtures_give_one_sync_per_work_item_in_each_state(synced, failed, pending):
    assert [(sync_of(w).status, sync_of(w).attempts) for w in (synced, failed, pending)] == [
        (IntegrationSync.Status.SYNCED, 1),
        (IntegrationSync.Status.FAILED, 1),
        (IntegrationSync.Status.PENDING, 0),
    ]


# --- The changelist ---------------------------------------------------------------------


def test_changelist_labels_each_sync_with_its_status(superuser_client, synced, failed, pending):
    response = superuser_client.get(CHANGELIST)

    assert response.status_code == 200
    labels = {text(row["workitem_link"]): text(row["status_label"]) for row in rows(response)}
    assert labels == {"RMA-1": "✓ Synced", "RMA-2": "✗ Failed", "RMA-3": "⚠ Pending"}


def test_changelist_shows_a_failed_syncs_target_attempts_and_error(superuser_client, failed):
    response = superuser_client.get(CHANGELIST)

    row = row_for(response, "RMA-2")
    workitem_url = reverse("admin:workitems_workitem_change", args=[failed.pk])
    assert row["workitem_link"] == f"<a href='{workitem_url}'>RMA-2</a>"
    assert {name: text(row[name]) for name in ("integration", "tenant", "event_type", "attempts", "short_error")} == {
        "integration": "Acme n8n",
        "tenant": "Acme Repairs",
        "event_type": "Work item created",
        "attempts": "1",
        "short_error": FAILED_ERROR,
    }


def test_changelist_filters_by_status(superuser_client, synced, failed, pending):
    response = superuser_client.get(CHANGELIST, {"status__exact": "failed"})

    assert response.status_code == 200
    assert listed_pks(response) == {sync_of(failed).pk}


@pytest.mark.parametrize("term", ["RMA-1", "rma-1", " RMA-1 "])
def test_changelist_finds_syncs_by_work_item_reference(superuser_client, synced, failed, pending, term):
    response = superuser_client.get(CHANGELIST, {"q": term})

    assert response.status_code == 200
    assert listed_pks(response) == {sync_of(synced).pk}


def test_changelist_finds_a_sync_by_its_event_id(superuser_client, synced, failed, pending):
    response = superuser_client.get(CHANGELIST, {"q": str(sync_of(failed).event.event_id)})

    assert response.status_code == 200
    assert listed_pks(response) == {sync_of(failed).pk}


def test_changelist_search_for_an_unknown_reference_finds_nothing(superuser_client, synced, failed):
    response = superuser_client.get(CHANGELIST, {"q": "RMA-99"})

    assert response.status_code == 200
    assert listed_pks(response) == set()


# --- The change page --------------------------------------------------------------------


def test_change_page_lists_the_attempts(superuser_client, failed):
    response = superuser_client.get(change_url(sync_of(failed)))

    assert response.status_code == 200
    (inline,) = response.context["inline_admin_formsets"]
    (attempt,) = [form.original for form in inline]
    assert (attempt.number, attempt.succeeded, attempt.status_code, attempt.error) == (1, False, 400, FAILED_ERROR)
    assert 'id="attempt_log-group"' in response.text
    assert f"<p>{FAILED_ERROR}</p>" in response.text


def test_change_page_shows_the_payload_pretty_printed(superuser_client, failed):
    sync = sync_of(failed)

    response = superuser_client.get(change_url(sync))

    pretty = html.escape(json.dumps(sync.event.payload, indent=2))
    assert "\n  &quot;event_id&quot;: " in pretty
    assert f"<pre style='white-space: pre-wrap'>{pretty}</pre>" in response.text


# --- Retry and replay -------------------------------------------------------------------


def test_retry_now_makes_a_failed_sync_pending_again(superuser_client, failed):
    sync = sync_of(failed)

    response = run_action(superuser_client, "retry_now", sync)

    assert response.status_code == 302
    assert shown_messages(response) == ["1 sync(s) queued for a new round of attempts."]
    sync.refresh_from_db()
    assert (sync.status, sync.attempts) == (IntegrationSync.Status.PENDING, 0)


def test_retry_now_delivers_a_failed_sync(superuser_client, failed, receiver, committed):
    sync = sync_of(failed)
    receiver.post(RECEIVER, status=200)

    with committed():
        run_action(superuser_client, "retry_now", sync)

    sync.refresh_from_db()
    assert (sync.status, sync.last_error) == (IntegrationSync.Status.SYNCED, "")
    assert [a.succeeded for a in sync.attempt_log.all()] == [False, True]


def test_retry_now_leaves_a_synced_sync_alone(superuser_client, synced, receiver, committed):
    sync = sync_of(synced)

    with committed():
        response = run_action(superuser_client, "retry_now", sync)

    assert shown_messages(response) == ["0 sync(s) queued for a new round of attempts."]
    assert len(receiver.calls) == 1
    assert sync.attempt_log.count() == 1


def test_replay_sends_a_synced_sync_again_with_the_same_webhook_id(superuser_client, synced, receiver, committed):
    sync = sync_of(synced)
    receiver.post(RECEIVER, status=200)

    with committed():
        response = run_action(superuser_client, "replay", sync)

    assert shown_messages(response) == ["1 sync(s) queued to be sent again with their original event id."]
    first, again = (call.request for call in receiver.calls)
    assert first.headers["webhook-id"] == again.headers["webhook-id"] == str(sync.event.event_id)
    assert again.body == first.body
    sync.refresh_from_db()
    assert sync.status == IntegrationSync.Status.SYNCED
    assert sync.attempt_log.count() == 2


def test_a_retried_failed_sync_shows_as_synced_in_the_changelist(superuser_client, failed, receiver, committed):
    receiver.post(RECEIVER, status=200)
    assert text(row_for(superuser_client.get(CHANGELIST), "RMA-2")["status_label"]) == "✗ Failed"

    with committed():
        run_action(superuser_client, "retry_now", sync_of(failed))

    row = row_for(superuser_client.get(CHANGELIST), "RMA-2")
    assert (text(row["status_label"]), text(row["short_error"])) == ("✓ Synced", "-")


# --- Tenant scoping ---------------------------------------------------------------------


def test_a_tenant_admin_sees_only_their_tenants_syncs(owner_client, synced, failed, globex_failed):
    response = owner_client.get(CHANGELIST)

    assert response.status_code == 200
    assert listed_pks(response) == {sync_of(synced).pk, sync_of(failed).pk}
    assert "Globex" not in response.text


def test_a_tenant_admin_finds_no_other_tenants_sync_by_event_id(owner_client, failed, globex_failed):
    response = owner_client.get(CHANGELIST, {"q": str(sync_of(globex_failed).event.event_id)})

    assert response.status_code == 200
    assert listed_pks(response) == set()


def test_a_tenant_admins_retry_reaches_only_their_tenants_syncs(owner_client, failed, globex_failed):
    own, foreign = sync_of(failed), sync_of(globex_failed)

    response = run_action(owner_client, "retry_now", own, foreign)

    assert shown_messages(response) == ["1 sync(s) queued for a new round of attempts."]
    own.refresh_from_db()
    foreign.refresh_from_db()
    assert (own.status, foreign.status) == (IntegrationSync.Status.PENDING, IntegrationSync.Status.FAILED)


def test_a_tenant_admin_cannot_open_another_tenants_sync(owner_client, globex_failed):
    response = owner_client.get(change_url(sync_of(globex_failed)))

    assert response.status_code == 302
    assert response.url == reverse("admin:index")


def test_only_pending_syncs_show_a_next_attempt(superuser_client, synced, pending):
    page = superuser_client.get(CHANGELIST)

    rows = {row.split("</th>")[0]: row for row in page.text.split('<th class="field-status_label')[1:]}
    synced_row = next(row for row in rows.values() if "Synced" in row)
    pending_row = next(row for row in rows.values() if "Pending" in row)
    assert '<td class="field-next_attempt">—</td>' in synced_row
    assert '<td class="field-next_attempt">—</td>' not in pending_row
