"""A live worker keeps its claim on the batch it delivers (decisions 0007 and 0010).

Every third of SYNC_CLAIM_SECONDS the batch's claim and its lanes' places in the bulkhead are
pushed on, so the sweep hands a sync to another worker only once its worker is gone. A
renewal only moves `claimed_until` on rows that still hold the value this worker wrote: a
claim that was lost, or recorded, is never taken back.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time

from django.conf import settings
from django.db import connections
from django.utils import timezone

from integrations.engine import resilience
from integrations.models import IntegrationSync, TenantIntegration
from integrations.timers import TimerQueue

logger = logging.getLogger("integrations.delivery")

# Renewals write to the database: a queue of their own, so they never delay a request deadline.
_renewals = TimerQueue("claim-renewals")


class KeptClaim:
    """The claim on one batch: `claimed_until` is the value its rows hold now."""

    def __init__(self, sync_ids: list[int], claimed_until: datetime.datetime) -> None:
        self.sync_ids = sync_ids
        self.claimed_until = claimed_until
        self.places: list[tuple[TenantIntegration, str]] = []  # bulkhead places its lanes hold
        self.released = False
        self.lock = threading.Lock()

    def keep(self) -> None:
        _renewals.call_at(time.monotonic() + settings.SYNC_CLAIM_SECONDS / 3, self.renew)

    def hold_place(self, integration: TenantIntegration, token: str) -> None:
        with self.lock:
            self.places.append((integration, token))

    def renew(self) -> None:
        with self.lock:
            if self.released:
                return
            try:
                kept = self._push_on()
            except Exception:  # the database or Redis hiccupped: try again at the next renewal
                logger.warning("could not renew the claim on %d syncs", len(self.sync_ids), exc_info=True)
                kept = True
            finally:
                connections.close_all()  # this thread's own connection; renewals are rare
        if kept:
            self.keep()
        else:
            logger.warning("claim lost on %d syncs: another worker or an operator took them over", len(self.sync_ids))

    def _push_on(self) -> bool:
        renewed = timezone.now() + datetime.timedelta(seconds=settings.SYNC_CLAIM_SECONDS)
        mine = IntegrationSync.objects.filter(pk__in=self.sync_ids, claimed_until=self.claimed_until)
        if not mine.update(claimed_until=renewed):
            return False
        self.claimed_until = renewed
        for integration, token in self.places:
            resilience.inflight_extend(integration, token)
        return True

    def current(self) -> datetime.datetime:
        """The claim's value now; after this no renewal moves it (the outcome is being recorded)."""
        with self.lock:
            self.released = True
            return self.claimed_until
