"""The admin's "Sync health" page: per integration, the last 24 hours of deliveries as an
inline SVG bar chart (no JavaScript, no CDN), the backlog and the failed syncs.

Everything is counted in the database: four queries, however many integrations there are.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Min, Q, QuerySet
from django.db.models.functions import TruncHour
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from integrations.models import IntegrationSync, TenantIntegration

HOURS = 24
SLOT_WIDTH = 20  # px per hour: a synced bar and a failed bar side by side
BAR_WIDTH = 8
CHART_HEIGHT = 60
LABEL_HEIGHT = 14
Status = IntegrationSync.Status


@dataclass(frozen=True)
class HourBar:
    start: datetime.datetime
    synced: int
    failed: int
    x: int
    synced_height: float
    failed_height: float
    label: str  # axis label, every sixth hour

    @property
    def synced_x(self) -> int:
        return self.x + 1

    @property
    def failed_x(self) -> int:
        return self.x + 1 + BAR_WIDTH

    @property
    def synced_y(self) -> float:
        return CHART_HEIGHT - self.synced_height

    @property
    def failed_y(self) -> float:
        return CHART_HEIGHT - self.failed_height

    @property
    def iso(self) -> str:
        return self.start.isoformat()

    @property
    def title(self) -> str:
        end = self.start + datetime.timedelta(hours=1)
        return f"{self.start:%H:%M}–{end:%H:%M} UTC: {self.synced} synced, {self.failed} failed"


@dataclass(frozen=True)
class IntegrationHealth:
    integration: TenantIntegration
    hours: list[HourBar]
    pending: int
    oldest_pending_at: datetime.datetime | None
    failed: int

    @property
    def synced_24h(self) -> int:
        return sum(bar.synced for bar in self.hours)

    @property
    def failed_24h(self) -> int:
        return sum(bar.failed for bar in self.hours)

    @property
    def peak(self) -> int:
        return max((max(bar.synced, bar.failed) for bar in self.hours), default=0)


def integrations_sync_health(
    *, integrations: QuerySet[TenantIntegration], now: datetime.datetime
) -> list[IntegrationHealth]:
    """Hourly synced (by synced_at) and failed (by updated_at: when they failed) counts for the
    last 24 hours, plus the backlog, for the given (already tenant-scoped) integrations."""
    first_hour = now.astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0)
    first_hour -= datetime.timedelta(hours=HOURS - 1)
    rows = list(integrations)
    if not rows:
        return []
    syncs = IntegrationSync.objects.filter(integration_id__in=[integration.pk for integration in rows]).order_by()
    synced = _hourly(syncs.filter(status=Status.SYNCED, synced_at__gte=first_hour), "synced_at")
    failed = _hourly(syncs.filter(status=Status.FAILED, updated_at__gte=first_hour), "updated_at")
    backlog = {
        integration_id: (pending, oldest, failed_count)
        for integration_id, pending, oldest, failed_count in syncs.filter(status__in=[Status.PENDING, Status.FAILED])
        .values_list("integration_id")
        .annotate(
            pending=Count("id", filter=Q(status=Status.PENDING)),
            oldest=Min("created_at", filter=Q(status=Status.PENDING)),
            failed=Count("id", filter=Q(status=Status.FAILED)),
        )
    }
    hours = [first_hour + datetime.timedelta(hours=n) for n in range(HOURS)]
    return [
        IntegrationHealth(
            integration,
            _bars(hours, synced.get(integration.pk, {}), failed.get(integration.pk, {})),
            *backlog.get(integration.pk, (0, None, 0)),
        )
        for integration in rows
    ]


def _hourly(syncs: QuerySet[IntegrationSync], field: str) -> dict[int, dict[datetime.datetime, int]]:
    counts: dict[int, dict[datetime.datetime, int]] = {}
    rows = (
        syncs.annotate(hour=TruncHour(field, tzinfo=datetime.UTC))
        .values_list("integration_id", "hour")
        .annotate(count=Count("id"))
    )
    for integration_id, hour, count in rows:
        counts.setdefault(integration_id, {})[hour] = count
    return counts


def _bars(
    hours: list[datetime.datetime], synced: dict[datetime.datetime, int], failed: dict[datetime.datetime, int]
) -> list[HourBar]:
    """Bars scaled to the integration's busiest hour; a non-zero count is never invisible."""
    peak = max([*synced.values(), *failed.values(), 1])

    def height(count: int) -> float:
        return max(1.0, round(count / peak * CHART_HEIGHT, 1)) if count else 0.0

    return [
        HourBar(
            start=hour,
            synced=synced.get(hour, 0),
            failed=failed.get(hour, 0),
            x=index * SLOT_WIDTH,
            synced_height=height(synced.get(hour, 0)),
            failed_height=height(failed.get(hour, 0)),
            label=f"{hour:%H}:00" if hour.hour % 6 == 0 else "",
        )
        for index, hour in enumerate(hours)
    ]


def sync_health(request: HttpRequest, *, integrations: QuerySet[TenantIntegration], context: dict) -> TemplateResponse:
    """Render the page; the caller (the sync admin) has checked access and scoped `integrations`."""
    return TemplateResponse(
        request,
        "admin/integrations/sync_health.html",
        {
            **context,
            "title": "Sync health",
            "health": integrations_sync_health(integrations=integrations, now=timezone.now()),
            "chart": {
                "width": HOURS * SLOT_WIDTH,
                "height": CHART_HEIGHT + LABEL_HEIGHT,
                "plot_height": CHART_HEIGHT,
                "slot": SLOT_WIDTH,
                "bar": BAR_WIDTH,
                "label_y": CHART_HEIGHT + LABEL_HEIGHT - 2,
                "label_dx": SLOT_WIDTH // 2,
            },
        },
    )
