"""Engine v2, step 2 of 3: every event stored in today's syncs becomes one IntegrationEvent
(its payload taken once, from its first sync), and each sync points at it. History (the
syncs, their attempts) is kept. Runs in batches, on PostgreSQL and SQLite alike."""

from django.db import migrations

BATCH = 1000


def syncs_onto_events(apps, schema_editor):
    IntegrationSync = apps.get_model("integrations", "IntegrationSync")
    IntegrationEvent = apps.get_model("integrations", "IntegrationEvent")
    last_id = 0
    while True:
        syncs = list(
            IntegrationSync.objects.filter(id__gt=last_id, event__isnull=True)
            .order_by("id")
            .values("id", "legacy_event_id", "event_type", "content_type_id", "object_id", "payload", "created_at",
                    "integration__tenant_id")[:BATCH]
        )  # fmt: skip
        if not syncs:
            return
        last_id = syncs[-1]["id"]
        wanted = {sync["legacy_event_id"] for sync in syncs}
        events = dict(IntegrationEvent.objects.filter(event_id__in=wanted).values_list("event_id", "id"))
        new = {}
        for sync in syncs:
            if sync["legacy_event_id"] not in events and sync["legacy_event_id"] not in new:
                new[sync["legacy_event_id"]] = IntegrationEvent(
                    event_id=sync["legacy_event_id"],
                    tenant_id=sync["integration__tenant_id"],
                    event_type=sync["event_type"],
                    content_type_id=sync["content_type_id"],
                    object_id=sync["object_id"],
                    payload=sync["payload"],
                    created_at=sync["created_at"],
                )
        IntegrationEvent.objects.bulk_create(new.values())
        events.update(IntegrationEvent.objects.filter(event_id__in=new).values_list("event_id", "id"))
        by_event = {}
        for sync in syncs:
            by_event.setdefault(events[sync["legacy_event_id"]], []).append(sync["id"])
        for event_pk, sync_ids in by_event.items():
            IntegrationSync.objects.filter(id__in=sync_ids).update(event_id=event_pk)


def events_onto_syncs(apps, schema_editor):
    """Backwards: each sync takes its event's type, id and payload again."""
    IntegrationSync = apps.get_model("integrations", "IntegrationSync")
    for sync in IntegrationSync.objects.select_related("event").iterator(chunk_size=BATCH):
        sync.legacy_event_id = sync.event.event_id
        sync.event_type = sync.event.event_type
        sync.payload = sync.event.payload
        sync.save(update_fields=["legacy_event_id", "event_type", "payload"])


class Migration(migrations.Migration):
    dependencies = [("integrations", "0010_integration_event")]

    operations = [migrations.RunPython(syncs_onto_events, events_onto_syncs)]
