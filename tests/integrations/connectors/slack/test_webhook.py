"""Slack through an incoming webhook, through the real engine against the fake Slack: one
message per event, and what Fieldhook records for each of Slack's answers."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from integrations.models import EventType, ExternalLink
from integrations.services import integration_send_test_event, integration_test_connection
from tests.factories import CustomerFactory, WorkItemFactory
from tests.fakes.slack import WEBHOOK_URL
from tests.integrations.connectors.delivery import created, deliver, last_attempt
from workitems import services
from workitems.models import WorkItem, WorkItemNote

HOOK = r"/services/.*"


def posted(fake_slack) -> list[dict]:
    return [request.json() for request in fake_slack.calls(HOOK)]


def test_a_new_work_item_is_posted_as_one_block_kit_message(fake_slack, webhook_integration, tenant):
    customer = CustomerFactory(tenant=tenant, name="Ana Silva", email="ana@example.com")
    due = timezone.now() + datetime.timedelta(days=3)
    workitem = WorkItemFactory(tenant=tenant, description="Cracked screen", customer=customer, due_date=due)

    sync = deliver(webhook_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.last_status_code) == ("synced", 200)
    (message,) = posted(fake_slack)
    header, summary, facts, actions = message["blocks"]
    assert header["text"]["text"] == f"{workitem.reference_id}: Cracked screen"
    assert summary["text"]["text"] == "*New work item*"
    assert [field["text"] for field in facts["fields"]] == [
        "*Status*\nNew",
        "*Priority*\nStandard",
        "*Customer*\nAna Silva (ana@example.com)",
        "*Technician*\n—",
        f"*Due date*\n{due.date().isoformat()}",
    ]
    (button,) = actions["elements"]
    assert button["text"]["text"] == f"Open {workitem.reference_id} in Fieldhook"
    assert button["url"] == f"{settings.FIELDHOOK_BASE_URL}/admin/workitems/workitem/{workitem.pk}/change/"
    assert message["text"] == f"{workitem.reference_id}: Cracked screen — new work item"
    assert [m["channel"] for m in fake_slack.messages] == ["C0REPAIRS1"]


def test_the_webhook_is_posted_as_json_without_credentials(fake_slack, webhook_integration):
    WorkItemFactory(tenant=webhook_integration.tenant)

    deliver(webhook_integration, EventType.WORKITEM_CREATED)

    (request,) = fake_slack.calls(HOOK)
    assert request.url == WEBHOOK_URL
    assert request.headers["Content-Type"] == "application/json"
    assert "Authorization" not in request.headers


def test_a_status_change_is_posted_as_old_to_new(fake_slack, webhook_integration):
    workitem = created(webhook_integration, description="Cracked screen")
    services.workitem_update(workitem=workitem, status=WorkItem.Status.READY_FOR_PICKUP)

    sync = deliver(webhook_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert sync.status == "synced"
    message = posted(fake_slack)[-1]
    assert message["blocks"][1]["text"]["text"] == "*Status:* New → Ready for Pickup"
    assert message["text"] == f"{workitem.reference_id}: Cracked screen — Status: New → Ready for Pickup"


def test_a_closing_status_is_marked_done_in_the_message(fake_slack, webhook_integration):
    workitem = created(webhook_integration)
    services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED)

    deliver(webhook_integration, EventType.WORKITEM_STATUS_CHANGED)

    message = posted(fake_slack)[-1]
    assert message["blocks"][1]["text"]["text"] == ":white_check_mark: *Status:* New → Closed"
    assert message["text"].startswith("✅ ")


def test_an_update_lists_each_change(fake_slack, webhook_integration):
    workitem = created(webhook_integration)
    services.workitem_update(workitem=workitem, priority=WorkItem.Priority.URGENT, comments="Call first")

    deliver(webhook_integration, EventType.WORKITEM_UPDATED)

    message = posted(fake_slack)[-1]
    intro, *changes = message["blocks"][1]["text"]["text"].split("\n")
    assert intro == "*Updated*"
    assert sorted(changes) == ["• *Comments:* — → Call first", "• *Priority:* Standard → Urgent"]


def test_nothing_is_linked_since_a_webhook_cannot_thread(fake_slack, webhook_integration):
    workitem = WorkItemFactory(tenant=webhook_integration.tenant)

    sync = deliver(webhook_integration, EventType.WORKITEM_CREATED)

    assert sync.external_id == ""
    assert not ExternalLink.objects.filter(integration=webhook_integration).exists()
    notes = WorkItemNote.objects.filter(workitem=workitem, kind=WorkItemNote.Kind.SYSTEM).values_list("body", flat=True)
    assert list(notes) == ["Sent workitem_created to Slack webhook."]


@pytest.mark.parametrize(
    ("status", "error", "error_class", "advice"),
    [
        (400, "invalid_payload", "http_4xx", "Slack could not read the message"),
        (403, "invalid_token", "auth", "the webhook URL is no longer valid"),
        (403, "action_prohibited", "auth", "a workspace restriction stops this webhook"),
        (404, "no_service", "http_4xx", "the webhook was removed or its app uninstalled"),
    ],
)
def test_a_refused_post_fails_at_once_with_slacks_error(
    fake_slack, webhook_integration, status, error, error_class, advice
):
    fake_slack.fail_next(HOOK, status=status, error=error)
    WorkItemFactory(tenant=webhook_integration.tenant)

    sync = deliver(webhook_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.attempts, sync.last_status_code) == ("failed", 1, status)
    assert f"(HTTP {status} {error})" in sync.last_error
    assert advice in sync.last_error
    assert last_attempt(sync).error_class == error_class


def test_a_deleted_channel_fails_at_once(fake_slack, webhook_integration):
    del fake_slack.channels["C0REPAIRS1"]
    WorkItemFactory(tenant=webhook_integration.tenant)

    sync = deliver(webhook_integration, EventType.WORKITEM_CREATED)

    assert sync.status == "failed"
    assert sync.last_error.startswith("Slack refused the incoming webhook post (HTTP 404 channel_not_found)")


def test_an_archived_channel_fails_at_once(fake_slack, webhook_integration):
    fake_slack.channels["C0REPAIRS1"]["is_archived"] = True
    WorkItemFactory(tenant=webhook_integration.tenant)

    sync = deliver(webhook_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.last_status_code) == ("failed", 410)
    assert "(HTTP 410 channel_is_archived): the webhook's channel is archived" in sync.last_error


def test_a_429_is_retried_no_sooner_than_its_retry_after(fake_slack, webhook_integration):
    fake_slack.fail_next(HOOK, status=429, error="rate_limited", **{"Retry-After": "30"})
    WorkItemFactory(tenant=webhook_integration.tenant)

    before = timezone.now()
    sync = deliver(webhook_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.attempts) == ("pending", 1)
    assert last_attempt(sync).error_class == "http_429"
    assert sync.next_attempt_at >= before + datetime.timedelta(seconds=30)
    assert "(HTTP 429 rate_limited); it is retried" in sync.last_error


def test_a_500_is_retried(fake_slack, webhook_integration):
    fake_slack.fail_next(HOOK, status=500, error="rollup_error")
    WorkItemFactory(tenant=webhook_integration.tenant)

    sync = deliver(webhook_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, last_attempt(sync).error_class) == ("pending", "http_5xx")


def test_the_webhook_url_never_appears_in_what_is_recorded(fake_slack, webhook_integration):
    fake_slack.fail_next(HOOK, status=404, error="no_service")
    WorkItemFactory(tenant=webhook_integration.tenant)

    sync = deliver(webhook_integration, EventType.WORKITEM_CREATED)

    recorded = sync.last_error + last_attempt(sync).error + last_attempt(sync).response_excerpt
    assert "webhooksecret0001" not in recorded


def test_without_a_webhook_url_it_fails_as_a_configuration_error(fake_slack, webhook_integration):
    webhook_integration.secrets = {}
    webhook_integration.save()
    WorkItemFactory(tenant=webhook_integration.tenant)

    sync = deliver(webhook_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, last_attempt(sync).error_class) == ("failed", "config")
    assert fake_slack.requests == []


def test_the_test_event_posts_a_test_message(fake_slack, webhook_integration):
    sync = integration_send_test_event(integration=webhook_integration)
    deliver(webhook_integration, EventType.INTEGRATION_TEST)

    sync.refresh_from_db()
    assert sync.status == "synced"
    (message,) = posted(fake_slack)
    assert message["blocks"][0]["text"]["text"] == "Fieldhook test message"
    assert "Slack webhook" in message["text"]


def test_the_connection_test_says_a_webhook_cannot_be_checked_without_posting(fake_slack, webhook_integration):
    ok, message = integration_test_connection(integration=webhook_integration)

    assert ok
    assert message.startswith("An incoming webhook on hooks.slack.com is configured.")
    assert "use 'Send test event'" in message
    assert fake_slack.requests == []
