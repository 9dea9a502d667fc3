"""Zulip through the real engine against the fake Zulip: a topic per work item, ✅ on its
first message when it closes, the channel created when missing, Zulip's error codes mapped
to what Fieldhook records, its rate-limit headers fed to the limiter, and no message posted
twice when a delivery is retried after a lost answer."""

import base64
import datetime
import time

import pytest
from django.conf import settings
from django.utils import timezone

from integrations.engine import resilience
from integrations.models import EventType
from integrations.services import integration_send_test_event, integration_test_connection
from tests.factories import CustomerFactory, WorkItemFactory
from tests.fakes.zulip import API_KEY, BOT_EMAIL, CHANNEL, SITE_URL
from tests.integrations.connectors.delivery import created, deliver, last_attempt, link_of, make_due
from workitems import services
from workitems.models import WorkItem, WorkItemNote

SEND = "/messages"
REACT = r"/messages/\d+/reactions"


def test_a_new_work_item_opens_its_topic_with_the_full_record(fake_zulip, zulip_integration, tenant):
    customer = CustomerFactory(tenant=tenant, name="Ana Silva", email="ana@example.com")
    workitem = WorkItemFactory(tenant=tenant, description="Cracked screen\nand a loose hinge", customer=customer)

    sync = deliver(zulip_integration, EventType.WORKITEM_CREATED)

    assert sync.status == "synced"
    (message,) = fake_zulip.messages
    assert (message["channel"], message["topic"]) == (CHANNEL, "RMA-1: Cracked screen and a loose hinge")
    url = f"{settings.FIELDHOOK_BASE_URL}/admin/workitems/workitem/{workitem.pk}/change/"
    assert message["content"].split("\n") == [
        "**New work item RMA-1**",
        "> Cracked screen",
        "> and a loose hinge",
        "",
        "- **Customer:** Ana Silva (ana@example.com)",
        "- **Status:** New",
        "- **Priority:** Standard",
        "- **Type:** Chargeable Repair",
        "- **Estimated price:** 150.00",
        "- **Due date:** —",
        "- **Technician:** —",
        "",
        f"[Open RMA-1 in Fieldhook]({url})",
    ]


def test_the_message_is_a_form_with_basic_auth_and_a_json_encoded_channel(fake_zulip, zulip_integration):
    WorkItemFactory(tenant=zulip_integration.tenant, description="Cracked screen")

    deliver(zulip_integration, EventType.WORKITEM_CREATED)

    (request,) = fake_zulip.calls("POST", SEND)
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(f"{BOT_EMAIL}:{API_KEY}".encode()).decode()
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert {k: v for k, v in request.form().items() if k != "content"} == {
        "type": "stream",
        "to": f'"{CHANNEL}"',
        "topic": "RMA-1: Cracked screen",
    }


def test_the_topic_is_linked_with_its_first_message(fake_zulip, zulip_integration):
    workitem = WorkItemFactory(tenant=zulip_integration.tenant, description="Cracked screen")

    sync = deliver(zulip_integration, EventType.WORKITEM_CREATED)

    (message,) = fake_zulip.messages
    url = f"{SITE_URL}/#narrow/id/{message['id']}"
    assert (sync.external_id, sync.external_url) == (str(message["id"]), url)
    link = link_of(zulip_integration, workitem)
    assert link.details == {"channel": CHANNEL, "topic": "RMA-1: Cracked screen"}
    note = WorkItemNote.objects.filter(workitem=workitem, kind=WorkItemNote.Kind.SYSTEM).get()
    assert note.body == f"Sent workitem_created to Zulip ({url})."


def test_later_events_go_to_the_same_topic(fake_zulip, zulip_integration):
    workitem = created(zulip_integration, description="Cracked screen")
    services.workitem_update(workitem=workitem, status=WorkItem.Status.IN_PROGRESS)
    deliver(zulip_integration, EventType.WORKITEM_STATUS_CHANGED)
    services.workitem_update(workitem=workitem, description="Cracked screen, replaced", comments="Call first")

    sync = deliver(zulip_integration, EventType.WORKITEM_UPDATED)

    assert sync.status == "synced"
    assert len(fake_zulip.in_topic(CHANNEL, "RMA-1: Cracked screen")) == 3
    update = fake_zulip.messages[-1]["content"].split("\n")
    link = f"[Open RMA-1 in Fieldhook]({settings.FIELDHOOK_BASE_URL}/admin/workitems/workitem/{workitem.pk}/change/)"
    assert (update[0], update[-1]) == ("**Updated:**", link)
    assert sorted(update[1:-1]) == [
        "- **Comments:** — → Call first",
        "- **Description:** Cracked screen → Cracked screen, replaced",
    ]


def test_a_status_change_reads_old_to_new(fake_zulip, zulip_integration):
    workitem = created(zulip_integration)
    services.workitem_update(workitem=workitem, status=WorkItem.Status.READY_FOR_PICKUP)

    sync = deliver(zulip_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert sync.status == "synced"
    assert fake_zulip.messages[-1]["content"].split("\n")[0] == "**Status:** New → Ready for Pickup"
    assert fake_zulip.reactions == {}


def test_a_closing_status_adds_a_check_to_the_first_message(fake_zulip, zulip_integration):
    workitem = created(zulip_integration)
    first = fake_zulip.messages[0]
    services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED)

    sync = deliver(zulip_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert sync.status == "synced"
    assert fake_zulip.reactions == {first["id"]: ["check"]}
    assert fake_zulip.calls("POST", REACT)[0].form() == {"emoji_name": "check"}
    assert fake_zulip.messages[-1]["content"].startswith(":check: **Status:** New → Closed")


def test_a_check_that_is_already_there_counts_as_done(fake_zulip, zulip_integration):
    workitem = created(zulip_integration)
    fake_zulip.reactions[fake_zulip.messages[0]["id"]] = ["check"]
    services.workitem_update(workitem=workitem, status=WorkItem.Status.CANCELLED)

    sync = deliver(zulip_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert sync.status == "synced"
    assert len(fake_zulip.messages) == 2


def test_a_long_topic_is_cut_to_zulips_sixty_characters(fake_zulip, zulip_integration):
    WorkItemFactory(tenant=zulip_integration.tenant, description="A very long description " * 5)

    deliver(zulip_integration, EventType.WORKITEM_CREATED)

    topic = fake_zulip.messages[0]["topic"]
    assert len(topic) == 60
    assert topic.startswith("RMA-1: A very long description A very")
    assert topic.endswith("…")


def test_the_topic_follows_the_template(fake_zulip, zulip_integration, tenant):
    zulip_integration.config = {**zulip_integration.config, "topic_template": "{customer} · {reference_id}"}
    zulip_integration.save()
    WorkItemFactory(tenant=tenant, customer=CustomerFactory(tenant=tenant, name="Ana Silva"))

    deliver(zulip_integration, EventType.WORKITEM_CREATED)

    assert fake_zulip.messages[0]["topic"] == "Ana Silva · RMA-1"


def test_a_stored_template_with_an_unknown_placeholder_fails_as_a_configuration_error(fake_zulip, zulip_integration):
    zulip_integration.config = {**zulip_integration.config, "topic_template": "{workitem.__class__}"}
    zulip_integration.save()
    WorkItemFactory(tenant=zulip_integration.tenant)

    sync = deliver(zulip_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, last_attempt(sync).error_class) == ("failed", "config")
    assert sync.last_error.startswith(
        "The Zulip topic template '{workitem.__class__}' cannot be used: Unknown placeholder"
    )
    assert fake_zulip.requests == []


# --- The channel ---------------------------------------------------------------------------------


def test_a_missing_channel_is_created_then_posted_to(fake_zulip, zulip_integration):
    del fake_zulip.channels[CHANNEL]
    WorkItemFactory(tenant=zulip_integration.tenant)

    sync = deliver(zulip_integration, EventType.WORKITEM_CREATED)

    assert sync.status == "synced"
    (subscribe,) = fake_zulip.calls("POST", "/users/me/subscriptions")
    assert subscribe.form() == {
        "subscriptions": '[{"name": "repairs", "description": "Work items from Fieldhook, one topic each."}]'
    }
    assert BOT_EMAIL in fake_zulip.channels[CHANNEL]["subscribers"]
    assert len(fake_zulip.messages) == 1


def test_a_missing_channel_fails_when_it_may_not_be_created(fake_zulip, zulip_integration):
    zulip_integration.config = {**zulip_integration.config, "create_channel": False}
    zulip_integration.save()
    del fake_zulip.channels[CHANNEL]
    WorkItemFactory(tenant=zulip_integration.tenant)

    sync = deliver(zulip_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, last_attempt(sync).error_class, sync.last_status_code) == ("failed", "http_4xx", 400)
    assert sync.last_error == (
        "Zulip refused the message (STREAM_DOES_NOT_EXIST: Channel 'repairs' does not exist): create the channel "
        "in Zulip, or tick 'Create the channel if missing'."
    )
    assert fake_zulip.calls("POST", "/users/me/subscriptions") == []


def test_a_bot_that_may_not_create_channels_fails_with_zulips_message(fake_zulip, zulip_integration):
    fake_zulip.bots_may_create_channels = False
    del fake_zulip.channels[CHANNEL]
    WorkItemFactory(tenant=zulip_integration.tenant)

    sync = deliver(zulip_integration, EventType.WORKITEM_CREATED)

    assert sync.status == "failed"
    assert sync.last_error == "Zulip refused creating the channel (BAD_REQUEST: Insufficient permission)."


def test_a_private_channel_the_bot_is_not_in_is_refused(fake_zulip, zulip_integration):
    fake_zulip.channels[CHANNEL] = {"id": 5, "private": True, "subscribers": set()}
    WorkItemFactory(tenant=zulip_integration.tenant)

    sync = deliver(zulip_integration, EventType.WORKITEM_CREATED)

    assert sync.status == "failed"
    assert "Not authorized to send to channel 'repairs'" in sync.last_error


def test_later_messages_stay_in_the_topics_channel_when_the_setting_changes(fake_zulip, zulip_integration):
    workitem = created(zulip_integration)
    zulip_integration.config = {**zulip_integration.config, "channel": "elsewhere"}
    zulip_integration.save()
    services.workitem_update(workitem=workitem, status=WorkItem.Status.IN_PROGRESS)

    deliver(zulip_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert [m["channel"] for m in fake_zulip.messages] == [CHANNEL, CHANNEL]


# --- Errors ----------------------------------------------------------------------------------------


def test_a_wrong_api_key_fails_at_once_as_an_auth_error(fake_zulip, zulip_integration):
    zulip_integration.secrets = {"api_key": "wrong-key-0000"}
    zulip_integration.save()
    WorkItemFactory(tenant=zulip_integration.tenant)

    sync = deliver(zulip_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, last_attempt(sync).error_class, sync.last_status_code) == ("failed", "auth", 401)
    assert sync.last_error == (
        "Zulip refused the message (INVALID_API_KEY: Invalid API key): check the bot email and API key "
        "(Personal settings › Bots)."
    )
    assert "wrong-key-0000" not in sync.last_error + last_attempt(sync).response_excerpt


@pytest.mark.parametrize(
    ("code", "advice"), [("USER_DEACTIVATED", "reactivate it"), ("REALM_DEACTIVATED", "deactivated")]
)
def test_a_deactivated_bot_or_organization_fails_at_once(fake_zulip, zulip_integration, code, advice):
    fake_zulip.fail_next("POST", SEND, status=401, code=code)
    WorkItemFactory(tenant=zulip_integration.tenant)

    sync = deliver(zulip_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, last_attempt(sync).error_class) == ("failed", "auth")
    assert code in sync.last_error
    assert advice in sync.last_error


def test_a_bad_request_fails_at_once_with_zulips_code(fake_zulip, zulip_integration):
    fake_zulip.fail_next("POST", SEND, status=400, code="BAD_REQUEST")
    WorkItemFactory(tenant=zulip_integration.tenant)

    sync = deliver(zulip_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.attempts) == ("failed", 1)
    assert sync.last_error == "Zulip refused the message (BAD_REQUEST: Injected by the test.)."


def test_a_rate_limit_hit_is_retried_no_sooner_than_its_retry_after(fake_zulip, zulip_integration):
    fake_zulip.rate_limit = 1
    fake_zulip.window = [time.time()]
    WorkItemFactory(tenant=zulip_integration.tenant)

    before = timezone.now()
    sync = deliver(zulip_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, last_attempt(sync).error_class, sync.last_status_code) == ("pending", "http_429", 429)
    assert sync.next_attempt_at >= before + datetime.timedelta(seconds=59)
    assert "(RATE_LIMIT_HIT: API usage exceeded rate limit); it is retried" in sync.last_error
    assert fake_zulip.messages == []


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_is_retried(fake_zulip, zulip_integration, status):
    fake_zulip.fail_next("POST", SEND, status=status, code="INTERNAL_ERROR")
    WorkItemFactory(tenant=zulip_integration.tenant)

    sync = deliver(zulip_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, last_attempt(sync).error_class) == ("pending", "http_5xx")


def test_a_spent_quota_pauses_the_integration_until_zulips_reset(fake_zulip, zulip_integration):
    fake_zulip.rate_limit = 1
    WorkItemFactory(tenant=zulip_integration.tenant)

    sync = deliver(zulip_integration, EventType.WORKITEM_CREATED)

    assert sync.status == "synced"
    assert resilience.rate_limit_wait(zulip_integration) > 50


def test_a_quota_with_room_left_does_not_pause(fake_zulip, zulip_integration):
    WorkItemFactory(tenant=zulip_integration.tenant)

    deliver(zulip_integration, EventType.WORKITEM_CREATED)

    assert resilience.rate_limit_wait(zulip_integration) == 0


# --- Retries after a lost answer --------------------------------------------------------------------


def test_a_first_message_whose_answer_was_lost_is_found_not_posted_again(fake_zulip, zulip_integration):
    fake_zulip.lose_answer_next("POST", SEND)
    workitem = WorkItemFactory(tenant=zulip_integration.tenant)
    first = deliver(zulip_integration, EventType.WORKITEM_CREATED)
    assert (first.status, last_attempt(first).error_class) == ("pending", "timeout")
    make_due(first)

    sync = deliver(zulip_integration, EventType.WORKITEM_CREATED)

    (message,) = fake_zulip.messages
    assert (sync.status, sync.external_id) == ("synced", str(message["id"]))
    assert link_of(zulip_integration, workitem).external_id == str(message["id"])
    (search,) = fake_zulip.calls("GET", SEND)
    assert search.query["apply_markdown"] == "false"


def test_a_retry_that_finds_nothing_posts(fake_zulip, zulip_integration):
    fake_zulip.fail_next("POST", SEND, status=503, code="INTERNAL_ERROR")
    WorkItemFactory(tenant=zulip_integration.tenant)
    make_due(deliver(zulip_integration, EventType.WORKITEM_CREATED))

    sync = deliver(zulip_integration, EventType.WORKITEM_CREATED)

    assert sync.status == "synced"
    assert len(fake_zulip.messages) == 1


def test_a_retry_into_a_channel_that_is_still_missing_creates_it(fake_zulip, zulip_integration):
    del fake_zulip.channels[CHANNEL]
    fake_zulip.fail_next("POST", "/users/me/subscriptions", status=502, code="INTERNAL_ERROR")
    WorkItemFactory(tenant=zulip_integration.tenant)
    make_due(deliver(zulip_integration, EventType.WORKITEM_CREATED))

    sync = deliver(zulip_integration, EventType.WORKITEM_CREATED)

    assert sync.status == "synced"
    assert len(fake_zulip.messages) == 1


def test_a_failed_check_is_retried_without_repeating_the_message(fake_zulip, zulip_integration):
    workitem = created(zulip_integration)
    services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED)
    fake_zulip.fail_next("POST", REACT, status=502, code="INTERNAL_ERROR")
    make_due(deliver(zulip_integration, EventType.WORKITEM_STATUS_CHANGED))

    sync = deliver(zulip_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert sync.status == "synced"
    assert len(fake_zulip.messages) == 2
    assert fake_zulip.reactions == {fake_zulip.messages[0]["id"]: ["check"]}


# --- Test event and connection test -----------------------------------------------------------------


def test_the_test_event_posts_in_a_test_topic_and_links_nothing(fake_zulip, zulip_integration):
    sync = integration_send_test_event(integration=zulip_integration)
    deliver(zulip_integration, EventType.INTEGRATION_TEST)

    sync.refresh_from_db()
    assert (sync.status, sync.external_id) == ("synced", "")
    (message,) = fake_zulip.messages
    assert message["topic"] == "Fieldhook test"
    assert "Test event from Fieldhook for integration 'Zulip'." in message["content"]


def test_the_connection_test_names_the_bot_and_the_channel(fake_zulip, zulip_integration):
    ok, message = integration_test_connection(integration=zulip_integration)

    assert (ok, message) == (
        True,
        f"Connected to {SITE_URL} as Fieldhook ({BOT_EMAIL}); channel 'repairs' found.",
    )
    assert fake_zulip.calls("POST", SEND) == []


def test_the_connection_test_says_a_missing_channel_will_be_created(fake_zulip, zulip_integration):
    del fake_zulip.channels[CHANNEL]

    ok, message = integration_test_connection(integration=zulip_integration)

    assert ok
    assert message.endswith("channel 'repairs' does not exist yet: the first message will create it.")
    assert CHANNEL not in fake_zulip.channels


def test_the_connection_test_fails_on_a_missing_channel_it_may_not_create(fake_zulip, zulip_integration):
    zulip_integration.config = {**zulip_integration.config, "create_channel": False}
    zulip_integration.save()
    del fake_zulip.channels[CHANNEL]

    ok, message = integration_test_connection(integration=zulip_integration)

    assert not ok
    assert "channel 'repairs' does not exist or the bot cannot see it" in message


def test_the_connection_test_reports_a_wrong_key(fake_zulip, zulip_integration):
    zulip_integration.secrets = {"api_key": "wrong-key-0000"}
    zulip_integration.save()

    ok, message = integration_test_connection(integration=zulip_integration)

    assert (ok, message) == (
        False,
        "Zulip refused the bot's profile (INVALID_API_KEY: Invalid API key): check the bot email and API key "
        "(Personal settings › Bots).",
    )
