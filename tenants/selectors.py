"""Read-side queries about tenants and memberships."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from tenants.models import Membership, Tenant


def tenants_for_user(*, user: AbstractBaseUser) -> QuerySet[Tenant]:
    """Active tenants the user belongs to (superusers included: membership is explicit)."""
    return Tenant.objects.filter(memberships__user=user, is_active=True).distinct()


def tenants_administered_by(*, user: AbstractBaseUser) -> QuerySet[Tenant]:
    """Active tenants where the user's role is admin: what the admin site lets them manage."""
    return Tenant.objects.filter(
        memberships__user=user, memberships__role=Membership.Role.ADMIN, is_active=True
    ).distinct()


def membership_role(*, user: AbstractBaseUser, tenant: Tenant) -> str | None:
    """The user's role in the tenant, or None when they are not a member."""
    return Membership.objects.filter(user=user, tenant=tenant).values_list("role", flat=True).first()
