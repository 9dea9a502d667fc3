"""Fixtures of the integrations API tests: acme's owner (tenant admin), a plain member of acme,
and globex's outsider."""

import pytest
from rest_framework.test import APIClient

from tests.conftest import token_client
from tests.factories import TenantIntegrationFactory

RECEIVER = "https://n8n.example.com/webhook/fieldhook"


@pytest.fixture
def member_api(member) -> APIClient:
    return token_client(member)


@pytest.fixture
def webhook(tenant):
    """Acme's webhook integration, with a stored header secret."""
    return TenantIntegrationFactory(
        tenant=tenant,
        name="n8n production",
        config={"url": RECEIVER, "sign": False, "basic_username": ""},
        secrets={"headers": {"X-API-Key": "s3cr3t-header-value"}},
    )


@pytest.fixture
def foreign_webhook(other_tenant):
    return TenantIntegrationFactory(tenant=other_tenant, name="Globex hook")
