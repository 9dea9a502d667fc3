"""Engine v2, step 1 of 3: the IntegrationEvent table, and a nullable link to it from each
sync (the sync's own event_id column is renamed out of the way first)."""

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("tenants", "0001_initial"),
        ("integrations", "0009_generic_help_texts"),
    ]

    operations = [
        migrations.CreateModel(
            name="IntegrationEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "event_id",
                    models.UUIDField(
                        default=uuid.uuid4, help_text="Stable id of the event; sent as webhook-id.", unique=True
                    ),
                ),
                (
                    "event_type",
                    models.CharField(
                        choices=[
                            ("workitem_created", "Work item created"),
                            ("workitem_status_changed", "Work item status changed"),
                            ("workitem_updated", "Work item updated"),
                            ("integration_test", "Test event (admin)"),
                        ],
                        max_length=40,
                    ),
                ),
                ("object_id", models.PositiveBigIntegerField()),
                ("payload", models.JSONField(help_text="The event as it was when it happened.")),
                ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                (
                    "content_type",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        to="contenttypes.contenttype",
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="tenants.tenant"
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(fields=["content_type", "object_id", "-created_at"], name="event_subject_history_idx")
                ],
            },
        ),
        migrations.RemoveConstraint(model_name="integrationsync", name="unique_event_per_integration"),
        migrations.RenameField(model_name="integrationsync", old_name="event_id", new_name="legacy_event_id"),
        migrations.AddField(
            model_name="integrationsync",
            name="event",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="syncs",
                to="integrations.integrationevent",
            ),
        ),
    ]
