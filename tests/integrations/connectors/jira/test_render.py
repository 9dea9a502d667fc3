"""What people read in Jira: the summary, the ADF description and the change comment, each a
valid ADF document (checked by the fake's ADF rules, as Jira would) that reads well."""

from django.conf import settings

from integrations.connectors.jira import render
from tests.fakes.adf import adf_problems, adf_text

WORKITEM = {
    "id": 7,
    "reference_id": "RMA-12",
    "description": "Cracked screen\nand a loose hinge\n\nCustomer asks for a call first.",
    "status": "New",
    "priority": "High",
    "type": "Chargeable Repair",
    "customer": {"id": 3, "name": "Ana Silva", "email": "ana@example.com"},
    "customer_asset": {"id": 9, "name": "iPhone 13, IMEI 3569…"},
    "estimated_price": "149.90",
    "final_price": None,
    "due_date": None,
    "technician": None,
}
URL = f"{settings.FIELDHOOK_BASE_URL}/admin/workitems/workitem/7/change/"


def test_the_summary_starts_with_the_reference_on_one_line_within_jiras_limit():
    assert render.summary(WORKITEM) == "RMA-12: Cracked screen and a loose hinge Customer asks for a call first."
    long = render.summary({**WORKITEM, "description": "word " * 100})
    assert len(long) == 255
    assert long.endswith("…")


def test_the_description_is_valid_adf():
    assert adf_problems(render.description(WORKITEM)) == []


def test_the_description_reads_facts_first_then_the_customers_words_then_the_way_back():
    assert adf_text(render.description(WORKITEM)).splitlines() == [
        "Work item RMA-12 from Fieldhook",
        "Reference: RMA-12",
        "Customer: Ana Silva (ana@example.com)",
        "Asset: iPhone 13, IMEI 3569…",
        "Status: New",
        "Priority: High",
        "Type: Chargeable Repair",
        "Estimated price: 149.90",
        "Due date: —",
        "Technician: —",
        "Final price: —",
        "Description",
        "Cracked screen",
        "and a loose hinge",
        "Customer asks for a call first.",
        "Open RMA-12 in Fieldhook",
    ]


def test_the_way_back_is_a_link_and_labels_are_bold():
    document = render.description(WORKITEM)

    last = document["content"][-1]["content"][0]
    assert last["marks"] == [{"type": "link", "attrs": {"href": URL}}]
    first_fact = document["content"][1]["content"][0]["content"][0]["content"][0]
    assert first_fact == {"type": "text", "text": "Reference: ", "marks": [{"type": "strong"}]}


def test_an_empty_description_leaves_out_its_section_and_stays_valid():
    document = render.description({**WORKITEM, "description": "  "})

    assert adf_problems(document) == []
    assert "Description" not in adf_text(document).splitlines()


def test_the_change_comment_is_valid_adf_with_a_line_per_change():
    changes = {"description": {"old": "", "new": "Cracked"}, "priority": {"old": "Low", "new": "High"}}

    comment = render.changes_comment(WORKITEM, changes)

    assert adf_problems(comment) == []
    assert adf_text(comment).splitlines() == [
        "Changed in Fieldhook (RMA-12):",
        "Description: — → Cracked",
        "Priority: Low → High",
        "Open in Fieldhook",
    ]
