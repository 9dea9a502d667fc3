"""Admin for issue packages: templates with their ordered elements, and the runs (read-only,
with progress, what was created, and a Resume action that creates only what is missing)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from integrations import packages
from integrations.models import PackageRun, PackageTemplate, PackageTemplateElement
from integrations.placeholders import VALUES
from tenants.admin import TenantScopedAdminMixin

PLACEHOLDERS = ", ".join(f"{{{name}}}" for name in VALUES)


class PackageTemplateElementInline(TenantScopedAdminMixin, admin.TabularInline):
    model = PackageTemplateElement
    tenant_path = "template__tenant"
    extra = 1
    fields = ["position", "summary", "description"]
    ordering = ["position", "id"]


@admin.register(PackageTemplate)
class PackageTemplateAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "tenant", "parent_issue_type", "child_issue_type", "element_count", "updated_at"]
    list_filter = [("tenant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name"]
    inlines = [PackageTemplateElementInline]
    fieldsets = [
        (None, {"fields": ["tenant", "name"]}),
        (
            "Parent",
            {
                "fields": ["parent_issue_type", "parent_summary", "parent_description"],
                "description": f"Placeholders filled with the work item's facts: {PLACEHOLDERS}.",
            },
        ),
        (
            "Children",
            {
                "fields": ["child_issue_type"],
                "description": "The elements below become the children, lowest position first; a package "
                "may be created with some of them only.",
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PackageTemplate]:
        return super().get_queryset(request).annotate(element_total=Count("elements"))

    @admin.display(description="Elements", ordering="element_total")
    def element_count(self, obj: PackageTemplate) -> int:
        return obj.element_total


@admin.register(PackageRun)
class PackageRunAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = ["status", "template_name", "integration", "workitem_link", "progress", "parent", "created_at"]
    list_filter = ["status", ("integration", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["integration", "workitem"]
    search_fields = ["parent_key", "workitem__reference_id"]
    search_help_text = "Search by the parent's key (SVC-12) or the work item's reference (RMA-12)."
    date_hierarchy = "created_at"
    actions = ["resume"]
    fields = [
        "status", "template_name", "template", "integration", "project_key", "workitem_link", "progress", "parent",
        "children", "error", "tries", "created_at", "started_at", "finished_at",
    ]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="Template")
    def template_name(self, obj: PackageRun) -> str:
        return obj.plan.get("template", "")

    @admin.display(description="Work item", ordering="workitem__reference_id")
    def workitem_link(self, obj: PackageRun) -> str:
        url = reverse("admin:workitems_workitem_change", args=[obj.workitem_id])
        return format_html("<a href='{}'>{}</a>", url, obj.workitem.reference_id)

    @admin.display(description="Created")
    def progress(self, obj: PackageRun) -> str:
        return f"{obj.created} of {obj.total}"

    @admin.display(description="Parent", ordering="parent_key")
    def parent(self, obj: PackageRun) -> str:
        if obj.parent_url:
            return format_html("<a href='{}' rel='noopener' target='_blank'>{}</a>", obj.parent_url, obj.parent_key)
        return obj.parent_key or "—"

    @admin.display(description="Children")
    def children(self, obj: PackageRun) -> str:
        rows = []
        for child in obj.plan.get("children", []):
            element = str(child["element"])
            made = obj.child_keys.get(element)
            if made:
                state = format_html(
                    "<a href='{}' rel='noopener' target='_blank'>{}</a>{}",
                    made["url"],
                    made["key"],
                    "" if made["linked"] else " (not linked yet)",
                )
            else:
                state = obj.element_errors.get(element, "not created yet")
            rows.append((child["summary"], state))
        return format_html("<ol>{}</ol>", format_html_join("", "<li>{}: {}</li>", rows)) if rows else "—"

    @admin.action(description="Resume (create only what is missing)")
    def resume(self, request: HttpRequest, queryset: QuerySet[PackageRun]) -> None:
        resumed, refused = 0, []
        for run in queryset:
            try:
                packages.package_run_resume(run=run)
                resumed += 1
            except packages.PackageRunNotResumable as reason:
                refused.append(f"run {run.pk}: {reason}")
        if resumed:
            self.message_user(request, f"{resumed} package run(s) queued to create what is missing.")
        if refused:
            self.message_user(request, "Not resumed: " + " ".join(refused), level=messages.WARNING)
