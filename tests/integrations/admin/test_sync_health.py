"""The admin's Sync health page: hourly synced/failed bars for the last 24 hours and the
backlog of each integration the user may see, counted in a fixed number of queries.

Acme (administered by `owner`) has the "Acme n8n" integration; Globex has "Globex Zapier".
"""

import datetime
import html
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.models import IntegrationSync, TenantIntegration
from tests.factories import TenantIntegrationFactory, syncs_made
from tests.helpers import logged_in, staff

URL = reverse("admin:integrations_integrationsync_sync_health")
EMPTY = "No deliveries in the last 24 hours."


def make_syncs(integration: TenantIntegration, status: str, count: int = 1, **stamps) -> None:
    """`count` syncs in `status`; `stamps` (synced_at, updated_at, created_at) set afterwards,
    since updated_at and created_at are automatic."""
    syncs = syncs_made(integration, count=count, status=status)
    if stamps:
        IntegrationSync.objects.filter(pk__in=[sync.pk for sync in syncs]).update(**stamps)


def hour_of(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0).isoformat()


def row(response, integration: TenantIntegration) -> str:
    match = re.search(rf'<tr id="integration-{integration.pk}".*?</tr>', response.text, re.S)
    assert match, f"no row for {integration}"
    return match.group(0)


def bars(row_html: str) -> dict[str, tuple[int, int, str]]:
    """{hour (ISO): (synced, failed, tooltip)} from the chart's groups."""
    found = re.findall(
        r'<g class="hour" data-hour="([^"]+)" data-synced="(\d+)" data-failed="(\d+)">\s*<title>([^<]*)</title>',
        row_html,
    )
    return {hour: (int(synced), int(failed), html.unescape(title)) for hour, synced, failed, title in found}


def text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


@pytest.fixture
def integration(tenant) -> TenantIntegration:
    return TenantIntegrationFactory(tenant=tenant, name="Acme n8n")


@pytest.fixture
def globex_integration(other_tenant) -> TenantIntegration:
    return TenantIntegrationFactory(tenant=other_tenant, name="Globex Zapier")


# --- Who sees what ------------------------------------------------------------------------------


def test_a_superuser_sees_every_tenants_integrations(superuser_client, integration, globex_integration):
    response = superuser_client.get(URL)

    assert response.status_code == 200
    assert [h.integration.name for h in response.context["health"]] == ["Acme n8n", "Globex Zapier"]
    assert "Globex Zapier" in row(response, globex_integration)


def test_a_tenant_admin_sees_only_their_tenants_integrations(owner_client, integration, globex_integration):
    make_syncs(globex_integration, "failed")

    response = owner_client.get(URL)

    assert response.status_code == 200
    assert [h.integration.name for h in response.context["health"]] == ["Acme n8n"]
    assert "Globex" not in response.text


def test_a_staff_member_who_administers_no_tenant_is_refused(member, integration):
    response = logged_in(staff(member)).get(URL)

    assert response.status_code == 403


def test_an_anonymous_visitor_is_sent_to_the_login(db):
    response = Client().get(URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_the_sync_changelist_links_to_sync_health(superuser_client):
    response = superuser_client.get(reverse("admin:integrations_integrationsync_changelist"))

    assert f'<li><a href="{URL}">Sync health</a></li>' in response.text


# --- The chart ------------------------------------------------------------------------------------


def test_the_bars_show_the_hours_synced_and_failed_syncs(superuser_client, integration):
    now = timezone.now()
    make_syncs(integration, "synced", 3, synced_at=now)
    make_syncs(integration, "failed", 1, updated_at=now)

    response = superuser_client.get(URL)

    chart = bars(row(response, integration))
    assert len(chart) == 24
    assert chart[hour_of(now)][:2] == (3, 1)
    assert chart[hour_of(now)][2].endswith("UTC: 3 synced, 1 failed")
    assert sum(synced + failed for synced, failed, _ in chart.values()) == 4


def test_the_bars_are_scaled_to_the_busiest_hour(superuser_client, integration):
    now = timezone.now()
    make_syncs(integration, "synced", 3, synced_at=now)
    make_syncs(integration, "failed", 1, updated_at=now)

    chart_row = row(superuser_client.get(URL), integration)

    assert re.search(r'<rect class="synced" x="\d+" y="0\.0" width="8" height="60\.0">', chart_row)
    assert re.search(r'<rect class="failed" x="\d+" y="40\.0" width="8" height="20\.0">', chart_row)


def test_a_synced_sync_counts_in_the_hour_it_was_delivered_not_when_it_was_created(superuser_client, integration):
    synced_at = timezone.now() - datetime.timedelta(hours=2)
    make_syncs(integration, "synced", created_at=synced_at - datetime.timedelta(hours=30), synced_at=synced_at)

    chart = bars(row(superuser_client.get(URL), integration))

    assert chart[hour_of(synced_at)][:2] == (1, 0)


def test_a_failed_sync_counts_in_the_hour_it_failed_not_when_it_was_created(superuser_client, integration):
    failed_at = timezone.now() - datetime.timedelta(hours=5)
    make_syncs(integration, "failed", created_at=failed_at - datetime.timedelta(hours=10), updated_at=failed_at)

    chart = bars(row(superuser_client.get(URL), integration))

    assert chart[hour_of(failed_at)][:2] == (0, 1)


def test_pending_syncs_are_not_charted(superuser_client, integration):
    make_syncs(integration, "pending", 2)

    assert EMPTY in row(superuser_client.get(URL), integration)


def test_deliveries_older_than_24_hours_are_not_charted(superuser_client, integration):
    long_ago = timezone.now() - datetime.timedelta(hours=25)
    make_syncs(integration, "synced", synced_at=long_ago)
    make_syncs(integration, "failed", updated_at=long_ago)

    chart_row = row(superuser_client.get(URL), integration)

    assert EMPTY in chart_row
    assert "<svg" not in chart_row


def test_an_integration_without_deliveries_says_so(superuser_client, integration):
    response = superuser_client.get(URL)

    assert EMPTY in row(response, integration)
    assert "Nothing waiting." in row(response, integration)


def test_without_integrations_the_page_invites_to_add_one(superuser_client):
    response = superuser_client.get(URL)

    assert response.status_code == 200
    assert "No integrations yet. Add an integration to start delivering events." in text(response.text)
    assert reverse("admin:integrations_tenantintegration_add") in response.text


# --- The backlog ----------------------------------------------------------------------------------


def test_the_backlog_shows_the_pending_count_and_the_oldest_pending_age(superuser_client, integration):
    make_syncs(integration, "pending", created_at=timezone.now() - datetime.timedelta(hours=3, minutes=5))
    make_syncs(integration, "pending")

    chart_row = row(superuser_client.get(URL), integration)

    assert 'data-pending="2"' in chart_row
    assert "2 pending oldest waiting 3 hours" in text(chart_row).replace("\xa0", " ")


def test_the_failed_count_links_to_the_integrations_failed_syncs(superuser_client, integration):
    make_syncs(integration, "failed", 2, updated_at=timezone.now() - datetime.timedelta(days=3))

    chart_row = row(superuser_client.get(URL), integration)

    changelist = reverse("admin:integrations_integrationsync_changelist")
    link = f'<a href="{changelist}?integration__id__exact={integration.pk}&amp;status__exact=failed">2 failed</a>'
    assert 'data-failed="2"' in chart_row
    assert link in chart_row


# --- Cost -------------------------------------------------------------------------------------------


def test_the_number_of_queries_does_not_grow_with_the_integrations(
    superuser_client, tenant, django_assert_max_num_queries
):
    def add_busy_integration() -> None:
        busy = TenantIntegrationFactory(tenant=tenant)
        make_syncs(busy, "synced", 2, synced_at=timezone.now())
        make_syncs(busy, "failed")
        make_syncs(busy, "pending")

    add_busy_integration()
    with django_assert_max_num_queries(10) as one:
        superuser_client.get(URL)
    for _ in range(4):
        add_busy_integration()
    with django_assert_max_num_queries(10) as five:
        response = superuser_client.get(URL)

    assert len(response.context["health"]) == 5
    assert len(five.captured_queries) == len(one.captured_queries)
