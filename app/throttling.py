"""Login throttles per client address: the API token endpoint (DRF throttle) and the admin login.

Counts live in the default cache (Redis when REDIS_URL is set, so every process shares them).
When that cache is down the throttles let requests through and log a warning: locking every
admin out during a Redis incident would be worse than a few unthrottled attempts.
"""

import logging
import math
import time
from collections.abc import Callable
from functools import wraps

import redis
from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

logger = logging.getLogger("app.throttling")


def _open_when_cache_down(default):
    """The wrapped function answers `default` instead of failing while the cache is unreachable."""

    def decorate(function: Callable) -> Callable:
        @wraps(function)
        def guarded(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except redis.RedisError as exc:
                logger.warning("Login throttle off: cache unreachable (%s: %s)", type(exc).__name__, exc)
                return default

        return guarded

    return decorate


def client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR, or behind NUM_PROXIES proxies the address the outermost one saw (DRF's rule)."""
    return BaseThrottle().get_ident(request)


# --- API: POST /api/v1/auth/token/ -----------------------------------------------------------


class TokenRequestThrottle(SimpleRateThrottle):
    """Token requests per client address, logged in or not, at API_TOKEN_THROTTLE_RATE."""

    scope = "auth-token"

    def get_rate(self) -> str:
        # Read per request (DRF reads its rates once at import), so the setting can change in tests.
        return settings.API_TOKEN_THROTTLE_RATE

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}

    @_open_when_cache_down(default=True)
    def allow_request(self, request, view) -> bool:
        return super().allow_request(request, view)


class ObtainAuthTokenView(ObtainAuthToken):
    """DRF's token endpoint (username and password in, token out), throttled per client address."""

    throttle_classes = [TokenRequestThrottle]


# --- Admin login ---------------------------------------------------------------------------------


def _started_key(address: str) -> str:
    return f"admin-login-failures:{address}:started"


def _count_key(address: str, started: float) -> str:
    return f"admin-login-failures:{address}:{started}"


@_open_when_cache_down(default=None)
def login_failure_record(*, address: str) -> None:
    """Count one failed admin login; the window starts at the address's first failure.

    The count's key names its window's start, so a new window starts from zero and `incr`
    stays atomic across processes.
    """
    window = settings.ADMIN_LOGIN_FAILURE_WINDOW_SECONDS
    cache.add(_started_key(address), time.time(), window)
    key = _count_key(address, cache.get(_started_key(address), time.time()))
    cache.add(key, 0, window)
    cache.incr(key)


@_open_when_cache_down(default=0)
def login_retry_after(*, address: str) -> int:
    """Seconds until this address may try again (0: it may now)."""
    started = cache.get(_started_key(address))
    if started is None or cache.get(_count_key(address, started), 0) < settings.ADMIN_LOGIN_MAX_FAILURES:
        return 0
    return max(1, math.ceil(started + settings.ADMIN_LOGIN_FAILURE_WINDOW_SECONDS - time.time()))


@never_cache
def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin's login view, answering 429 to an address with too many recent failures."""
    address = client_address(request)
    retry_after = login_retry_after(address=address)
    if retry_after:
        context = {
            **admin.site.each_context(request),
            "title": "Too many failed logins",
            "retry_after_minutes": math.ceil(retry_after / 60),
        }
        response = TemplateResponse(request, "admin/login_throttled.html", context, status=429)
        response["Retry-After"] = str(retry_after)
        return response
    response = admin.site.login(request)
    # A successful login redirects; anything else (wrong password, bad form) is a failure.
    if request.method == "POST" and response.status_code != 302:
        login_failure_record(address=address)
    return response
