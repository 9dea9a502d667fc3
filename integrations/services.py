"""Services of one integration: its connector, secrets, OAuth, test event and connection
check, and the operator's resets. The delivery engine itself is integrations/engine/."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.connectors import registry
from integrations.connectors.errors import ConnectorError
from integrations.crypto import SecretsUnreadable
from integrations.engine import dispatch, resilience
from integrations.engine.outbox import event_record
from integrations.engine.policy import scrub, secret_strings
from integrations.models import EventType, IntegrationSync, TenantIntegration

Pending = IntegrationSync.Status.PENDING


def integration_resilience_reset(*, integration: TenantIntegration) -> int:
    """An operator says the receiver is fine again: close its circuit breaker, clear a
    rate-limit pause (a 429's Retry-After), and send its waiting syncs now instead of when
    those told them to wait. Returns how many syncs are due now."""
    resilience.circuit_reset(integration)
    resilience.rate_limit_reset(integration)
    now = timezone.now()
    with transaction.atomic():
        waiting = IntegrationSync.objects.filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now), integration=integration, status=Pending
        )
        waiting.filter(next_attempt_at__gt=now).update(next_attempt_at=now)
        due = waiting.count()
        if due:
            dispatch.wake_after_commit()
    return due


def integration_send_test_event(*, integration: TenantIntegration) -> IntegrationSync:
    """Queue a sample event through the normal outbox (the admin's 'Send test event'); its
    subject is the integration itself."""
    event_id = str(uuid.uuid4())
    payload = {
        "event_type": EventType.INTEGRATION_TEST,
        "event_id": event_id,
        "timestamp": timezone.now().isoformat().replace("+00:00", "Z"),
        "tenant": {"id": integration.tenant_id, "name": integration.tenant.name},
        "test": True,
        "message": f"Test event from Fieldhook for integration '{integration.name}'.",
    }
    with transaction.atomic():
        event = event_record(
            obj=integration,
            tenant_id=integration.tenant_id,
            event_type=EventType.INTEGRATION_TEST,
            payload=payload,
            event_id=event_id,
            integrations=[integration],
        )
    return event.syncs.get()


def integration_connector(*, integration: TenantIntegration):
    """The integration's connector, able to persist secrets it renews (OAuth tokens)."""
    connector_class = registry.get(integration.integration_type)
    return connector_class(
        config=integration.config,
        secrets=integration.secrets,
        save_secrets=lambda values: integration_secrets_save(integration=integration, secrets=values),
        load_secrets=lambda: TenantIntegration.objects.get(pk=integration.pk).secrets_or_empty(),
        cache_namespace=str(integration.uuid),
    )


def integration_secrets_save(*, integration: TenantIntegration, secrets: dict[str, Any]) -> None:
    integration.secrets = secrets
    TenantIntegration.objects.filter(pk=integration.pk).update(secrets_encrypted=integration.secrets_encrypted)


def integration_clear_pause(*, integration: TenantIntegration) -> None:
    """An operator re-activated the integration: forget the failure streak and the pause note."""
    integration.failing_since = None
    integration.paused_reason = ""


def integration_test_connection(*, integration: TenantIntegration) -> tuple[bool, str]:
    """Run the connector's side-effect-free check; the message never contains a secret."""
    secrets = integration.secrets_or_empty()
    try:
        return True, integration_connector(integration=integration).test_connection()
    except (ConnectorError, SecretsUnreadable) as error:
        return False, scrub(str(error), secret_strings(secrets))
