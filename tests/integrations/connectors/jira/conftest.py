"""Fixtures of the Jira tests: the fake Jira site (any request Jira would refuse fails the
test), a client of it, and a Jira integration of the tenant."""

import pytest
import responses
from django.core.cache import cache

from integrations.connectors.jira.client import JiraClient
from integrations.models import SUBSCRIBABLE_EVENTS, TenantIntegration
from tests.factories import TenantIntegrationFactory
from tests.fakes.jira import API_TOKEN, EMAIL, PROJECT, SITE_URL, FakeJira

WEBHOOK_SECRET = "jira-webhook-secret-9d2c"


@pytest.fixture(autouse=True)
def fresh_cache():
    """The poll remembers when it last asked Jira: each test starts without that."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def fake_jira():
    """The fake Jira site; any request elsewhere fails as a connection error."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeJira().install(mock)
        yield fake
    assert fake.violations == [], "requests the real Jira would refuse"


@pytest.fixture
def jira_client() -> JiraClient:
    return JiraClient(site_url=SITE_URL, email=EMAIL, api_token=API_TOKEN, cache_namespace="test")


@pytest.fixture
def jira_integration(tenant) -> TenantIntegration:
    """Subscribed to every event, custom fields for the reference and the estimated price;
    its rate limit raised so back-to-back deliveries are not deferred."""
    return TenantIntegrationFactory(
        tenant=tenant,
        name="Jira",
        integration_type="jira",
        event_types=[event.value for event in SUBSCRIBABLE_EVENTS],
        rate_limit_per_second=10_000,
        config={
            "site_url": SITE_URL,
            "email": EMAIL,
            "project_key": PROJECT,
            "issue_type": "Task",
            "marker_label": "fieldhook",
            "extra_labels": ["repairs"],
            "reference_field": "customfield_10050",
            "estimated_price_field": "customfield_10060",
        },
        secrets={"api_token": API_TOKEN, "webhook_secret": WEBHOOK_SECRET},
    )
