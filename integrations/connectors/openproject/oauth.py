"""OpenProject's OAuth 2 (Doorkeeper): the endpoints under the instance and who a token acts for."""

from __future__ import annotations

from integrations.connectors import http
from integrations.connectors.base import OAuthEndpoints
from integrations.connectors.errors import ConnectorError

SCOPE = "api_v3"  # OpenProject's default scope: the API v3
USER_NAME_MAX = 200


def endpoints(base_url: str) -> OAuthEndpoints:
    """Doorkeeper's routes are lowercase (the admin docs spell them /OAuth/…)."""
    base = base_url.rstrip("/")
    return OAuthEndpoints(authorize_url=f"{base}/oauth/authorize", token_url=f"{base}/oauth/token", scope=SCOPE)


def account_name(*, base_url: str, access_token: str) -> str:
    """The name of the user a token acts for (GET /api/v3/users/me), or '' if it cannot be read."""
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/hal+json"}
    try:
        response = http.send("GET", f"{base_url.rstrip('/')}/api/v3/users/me", headers=headers)
        body = response.json() if response.status_code == 200 else None
    except ConnectorError:
        return ""
    if not isinstance(body, dict):
        return ""
    return str(body.get("name") or body.get("login") or "")[:USER_NAME_MAX]
