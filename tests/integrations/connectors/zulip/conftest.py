"""Fixtures of the Zulip tests: the fake Zulip (any request Zulip would refuse fails the test)
and a Zulip integration of the tenant."""

import pytest
import responses

from integrations.models import SUBSCRIBABLE_EVENTS
from tests.factories import TenantIntegrationFactory
from tests.fakes.zulip import API_KEY, BOT_EMAIL, CHANNEL, SITE_URL, FakeZulip


@pytest.fixture
def fake_zulip():
    """The fake Zulip; any request elsewhere fails as a connection error."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeZulip().install(mock)
        yield fake
    assert fake.violations == [], "requests the real Zulip would refuse"


@pytest.fixture
def zulip_integration(tenant):
    """Subscribed to every event; its rate limit raised so back-to-back deliveries are not deferred."""
    return TenantIntegrationFactory(
        tenant=tenant,
        name="Zulip",
        integration_type="zulip",
        event_types=[event.value for event in SUBSCRIBABLE_EVENTS],
        rate_limit_per_second=10_000,
        config={
            "site_url": SITE_URL,
            "bot_email": BOT_EMAIL,
            "channel": CHANNEL,
            "topic_template": "{reference_id}: {description}",
            "create_channel": True,
        },
        secrets={"api_key": API_KEY},
    )
