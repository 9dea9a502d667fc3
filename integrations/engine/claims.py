"""A live worker keeps its claim on the sync it delivers (decision 0007).

Every third of SYNC_CLAIM_SECONDS the claim and the sync's place in the bulkhead are pushed
on, so the sweep hands a sync to another worker only once its worker is gone. A renewal
only moves `claimed_until` while it still holds the value this worker wrote: a claim that
was lost, or recorded, is never taken back.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connections
from django.utils import timezone

from integrations.engine import resilience
from integrations.models import IntegrationSync
from integrations.timers import TimerQueue

logger = logging.getLogger("integrations.delivery")

# Renewals write to the database: a queue of their own, so they never delay a request deadline.
_renewals = TimerQueue("claim-renewals")


class _KeptClaim:
    def __init__(self, sync: IntegrationSync) -> None:
        self.sync_id, self.integration = sync.pk, sync.integration  # not the payload: entries linger
        self.claimed_until = sync.claimed_until
        self.released = False
        self.lock = threading.Lock()

    def schedule(self) -> None:
        _renewals.call_at(time.monotonic() + settings.SYNC_CLAIM_SECONDS / 3, self.renew)

    def renew(self) -> None:
        with self.lock:
            if self.released:
                return
            try:
                kept = self._push_on()
            except Exception:  # the database or Redis hiccupped: try again at the next renewal
                logger.warning("could not renew the claim on sync %s", self.sync_id, exc_info=True)
                kept = True
            finally:
                connections.close_all()  # this thread's own connection; renewals are rare
        if kept:
            self.schedule()
        else:
            logger.warning("claim lost sync=%s: another worker or an operator took it over", self.sync_id)

    def _push_on(self) -> bool:
        renewed = timezone.now() + datetime.timedelta(seconds=settings.SYNC_CLAIM_SECONDS)
        mine = IntegrationSync.objects.filter(pk=self.sync_id, claimed_until=self.claimed_until)
        if not mine.update(claimed_until=renewed):
            return False
        self.claimed_until = renewed
        resilience.inflight_extend(self.integration, str(self.sync_id))
        return True

    def release(self) -> None:
        """Waits for a renewal under way, so none lands after the outcome is recorded."""
        with self.lock:
            self.released = True


@contextmanager
def claim_kept(sync: IntegrationSync) -> Iterator[None]:
    """Keep the claim on `sync` alive while the block runs."""
    claim = _KeptClaim(sync)
    claim.schedule()
    try:
        yield
    finally:
        claim.release()
