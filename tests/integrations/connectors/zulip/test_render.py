"""What a Zulip message says: values that cannot mention or format, a topic on one line
within Zulip's length, no 'None' anywhere."""

from integrations.connectors.zulip.render import topic, zulip_content

WORKITEM = {
    "id": 7,
    "reference_id": "RMA-7",
    "description": "Tell @**all** about [this](https://evil.example)",
    "status": "New",
    "priority": "High",
    "type": "Quote",
    "customer": {"id": 1, "name": "Ana_Silva", "email": ""},
    "technician": None,
    "due_date": None,
}


def test_values_cannot_mention_everyone_or_add_links():
    content = zulip_content({"event_type": "workitem_created", "workitem": WORKITEM})

    assert "> Tell @\\*\\*all\\*\\* about \\[this\\](https://evil.example)" in content
    assert "- **Customer:** Ana\\_Silva" in content


def test_missing_values_show_a_dash_never_none():
    content = zulip_content({"event_type": "workitem_created", "workitem": {**WORKITEM, "description": ""}})

    assert "None" not in content
    assert "- **Technician:** —" in content
    assert ">" not in content.split("\n")[1]


def test_a_change_from_nothing_shows_a_dash():
    payload = {
        "event_type": "workitem_updated",
        "workitem": WORKITEM,
        "changes": {"due_date": {"old": None, "new": "2026-05-01T10:00:00Z"}},
    }

    assert zulip_content(payload).split("\n")[:2] == ["**Updated:**", "- **Due date:** — → 2026-05-01T10:00:00Z"]


def test_the_topic_is_one_line_without_a_dangling_colon():
    assert topic("{reference_id}: {description}", {**WORKITEM, "description": "Cracked\n\n screen"}) == (
        "RMA-7: Cracked screen"
    )
    assert topic("{reference_id}: {description}", {**WORKITEM, "description": ""}) == "RMA-7"


def test_the_topic_takes_every_placeholder():
    template = "{reference_id} {description} {customer} {status} {priority} {type}"

    assert topic(template, {**WORKITEM, "description": "Screen"}) == "RMA-7 Screen Ana_Silva New High Quote"
