"""Celery tasks of the tenants app: thin, they call a service."""

from celery import shared_task

from tenants.idempotency import idempotency_keys_prune


@shared_task(name="tenants.tasks.prune_idempotency_keys", ignore_result=True)
def prune_idempotency_keys() -> int:
    """Beat, hourly: forget Idempotency-Keys past IDEMPOTENCY_KEY_TTL_HOURS."""
    return idempotency_keys_prune()
