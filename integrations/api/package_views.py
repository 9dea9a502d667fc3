"""REST endpoints of issue packages: templates (tenant admins write, members read), starting a
package on a work item (202 with one run per target integration), and the runs with resume."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from integrations import packages, selectors
from integrations.api import examples
from integrations.api.filters import PackageRunFilter
from integrations.api.package_serializers import (
    PackageRunSerializer,
    PackageRunsStartedSerializer,
    PackageStartSerializer,
    PackageTemplateSerializer,
)
from integrations.models import PackageRun, PackageTemplate
from tenants.api import TenantScopedViewMixin, WritesNeedTenantAdmin
from workitems.selectors import workitems_for_tenant


class RunNotResumable(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "not_resumable"


@extend_schema_view(
    create=extend_schema(examples=[examples.PACKAGE_TEMPLATE_CREATE, examples.PACKAGE_TEMPLATE_CREATED]),
    partial_update=extend_schema(examples=[examples.PACKAGE_TEMPLATE_PATCH]),
)
class PackageTemplateViewSet(TenantScopedViewMixin, viewsets.ModelViewSet):
    """Package templates of the caller's tenant: a parent and its ordered children. Members read;
    writes need the tenant's admin role. Deleting a template leaves its runs (they keep a copy)."""

    permission_classes = [IsAuthenticated, WritesNeedTenantAdmin]
    serializer_class = PackageTemplateSerializer
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[PackageTemplate]:
        if self.is_schema_generation:
            return PackageTemplate.objects.none()
        return selectors.package_templates_for_tenant(tenant=self.tenant)


@extend_schema_view(retrieve=extend_schema(examples=[examples.PACKAGE_RUN_PARTIAL]))
class PackageRunViewSet(TenantScopedViewMixin, viewsets.ReadOnlyModelViewSet):
    """Package runs of the tenant, newest first: one per work item, template and integration,
    with its progress (created of total issues) and what it created."""

    serializer_class = PackageRunSerializer
    filterset_class = PackageRunFilter
    filter_backends = [DjangoFilterBackend]

    def get_queryset(self) -> QuerySet[PackageRun]:
        if self.is_schema_generation:
            return PackageRun.objects.none()
        return selectors.package_runs_for_tenant(tenant=self.tenant)

    @extend_schema(request=None, responses={202: PackageRunSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        """Queue the run again: it creates only what is still missing (never a duplicate). 409
        when it is done or still under way."""
        try:
            run = packages.package_run_resume(run=self.get_object())
        except packages.PackageRunNotResumable as refused:
            raise RunNotResumable(str(refused)) from None
        return Response(self.get_serializer(run).data, status=status.HTTP_202_ACCEPTED)


class WorkItemPackageView(TenantScopedViewMixin, generics.GenericAPIView):
    """Create a package from a template on one or more integrations, in the background."""

    serializer_class = PackageStartSerializer

    @extend_schema(
        request=PackageStartSerializer,
        responses={202: PackageRunsStartedSerializer},
        examples=[examples.PACKAGE_START, examples.PACKAGE_STARTED],
    )
    def post(self, request: Request, pk: int) -> Response:
        """One run per target: it creates the parent, the chosen children (in batches) and links
        them. 202 with the queued runs; each ends with a system note on the work item."""
        workitem = get_object_or_404(workitems_for_tenant(tenant=self.tenant), pk=pk)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        runs = packages.package_runs_start(workitem=workitem, **serializer.validated_data)
        runs = selectors.package_runs_for_tenant(tenant=self.tenant).filter(pk__in=[run.pk for run in runs])
        body = PackageRunsStartedSerializer({"runs": runs.order_by("id")}, context=self.get_serializer_context())
        return Response(body.data, status=status.HTTP_202_ACCEPTED)
