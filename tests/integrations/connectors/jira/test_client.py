"""The Jira client against the fake site: what it sends, how it pages, how it reads errors."""

import pytest

from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.connectors.jira.client import JiraClient
from tests.fakes.jira import DISPLAY_NAME, EMAIL, PROJECT, SITE_URL


def task(summary: str, **more) -> dict:
    return {"project": {"key": PROJECT}, "issuetype": {"name": "Task"}, "summary": summary, **more}


def test_it_authenticates_with_the_account_email_and_api_token(fake_jira, jira_client):
    me = jira_client.myself()

    assert me["displayName"] == DISPLAY_NAME
    assert fake_jira.calls("GET", "/myself")[0].headers["Authorization"].startswith("Basic ")


def test_a_wrong_api_token_is_a_permanent_auth_error_that_says_where_to_make_one(fake_jira):
    wrong = JiraClient(site_url=SITE_URL, email=EMAIL, api_token="not-the-token")

    with pytest.raises(ConnectorError) as raised:
        wrong.myself()

    assert raised.value.permanent
    assert raised.value.error_class == ErrorClass.AUTH
    assert "id.atlassian.com" in raised.value.message


def test_create_answers_the_new_issue_key(fake_jira, jira_client):
    created = jira_client.issue_create(task("RMA-1: Cracked screen", labels=["fieldhook"]))

    assert created["key"] == "SVC-1"
    assert fake_jira.issues["SVC-1"]["labels"] == ["fieldhook"]


def test_a_refused_field_is_named_in_the_error(fake_jira, jira_client):
    with pytest.raises(ConnectorError) as raised:
        jira_client.issue_create(task("RMA-1", priority={"name": "Urgent"}))

    assert raised.value.permanent
    assert "priority: Specify the Priority" in raised.value.message


def test_bulk_create_reports_refused_elements_by_their_position(fake_jira, jira_client):
    fake_jira.fail_bulk_elements({1, 3})

    result = jira_client.issues_create_bulk([{"fields": task(f"Child {n}")} for n in range(4)])

    assert [(index, key) for index, _, key in result.created] == [(0, "SVC-1"), (2, "SVC-2")]
    assert [index for index, _ in result.failed] == [1, 3]
    assert "summary: Injected by the test" in result.failed[0][1]


def test_bulk_create_answers_when_every_element_is_refused(fake_jira, jira_client):
    result = jira_client.issues_create_bulk([{"fields": task("")}, {"fields": task("")}])

    assert result.created == []
    assert [index for index, _ in result.failed] == [0, 1]


def test_bulk_create_takes_at_most_fifty_issues(jira_client):
    with pytest.raises(ValueError, match="at most 50"):
        jira_client.issues_create_bulk([{"fields": task("x")}] * 51)


def test_search_follows_next_page_tokens_until_the_last_page(fake_jira, jira_client):
    for n in range(5):
        fake_jira.add_issue(task(f"Issue {n}", labels=["fieldhook"]))

    found = list(
        jira_client.issues_search(f'project = "{PROJECT}" AND labels = "fieldhook"', fields=["status"], page_size=2)
    )

    assert [issue["key"] for issue in found] == [f"SVC-{n}" for n in range(1, 6)]
    bodies = [call.json() for call in fake_jira.calls("POST", "/search/jql")]
    assert len(bodies) == 3
    assert "nextPageToken" not in bodies[0]
    assert bodies[2]["nextPageToken"]


def test_transitions_comments_and_links(fake_jira, jira_client):
    first, second = (jira_client.issue_create(task(name))["key"] for name in ("Parent", "Child"))

    offered = {t["name"]: t["id"] for t in jira_client.issue_transitions(first)}
    jira_client.issue_transition(first, offered["Start progress"])
    jira_client.issue_comment_add(first, {"type": "doc", "version": 1, "content": [{"type": "paragraph"}]})
    jira_client.issue_link_create(link_type="Relates", inward_key=second, outward_key=first)

    assert fake_jira.status_of(first) == "In Progress"
    assert len(fake_jira.comments[first]) == 1
    assert fake_jira.links == [("Relates", second, first)]


def test_a_429_carries_retry_after_and_the_reason(fake_jira, jira_client):
    fake_jira.fail_next("POST", "/issue", status=429, **{"Retry-After": "17", "RateLimit-Reason": "jira-burst-based"})

    with pytest.raises(ConnectorError) as raised:
        jira_client.issue_create(task("RMA-1"))

    assert raised.value.error_class == ErrorClass.RATE_LIMITED
    assert not raised.value.permanent
    assert raised.value.retry_after == 17
    assert "jira-burst-based" in raised.value.message


def test_every_answer_reports_the_quota_left(fake_jira, jira_client):
    jira_client.myself()

    assert jira_client.rate_limit is not None
    assert jira_client.rate_limit.remaining == fake_jira.rate_limit - 1


def test_a_site_failing_half_way_creates_what_it_could_and_reports_the_rest(fake_jira, jira_client):
    fake_jira.fail_after(2, status=503)

    result = jira_client.issues_create_bulk([{"fields": task(f"Child {n}")} for n in range(3)])

    assert [key for _, _, key in result.created] == ["SVC-1", "SVC-2"]
    assert result.failed == [(2, "Service unavailable")]
    with pytest.raises(ConnectorError) as raised:
        jira_client.issue_create(task("One more"))
    assert raised.value.error_class == ErrorClass.SERVER
