"""Admin for syncs: watch, filter, retry, replay, and the sync health page."""

from __future__ import annotations

import json
import uuid

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from integrations.admin.display import object_link
from integrations.admin.sync_health import sync_health
from integrations.engine import sweep
from integrations.models import IntegrationSync, SyncAttempt, TenantIntegration
from tenants.admin import TenantScopedAdminMixin
from workitems.models import WorkItem


class SyncAttemptInline(admin.TabularInline):
    model = SyncAttempt
    extra = 0
    can_delete = False
    fields = [
        "number",
        "started_at",
        "duration_ms",
        "succeeded",
        "status_code",
        "error_class",
        "error",
        "response_excerpt",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(IntegrationSync)
class IntegrationSyncAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    tenant_path = "integration__tenant"
    list_display = [
        "status_label",
        "integration",
        "tenant",
        "event_type",
        "workitem_link",
        "attempts",
        "next_attempt",
        "short_error",
        "created_at",
    ]
    list_filter = [
        "status",
        "event__event_type",
        "integration__integration_type",
        ("integration", admin.RelatedOnlyFieldListFilter),
        ("integration__tenant", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["external_id"]
    search_help_text = "Search by work item reference (RMA-12), event id or external id."
    list_select_related = ["integration__tenant", "content_type", "event"]
    date_hierarchy = "created_at"
    actions = ["retry_now", "replay"]
    inlines = [SyncAttemptInline]
    fields = [
        "status_label",
        "integration",
        "event_type",
        "event_id",
        "workitem_link",
        "attempts",
        "next_attempt_at",
        "claimed_until",
        "last_status_code",
        "last_error",
        "external_id",
        "external_url",
        "created_at",
        "synced_at",
        "pretty_payload",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[IntegrationSync]:
        return super().get_queryset(request).prefetch_related("content_object")

    def get_urls(self):
        # Before the model's own URLs, whose "<object_id>/" would otherwise catch "sync-health/".
        health = path(
            "sync-health/",
            self.admin_site.admin_view(self.sync_health_view),
            name="integrations_integrationsync_sync_health",
        )
        return [health, *super().get_urls()]

    def sync_health_view(self, request: HttpRequest) -> TemplateResponse:
        """Per integration the user may see: the last 24 hours of deliveries and the backlog."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        integrations = TenantIntegration.objects.select_related("tenant")
        if not request.user.is_superuser:
            integrations = integrations.filter(tenant__in=self.user_tenants(request))
        context = {**self.admin_site.each_context(request), "opts": self.opts}
        return sync_health(request, integrations=integrations, context=context)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        term = search_term.strip()
        try:
            return queryset.filter(event__event_id=uuid.UUID(term)), False
        except ValueError:
            pass
        workitem_ids = WorkItem.objects.filter(reference_id__iexact=term).values("id")
        by_reference = queryset.filter(
            event__content_type=ContentType.objects.get_for_model(WorkItem), event__object_id__in=workitem_ids
        )
        if term and by_reference.exists():
            return by_reference, False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="Status", ordering="status")
    def status_label(self, obj: IntegrationSync) -> str:
        return obj.get_status_display()

    @admin.display(description="Event", ordering="event__event_type")
    def event_type(self, obj: IntegrationSync) -> str:
        return obj.event.get_event_type_display()

    @admin.display(description="Event id (webhook-id)")
    def event_id(self, obj: IntegrationSync) -> str:
        return str(obj.event.event_id)

    @admin.display(description="Tenant", ordering="integration__tenant__name")
    def tenant(self, obj: IntegrationSync):
        return obj.integration.tenant

    @admin.display(description="Object")
    def workitem_link(self, obj: IntegrationSync) -> str:
        return object_link(obj.content_object, obj.content_type, obj.object_id)

    @admin.display(description="Next attempt", ordering="next_attempt_at")
    def next_attempt(self, obj: IntegrationSync):
        """Only a pending sync has a next attempt."""
        return obj.next_attempt_at if obj.status == IntegrationSync.Status.PENDING else "—"

    @admin.display(description="Last error")
    def short_error(self, obj: IntegrationSync) -> str:
        return obj.last_error[:120]

    @admin.display(description="Payload")
    def pretty_payload(self, obj: IntegrationSync) -> str:
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>", json.dumps(obj.event.payload, indent=2))

    @admin.action(description="Retry now (failed or pending)")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[IntegrationSync]) -> None:
        count = sweep.syncs_retry_now(syncs=queryset)
        self.message_user(request, f"{count} sync(s) queued for a new round of attempts.")

    @admin.action(description="Replay (send again with the same event id)")
    def replay(self, request: HttpRequest, queryset: QuerySet[IntegrationSync]) -> None:
        count = sweep.syncs_retry_now(syncs=queryset, include_synced=True)
        self.message_user(request, f"{count} sync(s) queued to be sent again with their original event id.")
