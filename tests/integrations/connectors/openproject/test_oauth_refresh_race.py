"""Two workers refreshing one OAuth token: OpenProject rotates refresh tokens, so the slower
worker's refresh is refused — it must use the tokens the faster one stored, not fail."""

import time

import pytest
import responses
from responses import matchers

from integrations import services
from integrations.connectors.errors import ConnectorError
from integrations.models import TenantIntegration
from tests.factories import TenantIntegrationFactory

BASE = "https://openproject.example.com"
REFUSED = {"error": "invalid_grant", "error_description": "The provided authorization grant is invalid."}


@pytest.fixture
def integration(tenant) -> TenantIntegration:
    return TenantIntegrationFactory(
        tenant=tenant,
        integration_type="openproject",
        config={"base_url": BASE, "project": "3", "type_id": 1, "auth_method": "oauth2", "oauth_client_id": "cid"},
        secrets={
            "oauth_client_secret": "client-secret",
            "oauth_access_token": "expired-access",
            "oauth_refresh_token": "refresh-1",
            "oauth_expires_at": time.time() - 10,
        },
    )


def rotated_by_another_worker(integration: TenantIntegration) -> None:
    stored = integration.secrets
    integration.secrets = {**stored, "oauth_access_token": "access-2", "oauth_refresh_token": "refresh-2",
                           "oauth_expires_at": time.time() + 3600}  # fmt: skip
    integration.save(update_fields=["secrets_encrypted"])


@responses.activate
def test_a_refresh_refused_because_another_worker_rotated_the_token_uses_the_stored_tokens(integration):
    connector = services.integration_connector(integration=integration)
    rotated_by_another_worker(integration)
    responses.post(f"{BASE}/oauth/token", status=400, json=REFUSED)
    bearer = matchers.header_matcher({"Authorization": "Bearer access-2"})
    responses.get(f"{BASE}/api/v3/projects/3", json={"id": 3, "name": "Service desk"}, match=[bearer])
    responses.get(
        f"{BASE}/api/v3/statuses",
        json={"_type": "Collection", "_embedded": {"elements": [{"id": 1, "name": "New"}]}},
        match=[bearer],
    )

    outcome = connector.test_connection()

    assert "project 'Service desk'" in outcome


@responses.activate
def test_a_refused_refresh_with_nothing_newer_stored_is_an_auth_failure(integration):
    connector = services.integration_connector(integration=integration)
    responses.post(f"{BASE}/oauth/token", status=400, json=REFUSED)

    with pytest.raises(ConnectorError) as refused:
        connector.test_connection()

    assert (refused.value.permanent, refused.value.error_class) == (True, "auth")
