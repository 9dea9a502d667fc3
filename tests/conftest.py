"""Shared fixtures. Tenancy tests use three users: an owner and a member of one
tenant, and an outsider who belongs to another tenant only."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tenants.models import Membership
from tests.factories import MembershipFactory, TenantFactory, UserFactory
from tests.helpers import closed_port, logged_in, staff


@pytest.fixture
def tenant(db):
    return TenantFactory(name="Acme Repairs", slug="acme")


@pytest.fixture
def other_tenant(db):
    return TenantFactory(name="Globex", slug="globex")


@pytest.fixture
def owner(tenant):
    return MembershipFactory(tenant=tenant, role=Membership.Role.ADMIN, user__username="owner").user


@pytest.fixture
def member(tenant):
    return MembershipFactory(tenant=tenant, user__username="member").user


@pytest.fixture
def outsider(other_tenant):
    return MembershipFactory(tenant=other_tenant, role=Membership.Role.ADMIN, user__username="outsider").user


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def api(owner) -> APIClient:
    """An API client authenticated as the tenant's owner (one membership: tenant implied)."""
    return token_client(owner)


@pytest.fixture
def outsider_api(outsider) -> APIClient:
    return token_client(outsider)


@pytest.fixture
def anonymous_api() -> APIClient:
    return APIClient()


@pytest.fixture
def make_user(db):
    return UserFactory


@pytest.fixture
def superuser_client(db) -> Client:
    return logged_in(UserFactory(username="root", is_staff=True, is_superuser=True))


@pytest.fixture
def owner_client(owner) -> Client:
    """The tenant's owner (role admin) in the admin, as staff without model permissions."""
    return logged_in(staff(owner))


@pytest.fixture
def cache_down(settings):
    """The default cache points at Redis on a closed port."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
        }
    }
