"""Query-string filters of the work-item list."""

import django_filters

from app.filters import UtcIsoDateTimeFilter
from workitems.models import WorkItem


class WorkItemFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=WorkItem.Status.choices)
    priority = django_filters.MultipleChoiceFilter(choices=WorkItem.Priority.choices)
    type = django_filters.MultipleChoiceFilter(choices=WorkItem.Type.choices)
    technician = django_filters.NumberFilter(field_name="technician_id")
    customer = django_filters.NumberFilter(field_name="customer_id")
    updated_since = UtcIsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", label="Changed at or after (ISO 8601)"
    )

    class Meta:
        model = WorkItem
        fields = ["status", "priority", "type", "technician", "customer", "updated_since"]
