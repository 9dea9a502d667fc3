"""What a Slack message says: values escaped so they cannot mention or format, texts within
Block Kit's limits, no 'None' anywhere, and only the status change into a closing status
marked done."""

from integrations.connectors.slack.render import slack_message
from integrations.connectors.text import closes
from tests.fakes.slack import message_problems

WORKITEM = {
    "id": 7,
    "reference_id": "RMA-7",
    "description": "Screen <!channel> & keyboard\nboth broken",
    "status": "In Progress",
    "priority": "High",
    "customer": None,
    "technician": None,
    "due_date": None,
}


def payload(event_type="workitem_created", **extra):
    return {"event_type": event_type, "workitem": WORKITEM, **extra}


def test_values_are_escaped_so_they_cannot_mention_anyone():
    message = slack_message(payload())

    assert message["text"] == "RMA-7: Screen &lt;!channel&gt; &amp; keyboard both broken — new work item"
    assert "<!channel>" not in str(message["blocks"][1:])


def test_the_header_is_one_line_within_blocks_limit():
    long = {**WORKITEM, "description": "word " * 100}

    header = slack_message({"event_type": "workitem_created", "workitem": long})["blocks"][0]["text"]["text"]

    assert len(header) == 150
    assert header.endswith("…")
    assert "\n" not in header


def test_missing_values_show_a_dash_never_none():
    message = slack_message(payload())

    assert "None" not in str(message)
    assert {"type": "mrkdwn", "text": "*Customer*\n—"} in message["blocks"][2]["fields"]


def test_every_message_passes_the_block_kit_checks():
    changes = {"status": {"old": "New", "new": "Closed"}, "comments": {"old": None, "new": "x" * 5000}}
    messages = [
        slack_message(payload()),
        slack_message(payload("workitem_status_changed", changes={"status": changes["status"]}), in_thread=True),
        slack_message(payload("workitem_updated", changes=changes)),
        slack_message({"event_type": "integration_test", "message": "Test event from Fieldhook."}),
    ]

    assert [message_problems(message) for message in messages] == [[], [], [], []]


def test_only_a_change_into_a_closing_status_closes():
    def change(old, new):
        return {"changes": {"status": {"old": old, "new": new}}}

    assert closes(change("Ready for Pickup", "Closed"))
    assert closes(change("New", "Cancelled"))
    assert not closes(change("Closed", "In Progress"))
    assert not closes({"changes": {"priority": {"old": "Low", "new": "High"}}})
    assert not closes({})
