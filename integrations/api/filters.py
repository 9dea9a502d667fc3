"""Query-string filters of the sync list, also the `filter` of a bulk retry or replay."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from app.filters import UtcIsoDateTimeFilter
from integrations import selectors
from integrations.models import EventType, IntegrationSync, PackageRun


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """An object's id (the filters below never query by themselves)."""


class SyncFilter(django_filters.FilterSet):
    """Validates the criteria; integrations.selectors.syncs_filter applies them all at once
    (every query on syncs lives there), so the filters' own field names are never queried."""

    status = django_filters.MultipleChoiceFilter(choices=IntegrationSync.Status.choices)
    integration = IdFilter(label="Integration id")
    event_type = django_filters.MultipleChoiceFilter(choices=EventType.choices)
    workitem = IdFilter(label="Work item id")
    created_after = UtcIsoDateTimeFilter(label="Created at or after (ISO 8601)")
    created_before = UtcIsoDateTimeFilter(label="Created before (ISO 8601)")

    class Meta:
        model = IntegrationSync
        fields = ["status", "integration", "event_type", "workitem", "created_after", "created_before"]

    def filter_queryset(self, queryset: QuerySet[IntegrationSync]) -> QuerySet[IntegrationSync]:
        criteria = {name: value for name, value in self.form.cleaned_data.items() if value not in (None, "", [])}
        return selectors.syncs_filter(syncs=queryset, **criteria)


def sync_filter_from_json(*, criteria: dict[str, Any], queryset: QuerySet[IntegrationSync]) -> SyncFilter:
    """The filter for criteria sent as a JSON object (a single value where a list is taken is fine)."""
    data = QueryDict(mutable=True)
    for name, value in criteria.items():
        data.setlist(name, [str(item) for item in value] if isinstance(value, list) else [str(value)])
    return SyncFilter(data=data, queryset=queryset)


class PackageRunFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=PackageRun.Status.choices)
    integration = IdFilter(field_name="integration_id", label="Integration id")
    workitem = IdFilter(field_name="workitem_id", label="Work item id")

    class Meta:
        model = PackageRun
        fields = ["status", "integration", "workitem"]
