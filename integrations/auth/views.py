"""The admin's "Connect to <tool>" for every kind with OAuth 2: the start (a state and a PKCE
verifier kept in the user's session, after a POST with CSRF) and the callback the tool sends
the browser back to, `/integrations/oauth/<kind>/callback/` (state checked, code exchanged,
tokens stored encrypted). Nothing is stored unless every step succeeded.
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

from integrations.auth import oauth
from integrations.auth.services import integration_oauth_connect
from integrations.connectors import registry
from integrations.connectors.base import Capability, Connector
from integrations.connectors.errors import ConnectorError
from integrations.crypto import SecretsUnreadable
from integrations.engine.policy import scrub, secret_strings
from integrations.models import TenantIntegration
from integrations.services import integration_connector

SESSION_KEY = "oauth_pending"
STATE_TTL_SECONDS = 10 * 60
MAX_PENDING = 5  # flows started in one session and not finished yet


def callback_url(kind: str) -> str:
    """The redirect URI to register in the tool's OAuth application."""
    return settings.FIELDHOOK_BASE_URL.rstrip("/") + reverse("oauth-callback", args=[kind])


def change_url(integration: TenantIntegration) -> str:
    return reverse("admin:integrations_tenantintegration_change", args=[integration.pk])


def oauth_connector(*, integration: TenantIntegration) -> Connector | None:
    """The integration's connector when its saved settings authenticate with OAuth 2, else None."""
    if integration.integration_type not in registry:
        return None
    if Capability.OAUTH2 not in registry.get(integration.integration_type).capabilities:
        return None
    connector = integration_connector(integration=integration)
    return connector if connector.uses_oauth() else None


def oauth_connect_problem(*, integration: TenantIntegration, connector: Connector) -> str:
    """Why the flow cannot start for this integration yet, or ''."""
    if not connector.config.oauth_client_id or not connector.secrets.get("oauth_client_secret"):
        return f"Enter the OAuth client id and secret, and save, before connecting to {connector.label}."
    return connector.oauth_problem()


def oauth_start(request: HttpRequest, *, integration: TenantIntegration, connector: Connector) -> HttpResponseRedirect:
    """Remember a new state with its verifier in the session and send the browser to the tool."""
    verifier, challenge = oauth.pkce_pair()
    state = secrets.token_urlsafe(32)
    now = time.time()
    endpoints = connector.oauth_endpoints()
    pending = {
        key: entry for key, entry in request.session.get(SESSION_KEY, {}).items() if now - entry[2] < STATE_TTL_SECONDS
    }
    # The token endpoint is remembered: if the settings move it before the tool answers, the
    # code is not sent to the new address.
    pending[state] = [integration.pk, verifier, now, endpoints.token_url]
    newest = sorted(pending.items(), key=lambda item: item[1][2])[-MAX_PENDING:]
    request.session[SESSION_KEY] = dict(newest)
    return HttpResponseRedirect(
        oauth.authorization_url(
            endpoints=endpoints,
            client_id=connector.config.oauth_client_id,
            redirect_uri=callback_url(integration.integration_type),
            state=state,
            code_challenge=challenge,
        )
    )


@require_GET
@staff_member_required
def oauth_callback(request: HttpRequest, kind: str) -> HttpResponse:
    """Where the tool sends the browser back with `code` and `state` (or `error`)."""
    if kind not in registry or Capability.OAUTH2 not in registry.get(kind).capabilities:
        raise Http404("No such OAuth integration kind.")
    tool = registry.get(kind).label
    state = request.GET.get("state", "")
    pending = request.session.get(SESSION_KEY, {})
    entry = pending.pop(state, None) if state else None
    if entry is not None:
        request.session[SESSION_KEY] = pending  # a state is used once, whatever happens next
    problem = _state_problem(tool, state, entry)
    if problem:
        return _bad_request(tool, problem)
    integration_id, verifier, _created, token_url = entry
    integration = _changeable_integration(request, integration_id, kind)
    connector = oauth_connector(integration=integration)
    if connector is None or connector.oauth_endpoints().token_url != token_url:
        messages.error(request, f"The {tool} settings changed since you clicked Connect; nothing was stored.")
        return redirect(change_url(integration))
    if request.GET.get("error"):
        messages.error(request, f"{tool} did not grant access{_provider_error(request)}; nothing was changed.")
        return redirect(change_url(integration))
    code = request.GET.get("code", "")
    if not code:
        messages.error(request, f"{tool} sent no authorization code; nothing was changed. Connect again.")
        return redirect(change_url(integration))
    try:
        name = integration_oauth_connect(
            integration=integration, code=code, code_verifier=verifier, redirect_uri=callback_url(kind)
        )
    except (ConnectorError, SecretsUnreadable) as error:
        text = scrub(str(error), secret_strings(integration.secrets_or_empty()))
        messages.error(request, f"Connecting to {tool} failed: {text} Nothing was stored.")
        return redirect(change_url(integration))
    if name:
        messages.success(request, f"Connected to {tool} as {name}.")
    else:
        messages.success(request, f"Connected to {tool} (it did not tell us the user's name).")
    return redirect(change_url(integration))


def _state_problem(tool: str, state: str, entry: list | None) -> str:
    if not state:
        return f"{tool}'s answer carries no state, so it cannot be matched to a connection you started."
    if entry is None or len(entry) != 4:
        return (
            f"This answer from {tool} does not match a connection started in this browser session "
            "(or it was already used)."
        )
    if time.time() - entry[2] >= STATE_TTL_SECONDS:
        return f"This connection attempt expired ({STATE_TTL_SECONDS // 60} minutes)."
    return ""


def _bad_request(tool: str, problem: str) -> HttpResponseBadRequest:
    page = format_html(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{} connection failed</title>"
        "</head><body><h1>{} connection failed</h1><p>{} Nothing was stored.</p>"
        "<p>Open the integration and use “Connect to {}” again. <a href='{}'>Integrations</a></p>"
        "</body></html>",
        tool,
        tool,
        problem,
        tool,
        reverse("admin:integrations_tenantintegration_changelist"),
    )
    return HttpResponseBadRequest(page)


def _changeable_integration(request: HttpRequest, integration_id: int, kind: str) -> TenantIntegration:
    """The integration, if the admin still lets this user change it (same tenant scoping)."""
    model_admin = admin.site.get_model_admin(TenantIntegration)
    integration = model_admin.get_object(request, str(integration_id))
    if (
        integration is None
        or integration.integration_type != kind
        or not model_admin.has_change_permission(request, integration)
    ):
        raise Http404("No such integration.")
    return integration


def _provider_error(request: HttpRequest) -> str:
    """' (access_denied: The resource owner denied the request)' from the callback's query (RFC 6749 §4.1.2.1)."""
    error = request.GET.get("error", "")[:100]
    description = request.GET.get("error_description", "").strip().rstrip(".")[:300]
    return f" ({error}: {description})" if description else f" ({error})"
