"""Display helpers shared by the integrations admin screens."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils.html import format_html

from workitems.models import WorkItem


def object_link(target: object, content_type: ContentType, object_id: int) -> str:
    """A sync's or a link's object: a link to the work item's page, or what is left of it."""
    if isinstance(target, WorkItem):
        url = reverse("admin:workitems_workitem_change", args=[target.pk])
        return format_html("<a href='{}'>{}</a>", url, target.reference_id)
    return str(target) if target else f"{content_type.model} #{object_id} (deleted)"
