"""Read-side queries about tenants and memberships."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from tenants.models import Tenant


def tenants_for_user(*, user: AbstractBaseUser) -> QuerySet[Tenant]:
    """Active tenants the user belongs to (superusers included: membership is explicit)."""
    return Tenant.objects.filter(memberships__user=user, is_active=True).distinct()


def tenant_ids_for_user(*, user: AbstractBaseUser) -> set[int]:
    return set(tenants_for_user(user=user).values_list("id", flat=True))
