"""Celery tasks: thin wrappers that load by id and call a service."""

from celery import shared_task

from integrations import delivery, services
from integrations.inbound import services as inbound


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_integration_webhook(sync_id: int) -> str:
    """Deliver one IntegrationSync through its integration's connector."""
    return delivery.sync_deliver(sync_id=sync_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def fan_out_syncs(sync_ids: list[int]) -> int:
    """One event to several integrations: one delivery task per sync."""
    return services.syncs_enqueue(sync_ids=sync_ids)


@shared_task(ignore_result=True)
def retry_failed_syncs() -> int:
    """Beat, every minute: enqueue pending syncs that are due or were stranded."""
    return services.syncs_requeue_due()


@shared_task(ignore_result=True)
def prune_sync_attempts() -> int:
    """Beat, daily: drop attempt rows older than SYNC_ATTEMPT_RETENTION_DAYS."""
    return services.sync_attempts_prune()


@shared_task(ignore_result=True)
def poll_integrations() -> int:
    """Beat, every minute: one `poll_integration` per integration whose poll is due."""
    return inbound.integrations_poll_enqueue()


@shared_task(ignore_result=True)
def poll_integration(integration_id: int) -> str:
    """Ask one integration for the status of its linked work packages (if still due)."""
    return inbound.integration_poll_if_due(integration_id=integration_id)
