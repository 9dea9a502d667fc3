"""REST endpoints for work items, notes, customers, assets and drop-off points.

Views stay thin: they resolve the tenant, validate with a serializer and call a
service or selector.
"""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from tenants.api import DeleteNeedsTenantAdmin, TenantScopedViewMixin
from workitems import selectors, services
from workitems.api.filters import WorkItemFilter
from workitems.api.serializers import (
    CustomerAssetSerializer,
    CustomerSerializer,
    DropoffPointSerializer,
    WorkItemNoteSerializer,
    WorkItemSerializer,
)
from workitems.models import Customer, CustomerAsset, DropoffPoint, WorkItem

WRITE_METHODS = ["get", "post", "patch", "delete", "head", "options"]
PERMISSIONS = [IsAuthenticated, DeleteNeedsTenantAdmin]


class WorkItemViewSet(TenantScopedViewMixin, viewsets.ModelViewSet):
    """Work items of the caller's tenant. Change `status` with PATCH; DELETE needs the tenant's admin role."""

    permission_classes = PERMISSIONS
    serializer_class = WorkItemSerializer
    filterset_class = WorkItemFilter
    search_fields = ["reference_id", "description", "customer__name"]
    ordering_fields = ["created_date", "due_date", "updated_at", "reference_id", "priority", "status"]
    ordering = ["-created_date", "-id"]
    http_method_names = WRITE_METHODS

    def get_queryset(self) -> QuerySet[WorkItem]:
        if self.is_schema_generation:
            return WorkItem.objects.none()
        return selectors.workitems_for_tenant(tenant=self.tenant)

    def perform_create(self, serializer: WorkItemSerializer) -> None:
        serializer.instance = services.workitem_create(tenant=self.tenant, **serializer.validated_data)

    def perform_update(self, serializer: WorkItemSerializer) -> None:
        serializer.instance = services.workitem_update(workitem=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance: WorkItem) -> None:
        services.workitem_delete(workitem=instance)

    @extend_schema(responses=WorkItemNoteSerializer(many=True))
    # A nested route takes no filters of its own: the work-item list's would hide its work item.
    @action(detail=True, methods=["get"], serializer_class=WorkItemNoteSerializer, filter_backends=[])
    def notes(self, request: Request, pk: str | None = None) -> Response:
        """Notes on a work item, oldest first: user notes and Fieldhook's system notes."""
        notes = selectors.notes_for_workitem(workitem=self.get_object())
        page = self.paginate_queryset(notes)
        return self.get_paginated_response(WorkItemNoteSerializer(page, many=True).data)

    @extend_schema(request=WorkItemNoteSerializer, responses={201: WorkItemNoteSerializer})
    @notes.mapping.post
    def add_note(self, request: Request, pk: str | None = None) -> Response:
        workitem = self.get_object()
        serializer = WorkItemNoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note = services.workitem_note_create(
            workitem=workitem, body=serializer.validated_data["body"], author=request.user
        )
        return Response(WorkItemNoteSerializer(note).data, status=status.HTTP_201_CREATED)


class TenantOwnedViewSet(TenantScopedViewMixin, viewsets.ModelViewSet):
    """CRUD on a simple tenant-owned model; subclasses name the model and its selector.
    DELETE needs the tenant's admin role."""

    permission_classes = PERMISSIONS
    model: type
    selector: staticmethod
    http_method_names = WRITE_METHODS
    ordering_fields = ["name", "created_at"]
    search_fields = ["name"]

    def get_queryset(self) -> QuerySet:
        if self.is_schema_generation:
            return self.model.objects.none()
        return self.selector(tenant=self.tenant)

    def perform_create(self, serializer) -> None:
        serializer.save(tenant=self.tenant)


class CustomerViewSet(TenantOwnedViewSet):
    model = Customer
    selector = staticmethod(selectors.customers_for_tenant)
    serializer_class = CustomerSerializer
    search_fields = ["name", "email"]


class CustomerAssetViewSet(TenantOwnedViewSet):
    model = CustomerAsset
    selector = staticmethod(selectors.assets_for_tenant)
    serializer_class = CustomerAssetSerializer
    search_fields = ["name", "serial_number"]


class DropoffPointViewSet(TenantOwnedViewSet):
    model = DropoffPoint
    selector = staticmethod(selectors.dropoff_points_for_tenant)
    serializer_class = DropoffPointSerializer
