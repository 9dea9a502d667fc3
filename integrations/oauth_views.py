"""The admin's "Connect to OpenProject": the start (a state and a PKCE verifier kept in the
user's session) and the callback OpenProject sends the browser back to (state checked, code
exchanged, tokens stored encrypted). Nothing is stored unless every step succeeded.
"""

from __future__ import annotations

import secrets
import time

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET

from integrations import oauth, services
from integrations.connectors.errors import ConnectorError
from integrations.connectors.openproject import OpenProjectConnector
from integrations.connectors.openproject_api import AuthMethod
from integrations.crypto import SecretsUnreadable
from integrations.models import TenantIntegration
from integrations.policy import scrub, secret_strings

SESSION_KEY = "openproject_oauth_pending"
STATE_TTL_SECONDS = 10 * 60
MAX_PENDING = 5  # flows started in one session and not finished yet


def callback_url() -> str:
    """The redirect URI to register in OpenProject's OAuth application."""
    return settings.FIELDHOOK_BASE_URL.rstrip("/") + reverse("openproject-oauth-callback")


def change_url(integration: TenantIntegration) -> str:
    return reverse("admin:integrations_tenantintegration_change", args=[integration.pk])


def oauth_offered(*, integration: TenantIntegration) -> bool:
    """Whether the change page offers "Connect to OpenProject" (saved with OAuth 2)."""
    return (
        integration.integration_type == OpenProjectConnector.kind
        and (integration.config or {}).get("auth_method") == AuthMethod.OAUTH2
    )


def oauth_connect_problem(*, integration: TenantIntegration) -> str:
    """Why the flow cannot start for this integration yet, or ''."""
    config = integration.config or {}
    if config.get("auth_method") != AuthMethod.OAUTH2:
        return "Choose OAuth 2 as the authentication method and save before connecting to OpenProject."
    if not (
        config.get("base_url")
        and config.get("oauth_client_id")
        and integration.secrets_or_empty().get("oauth_client_secret")
    ):
        return "Enter the OpenProject URL and the OAuth client id and secret, and save, before connecting."
    return ""


def oauth_start(request: HttpRequest, *, integration: TenantIntegration) -> HttpResponseRedirect:
    """Remember a new state with its verifier in the session and send the browser to OpenProject."""
    verifier, challenge = oauth.pkce_pair()
    state = secrets.token_urlsafe(32)
    now = time.time()
    pending = {
        key: entry for key, entry in request.session.get(SESSION_KEY, {}).items() if now - entry[2] < STATE_TTL_SECONDS
    }
    pending[state] = [integration.pk, verifier, now]
    newest = sorted(pending.items(), key=lambda item: item[1][2])[-MAX_PENDING:]
    request.session[SESSION_KEY] = dict(newest)
    return HttpResponseRedirect(
        oauth.authorization_url(
            base_url=integration.config["base_url"],
            client_id=integration.config["oauth_client_id"],
            redirect_uri=callback_url(),
            state=state,
            code_challenge=challenge,
        )
    )


@require_GET
@staff_member_required
def openproject_oauth_callback(request: HttpRequest) -> HttpResponse:
    """Where OpenProject sends the browser back with `code` and `state` (or `error`)."""
    state = request.GET.get("state", "")
    pending = request.session.get(SESSION_KEY, {})
    entry = pending.pop(state, None) if state else None
    if entry is not None:
        request.session[SESSION_KEY] = pending  # a state is used once, whatever happens next
    problem = _state_problem(state, entry)
    if problem:
        return _bad_request(problem)
    integration_id, verifier, _created = entry
    integration = _changeable_integration(request, integration_id)
    if request.GET.get("error"):
        messages.error(request, f"OpenProject did not grant access{_provider_error(request)}; nothing was changed.")
        return redirect(change_url(integration))
    code = request.GET.get("code", "")
    if not code:
        messages.error(request, "OpenProject sent no authorization code; nothing was changed. Connect again.")
        return redirect(change_url(integration))
    try:
        name = services.integration_oauth_connect(
            integration=integration, code=code, code_verifier=verifier, redirect_uri=callback_url()
        )
    except (ConnectorError, SecretsUnreadable) as error:
        text = scrub(str(error), secret_strings(integration.secrets_or_empty()))
        messages.error(request, f"Connecting to OpenProject failed: {text} Nothing was stored.")
        return redirect(change_url(integration))
    if name:
        messages.success(request, f"Connected to OpenProject as {name}.")
    else:
        messages.success(request, "Connected to OpenProject (it did not tell us the user's name).")
    return redirect(change_url(integration))


def _state_problem(state: str, entry: list | None) -> str:
    if not state:
        return "OpenProject's answer carries no state, so it cannot be matched to a connection you started."
    if entry is None:
        return (
            "This answer from OpenProject does not match a connection started in this browser session "
            "(or it was already used)."
        )
    if time.time() - entry[2] >= STATE_TTL_SECONDS:
        return f"This connection attempt expired ({STATE_TTL_SECONDS // 60} minutes)."
    return ""


def _bad_request(problem: str) -> HttpResponseBadRequest:
    page = format_html(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>OpenProject connection failed</title>"
        "</head><body><h1>OpenProject connection failed</h1><p>{} Nothing was stored.</p>"
        "<p>Open the integration and use “Connect to OpenProject” again. <a href='{}'>Integrations</a></p>"
        "</body></html>",
        problem,
        reverse("admin:integrations_tenantintegration_changelist"),
    )
    return HttpResponseBadRequest(page)


def _changeable_integration(request: HttpRequest, integration_id: int) -> TenantIntegration:
    """The integration, if the admin still lets this user change it (same tenant scoping)."""
    model_admin = admin.site.get_model_admin(TenantIntegration)
    integration = model_admin.get_object(request, str(integration_id))
    if (
        integration is None
        or integration.integration_type != OpenProjectConnector.kind
        or not model_admin.has_change_permission(request, integration)
    ):
        raise Http404("No such OpenProject integration.")
    return integration


def _provider_error(request: HttpRequest) -> str:
    """' (access_denied: The resource owner denied the request)' from the callback's query (RFC 6749 §4.1.2.1)."""
    error = request.GET.get("error", "")[:100]
    description = request.GET.get("error_description", "").strip().rstrip(".")[:300]
    return f" ({error}: {description})" if description else f" ({error})"
