"""Status commands from Zulip, the parts that need no database: reading an outgoing-webhook
call, its token, the statuses people type, and the bot's replies."""

import pytest

from integrations.connectors.base import InboundRejected
from integrations.connectors.zulip.inbound import (
    Command,
    call_verified,
    command_parse,
    outgoing_call,
    reply_body,
    reply_help,
    reply_status_changed,
    reply_unchanged,
    reply_unknown_reference,
    reply_unknown_status,
    status_match,
    token_valid,
)
from tests.fakes.zulip import OUTGOING_TOKEN, outgoing_webhook_call


def parse(data: str) -> Command:
    return command_parse(outgoing_call(outgoing_webhook_call(data)))


@pytest.mark.parametrize(
    "data",
    [
        "@**Fieldhook** RMA-123 status Ready for Pickup",
        "@**Fieldhook|27** RMA-123 status Ready for Pickup",
        "@_**Fieldhook** rma-123 status ready for pickup",
        "@fieldhook RMA-123 ready-for-pickup",
        "@Fieldhook RMA-123 → Ready_for_Pickup.",
        "please @**Fieldhook** set RMA-123 to ready",
        "RMA-123 status Ready for Pickup",
    ],
)
def test_a_status_command_is_read_however_it_is_typed(data):
    command = parse(data)

    assert (command.action, command.reference_id) == ("status", "RMA-123")
    assert status_match(command.status) == "Ready for Pickup"


@pytest.mark.parametrize("data", ["@**Fieldhook**", "@**Fieldhook** help", "@fieldhook ?"])
def test_a_bare_mention_or_help_asks_for_help(data):
    assert parse(data) == Command("help")


def test_an_unknown_status_is_explained_with_the_statuses():
    command = parse("@**Fieldhook** RMA-123 status Shipped")

    assert status_match(command.status) is None
    assert reply_unknown_status(command.status) == (
        "**Shipped** is not a status I know. Use one of: New, In Progress, Awaiting Parts, Ready for Pickup, "
        "Closed, Cancelled."
    )


def test_an_ambiguous_start_of_a_status_is_not_guessed():
    assert status_match("c") is None
    assert status_match("clo") == "Closed"
    assert status_match("IN PROGRESS") == "In Progress"


def test_a_missing_status_says_how_to_write_one():
    assert parse("@**Fieldhook** RMA-9").problem == (
        "Which status should **RMA-9** get? For example: `RMA-9 status Ready for Pickup`."
    )


def test_a_message_without_a_reference_gets_the_help_with_the_bots_name():
    problem = parse("@**Fieldhook** close the *last* one").problem

    assert problem.startswith("I did not understand “close the \\*last\\* one”. I change the status of a work item.")
    assert "`@**Fieldhook** RMA-123 status Ready for Pickup`" in problem


def test_a_call_that_is_not_zulips_outgoing_webhook_is_refused():
    with pytest.raises(InboundRejected, match="choose the Zulip format"):
        outgoing_call({"text": "RMA-1 closed", "token": OUTGOING_TOKEN})


@pytest.mark.parametrize(
    ("body", "verified"),
    [
        (b'{"token": "outgoing-token-7c1e", "data": "help"}', True),
        (b'{"token": "outgoing-token-7c1f", "data": "help"}', False),
        (b'{"data": "help"}', False),
        (b'["outgoing-token-7c1e"]', False),
        (b"token=outgoing-token-7c1e", False),
    ],
)
def test_a_call_is_verified_by_the_token_in_its_json_body(body, verified):
    assert call_verified(body=body, configured=OUTGOING_TOKEN) is verified


@pytest.mark.parametrize(
    ("received", "configured", "valid"),
    [
        (OUTGOING_TOKEN, OUTGOING_TOKEN, True),
        ("outgoing-token-7c1f", OUTGOING_TOKEN, False),
        ("", OUTGOING_TOKEN, False),
        (None, OUTGOING_TOKEN, False),
        (OUTGOING_TOKEN, "", False),
    ],
)
def test_the_token_must_match_the_configured_one(received, configured, valid):
    assert token_valid(received=received, configured=configured) is valid


def test_the_replies_say_what_happened():
    url = "https://fieldhook.example.com/admin/workitems/workitem/3/change/"

    assert reply_status_changed(reference_id="RMA-3", old="New", new="Closed", url=url) == (
        f"✅ **RMA-3** is now **Closed** (was New). [Open RMA-3 in Fieldhook]({url})"
    )
    assert reply_unchanged(reference_id="RMA-3", status="Closed") == "**RMA-3** is already **Closed**: nothing changed."
    assert reply_unknown_reference("RMA-999").startswith("I found no work item **RMA-999**.")
    assert "Statuses: New, In Progress" in reply_help()


def test_the_answer_carries_the_reply_or_asks_for_none():
    assert reply_body("Done.") == {"content": "Done."}
    assert reply_body(None) == {"response_not_required": True}
