"""Jira through the real engine against the fake site: an issue per work item (linked by key
and browse URL), status changes as the mapped workflow transition, edits as ADF comments,
Jira's errors mapped to what Fieldhook records, its rate limits obeyed, and no issue created
twice when a creation is retried after a lost answer."""

import base64
import datetime
from decimal import Decimal

from django.utils import timezone

from integrations.engine import resilience
from integrations.models import EventType
from integrations.services import integration_send_test_event, integration_test_connection
from tests.factories import WorkItemFactory
from tests.fakes.adf import adf_text
from tests.fakes.jira import API_TOKEN, DISPLAY_NAME, EMAIL, SITE_URL
from tests.integrations.connectors.delivery import created, deliver, last_attempt, link_of, make_due
from workitems import services
from workitems.models import WorkItem, WorkItemNote

ISSUE = "/issue"
TRANSITIONS = r"/issue/SVC-1/transitions"


def configure(integration, **config):
    integration.config = {**integration.config, **config}
    integration.save(update_fields=["config"])
    return integration


# --- Create ---------------------------------------------------------------------------------------


def test_a_new_work_item_becomes_an_issue_linked_by_key_and_browse_url(fake_jira, jira_integration):
    workitem = WorkItemFactory(tenant=jira_integration.tenant, description="Cracked screen")

    sync = deliver(jira_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.external_id, sync.external_url) == ("synced", "SVC-1", f"{SITE_URL}/browse/SVC-1")
    link = link_of(jira_integration, workitem)
    assert (link.external_id, link.external_url) == ("SVC-1", f"{SITE_URL}/browse/SVC-1")
    assert link.details == {"issue_id": fake_jira.ids["SVC-1"]}
    note = WorkItemNote.objects.get(workitem=workitem, kind=WorkItemNote.Kind.SYSTEM)
    assert note.body == f"Sent workitem_created to Jira ({SITE_URL}/browse/SVC-1)."


def test_the_issue_carries_the_mapped_fields(fake_jira, jira_integration):
    due = timezone.make_aware(datetime.datetime(2099, 3, 2, 12))
    WorkItemFactory(
        tenant=jira_integration.tenant,
        description="Cracked screen",
        priority=WorkItem.Priority.URGENT,
        due_date=due,
        estimated_price=Decimal("149.90"),
    )

    deliver(jira_integration, EventType.WORKITEM_CREATED)

    fields = fake_jira.issues["SVC-1"]
    assert fields["project"] == {"key": "SVC"}
    assert fields["issuetype"] == {"name": "Task"}
    assert fields["summary"] == "RMA-1: Cracked screen"
    assert fields["labels"] == ["fieldhook", "repairs"]
    assert fields["priority"] == {"name": "Highest"}
    assert fields["duedate"] == "2099-03-02"
    assert fields["customfield_10050"] == "RMA-1"
    assert fields["customfield_10060"] == 149.9
    assert "Estimated price: 149.90" in adf_text(fields["description"])


def test_it_authenticates_with_basic_email_and_api_token(fake_jira, jira_integration):
    WorkItemFactory(tenant=jira_integration.tenant)

    deliver(jira_integration, EventType.WORKITEM_CREATED)

    (request,) = fake_jira.calls("POST", ISSUE)
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(f"{EMAIL}:{API_TOKEN}".encode()).decode()


def test_a_field_jira_refuses_fails_at_once_naming_the_field(fake_jira, jira_integration):
    configure(jira_integration, issue_type="Epic")
    WorkItemFactory(tenant=jira_integration.tenant)

    sync = deliver(jira_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, last_attempt(sync).error_class) == ("failed", "http_4xx")
    assert sync.last_error == "Jira rejected the new issue: issuetype: Specify a valid issue type."


def test_a_timeout_on_create_is_retried_and_finds_the_issue_instead_of_creating_another(fake_jira, jira_integration):
    fake_jira.lose_answer_next("POST", ISSUE)
    workitem = WorkItemFactory(tenant=jira_integration.tenant, description="Cracked screen")
    first = deliver(jira_integration, EventType.WORKITEM_CREATED)
    assert (first.status, last_attempt(first).error_class) == ("pending", "timeout")
    make_due(first)

    sync = deliver(jira_integration, EventType.WORKITEM_CREATED)

    assert list(fake_jira.issues) == ["SVC-1"]
    assert (sync.status, sync.external_id) == ("synced", "SVC-1")
    assert link_of(jira_integration, workitem).external_id == "SVC-1"
    (search,) = fake_jira.calls("POST", "/search/jql")
    assert search.json()["jql"] == 'project = "SVC" AND labels = "fieldhook" AND cf[10050] ~ "\\"RMA-1\\""'


def test_without_a_reference_field_the_retry_looks_for_the_reference_in_the_summary(fake_jira, jira_integration):
    configure(jira_integration, reference_field="")
    fake_jira.lose_answer_next("POST", ISSUE)
    WorkItemFactory(tenant=jira_integration.tenant, description="Cracked screen")
    make_due(deliver(jira_integration, EventType.WORKITEM_CREATED))

    sync = deliver(jira_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.external_id, list(fake_jira.issues)) == ("synced", "SVC-1", ["SVC-1"])


def test_a_retry_that_finds_nothing_creates_the_issue(fake_jira, jira_integration):
    fake_jira.fail_next("POST", ISSUE, status=502)
    WorkItemFactory(tenant=jira_integration.tenant)
    make_due(deliver(jira_integration, EventType.WORKITEM_CREATED))

    sync = deliver(jira_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, sync.external_id) == ("synced", "SVC-1")
    assert len(fake_jira.calls("POST", "/search/jql")) == 1


# --- Status changes -------------------------------------------------------------------------------


def test_a_status_change_makes_the_transition_leading_to_the_mapped_status(fake_jira, jira_integration):
    workitem = created(jira_integration)
    services.workitem_update(workitem=workitem, status=WorkItem.Status.IN_PROGRESS)

    sync = deliver(jira_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert sync.status == "synced"
    assert fake_jira.status_of("SVC-1") == "In Progress"
    (made,) = fake_jira.calls("POST", TRANSITIONS)
    assert made.json() == {"transition": {"id": "21"}}


def test_the_map_may_name_the_transition_itself(fake_jira, jira_integration):
    configure(jira_integration, transition_map={"Ready for Pickup": "start PROGRESS"})
    workitem = created(jira_integration)
    services.workitem_update(workitem=workitem, status=WorkItem.Status.READY_FOR_PICKUP)

    deliver(jira_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert fake_jira.status_of("SVC-1") == "In Progress"


def test_no_matching_transition_fails_at_once_naming_the_transitions_jira_offered(fake_jira, jira_integration):
    workitem = created(jira_integration)
    fake_jira.set_status("SVC-1", "Done")
    services.workitem_update(workitem=workitem, status=WorkItem.Status.IN_PROGRESS)

    sync = deliver(jira_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert sync.status == "failed"
    assert sync.last_error == (
        "Jira offers no transition 'In Progress' (for Fieldhook status 'In Progress') on SVC-1, which is in "
        "'Done'. Transitions offered now: 'Reopen' (to To Do). Change the integration's transition map, or the "
        "project's workflow."
    )
    assert fake_jira.calls("POST", TRANSITIONS) == []


def test_an_issue_already_in_the_mapped_status_needs_no_transition(fake_jira, jira_integration):
    workitem = created(jira_integration)
    fake_jira.set_status("SVC-1", "Done")
    services.workitem_update(workitem=workitem, status=WorkItem.Status.CLOSED)

    sync = deliver(jira_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert sync.status == "synced"
    assert last_attempt(sync).response_excerpt == "SVC-1 is already in 'Done'."


def test_a_status_not_in_the_map_moves_nothing(fake_jira, jira_integration):
    workitem = created(jira_integration)
    services.workitem_update(workitem=workitem, status=WorkItem.Status.AWAITING_PARTS)

    sync = deliver(jira_integration, EventType.WORKITEM_STATUS_CHANGED)

    assert sync.status == "synced"
    assert fake_jira.calls("GET", TRANSITIONS) == []
    assert fake_jira.status_of("SVC-1") == "To Do"


# --- Comments ---------------------------------------------------------------------------------------


def test_an_edit_becomes_a_comment_listing_each_change(fake_jira, jira_integration):
    workitem = created(jira_integration, description="Cracked screen")
    services.workitem_update(workitem=workitem, description="Cracked screen, replaced", comments="Call first")

    sync = deliver(jira_integration, EventType.WORKITEM_UPDATED)

    assert sync.status == "synced"
    (comment,) = fake_jira.comments["SVC-1"]
    lines = adf_text(comment).splitlines()
    assert lines[0] == "Changed in Fieldhook (RMA-1):"
    assert sorted(lines[1:3]) == [
        "Comments: — → Call first",
        "Description: Cracked screen → Cracked screen, replaced",
    ]
    assert lines[3] == "Open in Fieldhook"


# --- Errors and limits ---------------------------------------------------------------------------------


def test_a_wrong_api_token_fails_at_once_as_an_auth_error(fake_jira, jira_integration):
    fake_jira.api_token = "another-token"
    WorkItemFactory(tenant=jira_integration.tenant)

    sync = deliver(jira_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, last_attempt(sync).error_class, sync.last_status_code) == ("failed", "auth", 401)
    assert "id.atlassian.com" in sync.last_error


def test_a_missing_permission_fails_at_once_with_jiras_words(fake_jira, jira_integration):
    fake_jira.fail_next("POST", ISSUE, status=403, body="You do not have permission to create issues in this project.")
    WorkItemFactory(tenant=jira_integration.tenant)

    sync = deliver(jira_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, last_attempt(sync).error_class) == ("failed", "auth")
    assert "You do not have permission to create issues in this project" in sync.last_error


def test_a_429_is_retried_no_sooner_than_retry_after_and_pauses_the_integration(fake_jira, jira_integration):
    fake_jira.fail_next("POST", ISSUE, status=429, **{"Retry-After": "40", "RateLimit-Reason": "jira-burst-based"})
    WorkItemFactory(tenant=jira_integration.tenant)

    before = timezone.now()
    sync = deliver(jira_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, last_attempt(sync).error_class, sync.last_status_code) == ("pending", "http_429", 429)
    assert sync.next_attempt_at >= before + datetime.timedelta(seconds=40)
    assert "jira-burst-based" in sync.last_error
    assert resilience.rate_limit_wait(jira_integration) > 35
    assert fake_jira.issues == {}


def test_a_503_with_retry_after_is_retried_no_sooner(fake_jira, jira_integration):
    fake_jira.fail_next("POST", ISSUE, status=503, **{"Retry-After": "90"})
    WorkItemFactory(tenant=jira_integration.tenant)

    before = timezone.now()
    sync = deliver(jira_integration, EventType.WORKITEM_CREATED)

    assert (sync.status, last_attempt(sync).error_class) == ("pending", "http_5xx")
    assert sync.next_attempt_at >= before + datetime.timedelta(seconds=90)


def test_a_spent_quota_pauses_the_integration_until_jiras_reset(fake_jira, jira_integration):
    fake_jira.rate_limit = 1
    WorkItemFactory(tenant=jira_integration.tenant)

    sync = deliver(jira_integration, EventType.WORKITEM_CREATED)

    assert sync.status == "synced"
    assert resilience.rate_limit_wait(jira_integration) > 50


# --- Connection test --------------------------------------------------------------------------------


def test_the_connection_test_names_the_account_and_the_project(fake_jira, jira_integration):
    ok, message = integration_test_connection(integration=jira_integration)

    assert ok
    assert message == f"Connected to {SITE_URL} as {DISPLAY_NAME} ({EMAIL}); project SVC is visible."


def test_the_connection_test_reports_a_missing_project_in_jiras_words(fake_jira, jira_integration):
    configure(jira_integration, project_key="NOPE")

    ok, message = integration_test_connection(integration=jira_integration)

    assert not ok
    assert message == "Jira rejected the issue search: The value 'NOPE' does not exist for the field 'project'."


def test_the_test_event_checks_the_connection_and_creates_nothing(fake_jira, jira_integration):
    sync = integration_send_test_event(integration=jira_integration)

    sync = deliver(jira_integration, EventType.INTEGRATION_TEST)

    assert sync.status == "synced"
    assert fake_jira.issues == {}
