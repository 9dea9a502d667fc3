"""Writes of the OAuth flow: what a successful authorization stores on the integration."""

from __future__ import annotations

from django.db import transaction

from integrations.auth import oauth
from integrations.models import TenantIntegration
from integrations.services import integration_connector, integration_secrets_save


def integration_oauth_connect(
    *, integration: TenantIntegration, code: str, code_verifier: str, redirect_uri: str
) -> str:
    """Exchange the code, learn whom the token acts for, then store the tokens (encrypted)
    and that name. Returns the name ('' when the tool did not say)."""
    connector = integration_connector(integration=integration)
    tokens = oauth.code_exchange(connector=connector, code=code, redirect_uri=redirect_uri, code_verifier=code_verifier)
    name = connector.oauth_account_name(tokens["oauth_access_token"])
    connected = {key: value for key, value in integration.config.items() if key != "oauth_connected_as"}
    if name:
        connected["oauth_connected_as"] = name
    with transaction.atomic():
        integration_secrets_save(integration=integration, secrets={**integration.secrets, **tokens})
        TenantIntegration.objects.filter(pk=integration.pk).update(config=connected)
    integration.config = connected
    return name
