"""Fixtures of the Nextcloud tests: an integration of the tenant, and the fake Nextcloud (OCS
requests validated against Nextcloud's OpenAPI spec, WebDAV checked by hand; any violation
fails the test)."""

import pytest
import responses

from integrations.models import SUBSCRIBABLE_EVENTS
from tests.factories import TenantIntegrationFactory
from tests.fakes.nextcloud import APP_PASSWORD, BASE_URL, USER, FakeNextcloud

CONFIG = {
    "base_url": BASE_URL,
    "username": USER,
    "root_folder": "Fieldhook/{tenant}",
    "folder_names": "reference_and_description",
    "share_with": "",
    "share_type": "user",
    "share_permissions": "edit",
    "public_link": False,
}


@pytest.fixture
def fake_nextcloud():
    """The fake Nextcloud; any request outside it fails as a connection error."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeNextcloud().install(mock)
        yield fake
    assert fake.violations == [], "requests the real Nextcloud would refuse"


@pytest.fixture
def nextcloud_integration(tenant):
    """A Nextcloud integration writing as the fake's user, subscribed to every event; its rate
    limit is raised so that back-to-back deliveries in a test are not deferred."""
    return TenantIntegrationFactory(
        tenant=tenant,
        name="Nextcloud",
        integration_type="nextcloud",
        event_types=[event.value for event in SUBSCRIBABLE_EVENTS],
        rate_limit_per_second=10_000,
        config=dict(CONFIG),
        secrets={"app_password": APP_PASSWORD},
    )
