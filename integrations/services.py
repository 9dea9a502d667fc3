"""Services of one integration: saving, pausing and resuming it, its connector, secrets,
OAuth, test event and connection check, backfill, and the operator's resets. The delivery
engine itself is integrations/engine/."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations import events, payloads
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
    payload = payloads.integration_test_payload(
        event_id=event_id, tenant=integration.tenant, integration_name=integration.name
    )
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


def integration_save(*, integration: TenantIntegration, backfill: bool = False) -> TenantIntegration:
    """Save an integration validated by its form (admin or API). Saved active, it starts afresh
    (no failure streak, no pause note); with `backfill`, the tenant's open work items follow
    in the background."""
    if integration.is_active:
        integration_clear_pause(integration=integration)
    with transaction.atomic():
        integration.save()
        if backfill:
            integration_backfill_start(integration=integration)
    return integration


def integration_delete(*, integration: TenantIntegration) -> None:
    """Remove the integration with its syncs, attempts and links."""
    integration.delete()


def integration_pause(*, integration: TenantIntegration, reason: str) -> TenantIntegration:
    """Stop deliveries; pending syncs wait (also new ones) until it is resumed."""
    integration.is_active = False
    integration.paused_reason = reason
    integration.save(update_fields=["is_active", "paused_reason", "updated_at"])
    return integration


def integration_resume(*, integration: TenantIntegration, backfill: bool = False) -> TenantIntegration:
    """Deliver again: a worker is woken for the waiting syncs that are due; with `backfill`, open work items it has not received follow."""
    integration.is_active = True
    integration_clear_pause(integration=integration)
    with transaction.atomic():
        integration.save(update_fields=["is_active", "failing_since", "paused_reason", "updated_at"])
        dispatch.wake_after_commit()
        if backfill:
            integration_backfill_start(integration=integration)
    return integration


SIGNING_SECRET = "signing_secret"  # noqa: S105 (a field name)


def integration_signing_secret_rotate(*, integration: TenantIntegration) -> str:
    """A new signing secret for a kind that signs its deliveries (a `signing_secret` secret
    field); it replaces the old one at once and is returned to be shown once. ValueError for
    another kind, SecretsUnreadable when the stored secrets cannot be read (nothing changes)."""
    # Standard Webhooks secrets (whsec_…) are defined with the webhook kind; imported here, on
    # use, as the registry loads kinds (starting Django loads none).
    from integrations.connectors.webhook.config import signing_secret_generate

    connector = registry.get(integration.integration_type)
    if SIGNING_SECRET not in connector.secret_field_names():
        raise ValueError(f"{connector.label} integrations have no signing secret.")
    secret = signing_secret_generate()
    integration_secrets_save(integration=integration, secrets={**integration.secrets, SIGNING_SECRET: secret})
    return secret


def integration_backfill_start(
    *, integration: TenantIntegration, since: datetime.datetime | None = None, statuses: list[str] | None = None
) -> None:
    """Once the caller's transaction commits: send workitem_created for the tenant's open work
    items (or those of `statuses`, created since `since`) that the integration has not
    received, batch by batch in Celery tasks; the request never waits for it."""
    transaction.on_commit(
        lambda: dispatch.integration_backfill_enqueue(
            integration_id=integration.pk, since=since, statuses=statuses, after_id=0
        )
    )


def integration_backfill_continue(
    *, integration_id: int, since: datetime.datetime | None, statuses: list[str] | None, after_id: int
) -> int:
    """One batch of a backfill, then the next one queued; returns how many events it wrote."""
    integration = TenantIntegration.objects.select_related("tenant").filter(pk=integration_id).first()
    if integration is None:
        return 0
    batch = events.integration_backfill_batch(
        integration=integration, since=since, statuses=statuses, after_id=after_id
    )
    if batch.next_after_id is not None:
        dispatch.integration_backfill_enqueue(
            integration_id=integration_id, since=since, statuses=statuses, after_id=batch.next_after_id
        )
    return batch.sent
