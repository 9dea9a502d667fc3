"""The same fake on a real local HTTP server: what goes over the wire (paths with spaces, '#',
'%' and unicode; custom WebDAV methods; the SSRF-guarded session) is what the fake checks."""

import pytest

from integrations.models import EventType
from tests.factories import TenantIntegrationFactory, WorkItemFactory
from tests.fakes.nextcloud import APP_PASSWORD, serving

from .conftest import CONFIG
from .helpers import deliver


@pytest.fixture
def served_nextcloud():
    with serving() as fake:
        yield fake
    assert fake.violations == [], "requests the real Nextcloud would refuse"


def test_a_delivery_over_http_encodes_every_name_once(served_nextcloud, tenant):
    tenant.name = "Zürich #1 (50% off)"
    tenant.save()
    integration = TenantIntegrationFactory(
        tenant=tenant,
        integration_type="nextcloud",
        rate_limit_per_second=10_000,
        config={**CONFIG, "base_url": served_nextcloud.base_url, "share_with": "ana", "public_link": True},
        secrets={"app_password": APP_PASSWORD},
    )
    WorkItemFactory(tenant=tenant, description="Écran cassé? Oui & non")

    sync = deliver(integration, EventType.WORKITEM_CREATED)

    folder = "/Fieldhook/Zürich #1 (50% off)/RMA-1 - Écran cassé Oui & non"
    assert sync.status == "synced", sync.last_error
    assert sorted(p for p in served_nextcloud.files if p.startswith(folder)) == [
        folder,
        f"{folder}/history.md",
        f"{folder}/workitem.md",
    ]
    assert "# RMA-1 — Écran cassé? Oui & non" in served_nextcloud.text(f"{folder}/workitem.md")
    assert [share["share_type"] for share in served_nextcloud.shares] == [0, 3]
    assert sync.external_url == served_nextcloud.shares[1]["url"]
    assert served_nextcloud.calls("PUT")[0].raw_path.startswith(
        "/remote.php/dav/files/fieldhook/Fieldhook/Z%C3%BCrich%20%231%20%2850%25%20off%29/"
    )
