"""REST endpoints of integrations: the integrations themselves (tenant admins write, members
read), their syncs with retry and replay, the event types with their schemas, the kinds with
their settings, and a work item's syncs and "Sync now".

Views stay thin: they resolve the tenant, validate with a serializer and call a service or a
selector.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations import events, selectors, services
from integrations.api import examples
from integrations.api.filters import SyncFilter, sync_filter_from_json
from integrations.api.integration_form import kind_config_fields
from integrations.api.serializers import (
    BackfillSerializer,
    ConnectionTestSerializer,
    EventTypeSerializer,
    IntegrationKindSerializer,
    IntegrationSyncSerializer,
    QueuedSerializer,
    ResumeSerializer,
    RotatedSecretSerializer,
    SyncDetailSerializer,
    SyncNowSerializer,
    SyncSelectionSerializer,
    SyncSerializer,
    TenantIntegrationSerializer,
)
from integrations.connectors import registry
from integrations.crypto import SecretsUnreadable
from integrations.engine import sweep
from integrations.event_contract import event_schemas
from integrations.models import SUBSCRIBABLE_EVENTS, EventType, IntegrationSync, TenantIntegration
from tenants.api import TenantScopedViewMixin, WritesNeedTenantAdmin
from workitems.selectors import user_display_name, workitems_for_tenant

ADMIN_WRITES = [IsAuthenticated, WritesNeedTenantAdmin]


@extend_schema_view(
    create=extend_schema(examples=[examples.WEBHOOK_CREATE, examples.WEBHOOK_CREATED]),
    partial_update=extend_schema(examples=[examples.WEBHOOK_PATCH]),
)
class IntegrationViewSet(TenantScopedViewMixin, viewsets.ModelViewSet):
    """Integrations of the caller's tenant. Members read; creating, changing, deleting and the
    actions need the tenant's admin role. Secrets are write-only (`secrets_set` names those
    stored); settings are validated exactly as in the admin form."""

    permission_classes = ADMIN_WRITES
    serializer_class = TenantIntegrationSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[TenantIntegration]:
        if self.is_schema_generation:
            return TenantIntegration.objects.none()
        return selectors.integrations_for_tenant(tenant=self.tenant)

    def perform_destroy(self, instance: TenantIntegration) -> None:
        services.integration_delete(integration=instance)

    @extend_schema(request=None, responses=ConnectionTestSerializer, examples=[examples.CONNECTION_TESTED])
    @action(detail=True, methods=["post"], url_path="test")
    def test(self, request: Request, pk: str | None = None) -> Response:
        """Test the connection: the kind's side-effect-free check (no event is sent). Always 200; `ok` says how it went."""
        ok, message = services.integration_test_connection(integration=self.get_object())
        return Response(ConnectionTestSerializer({"ok": ok, "message": message}).data)

    @extend_schema(request=None, responses=ConnectionTestSerializer, examples=[examples.CONNECTION_TESTED])
    @action(detail=True, methods=["post"], url_path="test-credentials")
    def test_credentials(self, request: Request, pk: str | None = None) -> Response:
        """The same as …/test/ (the name some kinds' guides use)."""
        return self.test(request, pk)

    @extend_schema(request=None, responses={202: SyncSerializer})
    @action(detail=True, methods=["post"], url_path="send-test-event")
    def send_test_event(self, request: Request, pk: str | None = None) -> Response:
        """Queue an `integration_test` event through the normal outbox; follow it at /syncs/{id}/."""
        sync = services.integration_send_test_event(integration=self.get_object())
        sync = selectors.syncs_for_tenant(tenant=self.tenant).get(pk=sync.pk)
        return Response(SyncSerializer(sync).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=TenantIntegrationSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        """Stop deliveries; syncs wait (new ones too) until it is resumed."""
        reason = f"Paused by {user_display_name(request.user)} on {timezone.now():%Y-%m-%d %H:%M} UTC."
        integration = services.integration_pause(integration=self.get_object(), reason=reason)
        return Response(self.get_serializer(integration).data)

    @extend_schema(request=ResumeSerializer, responses=TenantIntegrationSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        """Deliver again (waiting syncs go now); with `backfill`, open work items it has not received follow."""
        integration = self.get_object()
        options = ResumeSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        integration = services.integration_resume(integration=integration, backfill=options.validated_data["backfill"])
        return Response(self.get_serializer(integration).data)

    @extend_schema(request=BackfillSerializer, responses={202: None})
    @action(detail=True, methods=["post"])
    def backfill(self, request: Request, pk: str | None = None) -> Response:
        """Send workitem_created for the tenant's work items it has not received (default: the open ones), in the background."""
        integration = self.get_object()
        options = BackfillSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        services.integration_backfill_start(integration=integration, **options.validated_data)
        return Response(status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=RotatedSecretSerializer, examples=[examples.SECRET_ROTATED])
    @action(detail=True, methods=["post"], url_path="rotate-signing-secret")
    def rotate_signing_secret(self, request: Request, pk: str | None = None) -> Response:
        """A new signing secret, in force at once; this answer is the only time it is shown."""
        try:
            secret = services.integration_signing_secret_rotate(integration=self.get_object())
        except ValueError as error:
            raise serializers.ValidationError({"kind": [str(error)]}) from None
        except SecretsUnreadable as error:
            raise serializers.ValidationError({"secrets": [str(error)]}) from None
        return Response(RotatedSecretSerializer({"signing_secret": secret}).data)


@extend_schema_view(retrieve=extend_schema(examples=[examples.SYNC_DETAIL]))
class SyncViewSet(TenantScopedViewMixin, viewsets.ReadOnlyModelViewSet):
    """Deliveries of the tenant's events, newest first, each with its attempts. Retrying and
    replaying need the tenant's admin role."""

    permission_classes = ADMIN_WRITES
    filterset_class = SyncFilter
    filter_backends = [DjangoFilterBackend]

    def get_queryset(self) -> QuerySet[IntegrationSync]:
        if self.is_schema_generation:
            return IntegrationSync.objects.none()
        return selectors.syncs_for_tenant(tenant=self.tenant)

    def get_serializer_class(self):
        return SyncDetailSerializer if self.action == "retrieve" else SyncSerializer

    @extend_schema(request=SyncSelectionSerializer, responses=QueuedSerializer, examples=examples.SYNC_SELECTIONS)
    @action(detail=False, methods=["post"], filter_backends=[])
    def retry(self, request: Request) -> Response:
        """A fresh round of attempts, now, for the chosen pending or failed syncs (synced ones are left alone)."""
        return self._requeue(request, include_synced=False)

    @extend_schema(request=SyncSelectionSerializer, responses=QueuedSerializer, examples=examples.SYNC_SELECTIONS)
    @action(detail=False, methods=["post"], filter_backends=[])
    def replay(self, request: Request) -> Response:
        """Send the chosen syncs again, synced ones included, with their original event id and payload."""
        return self._requeue(request, include_synced=True)

    def _requeue(self, request: Request, *, include_synced: bool) -> Response:
        selection = SyncSelectionSerializer(data=request.data)
        selection.is_valid(raise_exception=True)
        syncs = self._selected(selection.validated_data)
        queued = sweep.syncs_retry_now(syncs=syncs, include_synced=include_synced)
        return Response(QueuedSerializer({"queued": queued}).data)

    def _selected(self, selection: dict) -> QuerySet[IntegrationSync]:
        tenant_syncs = selectors.syncs_for_tenant(tenant=self.tenant)
        if "ids" in selection:
            ids = set(selection["ids"])
            found = set(selectors.syncs_filter(syncs=tenant_syncs, ids=ids).values_list("id", flat=True))
            if missing := sorted(ids - found):
                raise serializers.ValidationError({"ids": [f"No sync with id {', '.join(map(str, missing))}."]})
            return selectors.syncs_filter(syncs=tenant_syncs, ids=ids)
        criteria = selection["filter"]
        if unknown := sorted(set(criteria) - set(SyncFilter.base_filters)):
            raise serializers.ValidationError({f"filter.{name}": ["Not a filter of syncs."] for name in unknown})
        chosen = sync_filter_from_json(criteria=criteria, queryset=tenant_syncs)
        if not chosen.is_valid():
            raise serializers.ValidationError({f"filter.{name}": errors for name, errors in chosen.errors.items()})
        return chosen.qs


class EventTypeListView(APIView):
    """The event types with the JSON Schema of their payload (docs/events.md renders the same)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=EventTypeSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = [
            {
                "name": name,
                "label": EventType(name).label,
                "subscribable": name in SUBSCRIBABLE_EVENTS,
                "schema": schema,
            }
            for name, schema in event_schemas().items()
        ]
        return Response(EventTypeSerializer(rows, many=True).data)


class IntegrationKindListView(APIView):
    """The kinds of integration, with the settings each takes in `config` and `secrets`."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=IntegrationKindSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = []
        for kind in registry.kinds():
            connector = registry.get(kind)
            rows.append(
                {
                    "kind": kind,
                    "label": connector.label,
                    "description": connector.description,
                    "capabilities": sorted(connector.capabilities),
                    "settings": kind_config_fields(kind),
                }
            )
        return Response(IntegrationKindSerializer(rows, many=True).data)


class WorkItemSyncListView(TenantScopedViewMixin, generics.ListAPIView):
    """Sync history of one work item, newest first. Another tenant's work item is a 404."""

    serializer_class = IntegrationSyncSerializer
    filterset_class = SyncFilter
    search_fields: list[str] = []
    ordering_fields = ["created_at"]

    def get_queryset(self) -> QuerySet[IntegrationSync]:
        if self.is_schema_generation:
            return IntegrationSync.objects.none()
        workitem = get_object_or_404(workitems_for_tenant(tenant=self.tenant), pk=self.kwargs["pk"])
        return selectors.syncs_for_workitem(workitem=workitem)


class WorkItemSyncNowView(TenantScopedViewMixin, generics.GenericAPIView):
    """Send the work item as it is now to one integration, through the outbox."""

    serializer_class = SyncNowSerializer

    @extend_schema(request=SyncNowSerializer, responses={202: SyncSerializer}, examples=[examples.SYNC_NOW])
    def post(self, request: Request, pk: int) -> Response:
        """Creates the remote object when the integration has not received the work item yet
        (workitem_created); otherwise sends its current status (workitem_status_changed with
        `changes.status.old` null). 202 with the queued sync."""
        workitem = get_object_or_404(workitems_for_tenant(tenant=self.tenant), pk=pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        integrations = selectors.integrations_for_tenant(tenant=self.tenant)
        integration = integrations.filter(pk=serializer.validated_data["integration"]).first()
        if integration is None:
            raise serializers.ValidationError({"integration": ["No integration with this id in your tenant."]})
        try:
            sync = events.workitem_send_current_state(workitem=workitem, integration=integration)
        except events.EventNotSubscribed as refused:
            raise serializers.ValidationError({"integration": [str(refused)]}) from None
        sync = selectors.syncs_for_tenant(tenant=self.tenant).get(pk=sync.pk)
        return Response(SyncSerializer(sync).data, status=status.HTTP_202_ACCEPTED)
