"""API representations of integrations, syncs and event types.

A sync's event data (type, id, payload) is read from its event row (`source="event.…"`).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from integrations import services
from integrations.api.integration_form import FORM_NAMES, InvalidIntegration, integration_form_validated
from integrations.connectors import registry
from integrations.forms import TenantIntegrationForm
from integrations.models import SUBSCRIBABLE_EVENTS, EventType, IntegrationSync, SyncAttempt, TenantIntegration
from workitems.models import WorkItem


class IntegrationSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    integration_type = serializers.CharField()


class IntegrationSyncSerializer(serializers.ModelSerializer):
    integration = IntegrationSummarySerializer(read_only=True)
    event_type = serializers.ChoiceField(source="event.event_type", choices=EventType.choices, read_only=True)
    event_id = serializers.UUIDField(source="event.event_id", read_only=True)

    class Meta:
        model = IntegrationSync
        fields = [
            "id",
            "integration",
            "event_type",
            "event_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
            "last_status_code",
            "external_id",
            "external_url",
            "created_at",
            "synced_at",
        ]
        read_only_fields = fields


class SyncAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = SyncAttempt
        fields = [
            "number",
            "started_at",
            "duration_ms",
            "succeeded",
            "status_code",
            "error_class",
            "error",
            "response_excerpt",
        ]
        read_only_fields = fields


class SyncSerializer(IntegrationSyncSerializer):
    """A sync with the work item it is about and every recorded attempt."""

    # Annotated by selectors.syncs_for_tenant.
    workitem = serializers.IntegerField(
        source="workitem_id", read_only=True, allow_null=True, help_text="The work item's id; null for a test event."
    )
    attempt_log = SyncAttemptSerializer(many=True, read_only=True, help_text="Every attempt, oldest first.")

    class Meta(IntegrationSyncSerializer.Meta):
        fields = [*IntegrationSyncSerializer.Meta.fields, "workitem", "attempt_log"]
        read_only_fields = fields


class SyncDetailSerializer(SyncSerializer):
    """A sync with the payload it sends (the event as it was when it happened)."""

    payload = serializers.JSONField(source="event.payload", read_only=True)

    class Meta(SyncSerializer.Meta):
        fields = [*SyncSerializer.Meta.fields, "payload"]
        read_only_fields = fields


@extend_schema_field({"type": "array", "items": {"type": "string", "enum": [e.value for e in SUBSCRIBABLE_EVENTS]}})
class EventListField(serializers.ListField):
    child = serializers.CharField()


class TenantIntegrationSerializer(serializers.Serializer):
    """An integration. Writes are validated by the admin's integration form (config, secrets,
    generated secrets and all), see integrations/api/integration_form.py."""

    id = serializers.IntegerField(read_only=True)
    uuid = serializers.UUIDField(read_only=True, help_text="Public id, used in inbound webhook URLs.")
    kind = serializers.CharField(
        source=FORM_NAMES["kind"], help_text="One of GET /api/v1/integration-kinds/; cannot change once created."
    )
    name = serializers.CharField(help_text="Unique in the tenant.")
    events = EventListField(source=FORM_NAMES["events"], help_text="The work-item events sent to it.")
    active = serializers.BooleanField(source=FORM_NAMES["active"], required=False, help_text="Default true.")
    config = serializers.DictField(
        required=False, help_text="Settings of the kind (no secrets); those left out keep their value."
    )
    secrets = serializers.DictField(
        write_only=True,
        required=False,
        help_text="Secret settings of the kind: never shown again; those left out keep their stored value.",
    )
    secrets_set = serializers.SerializerMethodField(help_text="Names of the secrets that hold a value.")
    max_attempts = serializers.IntegerField(required=False, help_text="Delivery attempts before a sync fails.")
    retry_backoff_seconds = serializers.FloatField(required=False, help_text="Base of the exponential backoff.")
    rate_limit_per_second = serializers.FloatField(
        required=False, allow_null=True, help_text="Most deliveries per second; null: the kind's default."
    )
    backfill = serializers.BooleanField(
        write_only=True,
        required=False,
        help_text="Also send workitem_created for the tenant's open work items it has not received "
        "(in the background, in batches).",
    )
    paused_reason = serializers.CharField(read_only=True, help_text="Why it was paused (by Fieldhook or a person).")
    failing_since = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    generated_secrets = serializers.SerializerMethodField(
        help_text="Secrets Fieldhook generated in this save (e.g. a signing secret): shown in this answer only."
    )

    form: TenantIntegrationForm | None = None

    def get_secrets_set(self, integration: TenantIntegration) -> list[str]:
        if integration.integration_type not in registry:
            return []
        stored = integration.secrets_or_empty()
        return sorted(
            name for name in registry.get(integration.integration_type).secret_field_names() if stored.get(name)
        )

    def get_generated_secrets(self, integration: TenantIntegration) -> dict[str, str]:
        return dict(self.form.generated_secrets) if self.form is not None else {}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        fields = {name: value for name, value in attrs.items() if name in FORM_NAMES.values()}
        try:
            self.form = integration_form_validated(
                tenant=self.context["tenant"],
                instance=self.instance,
                fields=fields,
                config=attrs.get("config", {}),
                secrets=attrs.get("secrets", {}),
            )
        except InvalidIntegration as invalid:
            raise serializers.ValidationError(invalid.errors) from None
        return attrs

    def create(self, validated_data: dict[str, Any]) -> TenantIntegration:
        return services.integration_save(integration=self.form.instance, backfill=self.form.cleaned_data["backfill"])

    def update(self, instance: TenantIntegration, validated_data: dict[str, Any]) -> TenantIntegration:
        return self.create(validated_data)


class ConnectionTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField(help_text="What the check found; never contains a secret.")


class ResumeSerializer(serializers.Serializer):
    backfill = serializers.BooleanField(
        default=False, help_text="Also send workitem_created for open work items it has not received."
    )


class BackfillSerializer(serializers.Serializer):
    since = serializers.DateTimeField(required=False, help_text="Only work items created at or after this moment.")
    statuses = serializers.ListField(
        child=serializers.ChoiceField(choices=WorkItem.Status.choices),
        required=False,
        allow_empty=False,
        help_text="Only work items in these statuses; default: the open ones (not Closed or Cancelled).",
    )


class RotatedSecretSerializer(serializers.Serializer):
    signing_secret = serializers.CharField(help_text="The new whsec_… secret: shown in this answer only.")


class QueuedSerializer(serializers.Serializer):
    queued = serializers.IntegerField(help_text="How many syncs were queued for delivery.")


class EventTypeSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    subscribable = serializers.BooleanField(help_text="Whether an integration can tick it (test events cannot).")
    schema = serializers.JSONField(help_text="JSON Schema (draft 2020-12) of its payload, self-contained.")


class ConfigFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    secret = serializers.BooleanField(help_text="Sent in `secrets` (never shown again), else in `config`.")
    type = serializers.ChoiceField(choices=["string", "integer", "number", "boolean", "object"])
    required = serializers.BooleanField()
    label = serializers.CharField()
    help_text = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField(), required=False)
    default = serializers.JSONField(required=False)


class IntegrationKindSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField()
    capabilities = serializers.ListField(child=serializers.CharField())
    settings = ConfigFieldSerializer(many=True)


class SyncNowSerializer(serializers.Serializer):
    integration = serializers.IntegerField(min_value=1, help_text="Id of one of the tenant's integrations.")


class SyncSelectionSerializer(serializers.Serializer):
    """Either `ids` or `filter` (the list's query parameters as an object)."""

    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, allow_empty=False, max_length=1000
    )
    filter = serializers.DictField(
        required=False,
        help_text="status, integration, event_type, workitem, created_after, created_before: as in the list's "
        "query; status and event_type take a list.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("ids" in attrs) == ("filter" in attrs):
            raise serializers.ValidationError("Send either `ids` or `filter`.")
        if "filter" in attrs and not attrs["filter"]:
            raise serializers.ValidationError({"filter": ["Name at least one criterion."]})
        return attrs
