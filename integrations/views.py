"""HTTP views of the integrations app that are not a connector's: the Prometheus scrape.

The view lives here, not in the engine: the engine runs in workers and knows no request;
this decides who may read what it collected."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from integrations.engine.metrics import metrics_registry


def _bearer_matches(request: HttpRequest, token: str) -> bool:
    scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(supplied.strip().encode(), token.encode())


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format: for bearers of METRICS_TOKEN; without a token only when METRICS_PUBLIC is on."""
    if settings.METRICS_TOKEN:
        if not _bearer_matches(request, settings.METRICS_TOKEN):
            response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    elif not settings.METRICS_PUBLIC:
        return HttpResponse(
            "Metrics are off: set METRICS_TOKEN (scrape with a bearer token) or METRICS_PUBLIC=1.\n",
            status=403,
            content_type="text/plain",
        )
    response = HttpResponse(generate_latest(metrics_registry), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
