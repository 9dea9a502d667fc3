"""A background thread per process that runs short callbacks at given monotonic times.

Request deadlines and claim renewals need a timer each; a thread per request or per
delivery would cost more than a loopback request. A callback runs outside the queue's
lock and must be short: give slow work (a database write) a queue of its own.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable

logger = logging.getLogger("integrations.timers")

Entry = tuple[float, int, Callable[[], None]]


class TimerQueue:
    def __init__(self, name: str) -> None:
        self.name = name
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        """Fresh state, also in a forked child (which has neither the thread nor a usable lock)."""
        self._entries: list[Entry] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._running = False

    def call_at(self, at: float, callback: Callable[[], None]) -> None:
        """Run `callback` once `time.monotonic()` reaches `at` (a callback that became moot
        should check that itself: entries are never removed early)."""
        with self._changed:
            if not self._running:
                self._running = True
                thread = threading.Thread(target=self._run, args=(self._changed, self._entries), name=self.name)
                thread.daemon = True
                thread.start()
            heapq.heappush(self._entries, (at, next(self._order), callback))
            if self._entries[0][2] is callback:
                self._changed.notify()

    @staticmethod
    def _run(changed: threading.Condition, entries: list[Entry]) -> None:
        while True:
            with changed:
                while not entries or entries[0][0] > time.monotonic():
                    changed.wait(entries[0][0] - time.monotonic() if entries else None)
                callback = heapq.heappop(entries)[2]
            try:
                callback()
            except Exception:
                logger.exception("timer callback %r failed", callback)
