"""Admin for external links, read-only: which remote object each work item is linked to, and
for kinds that report statuses, the base of the three-way merge and the last status seen."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from integrations.admin.display import object_link
from integrations.models import ExternalLink
from tenants.admin import TenantScopedAdminMixin


@admin.register(ExternalLink)
class ExternalLinkAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    tenant_path = "integration__tenant"
    list_display = [
        "integration", "object_link", "remote", "base_status", "last_remote_status", "last_remote_at", "updated_at",
    ]  # fmt: skip
    list_filter = [
        "integration__integration_type",
        ("integration", admin.RelatedOnlyFieldListFilter),
        ("integration__tenant", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["integration", "content_type"]
    search_fields = ["external_id"]
    search_help_text = "Search by the tool's id (e.g. the work package number)."
    fields = [
        "integration", "object_link", "remote", "base_status", "last_remote_status", "last_remote_at",
        "remote_version", "details", "created_at", "updated_at",
    ]  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ExternalLink]:
        return super().get_queryset(request).prefetch_related("content_object")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="Object")
    def object_link(self, obj: ExternalLink) -> str:
        return object_link(obj.content_object, obj.content_type, obj.object_id)

    @admin.display(description="Remote", ordering="external_id")
    def remote(self, obj: ExternalLink) -> str:
        if obj.external_url:
            return format_html("<a href='{}' rel='noopener' target='_blank'>{}</a>", obj.external_url, obj.external_id)
        return obj.external_id
