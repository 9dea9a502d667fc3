"""Request body limits, enforced before anything reads or parses a body."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve

INBOUND_NAMESPACE = "inbound"


class RequestBodyLimitMiddleware:
    """Answers 413 to a request that declares a body over its limit: INBOUND_MAX_BODY_BYTES
    for inbound webhooks, API_MAX_BODY_BYTES for everything else (the REST API, its token
    endpoint included, and the admin).

    The declared Content-Length is enough: Django's WSGI request never reads past it, so a
    body that declares less cannot be longer. Placed first, it runs before any middleware or
    view (CSRF, authentication, DRF's parsers) could read the body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = declared_body_length(request)
        if declared > min(settings.API_MAX_BODY_BYTES, settings.INBOUND_MAX_BODY_BYTES):
            limit = body_limit(path=request.path_info)
            if declared > limit:
                return JsonResponse({"detail": f"Request body over {limit} bytes."}, status=413)
        return self.get_response(request)


def body_limit(*, path: str) -> int:
    try:
        inbound = INBOUND_NAMESPACE in resolve(path).namespaces
    except Resolver404:
        inbound = False
    return settings.INBOUND_MAX_BODY_BYTES if inbound else settings.API_MAX_BODY_BYTES


def declared_body_length(request: HttpRequest) -> int:
    """Content-Length as Django's WSGI request reads it: absent or malformed counts as 0."""
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0
