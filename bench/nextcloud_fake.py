"""A Nextcloud for benchmarks: the fake the tests use (tests/fakes/nextcloud.py) on a real local
HTTP server, without its per-request OpenAPI validation (which would dominate the timing) and
without its request cap; plus the integration that writes to it.

    with nextcloud_serving() as fake:
        integration = nextcloud_integration(tenant, "Nextcloud", fake.base_url)
        ... create work items, let the workers deliver ...
        wait_until(lambda: nextcloud_delivered(fake) >= n, timeout=120, what="Nextcloud deliveries")

Django must be set up (bench.common.django_setup) before `nextcloud_integration` is called.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from tests.fakes.nextcloud import APP_PASSWORD, USER, FakeNextcloud, serving

if TYPE_CHECKING:
    from integrations.models import TenantIntegration
    from tenants.models import Tenant

HISTORY = "/history.md"


@contextlib.contextmanager
def nextcloud_serving() -> Iterator[FakeNextcloud]:
    """The fake on 127.0.0.1 (http); fails if the connector sent anything the real server would refuse."""
    with serving(validate_spec=False, max_requests=None) as fake:
        yield fake
    if fake.violations:
        raise AssertionError(f"requests the real Nextcloud would refuse: {fake.violations[:5]}")


def nextcloud_integration(
    tenant: Tenant, name: str, base_url: str, *, rate_limit_per_second: float | None = 10_000
) -> TenantIntegration:
    """A Nextcloud integration of `tenant` subscribed to every work item event. The rate limit is
    raised by default so that the benchmark measures delivery, not the limiter (the kind's own
    default is 10 requests per second)."""
    from integrations.models import SUBSCRIBABLE_EVENTS, TenantIntegration

    integration = TenantIntegration(
        tenant=tenant,
        name=name,
        integration_type="nextcloud",
        event_types=[event.value for event in SUBSCRIBABLE_EVENTS],
        rate_limit_per_second=rate_limit_per_second,
        config={"base_url": base_url, "username": USER, "root_folder": "Fieldhook/{tenant}"},
    )
    integration.secrets = {"app_password": APP_PASSWORD}
    integration.save()
    return integration


def nextcloud_delivered(fake: FakeNextcloud) -> int:
    """Events delivered so far: each one adds exactly one line to its work item's history.md."""
    with fake.lock:
        return sum(node.content.count(b"\n- ") for path, node in fake.files.items() if path.endswith(HISTORY))
