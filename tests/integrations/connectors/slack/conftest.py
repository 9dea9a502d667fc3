"""Fixtures of the Slack tests: the fake Slack (any request Slack would refuse fails the test)
and Slack integrations of the tenant, one per way of connecting."""

import pytest
import responses

from integrations.models import SUBSCRIBABLE_EVENTS
from tests.factories import TenantIntegrationFactory
from tests.fakes.slack import API_URL, BOT_TOKEN, CHANNEL_ID, WEBHOOK_URL, FakeSlack


@pytest.fixture
def fake_slack():
    """The fake Slack; any request elsewhere fails as a connection error."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeSlack().install(mock)
        yield fake
    assert fake.violations == [], "requests the real Slack would refuse"


def slack_integration(tenant, *, name: str, config: dict, secrets: dict):
    """Subscribed to every event; its rate limit raised so back-to-back deliveries are not deferred."""
    return TenantIntegrationFactory(
        tenant=tenant,
        name=name,
        integration_type="slack",
        event_types=[event.value for event in SUBSCRIBABLE_EVENTS],
        rate_limit_per_second=10_000,
        config=config,
        secrets=secrets,
    )


@pytest.fixture
def webhook_integration(tenant):
    return slack_integration(
        tenant,
        name="Slack webhook",
        config={"mode": "webhook", "api_url": API_URL},
        secrets={"webhook_url": WEBHOOK_URL},
    )


@pytest.fixture
def bot_integration(tenant):
    return slack_integration(
        tenant,
        name="Slack bot",
        config={"mode": "bot", "channel": CHANNEL_ID, "api_url": API_URL},
        secrets={"bot_token": BOT_TOKEN},
    )
