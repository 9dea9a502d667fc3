"""An overall deadline for one outbound request: connect, headers and body together.

Socket timeouts bound each read, not the request: a receiver that dribbles one byte every
few seconds never trips them. So each request gets a monotonic deadline, which a watchdog
thread enforces. Connecting uses at most the budget left; at the deadline the watchdog shuts the
connection's socket down, which wakes a read blocked in any phase. The caller (`http.send`)
then reports a timeout, and the connection is closed, never reused.
See docs/decisions/0007-request-deadlines.md.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from integrations.timers import TimerQueue

_current: ContextVar[RequestDeadline | None] = ContextVar("request_deadline", default=None)


class DeadlineExceeded(TimeoutError):
    """The request's time is up (raised where a phase would start too late)."""


class RequestDeadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._connection: Any = None
        self._sock: socket.socket | None = None
        self.finished = False
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.at - time.monotonic()

    @property
    def over(self) -> bool:
        return self.expired or self.remaining() <= 0

    def bounded(self, timeout: float | None) -> float:
        """A socket timeout that ends by the deadline at the latest."""
        self.check()
        remaining = self.remaining()
        return remaining if timeout is None else min(timeout, remaining)

    def check(self) -> None:
        if self.over:
            raise DeadlineExceeded(f"no time left of the {self.seconds:g} s deadline")

    def watch(self, connection: Any) -> None:
        """The connection this request uses now; the watchdog shuts its socket at the deadline."""
        with self._lock:
            self._connection, self._sock = connection, None
            connection.fieldhook_deadline = self
        self.check()

    def watch_answer(self, connection: Any) -> None:
        """Keep the socket the answer is read from: a response that ends with the connection
        (no length) takes the socket away from the connection object while it is read."""
        with self._lock:
            self._sock = connection.sock
        self.check()

    def _expire(self) -> None:
        with self._lock:
            if self.finished:
                return
            self.expired = True
            connection = self._connection
            sock = (connection.sock or self._sock) if self._owns(connection) else None
        if sock is not None:
            # The plain socket call, also for TLS: SSLSocket.shutdown would drop its SSL object
            # under the reading thread's feet instead of waking it up. OSError: not connected
            # yet, or already closed.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def _owns(self, connection: Any) -> bool:
        """False once the pool has handed the connection to another request."""
        return connection is not None and getattr(connection, "fieldhook_deadline", None) is self

    def _finish(self) -> None:
        """Disarm the watchdog; past the deadline, close the connection so the pool never reuses it."""
        with self._lock:
            self.finished = True
            connection, self._connection, self._sock = self._connection, None, None
            if not self._owns(connection):
                return
            connection.fieldhook_deadline = None
        if self.over:
            connection.close()


# Deadline expiries only shut sockets down: quick callbacks, so one queue serves them all.
_watchdog = TimerQueue("request-deadlines")


@contextmanager
def request_deadline(seconds: float) -> Iterator[RequestDeadline]:
    """Everything inside (one request) must finish within `seconds`."""
    deadline = RequestDeadline(seconds)
    token = _current.set(deadline)
    _watchdog.call_at(deadline.at, deadline._expire)
    try:
        yield deadline
    finally:
        _current.reset(token)
        deadline._finish()


def current() -> RequestDeadline | None:
    return _current.get()


class DeadlineConnectionMixin:
    """Hooks for urllib3's HTTPConnection: every request on it, fresh or pooled, is watched,
    and no phase starts once the deadline has passed."""

    fieldhook_deadline: RequestDeadline | None = None

    def request(self, *args: Any, **kwargs: Any) -> None:
        deadline = current()
        if deadline is not None:
            deadline.watch(self)
        super().request(*args, **kwargs)

    def getresponse(self) -> Any:
        deadline = current()
        if deadline is not None:
            deadline.watch_answer(self)
            # A silent receiver then ends at the deadline through the socket timeout itself.
            self.timeout = min(self.timeout, deadline.remaining()) if self.timeout else deadline.remaining()
        return super().getresponse()
