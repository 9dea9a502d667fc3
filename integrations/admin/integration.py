"""Admin for integrations: configure, test, reset the circuit, connect with OAuth."""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from integrations import events, selectors, services
from integrations.auth import views as auth_views
from integrations.connectors import registry
from integrations.connectors.base import Capability, Connector
from integrations.connectors.errors import ConnectorError
from integrations.crypto import SecretsUnreadable
from integrations.engine import resilience
from integrations.engine.resilience import CircuitState
from integrations.forms import config_field_names, integration_form_for
from integrations.inbound.polling import pollable_kinds
from integrations.models import IntegrationSync, TenantIntegration
from tenants.admin import TenantScopedAdminMixin
from workitems.models import WorkItem

GENERATED_SECRETS_KEY = "integrations_generated_secrets"  # session: {integration pk: {field: secret}}


class SyncNowForm(forms.Form):
    integration = forms.ModelChoiceField(
        queryset=TenantIntegration.objects.none(),
        help_text="Not received yet: the work item is created there. Received: its current status is sent again.",
    )

    def __init__(self, *args, integrations, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["integration"].queryset = integrations


@admin.register(TenantIntegration)
class TenantIntegrationAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = [
        "name", "tenant", "integration_type", "events", "is_active", "circuit", "pending_count", "updated_at",
    ]  # fmt: skip
    list_filter = ["is_active", "integration_type", ("tenant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "tenant__name"]
    readonly_fields = [
        "uuid", "created_at", "updated_at", "circuit", "failing_since", "paused_reason",
        "connection", "last_polled_at", "last_poll_result", "linked_objects",
    ]  # fmt: skip
    actions = ["send_test_event", "test_connection", "reset_circuit"]
    change_form_template = "admin/integrations/tenantintegration/change_form.html"

    def chosen_kind(self, request: HttpRequest, obj: TenantIntegration | None) -> str | None:
        return (
            request.POST.get("integration_type")
            or request.GET.get("integration_type")
            or (obj.integration_type if obj else None)
        )

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        kwargs["form"] = integration_form_for(self.chosen_kind(request, obj))
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj=None):
        kind = self.chosen_kind(request, obj)
        fieldsets = [(None, {"fields": ["tenant", "name", "integration_type", "event_types", "is_active", "backfill"]})]
        if kind in registry:
            connector = registry.get(kind)
            shows_state = (
                obj is not None
                and kind == obj.integration_type
                and Capability.CONNECTION_STATE in connector.capabilities
            )
            fieldsets.append(
                (
                    f"Settings: {connector.label}",
                    {
                        "fields": (["connection"] if shows_state else []) + config_field_names(kind),
                        "description": connector.description,
                    },
                )
            )
            if connector.reports_statuses():
                fieldsets.append(self._statuses_fieldset(connector))
        else:
            fieldsets.append(
                ("Settings", {"fields": [], "description": "Choose an integration type to see its settings."})
            )
        fieldsets.append(("Delivery", {"fields": ["max_attempts", "retry_backoff_seconds", "rate_limit_per_second"]}))
        if obj:
            health = ["circuit", "failing_since", "paused_reason"]
            if obj.integration_type in registry and registry.get(obj.integration_type).uses_external_links:
                health.append("linked_objects")
            if obj.integration_type in pollable_kinds():
                health += ["last_polled_at", "last_poll_result"]
            fieldsets.append(("Health", {"fields": health}))
            fieldsets.append(("Identity", {"fields": ["uuid", "created_at", "updated_at"], "classes": ["collapse"]}))
        return fieldsets

    def _statuses_fieldset(self, connector: type[Connector]) -> tuple[str, dict]:
        description = (
            f"A status changed both here and in {connector.label} since they last agreed is a conflict; the "
            "policy decides which one stays, and a note on the work item records both."
        )
        return f"Statuses from {connector.label}", {"fields": ["status_conflict_policy"], "description": description}

    def get_queryset(self, request: HttpRequest) -> QuerySet[TenantIntegration]:
        pending = Count("syncs", filter=Q(syncs__status=IntegrationSync.Status.PENDING))
        return super().get_queryset(request).select_related("tenant").annotate(pending=pending)

    def get_urls(self):
        # Before the model's own URLs, whose "<path:object_id>/" would otherwise catch these paths.
        connect = path(
            "<path:object_id>/oauth/connect/",
            self.admin_site.admin_view(require_POST(self.oauth_connect_view)),
            name="integrations_tenantintegration_oauth_connect",
        )
        sync_now = path(
            "sync-workitem/<int:workitem_id>/",
            self.admin_site.admin_view(self.sync_workitem_view),
            name="integrations_tenantintegration_sync_workitem",
        )
        return [connect, sync_now, *super().get_urls()]

    def sync_workitem_view(self, request: HttpRequest, workitem_id: int):
        """'Sync now' from a work item's page: choose one of its tenant's integrations, and the
        work item as it is now goes there (created there when it has not received it yet)."""
        workitems = WorkItem.objects.select_related("tenant")
        if not request.user.is_superuser:
            workitems = workitems.filter(tenant__in=self.user_tenants(request))
        workitem = workitems.filter(pk=workitem_id).first()
        if workitem is None or not self.has_change_permission(request):
            raise Http404("No such work item.")
        back = reverse("admin:workitems_workitem_change", args=[workitem.pk])
        form = SyncNowForm(request.POST or None, integrations=selectors.integrations_for_tenant(tenant=workitem.tenant))
        if request.method == "POST" and form.is_valid():
            integration = form.cleaned_data["integration"]
            try:
                sync = events.workitem_send_current_state(workitem=workitem, integration=integration)
            except events.EventNotSubscribed as refused:
                form.add_error("integration", str(refused))
            else:
                url = reverse("admin:integrations_integrationsync_change", args=[sync.pk])
                state = "" if integration.is_active else " It will wait until the integration is active."
                self.message_user(
                    request,
                    format_html(
                        "{} of {} queued for {} — <a href='{}'>follow sync #{}</a>.{}",
                        sync.event.event_type,
                        workitem.reference_id,
                        integration,
                        url,
                        sync.pk,
                        state,
                    ),
                )
                return redirect(back)
        context = {
            **self.admin_site.each_context(request),
            "opts": WorkItem._meta,
            "original": workitem,
            "title": f"Sync {workitem.reference_id} now",
            "form": form,
            "back": back,
        }
        return TemplateResponse(request, "admin/integrations/sync_now.html", context)

    def oauth_connect_view(self, request: HttpRequest, object_id: str) -> HttpResponseRedirect:
        """Start OAuth: a POST with the CSRF token (a GET answers 405), so that a link or an
        image elsewhere cannot start a flow in the admin's session. Nothing is stored on the
        integration before the callback checks the state."""
        integration = self.get_object(request, unquote(object_id))
        if integration is None or not self.has_change_permission(request, integration):
            raise Http404("No such integration.")
        if integration.integration_type not in registry:
            raise Http404("No such integration kind.")
        kind = registry.get(integration.integration_type)
        if Capability.OAUTH2 not in kind.capabilities:
            raise Http404(f"{kind.label} does not connect with OAuth.")
        connector = auth_views.oauth_connector(integration=integration)
        problem = (
            auth_views.oauth_connect_problem(integration=integration, connector=connector)
            if connector is not None
            else f"Choose OAuth 2 as the authentication method and save before connecting to {kind.label}."
        )
        if problem:
            self.message_user(request, problem, messages.ERROR)
            return redirect(auth_views.change_url(integration))
        return auth_views.oauth_start(request, integration=integration, connector=connector)

    def render_change_form(self, request: HttpRequest, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and request.method == "GET":
            context["generated_secrets"] = self._pop_generated_secrets(request, obj)
        if obj is not None and self.has_change_permission(request, obj):
            connector = self._oauth_connector(obj)
            if connector is not None:
                context["oauth_connect_url"] = reverse(
                    "admin:integrations_tenantintegration_oauth_connect", args=[obj.pk]
                )
                context["oauth_tool"] = connector.label
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _oauth_connector(self, obj: TenantIntegration):
        """The connector if the saved settings use OAuth; unreadable secrets offer no button."""
        try:
            return auth_views.oauth_connector(integration=obj)
        except (ConnectorError, SecretsUnreadable):
            return None

    def changelist_view(self, request: HttpRequest, extra_context=None):
        for integration in self.get_queryset(request).exclude(paused_reason="").filter(is_active=False):
            messages.warning(request, f"{integration} ({integration.tenant}): {integration.paused_reason}")
        return super().changelist_view(request, extra_context)

    def save_model(self, request: HttpRequest, obj: TenantIntegration, form, change: bool) -> None:
        backfill = form.cleaned_data.get("backfill", False)
        services.integration_save(integration=obj, backfill=backfill)
        if backfill:
            self.message_user(
                request,
                f"The open work items {obj} has not received are being sent in the background; "
                "follow them under Integration syncs.",
            )
        if form.generated_secrets:
            # Kept in the server-side session for one display, never in a message: the
            # message storage may be a cookie.
            pending = request.session.get(GENERATED_SECRETS_KEY, {})
            request.session[GENERATED_SECRETS_KEY] = {**pending, str(obj.pk): form.generated_secrets}

    def response_add(self, request: HttpRequest, obj: TenantIntegration, post_url_continue=None):
        return self._show_generated_secrets(request, obj, super().response_add(request, obj, post_url_continue))

    def response_change(self, request: HttpRequest, obj: TenantIntegration):
        return self._show_generated_secrets(request, obj, super().response_change(request, obj))

    def _show_generated_secrets(self, request: HttpRequest, obj: TenantIntegration, response):
        """After a save that generated a secret, go to the change page, which shows it once."""
        if isinstance(response, HttpResponseRedirect) and str(obj.pk) in request.session.get(GENERATED_SECRETS_KEY, {}):
            return redirect(auth_views.change_url(obj))
        return response

    def _pop_generated_secrets(self, request: HttpRequest, obj: TenantIntegration) -> list[tuple[str, str]]:
        pending = request.session.get(GENERATED_SECRETS_KEY, {})
        generated = pending.pop(str(obj.pk), {})
        if generated:
            request.session[GENERATED_SECRETS_KEY] = pending
        return [(name.replace("_", " "), value) for name, value in generated.items()]

    @admin.display(description="Events")
    def events(self, obj: TenantIntegration) -> str:
        return ", ".join(obj.event_types)

    @admin.display(description="Pending", ordering="pending")
    def pending_count(self, obj: TenantIntegration) -> int:
        return obj.pending

    @admin.display(description="Connection")
    def connection(self, obj: TenantIntegration | None) -> str:
        """What the connector says about its credentials (e.g. OAuth: connected as whom, until when)."""
        if obj is None or obj.pk is None:
            return "—"
        try:
            return services.integration_connector(integration=obj).connection_state() or "—"
        except (ConnectorError, SecretsUnreadable, ValueError):
            return "—"

    @admin.display(description="Linked")
    def linked_objects(self, obj: TenantIntegration | None) -> str:
        """How many of our objects are linked to the tool's; the list shows each link's statuses."""
        if obj is None or obj.pk is None or obj.integration_type not in registry:
            return "—"
        count, noun = obj.links.count(), registry.get(obj.integration_type).remote_noun
        url = reverse("admin:integrations_externallink_changelist") + f"?integration__id__exact={obj.pk}"
        return format_html("<a href='{}'>{} {}{}</a>", url, count, noun, "" if count == 1 else "s")

    @admin.display(description="Circuit breaker")
    def circuit(self, obj: TenantIntegration) -> str:
        circuit = resilience.circuit_state(obj)
        if circuit.state == CircuitState.OPEN:
            reopen = datetime.datetime.fromtimestamp(circuit.retry_at, tz=datetime.UTC)
            return f"Open: deliveries wait until {reopen:%H:%M:%S} UTC, then one probe"
        return {
            CircuitState.CLOSED: "Closed (healthy)",
            CircuitState.HALF_OPEN: "Half-open: next delivery is a probe",
        }[circuit.state]

    @admin.action(description="Send test event")
    def send_test_event(self, request: HttpRequest, queryset: QuerySet[TenantIntegration]) -> None:
        for integration in queryset:
            sync = services.integration_send_test_event(integration=integration)
            url = reverse("admin:integrations_integrationsync_change", args=[sync.pk])
            state = "" if integration.is_active else " It will wait until the integration is active."
            self.message_user(
                request,
                format_html(
                    "Test event queued for {} — <a href='{}'>follow sync #{}</a>.{}", integration, url, sync.pk, state
                ),
            )

    @admin.action(description="Reset circuit breaker")
    def reset_circuit(self, request: HttpRequest, queryset: QuerySet[TenantIntegration]) -> None:
        sent = sum(services.integration_resilience_reset(integration=integration) for integration in queryset)
        self.message_user(
            request,
            f"Circuit breaker closed and rate-limit pause cleared for {queryset.count()} integration(s); "
            f"{sent} waiting sync(s) sent now.",
        )

    @admin.action(description="Test connection")
    def test_connection(self, request: HttpRequest, queryset: QuerySet[TenantIntegration]) -> None:
        for integration in queryset:
            ok, outcome = services.integration_test_connection(integration=integration)
            self.message_user(request, f"{integration}: {outcome}", messages.SUCCESS if ok else messages.ERROR)
