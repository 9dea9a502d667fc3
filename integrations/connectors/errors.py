"""How a connector says that something did not work: one exception, and a closed set of
error classes that the engine records, retries and counts by."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from integrations.connectors.base import RateLimitHint


class ErrorClass(StrEnum):
    """Short names recorded on SyncAttempt.error_class (stable: operators filter on them)."""

    CONNECTION = "connection"
    TIMEOUT = "timeout"
    SERVER = "http_5xx"
    RATE_LIMITED = "http_429"
    CLIENT = "http_4xx"
    AUTH = "auth"
    CONFIG = "config"
    PAYLOAD = "payload"
    SSRF = "ssrf"  # refused by the outbound guard: a non-public address or a disallowed scheme
    INTERNAL = "internal"  # a bug in a connector: recorded and retried, never lost


class ConnectorError(Exception):
    """A delivery that did not succeed. `permanent` means retrying cannot help."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        error_class: str = ErrorClass.CLIENT,
        status_code: int | None = None,
        retry_after: float | None = None,
        response_excerpt: str = "",
        rate_limit: RateLimitHint | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.error_class = error_class
        self.status_code = status_code
        self.retry_after = retry_after
        self.response_excerpt = response_excerpt
        self.rate_limit = rate_limit
