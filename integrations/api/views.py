"""GET /api/v1/workitems/{id}/syncs/ — where each event of a work item went, and how it fared."""

import django_filters
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from rest_framework import generics

from integrations.api.serializers import IntegrationSyncSerializer
from integrations.models import EventType, IntegrationSync
from integrations.selectors import syncs_for_workitem
from tenants.api import TenantScopedViewMixin
from workitems.selectors import workitems_for_tenant


class WorkItemSyncFilter(django_filters.FilterSet):
    event_type = django_filters.ChoiceFilter(field_name="event__event_type", choices=EventType.choices)

    class Meta:
        model = IntegrationSync
        fields = ["status", "event_type"]


class WorkItemSyncListView(TenantScopedViewMixin, generics.ListAPIView):
    """Sync history of one work item, newest first. Another tenant's work item is a 404."""

    serializer_class = IntegrationSyncSerializer
    filterset_class = WorkItemSyncFilter
    ordering_fields = ["created_at"]
    search_fields: list[str] = []

    def get_queryset(self) -> QuerySet[IntegrationSync]:
        if self.is_schema_generation:
            return IntegrationSync.objects.none()
        workitem = get_object_or_404(workitems_for_tenant(tenant=self.tenant), pk=self.kwargs["pk"])
        return syncs_for_workitem(workitem=workitem)
