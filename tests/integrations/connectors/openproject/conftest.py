"""Fixtures of the OpenProject tests: an integration of the tenant, and the fake OpenProject
(every request validated against OpenProject's OpenAPI spec; any violation fails the test)."""

import pytest
import responses
from django.core.cache import cache

from integrations.models import SUBSCRIBABLE_EVENTS
from tests.factories import TenantIntegrationFactory
from tests.fakes.openproject import API_KEY, BASE_URL, FakeOpenProject
from tests.integrations.connectors.openproject.inbound_fixtures import with_webhook_secret


@pytest.fixture(autouse=True)
def fresh_cache():
    """Status lists and user look-ups are cached: each test starts without them."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def fake_openproject():
    """The fake OpenProject; any request outside it fails as a connection error."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeOpenProject().install(mock)
        yield fake
    assert fake.violations + fake.oauth.violations == [], "requests the real OpenProject would refuse"


@pytest.fixture
def openproject_integration(tenant):
    """An OpenProject integration (API key, Basic) for project #3 of the fake, subscribed to every event.

    Its rate limit is raised so that back-to-back deliveries in a test are not deferred."""
    return TenantIntegrationFactory(
        tenant=tenant,
        name="OpenProject",
        integration_type="openproject",
        event_types=[event.value for event in SUBSCRIBABLE_EVENTS],
        rate_limit_per_second=10_000,
        config={
            "base_url": BASE_URL,
            "project": "3",
            "type_id": 1,
            "auth_method": "api_key_basic",
            "status_map": {
                "New": "New",
                "In Progress": "In Progress",
                "Review": "In Progress",
                "Closed": "Closed",
                "Rejected": "Cancelled",
            },
            "custom_fields": {},
            "assignee_map": {},
            "poll_enabled": True,
            "poll_interval_seconds": 300,
        },
        secrets={"api_key": API_KEY},
    )


@pytest.fixture
def openproject(openproject_integration):
    """The OpenProject integration with a webhook secret: it takes OpenProject's webhooks."""
    return with_webhook_secret(openproject_integration)


@pytest.fixture
def webhook(tenant):
    """A webhook integration beside OpenProject: it hears every event Fieldhook broadcasts."""
    return TenantIntegrationFactory(tenant=tenant, name="n8n")
