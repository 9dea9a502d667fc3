"""OAuth 2 authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636), driven by a
connector's `oauth_endpoints()`: the authorize URL, the code exchange, the access token of
a delivery (refreshed before it expires) and the refresh after a 401.

Every request goes through `connectors.http.send` (timeouts, SSRF guard). Tokens live in the
integration's encrypted secrets as `oauth_access_token`, `oauth_refresh_token` and
`oauth_expires_at`; the application's secret is `oauth_client_secret`.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from integrations.connectors import http
from integrations.connectors.base import Connector, OAuthEndpoints
from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.connectors.http import HttpResponse

VERIFIER_BYTES = 48  # 64 URL-safe characters; RFC 7636 §4.1 allows 43 to 128
REFRESH_MARGIN_SECONDS = 60
TOKEN_KEYS = ("oauth_access_token", "oauth_refresh_token", "oauth_expires_at")


def pkce_pair() -> tuple[str, str]:
    """A fresh (code_verifier, code_challenge) for the S256 method."""
    verifier = secrets.token_urlsafe(VERIFIER_BYTES)
    return verifier, s256_challenge(verifier)


def s256_challenge(verifier: str) -> str:
    """BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(
    *, endpoints: OAuthEndpoints, client_id: str, redirect_uri: str, state: str, code_challenge: str
) -> str:
    """Where the user's browser goes to approve the application."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": endpoints.scope,
        "state": state,
    }
    if endpoints.pkce:
        params |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
    query = urlencode(params)
    separator = "&" if "?" in endpoints.authorize_url else "?"
    return f"{endpoints.authorize_url}{separator}{query}"


def code_exchange(*, connector: Connector, code: str, redirect_uri: str, code_verifier: str) -> dict[str, Any]:
    """Trade an authorization code for tokens (secrets layout)."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if connector.oauth_endpoints().pkce:
        form["code_verifier"] = code_verifier
    response = _token_request(connector, form)
    if _judged(connector, response):
        raise ConnectorError(
            f"{connector.label} refused the authorization code{_oauth_error(response)}; "
            "check the OAuth client id, secret and redirect URI, then connect again.",
            permanent=True,
            error_class=ErrorClass.AUTH,
            status_code=response.status_code,
            response_excerpt=response.excerpt,
        )
    return _tokens(connector, response)


def access_token(connector: Connector) -> str:
    """The stored access token, refreshed first when it expires within a minute."""
    stored = connector.secrets
    token = stored.get("oauth_access_token")
    if not token and not stored.get("oauth_refresh_token"):
        raise ConnectorError(
            f"{connector.label} OAuth is not connected: use 'Connect to {connector.label}' on the integration's "
            "admin page.",
            permanent=True,
            error_class=ErrorClass.AUTH,
        )
    expires_at = float(stored.get("oauth_expires_at") or 0)
    if not token or (expires_at and expires_at - time.time() < REFRESH_MARGIN_SECONDS):
        return tokens_refresh(connector)
    return token


def connection_state(connector: Connector) -> str:
    """What the admin shows about a kind's OAuth connection: whether it is connected, as whom,
    and until when its token is valid."""
    stored = connector.secrets
    if not stored.get("oauth_access_token") and not stored.get("oauth_refresh_token"):
        return f"OAuth: not connected — use 'Connect to {connector.label}'"
    expires_at = float(stored.get("oauth_expires_at") or 0)
    if expires_at and expires_at <= time.time():
        return "OAuth: token expired — it will be refreshed on the next delivery"
    who = stored.get("oauth_connected_as") or connector.config.oauth_connected_as or "an unknown user"
    if not expires_at:
        return f"OAuth: connected as {who}, token without an expiry date"
    until = datetime.datetime.fromtimestamp(expires_at, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"OAuth: connected as {who}, token valid until {until}"


def tokens_refresh(connector: Connector) -> str:
    """Trade the refresh token for new tokens, store them (encrypted), return the access token."""
    stored = connector.secrets
    refresh_token = stored.get("oauth_refresh_token")
    if not refresh_token:
        raise ConnectorError(
            f"The {connector.label} OAuth token expired and no refresh token is stored: "
            f"use 'Connect to {connector.label}' again.",
            permanent=True,
            error_class=ErrorClass.AUTH,
        )
    response = _token_request(connector, {"grant_type": "refresh_token", "refresh_token": refresh_token})
    # RFC 6749 §5.2: a 4xx from the token endpoint (invalid_grant: revoked or expired, invalid_client)
    # judges the credentials, so only a new authorization helps. 408 and 429 are not judgements.
    if _judged(connector, response):
        # Servers that rotate refresh tokens refuse one another worker just spent: its tokens are
        # stored by now, so use them instead of failing.
        current = connector.stored_secrets()
        if current.get("oauth_refresh_token") not in (None, refresh_token):
            connector.secrets = current
            return current["oauth_access_token"]
        raise ConnectorError(
            f"{connector.label} refused the refresh token (access revoked?): reconnect with "
            f"'Connect to {connector.label}'.",
            permanent=True,
            error_class=ErrorClass.AUTH,
            status_code=response.status_code,
            response_excerpt=response.excerpt,
        )
    tokens = _tokens(connector, response, previous_refresh_token=refresh_token)
    connector.save_secrets({**connector.secrets, **tokens})
    return tokens["oauth_access_token"]


def _judged(connector: Connector, response: HttpResponse) -> bool:
    """Whether the token endpoint refused the code or refresh token: a 4xx other than 408 and
    429, or a 2xx the connector reads as a refusal (its tool answers errors with HTTP 200)."""
    if 200 <= response.status_code < 300:
        try:
            return bool(connector.oauth_token_refusal(response.json()))
        except ConnectorError:  # not JSON: `_tokens` reports it
            return False
    return 400 <= response.status_code < 500 and response.status_code not in (408, 429)


def _token_request(connector: Connector, form: dict[str, str]) -> HttpResponse:
    client = {
        "client_id": connector.config.oauth_client_id,
        "client_secret": connector.secrets.get("oauth_client_secret", ""),
    }
    url = connector.oauth_endpoints().token_url
    return http.send("POST", url, data={**form, **client}, headers={"Accept": "application/json"})


def _tokens(connector: Connector, response: HttpResponse, *, previous_refresh_token: str = "") -> dict[str, Any]:
    """Our secrets layout from a token answer; 5xx, 429 and redirects raise as for any receiver."""
    service = f"{connector.label}'s token endpoint"
    http.raise_for_status(response, service=service)
    body = response.json()
    token = body.get("access_token") if isinstance(body, dict) else None
    if not token:
        raise ConnectorError(
            f"{service} answered without an access token.",
            error_class=ErrorClass.SERVER,
            status_code=response.status_code,
        )
    expires_in = body.get("expires_in")
    return {
        "oauth_access_token": token,
        "oauth_refresh_token": body.get("refresh_token") or previous_refresh_token,
        # No expires_in: the token does not expire (Doorkeeper); a 401 still triggers a refresh.
        "oauth_expires_at": time.time() + float(expires_in) if expires_in else None,
    }


def _oauth_error(response: HttpResponse) -> str:
    """' (invalid_grant: The provided authorization grant is invalid…)' from an RFC 6749 §5.2 body, or ''."""
    try:
        body = response.json()
    except ConnectorError:
        return f" (HTTP {response.status_code})"
    if not isinstance(body, dict) or not body.get("error"):
        return f" (HTTP {response.status_code})"
    description = str(body.get("error_description") or "").strip().rstrip(".")[:300]
    return f" ({body['error']}: {description})" if description else f" ({body['error']})"
