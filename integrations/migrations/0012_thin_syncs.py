"""Engine v2, step 3 of 3: syncs lose their copies of the event (type, id, payload), every
sync has an event, one sync per (event, integration), and the pending-only indexes the
batched claim and the sweep read."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("integrations", "0011_syncs_onto_events")]

    operations = [
        migrations.RemoveIndex(model_name="integrationsync", name="sync_pending_due_idx"),
        migrations.RemoveIndex(model_name="integrationsync", name="sync_object_history_idx"),
        migrations.RemoveIndex(model_name="integrationsync", name="sync_status_created_idx"),
        migrations.RemoveField(model_name="integrationsync", name="legacy_event_id"),
        migrations.RemoveField(model_name="integrationsync", name="event_type"),
        migrations.RemoveField(model_name="integrationsync", name="payload"),
        migrations.AlterField(
            model_name="integrationsync",
            name="event",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="syncs",
                to="integrations.integrationevent",
            ),
        ),
        migrations.AlterField(
            model_name="integrationsync",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AlterModelOptions(name="integrationsync", options={"ordering": ["-id"]}),
        migrations.AddConstraint(
            model_name="integrationsync",
            constraint=models.UniqueConstraint(
                fields=("event", "integration"), name="unique_sync_per_event_and_integration"
            ),
        ),
        migrations.AddIndex(
            model_name="integrationsync",
            index=models.Index(
                condition=models.Q(status="pending"),
                fields=["integration", "next_attempt_at"],
                include=["claimed_until"],
                name="sync_pending_due_idx",
            ),
        ),
    ]
