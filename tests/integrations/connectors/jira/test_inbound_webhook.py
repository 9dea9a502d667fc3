"""POST /webhooks/jira/<uuid>/: a `jira:issue_updated` signed with the webhook's secret
(`X-Hub-Signature: sha256=…`) sets the linked work item's status through the three-way merge;
a bad or missing signature changes nothing."""

import pytest

from integrations.models import IntegrationSync, StatusConflictPolicy
from tests.integrations.connectors.jira.helpers import issue_updated, linked_work_items, signed_post, status_of
from workitems import services
from workitems.models import WorkItem, WorkItemNote


@pytest.fixture
def workitem(fake_jira, jira_integration) -> WorkItem:
    (item,) = linked_work_items(jira_integration, fake_jira, 1)
    return item


def test_a_signed_status_change_updates_the_work_item(client, fake_jira, jira_integration, workitem):
    fake_jira.set_status("SVC-1", "Done")

    response = signed_post(client, jira_integration, issue_updated(fake_jira, "SVC-1"))

    assert (response.status_code, response.json()) == (200, {"result": "updated"})
    assert status_of(workitem) == "Closed"
    note = WorkItemNote.objects.get(workitem=workitem, kind="system")
    assert note.body == "Status changed to Closed in Jira Cloud (issue SVC-1, status 'Done', via webhook)."
    assert not IntegrationSync.objects.filter(integration=jira_integration).exists()


@pytest.mark.parametrize(
    "signature",
    ["sha256=" + "0" * 64, "sha1=0123456789abcdef0123456789abcdef01234567", "", "sha256=nothex"],
    ids=["wrong", "other-algorithm", "empty", "malformed"],
)
def test_a_bad_signature_is_401_and_changes_nothing(client, fake_jira, jira_integration, workitem, signature):
    fake_jira.set_status("SVC-1", "Done")

    response = signed_post(client, jira_integration, issue_updated(fake_jira, "SVC-1"), signature=signature)

    assert response.status_code == 401
    assert status_of(workitem) == "New"


def test_without_a_webhook_secret_every_call_is_refused(client, fake_jira, jira_integration, workitem):
    jira_integration.secrets = {"api_token": jira_integration.secrets["api_token"]}
    jira_integration.save(update_fields=["secrets_encrypted"])
    fake_jira.set_status("SVC-1", "Done")

    response = signed_post(client, jira_integration, issue_updated(fake_jira, "SVC-1"))

    assert response.status_code == 401


def test_other_events_are_acknowledged_and_ignored(client, fake_jira, jira_integration, workitem):
    response = signed_post(client, jira_integration, issue_updated(fake_jira, "SVC-1", event="comment_created"))

    assert (response.status_code, response.json()) == (202, {"result": "ignored"})


def test_a_replayed_older_call_is_stale(client, fake_jira, jira_integration, workitem):
    fake_jira.set_status("SVC-1", "In Progress")
    older = issue_updated(fake_jira, "SVC-1")
    fake_jira.set_status("SVC-1", "Done")
    older["issue"]["fields"]["updated"] = "2000-01-01T00:00:00.000+0000"
    signed_post(client, jira_integration, issue_updated(fake_jira, "SVC-1"))

    response = signed_post(client, jira_integration, older)

    assert response.json() == {"result": "stale"}
    assert status_of(workitem) == "Closed"


def test_a_change_made_in_fieldhook_since_is_kept_when_fieldhook_wins(client, fake_jira, jira_integration, workitem):
    jira_integration.status_conflict_policy = StatusConflictPolicy.FIELDHOOK_WINS
    jira_integration.save(update_fields=["status_conflict_policy"])
    services.workitem_update(workitem=workitem, status=WorkItem.Status.AWAITING_PARTS)
    fake_jira.set_status("SVC-1", "Done")

    response = signed_post(client, jira_integration, issue_updated(fake_jira, "SVC-1"))

    assert response.json() == {"result": "kept"}
    assert status_of(workitem) == "Awaiting Parts"
