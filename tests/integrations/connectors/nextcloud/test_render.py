"""What people read in the folder: workitem.md and history.md."""

import pytest

from integrations.connectors.nextcloud.render import (
    escape,
    history_entry,
    history_markdown,
    workitem_markdown,
)

EVENT_ID = "6f1c0c9e-5a55-4a53-a3a5-1d8f4e7f7a10"


def payload(**workitem) -> dict:
    base = {
        "id": 123, "reference_id": "RMA-123", "description": "iPhone screen repair", "status": "In Progress",
        "type": "Chargeable Repair", "priority": "Standard", "created_date": "2026-11-24T09:00:00Z",
        "due_date": "2026-11-27T09:00:00Z", "customer": {"id": 45, "name": "John Doe", "email": "john@example.com"},
        "owner": {"id": 10, "name": "Jane Smith"}, "technician": {"id": 12, "name": "Bob Tech"},
        "customer_asset": {"id": 67, "name": "iPhone 13 Pro"}, "estimated_price": "150.00", "final_price": None,
        "dropoff_point": {"id": 5, "name": "Main Store"}, "intake_method": "walk_in", "comments": "",
    }  # fmt: skip
    return {
        "event_type": "workitem_created",
        "event_id": EVENT_ID,
        "timestamp": "2026-11-28T14:02:31.5Z",
        "tenant": {"id": 1, "name": "Acme"},
        "workitem": {**base, **workitem},
    }


def test_the_summary_starts_with_the_reference_and_the_description_then_the_facts():
    text = workitem_markdown(payload())

    assert text.splitlines()[:9] == [
        "# RMA-123 — iPhone screen repair",
        "",
        "- **Customer:** John Doe (john@example.com)",
        "- **Status:** In Progress",
        "- **Priority:** Standard",
        "- **Type:** Chargeable Repair",
        "- **Estimated price:** 150.00",
        "- **Due date:** 2026-11-27",
        "- **Technician:** Bob Tech",
    ]
    assert "- **Device:** iPhone 13 Pro\n- **Drop-off point:** Main Store\n- **Intake:** Walk-in" in text
    assert "Final price" not in text
    assert "None" not in text


def test_the_summary_ends_with_the_link_back_and_says_it_is_rewritten():
    lines = workitem_markdown(payload()).splitlines()

    assert lines[-3:] == [
        "[Open RMA-123 in Fieldhook](http://127.0.0.1:8000/admin/workitems/workitem/123/change/)",
        "",
        "*Written by Fieldhook, 2026-11-28 14:02 UTC. Changes made to this file are replaced on the next update; "
        "what changed and when is in history.md.*",
    ]


def test_a_long_description_gets_its_own_section_and_keeps_its_lines():
    description = "Screen cracked after a fall. " * 4 + "\n1. Replace the screen\n\n# Check the camera"

    text = workitem_markdown(payload(description=description))

    assert text.splitlines()[0] == (
        "# RMA-123 — Screen cracked after a fall. Screen cracked after a fall. Screen cracked after …"
    )
    section = text.split("## Description\n\n", 1)[1].split("\n\n---", 1)[0]
    assert section == (
        "Screen cracked after a fall. Screen cracked after a fall. Screen cracked after a fall. "
        "Screen cracked after a fall.\\\n1\\. Replace the screen\n\n\\# Check the camera"
    )


def test_notes_get_a_section_of_their_own():
    text = workitem_markdown(payload(comments="Customer will call back\nafter 5pm"))

    assert "## Notes\n\nCustomer will call back\\\nafter 5pm\n" in text


@pytest.mark.parametrize(
    ("written", "escaped"),
    [
        ("**urgent**", "\\*\\*urgent\\*\\*"),
        ("[click](javascript:alert(1))", "\\[click\\](javascript:alert(1))"),
        ("<img src=x onerror=alert(1)>", "\\<img src=x onerror=alert(1)\\>"),
        ("a | b ~~c~~ `d` &amp;", "a \\| b \\~\\~c\\~\\~ \\`d\\` \\&amp;"),
        ("snake_case_name", "snake\\_case\\_name"),
    ],
)
def test_what_people_typed_is_shown_as_written_not_as_markdown(written, escaped):
    assert escape(written) == escaped


def test_a_status_change_is_one_dated_line_with_its_event():
    event = {
        **payload(),
        "event_type": "workitem_status_changed",
        "changes": {"status": {"old": "New", "new": "Closed"}},
    }

    assert history_entry(event, event_id=EVENT_ID) == (
        "- **2026-11-28 14:02 UTC** — Status: New → Closed *(event 6f1c0c9e)*"
    )


def test_a_creation_is_logged_with_its_status():
    assert history_entry(payload(), event_id=EVENT_ID) == (
        "- **2026-11-28 14:02 UTC** — Created in Fieldhook, status In Progress *(event 6f1c0c9e)*"
    )


def test_a_changed_multi_line_value_stays_on_its_line():
    event = {**payload(), "event_type": "workitem_updated", "changes": {"description": {"old": "a\nb", "new": "*c*"}}}

    assert history_entry(event, event_id=EVENT_ID) == (
        "- **2026-11-28 14:02 UTC** — Description: a b → \\*c\\* *(event 6f1c0c9e)*"
    )


def test_a_new_history_starts_with_a_heading_and_later_entries_go_last():
    first = history_markdown(None, "- one", reference="RMA-123")
    second = history_markdown(first, "- two", reference="RMA-123")

    assert second == "# History of RMA-123\n\n- one\n- two\n"
