"""Moving today's syncs onto stored events (migrations 0010–0012), run for real on rows written
in the old shape: one event per event id, its payload kept once, every sync and attempt kept.
The schema is moved back and forward (then left at the newest state, whatever happens)."""

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("integrations", "0009_generic_help_texts")]
pytestmark = pytest.mark.django_db(transaction=True)


def migrate(targets):
    MigrationExecutor(connection).migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.fixture
def old_apps():
    try:
        yield migrate(BEFORE)
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def old_syncs(apps) -> dict:
    """Two integrations received one event; a third event went to one integration only."""
    tenant = apps.get_model("tenants", "Tenant").objects.create(name="Acme", slug="acme")
    Integration = apps.get_model("integrations", "TenantIntegration")
    Sync = apps.get_model("integrations", "IntegrationSync")
    content_type = apps.get_model("contenttypes", "ContentType").objects.get(app_label="workitems", model="workitem")
    n8n, zapier = (
        Integration.objects.create(tenant=tenant, name=name, integration_type="webhook", event_types=[], config={})
        for name in ("n8n", "zapier")
    )
    shared, alone = uuid.uuid4(), uuid.uuid4()
    payload = {"event_type": "workitem_created", "event_id": str(shared), "workitem": {"id": 7}}
    common = {"content_type": content_type, "object_id": 7, "next_attempt_at": timezone.now()}
    first = Sync.objects.create(integration=n8n, event_id=shared, event_type="workitem_created", payload=payload,
                                status="synced", **common)  # fmt: skip
    Sync.objects.create(integration=zapier, event_id=shared, event_type="workitem_created", payload=payload,
                        status="failed", last_error="HTTP 400", **common)  # fmt: skip
    Sync.objects.create(integration=n8n, event_id=alone, event_type="workitem_updated",
                        payload={"event_id": str(alone), "changes": {}}, **common)  # fmt: skip
    apps.get_model("integrations", "SyncAttempt").objects.create(
        sync=first, number=1, started_at=timezone.now(), duration_ms=12, succeeded=True, status_code=200
    )
    return {"shared": shared, "alone": alone, "payload": payload, "tenant": tenant.pk}


def test_each_event_id_becomes_one_stored_event_and_every_sync_and_attempt_is_kept(old_apps):
    written = old_syncs(old_apps)

    apps = migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    Event = apps.get_model("integrations", "IntegrationEvent")
    Sync = apps.get_model("integrations", "IntegrationSync")
    shared = Event.objects.get(event_id=written["shared"])
    assert (shared.event_type, shared.payload, shared.tenant_id) == (
        "workitem_created",
        written["payload"],
        written["tenant"],
    )
    assert (shared.content_type.model, shared.object_id) == ("workitem", 7)
    assert sorted(Sync.objects.filter(event=shared).values_list("integration__name", "status", "last_error")) == [
        ("n8n", "synced", ""),
        ("zapier", "failed", "HTTP 400"),
    ]
    assert Event.objects.get(event_id=written["alone"]).syncs.get().integration.name == "n8n"
    assert Event.objects.count() == 2
    assert apps.get_model("integrations", "SyncAttempt").objects.get().sync.event == shared
