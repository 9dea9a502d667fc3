"""Tenant resolution for API views: every API query is scoped to one tenant."""

from django.core.validators import slug_re
from django.db.models import QuerySet
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from tenants.models import Membership, Tenant
from tenants.selectors import membership_role, tenants_for_user

TENANT_HEADER = "X-Tenant"


def tenant_for_request(*, request: Request) -> Tenant:
    """The tenant an authenticated request acts for.

    `X-Tenant: <slug>` picks one of the caller's tenants; with a single membership
    it is implied. Not a member → 403; several memberships and no header, or a
    header that cannot be a slug, → 400.
    """
    tenants = tenants_for_user(user=request.user)
    slug = request.headers.get(TENANT_HEADER, "").strip()
    if slug:
        if not slug_re.match(slug):
            raise ValidationError({TENANT_HEADER: ["Not a valid tenant slug."]})
        tenant = tenants.filter(slug=slug).first()
        if tenant is None:
            raise PermissionDenied(f"You are not a member of tenant '{slug}'.")
        return tenant
    candidates = list(tenants.order_by("slug")[:21])
    if not candidates:
        raise PermissionDenied("You are not a member of any active tenant.")
    if len(candidates) > 1:
        slugs = ", ".join(t.slug for t in candidates[:20])
        raise ValidationError(
            {TENANT_HEADER: [f"You belong to several tenants; send this header with one of: {slugs}."]}
        )
    return candidates[0]


class TenantScopedViewMixin:
    """Resolves `self.tenant` after authentication, so anonymous calls still get 401."""

    tenant: Tenant

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        self.tenant = tenant_for_request(request=request)

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        context["tenant"] = getattr(self, "tenant", None)
        return context

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        """Query-string filters narrow a list; a route to one object finds it by id alone
        (`GET /workitems/1/?customer=5` is work item 1, not a 404)."""
        if getattr(self, "detail", False):
            return queryset
        return super().filter_queryset(queryset)

    @property
    def is_schema_generation(self) -> bool:
        return getattr(self, "swagger_fake_view", False)


class DeleteNeedsTenantAdmin(BasePermission):
    """Members read, create and update; deleting needs the admin role in the tenant acted for.

    Checked on the object, after the tenant-scoped look-up: another tenant's object stays a 404."""

    message = "Deleting needs the admin role in this tenant."

    def has_object_permission(self, request: Request, view, obj) -> bool:
        if request.method != "DELETE":
            return True
        return membership_role(user=request.user, tenant=view.tenant) == Membership.Role.ADMIN


class TenantAwareAutoSchema(AutoSchema):
    """Documents the X-Tenant header on every tenant-scoped endpoint."""

    def get_override_parameters(self) -> list:
        parameters = super().get_override_parameters()
        if isinstance(self.view, TenantScopedViewMixin):
            parameters.append(
                OpenApiParameter(
                    TENANT_HEADER,
                    str,
                    OpenApiParameter.HEADER,
                    description="Slug of the tenant to act for; required only when you belong to several.",
                )
            )
        return parameters
