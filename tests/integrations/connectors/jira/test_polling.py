"""Status back from Jira by polling: one `search/jql` for the issues with our marker label
(updated since the previous poll once there was one), paged with nextPageToken, each status
merged three-way into its work item, nothing sent back to Jira."""

import re

from integrations.inbound.polling import integration_poll
from integrations.models import IntegrationSync
from tests.integrations.connectors.jira.helpers import linked_work_items, status_of
from workitems.models import WorkItemNote

SEARCH = "/search/jql"


def test_a_poll_pages_with_next_page_tokens_and_updates_the_work_item_that_changed(fake_jira, jira_integration):
    items = linked_work_items(jira_integration, fake_jira, 150)
    fake_jira.set_status("SVC-120", "Done")

    result = integration_poll(integration=jira_integration)

    bodies = [call.json() for call in fake_jira.calls("POST", SEARCH)]
    assert [("nextPageToken" in body, body["maxResults"]) for body in bodies] == [(False, 100), (True, 100)]
    assert bodies[0]["jql"] == 'project = "SVC" AND labels = "fieldhook" ORDER BY updated ASC'
    assert bodies[0]["fields"] == ["status", "updated"]
    assert status_of(items[119]) == "Closed"
    assert result == "Checked 150 linked issues: 1 updated, 149 unchanged."


def test_the_change_is_noted_on_the_work_item(fake_jira, jira_integration):
    items = linked_work_items(jira_integration, fake_jira, 2)
    fake_jira.set_status("SVC-2", "In Progress")

    integration_poll(integration=jira_integration)

    note = WorkItemNote.objects.get(workitem=items[1], kind="system")
    assert note.body == "Status changed to In Progress in Jira Cloud (issue SVC-2, status 'In Progress', via poll)."


def test_a_poll_sends_nothing_back_to_jira(fake_jira, jira_integration):
    linked_work_items(jira_integration, fake_jira, 3)
    fake_jira.set_status("SVC-1", "Done")

    integration_poll(integration=jira_integration)

    assert not IntegrationSync.objects.filter(integration=jira_integration).exists()
    assert {call.method + " " + call.path for call in fake_jira.requests} == {"POST /rest/api/3/search/jql"}


def test_the_next_poll_asks_only_for_issues_updated_since_the_previous_one(fake_jira, jira_integration):
    items = linked_work_items(jira_integration, fake_jira, 3)
    integration_poll(integration=jira_integration)
    fake_jira.set_status("SVC-3", "Done")

    result = integration_poll(integration=jira_integration)

    jql = fake_jira.calls("POST", SEARCH)[-1].json()["jql"]
    assert re.fullmatch(r'project = "SVC" AND labels = "fieldhook" AND updated >= -\dm ORDER BY updated ASC', jql)
    assert status_of(items[2]) == "Closed"
    assert result == "Checked 3 linked issues: 1 updated, 2 unchanged."


def test_a_status_not_in_the_map_is_counted(fake_jira, jira_integration):
    linked_work_items(jira_integration, fake_jira, 2)
    fake_jira.issues["SVC-1"]["status"] = {"name": "Waiting for customer"}

    result = integration_poll(integration=jira_integration)

    assert result == "Checked 2 linked issues: 0 updated, 1 with unmapped status 'Waiting for customer', 1 unchanged."


def test_a_refused_token_is_recorded_not_raised(fake_jira, jira_integration):
    linked_work_items(jira_integration, fake_jira, 1)
    fake_jira.api_token = "revoked"

    result = integration_poll(integration=jira_integration)

    assert result.startswith("Poll failed: Jira refused the account email and API token (HTTP 401)")
