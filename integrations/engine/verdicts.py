"""What happened to one sync in a delivery round."""

from enum import StrEnum


class DeliveryVerdict(StrEnum):
    """The values are logged and are the `outcome` label of the delivery metrics: keep them."""

    SYNCED = "synced"
    RETRY_SCHEDULED = "retry_scheduled"
    FAILED = "failed"
    # Nothing was sent and no attempt spent:
    LOCKED_OR_GONE = "locked_or_gone"  # another worker holds the row lock, or the sync was deleted
    ALREADY_DONE = "already_done"
    IN_FLIGHT = "in_flight"  # claimed by a live worker
    NOT_DUE = "not_due"
    INTEGRATION_INACTIVE = "integration_inactive"
    WAITING_FOR_EARLIER_EVENT = "waiting_for_earlier_event"
    CIRCUIT_OPEN = "circuit_open"
    CONCURRENCY_LIMITED = "concurrency_limited"
    RATE_LIMITED = "rate_limited"
    GONE = "gone"  # claim lost or the sync deleted while its connector ran
