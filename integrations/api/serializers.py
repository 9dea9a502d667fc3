from rest_framework import serializers

from integrations.models import IntegrationSync


class IntegrationSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    integration_type = serializers.CharField()


class IntegrationSyncSerializer(serializers.ModelSerializer):
    integration = IntegrationSummarySerializer(read_only=True)
    event_type = serializers.CharField(source="event.event_type", read_only=True)
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
