"""OAuth 2 authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636) against a Doorkeeper
server such as OpenProject: the authorize URL, the code exchange and the token refresh.

Every request goes through `connectors.http.send` (timeouts, SSRF guard). Tokens come back
in the integration's secrets layout, ready to be merged into its stored secrets.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from integrations.connectors import http
from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.connectors.http import HttpResponse

DEFAULT_SCOPE = "api_v3"
VERIFIER_BYTES = 48  # 64 URL-safe characters; RFC 7636 §4.1 allows 43 to 128
REFRESH_REFUSED = "OpenProject refused the refresh token (access revoked?): reconnect with 'Connect to OpenProject'."


def pkce_pair() -> tuple[str, str]:
    """A fresh (code_verifier, code_challenge) for the S256 method."""
    verifier = secrets.token_urlsafe(VERIFIER_BYTES)
    return verifier, s256_challenge(verifier)


def s256_challenge(verifier: str) -> str:
    """BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(
    *, base_url: str, client_id: str, redirect_uri: str, state: str, code_challenge: str, scope: str = DEFAULT_SCOPE
) -> str:
    """Where the user's browser goes to approve the application."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{base_url.rstrip('/')}/oauth/authorize?{query}"


def exchange_code(
    *, base_url: str, client_id: str, client_secret: str, code: str, redirect_uri: str, code_verifier: str
) -> dict[str, Any]:
    """Trade an authorization code for tokens (secrets layout)."""
    response = _token_request(
        base_url,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "client_secret": client_secret,
            "code_verifier": code_verifier,
        },
    )
    if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
        raise ConnectorError(
            f"OpenProject refused the authorization code{_oauth_error(response)}; "
            "check the OAuth client id, secret and redirect URI, then connect again.",
            permanent=True,
            error_class=ErrorClass.AUTH,
            status_code=response.status_code,
            response_excerpt=response.excerpt,
        )
    return _tokens(response)


def refresh_tokens(*, base_url: str, client_id: str, client_secret: str, refresh_token: str) -> dict[str, Any]:
    """New tokens for a refresh token (secrets layout); the old refresh token is kept when the
    server does not rotate it."""
    response = _token_request(
        base_url,
        {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
            "client_secret": client_secret,
        },
    )
    # RFC 6749 §5.2: a 4xx from the token endpoint (invalid_grant: revoked or expired, invalid_client)
    # judges the credentials, so only a new authorization helps. 408 and 429 are not judgements.
    if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
        raise ConnectorError(
            REFRESH_REFUSED,
            permanent=True,
            error_class=ErrorClass.AUTH,
            status_code=response.status_code,
            response_excerpt=response.excerpt,
        )
    return _tokens(response, previous_refresh_token=refresh_token)


def _token_request(base_url: str, form: dict[str, str]) -> HttpResponse:
    return http.send("POST", f"{base_url.rstrip('/')}/oauth/token", data=form, headers={"Accept": "application/json"})


def _tokens(response: HttpResponse, *, previous_refresh_token: str = "") -> dict[str, Any]:
    """Our secrets layout from a token answer; 5xx, 429 and redirects raise as for any receiver."""
    http.raise_for_status(response, service="OpenProject's token endpoint")
    body = response.json()
    access_token = body.get("access_token") if isinstance(body, dict) else None
    if not access_token:
        raise ConnectorError(
            "OpenProject's token endpoint answered without an access token.",
            error_class=ErrorClass.SERVER,
            status_code=response.status_code,
        )
    expires_in = body.get("expires_in")
    return {
        "oauth_access_token": access_token,
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
