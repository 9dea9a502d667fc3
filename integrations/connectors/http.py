"""The one HTTP seam of all connectors: a pooled session per process, timeouts from
settings, no hidden retries, no redirects, the SSRF guard on every connection, response
bodies read up to a cap, and one mapping from HTTP outcomes to ConnectorError."""

from __future__ import annotations

import datetime
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3
from django.conf import settings
from django.utils import timezone
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

import app
from integrations.connectors.deadline import RequestDeadline, request_deadline
from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.connectors.ssrf import AddressRefused, GuardedHTTPAdapter, scheme_refusal

USER_AGENT = f"Fieldhook/{app.__version__}"
EXCERPT_CHARS = 500
READ_TRIES = 3
TRANSIENT = {ErrorClass.CONNECTION, ErrorClass.TIMEOUT, ErrorClass.SERVER, ErrorClass.RATE_LIMITED}
T = TypeVar("T")

_session: requests.Session | None = None
_session_pid: int | None = None


def http_session() -> requests.Session:
    """One pooled session per process (a forked worker must not share its parent's sockets)."""
    global _session, _session_pid
    if _session is None or _session_pid != os.getpid():
        session = requests.Session()
        adapter = GuardedHTTPAdapter(
            pool_connections=settings.HTTP_POOL_SIZE,
            pool_maxsize=settings.HTTP_POOL_SIZE,
            max_retries=0,
        )
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = USER_AGENT
        session.trust_env = False
        _session, _session_pid = session, os.getpid()
    return _session


@dataclass(frozen=True)
class HttpResponse:
    status_code: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def excerpt(self) -> str:
        return self.text[:EXCERPT_CHARS]

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise ConnectorError(
                f"Expected JSON from the receiver, got: {self.excerpt[:200]!r}",
                error_class=ErrorClass.SERVER,
                status_code=self.status_code,
            ) from exc


def send(method: str, url: str, **kwargs: Any) -> HttpResponse:
    """One request with our timeouts and an overall deadline (HTTP_DEADLINE_SECONDS);
    connection failures become retryable ConnectorErrors, a refusal by the SSRF guard a
    permanent one."""
    refusal = scheme_refusal(urlsplit(url).scheme)
    if refusal:
        raise ConnectorError(f"Refused to send to {_host(url)}: {refusal}", permanent=True, error_class=ErrorClass.SSRF)
    kwargs.setdefault("timeout", (settings.HTTP_CONNECT_TIMEOUT, settings.HTTP_TIMEOUT))
    with request_deadline(settings.HTTP_DEADLINE_SECONDS) as deadline:
        try:
            response = _exchange(method, url, kwargs)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            if deadline.over:
                raise _too_slow(url, deadline) from exc
            raise _connector_error(url, exc) from exc
        if deadline.over:  # the watchdog's shutdown can look like the end of a body without a length
            raise _too_slow(url, deadline)
    return response


def _exchange(method: str, url: str, kwargs: dict[str, Any]) -> HttpResponse:
    with http_session().request(method, url, allow_redirects=False, stream=True, **kwargs) as response:
        # Reading the body is urllib3's business: its errors are not wrapped by requests.
        body = b"" if method == "HEAD" else response.raw.read(settings.HTTP_MAX_RESPONSE_BYTES, decode_content=True)
        return HttpResponse(response.status_code, dict(response.headers), body or b"")


def _too_slow(url: str, deadline: RequestDeadline) -> ConnectorError:
    return ConnectorError(
        f"{_host(url)} did not finish answering within {deadline.seconds:g} s (HTTP_CONNECT_TIMEOUT + HTTP_TIMEOUT).",
        error_class=ErrorClass.TIMEOUT,
    )


def _connector_error(url: str, exc: Exception) -> ConnectorError:
    if isinstance(exc, (requests.Timeout, urllib3.exceptions.ReadTimeoutError)):
        return ConnectorError(f"Timed out talking to {_host(url)}.", error_class=ErrorClass.TIMEOUT)
    if isinstance(exc, requests.RequestException) and not isinstance(exc, requests.ConnectionError):
        return ConnectorError(f"Request to {_host(url)} failed: {exc}", permanent=True, error_class=ErrorClass.CONFIG)
    refused = _address_refused(exc)
    if refused:
        return ConnectorError(
            f"Refused to connect to {_host(url)}: {refused.reason}. Receivers must be public addresses "
            "(SSRF protection); to allow this network, add it to INTEGRATIONS_ALLOWED_NETWORKS.",
            permanent=True,
            error_class=ErrorClass.SSRF,
        )
    return ConnectorError(f"Could not connect to {_host(url)}: {_reason(exc)}", error_class=ErrorClass.CONNECTION)


def raise_for_status(response: HttpResponse, *, service: str = "The receiver") -> None:
    """Map a non-2xx answer to a ConnectorError: 408, 429 and 5xx are retried, the rest is permanent."""
    code = response.status_code
    if 200 <= code < 300:
        return
    details = dict(status_code=code, response_excerpt=response.excerpt)
    if code == 429:
        raise ConnectorError(
            f"{service} is rate limiting us (429).",
            error_class=ErrorClass.RATE_LIMITED,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            **details,
        )
    if code >= 500 or code == 408:
        raise ConnectorError(
            f"{service} failed with HTTP {code}.",
            error_class=ErrorClass.SERVER,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            **details,
        )
    if code in (401, 403):
        raise ConnectorError(
            f"{service} refused our credentials (HTTP {code}); check the integration's authentication settings.",
            permanent=True,
            error_class=ErrorClass.AUTH,
            **details,
        )
    if 300 <= code < 400:
        raise ConnectorError(
            f"{service} answered with a redirect (HTTP {code}) to {response.headers.get('Location', '?')}; "
            "redirects are not followed, configure the final URL.",
            permanent=True,
            error_class=ErrorClass.CONFIG,
            **details,
        )
    # Any other 4xx means the request itself is wrong; sending it again cannot succeed.
    raise ConnectorError(f"{service} rejected the request (HTTP {code}).", permanent=True, **details)


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date (RFC 9110 §10.2.3), capped
    at HTTP_RETRY_AFTER_MAX_SECONDS so that no answer (`inf`, 1e400, year 9999) parks us for ever."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        seconds = _seconds_until(value)
    if seconds is None or math.isnan(seconds):
        return None
    return min(max(0.0, seconds), settings.HTTP_RETRY_AFTER_MAX_SECONDS)


def _seconds_until(http_date: str) -> float | None:
    try:
        moment = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, OverflowError):
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, datetime.UTC)
    return (moment - timezone.now()).total_seconds()


def _host(url: str) -> str:
    """host[:port] of a URL, never its userinfo."""
    parts = urlsplit(url)
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    return f"{host}:{parts.port}" if parts.port else (host or "the receiver")


def _address_refused(exc: BaseException) -> AddressRefused | None:
    """The guard's refusal, wherever requests and urllib3 wrapped it (args, reason, cause, context)."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop()
        if isinstance(current, AddressRefused):
            return current
        if id(current) in seen:
            continue
        seen.add(id(current))
        linked = [*current.args, getattr(current, "reason", None), current.__cause__, current.__context__]
        pending.extend(item for item in linked if isinstance(item, BaseException))
    return None


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "No route to host", "Connection reset"):
        if marker in text:
            return marker.lower()
    return type(exc).__name__


def read_retrying(read: Callable[[], T]) -> T:
    """Run an idempotent read (a GET, a search) with a few quick tries on connection errors,
    timeouts, 429 and 5xx (DESIGN §3: reads only; a write is retried by the engine, whole)."""
    retrying = Retrying(
        stop=stop_after_attempt(READ_TRIES),
        wait=wait_random_exponential(multiplier=0.25, max=2),
        retry=retry_if_exception(_transient),
        sleep=_sleep,
        reraise=True,
    )
    return retrying(read)


def _transient(error: BaseException) -> bool:
    return isinstance(error, ConnectorError) and error.error_class in TRANSIENT


def _sleep(seconds: float) -> None:
    """The pause between read tries (a seam, so tests need not wait)."""
    time.sleep(seconds)
