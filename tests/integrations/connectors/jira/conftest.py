"""Fixtures of the Jira tests: the fake Jira site (any request Jira would refuse fails the
test) and a client of it."""

import pytest
import responses

from integrations.connectors.jira.client import JiraClient
from tests.fakes.jira import API_TOKEN, EMAIL, SITE_URL, FakeJira


@pytest.fixture
def fake_jira():
    """The fake Jira site; any request elsewhere fails as a connection error."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeJira().install(mock)
        yield fake
    assert fake.violations == [], "requests the real Jira would refuse"


@pytest.fixture
def client() -> JiraClient:
    return JiraClient(site_url=SITE_URL, email=EMAIL, api_token=API_TOKEN, cache_namespace="test")
