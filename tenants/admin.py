"""Admin for tenants and memberships, and the tenant scoping every other admin uses.

Superusers see everything. Other staff see and edit only rows of the tenants they
administer (Membership role "admin"), without needing Django model permissions. A
plain member of a tenant uses the API; the admin shows them none of its rows, even when
they administer another tenant.
"""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from tenants.models import Membership, Tenant
from tenants.selectors import tenants_administered_by

User = get_user_model()


def is_tenant_admin(user) -> bool:
    return user.is_active and user.is_staff and user.memberships.filter(role=Membership.Role.ADMIN).exists()


class TenantScopedAdminMixin:
    """Limits a ModelAdmin's rows and foreign-key choices to the user's tenants.

    `tenant_path` is the lookup from the model to its Tenant ("tenant",
    "workitem__tenant", or "" for Tenant itself).
    """

    tenant_path = "tenant"

    def user_tenants(self, request: HttpRequest) -> QuerySet[Tenant]:
        return tenants_administered_by(user=request.user)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        lookup = f"{self.tenant_path}__in" if self.tenant_path else "pk__in"
        return queryset.filter(**{lookup: self.user_tenants(request)})

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        """A row never moves to another tenant: its references would then cross tenants."""
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and self.tenant_path == "tenant" and not isinstance(self, admin.options.InlineModelAdmin):
            readonly.append("tenant")
        return readonly

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if not request.user.is_superuser:
            kwargs["queryset"] = self.scoped_choices(db_field.related_model, request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def scoped_choices(self, related_model: type[Model], request: HttpRequest) -> QuerySet:
        tenants = self.user_tenants(request)
        if related_model is Tenant:
            return tenants
        if related_model is User:
            return User.objects.filter(memberships__tenant__in=tenants).distinct()
        if any(field.name == "tenant" for field in related_model._meta.fields):
            return related_model._default_manager.filter(tenant__in=tenants)
        return related_model._default_manager.all()

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or is_tenant_admin(request.user)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_view_permission(request, obj) or is_tenant_admin(request.user)

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return super().has_add_permission(request, *args) or is_tenant_admin(request.user)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_change_permission(request, obj) or is_tenant_admin(request.user)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_delete_permission(request, obj) or is_tenant_admin(request.user)


class MembershipInline(TenantScopedAdminMixin, admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    tenant_path = ""
    list_display = ["name", "slug", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", ("tenant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__username", "user__email", "tenant__name"]
