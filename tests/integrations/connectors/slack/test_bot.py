"""Slack with a bot token, through the real engine against the fake Slack: a thread per work
item, ✅ when it closes, Slack's error strings mapped to what Fieldhook records, and no
message posted twice when a delivery is retried after a lost answer."""

import datetime

import pytest
from django.utils import timezone

from integrations.models import EventType
from integrations.services import integration_send_test_event, integration_test_connection
from tests.factories import WorkItemFactory
from tests.fakes.slack import BOT_TOKEN, CHANNEL_ID
from tests.integrations.connectors.delivery import created, deliver, last_attempt, link_of, make_due
from workitems import services
from workitems.models import WorkItem, WorkItemNote

POST = "/api/chat.postMessage"
REACT = "/api/reactions.add"
HISTORY_SCOPES = {"chat:write", "reactions:write", "channels:history"}


def change_status(integration, workitem, status) -> None:
    services.workitem_update(workitem=workitem, status=status)


def test_the_first_event_starts_a_thread_that_is_linked(fake_slack, bot_integration):
    workitem = WorkItemFactory(tenant=bot_integration.tenant, description="Cracked screen")

    sync = deliver(bot_integration, EventType.WORKITEM_CREATED)

    assert sync.status == "synced"
    (parent,) = fake_slack.messages
    permalink = f"https://acme.slack.com/archives/{CHANNEL_ID}/p{parent['ts'].replace('.', '')}"
    assert (sync.external_id, sync.external_url) == (parent["ts"], permalink)
    link = link_of(bot_integration, workitem)
    assert (link.external_id, link.details) == (parent["ts"], {"channel": CHANNEL_ID})
    note = WorkItemNote.objects.filter(workitem=workitem, kind=WorkItemNote.Kind.SYSTEM).get()
    assert note.body == f"Sent workitem_created to Slack bot ({permalink})."


def test_the_message_is_posted_as_json_with_the_bearer_token_and_the_event_id(fake_slack, bot_integration):
    WorkItemFactory(tenant=bot_integration.tenant, description="Cracked screen")

    sync = deliver(bot_integration, EventType.WORKITEM_CREATED)

    (request,) = fake_slack.calls(POST)
    assert request.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    body = request.json()
    assert body["channel"] == CHANNEL_ID
    assert body["metadata"] == {
        "event_type": "fieldhook_event",
        "event_payload": {"event_id": str(sync.event.event_id)},
    }
    assert (body["unfurl_links"], body["unfurl_media"]) == (False, False)
    assert body["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "RMA-1: Cracked screen", "emoji": True},
    }
    assert "thread_ts" not in body


def test_later_events_reply_in_the_thread_without_repeating_the_header(fake_slack, bot_integration):
    workitem = created(bot_integration)
    parent = fake_slack.messages[0]
    change_status(bot_integration, workitem, WorkItem.Status.IN_PROGRESS)

    sync = deliver(bot_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert (sync.status, sync.external_id) == ("synced", parent["ts"])
    reply = fake_slack.calls(POST)[-1].json()
    assert reply["thread_ts"] == parent["ts"]
    assert [block["type"] for block in reply["blocks"]] == ["section", "section", "actions"]
    assert reply["blocks"][0]["text"]["text"] == "*Status:* New → In Progress"
    assert len(fake_slack.thread(parent["ts"])) == 2
    assert fake_slack.reactions == {}


def test_a_closing_status_adds_a_check_to_the_first_message(fake_slack, bot_integration):
    workitem = created(bot_integration)
    parent = fake_slack.messages[0]
    change_status(bot_integration, workitem, WorkItem.Status.CLOSED)

    sync = deliver(bot_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert sync.status == "synced"
    assert fake_slack.reactions == {(CHANNEL_ID, parent["ts"]): ["white_check_mark"]}
    (react,) = fake_slack.calls(REACT)
    assert react.json() == {"channel": CHANNEL_ID, "name": "white_check_mark", "timestamp": parent["ts"]}
    assert fake_slack.thread(parent["ts"])[-1]["blocks"][0]["text"]["text"] == (
        ":white_check_mark: *Status:* New → Closed"
    )


def test_a_check_someone_already_added_counts_as_done(fake_slack, bot_integration):
    workitem = created(bot_integration)
    fake_slack.reactions[(CHANNEL_ID, fake_slack.messages[0]["ts"])] = ["white_check_mark"]
    change_status(bot_integration, workitem, WorkItem.Status.CANCELLED)

    sync = deliver(bot_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert sync.status == "synced"
    assert len(fake_slack.messages) == 2


def test_a_status_change_without_a_thread_starts_one_and_closes_it(fake_slack, bot_integration):
    bot_integration.event_types = [EventType.WORKITEM_STATUS_CHANGED]
    bot_integration.save()
    workitem = WorkItemFactory(tenant=bot_integration.tenant)
    change_status(bot_integration, workitem, WorkItem.Status.CLOSED)

    sync = deliver(bot_integration, EventType.WORKITEM_STATUS_CHANGED)

    (message,) = fake_slack.messages
    assert (sync.status, sync.external_id) == ("synced", message["ts"])
    assert fake_slack.reactions == {(CHANNEL_ID, message["ts"]): ["white_check_mark"]}


@pytest.mark.parametrize(
    ("error", "error_class", "advice"),
    [
        ("channel_not_found", "http_4xx", "the channel does not exist or the bot cannot see it"),
        ("is_archived", "http_4xx", "the channel is archived"),
        ("not_in_channel", "http_4xx", "invite it with /invite @your-app"),
        ("msg_too_long", "http_4xx", "longer than Slack accepts"),
        ("invalid_blocks", "http_4xx", "Slack refused the message layout"),
        ("invalid_auth", "auth", "the bot token is not valid"),
        ("not_authed", "auth", "no token reached Slack"),
        ("token_revoked", "auth", "the token was revoked"),
        ("account_inactive", "auth", "deactivated"),
    ],
)
def test_a_refusal_fails_at_once_with_slacks_error_string(fake_slack, bot_integration, error, error_class, advice):
    fake_slack.fail_next(POST, error=error)
    WorkItemFactory(tenant=bot_integration.tenant)

    sync = deliver(bot_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.attempts, sync.last_status_code) == ("failed", 1, 200)
    assert sync.last_error.startswith(f"Slack refused chat.postMessage ({error}): ")
    assert advice in sync.last_error
    assert last_attempt(sync).error_class == error_class


def test_a_missing_scope_names_the_scope_to_add(fake_slack, bot_integration):
    fake_slack.tokens[BOT_TOKEN] = {"chat:write"}
    workitem = created(bot_integration)
    change_status(bot_integration, workitem, WorkItem.Status.CLOSED)

    sync = deliver(bot_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert (sync.status, last_attempt(sync).error_class) == ("failed", "auth")
    assert "Slack refused reactions.add (missing_scope): the app lacks the reactions:write scope" in sync.last_error


def test_a_channel_that_does_not_exist_is_refused(fake_slack, bot_integration):
    bot_integration.config = {**bot_integration.config, "channel": "no-such-channel"}
    bot_integration.save()
    WorkItemFactory(tenant=bot_integration.tenant)

    sync = deliver(bot_integration, EventType.WORKITEM_CREATED)

    assert sync.status == "failed"
    assert "(channel_not_found)" in sync.last_error


def test_a_channel_given_by_name_works(fake_slack, bot_integration):
    bot_integration.config = {**bot_integration.config, "channel": "repairs"}
    bot_integration.save()
    workitem = created(bot_integration)

    assert link_of(bot_integration, workitem).details == {"channel": CHANNEL_ID}


@pytest.mark.parametrize("error", ["internal_error", "fatal_error", "service_unavailable", "team_added_to_org"])
def test_slacks_own_trouble_is_retried(fake_slack, bot_integration, error):
    fake_slack.fail_next(POST, error=error)
    WorkItemFactory(tenant=bot_integration.tenant)

    sync = deliver(bot_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, last_attempt(sync).error_class) == ("pending", "http_5xx")
    assert f"({error}); it is retried" in sync.last_error


def test_a_429_ratelimited_is_retried_no_sooner_than_its_retry_after(fake_slack, bot_integration):
    fake_slack.fail_next(POST, status=429, **{"Retry-After": "45"})
    WorkItemFactory(tenant=bot_integration.tenant)

    before = timezone.now()
    sync = deliver(bot_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, last_attempt(sync).error_class, sync.last_status_code) == ("pending", "http_429", 429)
    assert sync.next_attempt_at >= before + datetime.timedelta(seconds=45)
    assert "(HTTP 429 ratelimited); it is retried" in sync.last_error


def test_a_503_is_retried(fake_slack, bot_integration):
    fake_slack.fail_next(POST, status=503, error="service_unavailable")
    WorkItemFactory(tenant=bot_integration.tenant)

    sync = deliver(bot_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, last_attempt(sync).error_class) == ("pending", "http_5xx")


def test_the_token_never_appears_in_what_is_recorded(fake_slack, bot_integration):
    fake_slack.fail_next(POST, error="invalid_auth")
    WorkItemFactory(tenant=bot_integration.tenant)

    sync = deliver(bot_integration, EventType.WORKITEM_CREATED)

    assert BOT_TOKEN not in sync.last_error + last_attempt(sync).response_excerpt


# --- Retries after a lost answer ----------------------------------------------------------------


def test_a_first_message_whose_answer_was_lost_is_found_not_posted_again(fake_slack, bot_integration):
    fake_slack.tokens[BOT_TOKEN] = HISTORY_SCOPES
    fake_slack.lose_answer_next(POST)
    workitem = WorkItemFactory(tenant=bot_integration.tenant)
    first = deliver(bot_integration, EventType.WORKITEM_CREATED)
    assert (first.status, last_attempt(first).error_class) == ("pending", "timeout")
    make_due(first)

    sync = deliver(bot_integration, EventType.WORKITEM_CREATED)

    (message,) = fake_slack.messages
    assert (sync.status, sync.external_id) == ("synced", message["ts"])
    assert link_of(bot_integration, workitem).external_id == message["ts"]
    assert len(fake_slack.calls(POST)) == 1
    (history,) = fake_slack.calls("/api/conversations.history")
    assert history.query["include_all_metadata"] == "true"


def test_a_reply_whose_answer_was_lost_is_not_repeated(fake_slack, bot_integration):
    fake_slack.tokens[BOT_TOKEN] = HISTORY_SCOPES
    workitem = created(bot_integration)
    change_status(bot_integration, workitem, WorkItem.Status.IN_PROGRESS)
    fake_slack.lose_answer_next(POST)
    make_due(deliver(bot_integration, EventType.WORKITEM_STATUS_CHANGED))

    sync = deliver(bot_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert sync.status == "synced"
    assert len(fake_slack.thread(fake_slack.messages[0]["ts"])) == 2
    assert len(fake_slack.calls("/api/conversations.replies")) == 1


def test_a_retry_without_a_history_scope_posts_again(fake_slack, bot_integration):
    fake_slack.fail_next(POST, status=503, error="service_unavailable")
    WorkItemFactory(tenant=bot_integration.tenant)
    make_due(deliver(bot_integration, EventType.WORKITEM_CREATED))

    sync = deliver(bot_integration, EventType.WORKITEM_CREATED)

    assert sync.status == "synced"
    assert len(fake_slack.messages) == 1
    assert len(fake_slack.calls("/api/conversations.history")) == 1


def test_a_failed_check_is_retried_without_repeating_the_reply(fake_slack, bot_integration):
    workitem = created(bot_integration)
    change_status(bot_integration, workitem, WorkItem.Status.CLOSED)
    fake_slack.fail_next(REACT, error="internal_error")
    make_due(deliver(bot_integration, EventType.WORKITEM_STATUS_CHANGED))

    sync = deliver(bot_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert sync.status == "synced"
    assert len(fake_slack.thread(fake_slack.messages[0]["ts"])) == 2
    assert len(fake_slack.calls(REACT)) == 2


# --- Test event and connection test ---------------------------------------------------------------


def test_the_test_event_posts_a_message_and_links_nothing(fake_slack, bot_integration):
    sync = integration_send_test_event(integration=bot_integration)
    deliver(bot_integration, EventType.INTEGRATION_TEST)

    sync.refresh_from_db()
    assert (sync.status, sync.external_id) == ("synced", "")
    assert fake_slack.calls(POST)[0].json()["blocks"][0]["text"]["text"] == "Fieldhook test message"


def test_the_connection_test_names_the_workspace_and_the_channel(fake_slack, bot_integration):
    fake_slack.tokens[BOT_TOKEN] = {"chat:write", "reactions:write", "channels:read"}

    ok, message = integration_test_connection(integration=bot_integration)

    assert (ok, message) == (
        True,
        "Connected to Slack workspace 'Acme Repairs' as fieldhook; channel #repairs found and the bot is a member.",
    )
    assert fake_slack.calls(POST) == []


def test_the_connection_test_says_when_the_bot_must_be_invited(fake_slack, bot_integration):
    fake_slack.tokens[BOT_TOKEN] = {"chat:write", "reactions:write", "channels:read"}
    fake_slack.channels[CHANNEL_ID]["is_member"] = False

    ok, message = integration_test_connection(integration=bot_integration)

    assert ok
    assert message.endswith(
        "channel #repairs found, but the bot is not a member yet: invite it with /invite @your-app."
    )


def test_the_connection_test_without_channels_read_says_the_channel_was_not_checked(fake_slack, bot_integration):
    ok, message = integration_test_connection(integration=bot_integration)

    assert ok
    assert message.endswith(f"channel {CHANNEL_ID} not checked (the channels:read scope would let this test see it).")


def test_the_connection_test_reports_a_refused_token(fake_slack, bot_integration):
    bot_integration.secrets = {"bot_token": "xoxb-wrong"}
    bot_integration.save()

    ok, message = integration_test_connection(integration=bot_integration)

    assert not ok
    assert message.startswith("Slack refused auth.test (invalid_auth): the bot token is not valid")
