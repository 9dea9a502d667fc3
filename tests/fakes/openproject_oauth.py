"""OpenProject's OAuth token endpoint (Doorkeeper) for the fake: refresh grants only.

Not part of API v3 (so not in its OpenAPI spec): the form is checked against RFC 6749
§6 here. Refresh tokens rotate (Doorkeeper revokes a used one); errors follow §5.2.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import requests

CLIENT_ID = "op-client-id-4b1d"
CLIENT_SECRET = "op-client-secret-93ac"
JSON = {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"}


@dataclass
class FakeDoorkeeper:
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    lifetime_seconds: int = 7200
    access_tokens: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=set)
    refreshes: list[dict[str, str]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    _serial: itertools.count = field(default_factory=lambda: itertools.count(1))

    def issue(self) -> tuple[str, str]:
        """A fresh (access token, refresh token) pair, as after 'Connect to OpenProject'."""
        number = next(self._serial)
        access, refresh = f"op-access-{number}", f"op-refresh-{number}"
        self.access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        return access, refresh

    def handle(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        if "application/x-www-form-urlencoded" not in request.headers.get("Content-Type", ""):
            self.violations.append(f"POST /oauth/token: not a form: {request.headers.get('Content-Type')}")
            return _error(400, "invalid_request", "The request is missing a required parameter.")
        body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
        form = dict(parse_qsl(body, keep_blank_values=True))
        self.refreshes.append(form)
        missing = {"grant_type", "refresh_token", "client_id", "client_secret"} - set(form)
        if missing:
            self.violations.append(f"POST /oauth/token: missing {sorted(missing)}")
            return _error(400, "invalid_request", "The request is missing a required parameter.")
        if (form["client_id"], form["client_secret"]) != (self.client_id, self.client_secret):
            return _error(401, "invalid_client", "Client authentication failed due to unknown client.")
        if form["grant_type"] != "refresh_token":
            return _error(400, "unsupported_grant_type", "The authorization grant type is not supported.")
        if form["refresh_token"] not in self.refresh_tokens:
            return _error(
                400,
                "invalid_grant",
                "The provided authorization grant is invalid, expired, revoked, does not match the redirection "
                "URI used in the authorization request, or was issued to another client.",
            )
        self.refresh_tokens.discard(form["refresh_token"])
        access, refresh = self.issue()
        answer = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.lifetime_seconds,
            "refresh_token": refresh,
            "scope": "api_v3",
            "created_at": int(time.time()),
        }
        return 200, JSON, json.dumps(answer)


def _error(status: int, code: str, description: str) -> tuple[int, dict[str, str], str]:
    return status, JSON, json.dumps({"error": code, "error_description": description})
