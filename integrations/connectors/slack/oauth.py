"""Slack's OAuth v2 ("Add to Slack"): where it runs, the bot scopes it asks for, Slack's way of
refusing a code (HTTP 200 with `ok: false`), and whom a token acts for.

Slack apps take PKCE only after it is switched on in the app's settings, which makes the app a
public client for good; Fieldhook is a confidential client (it keeps the client secret on the
server), so the flow runs without PKCE, protected by the state and the client secret.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from integrations.connectors.base import OAuthEndpoints
from integrations.connectors.errors import ConnectorError
from integrations.connectors.slack.client import RATE_LIMITED, RETRIED, SlackApi

# What the bot does, and nothing more: post (chat:write), mark a closed work item's thread
# (reactions:write), find a message an earlier attempt posted before its answer was lost
# (channels:history), and let "Test connection" see whether the bot is in its channel (channels:read).
SCOPES = ("chat:write", "reactions:write", "channels:history", "channels:read")
ACCOUNT_NAME_MAX = 200


def endpoints(api_url: str) -> OAuthEndpoints:
    """Next to the Web API: https://slack.com/oauth/v2/authorize and https://slack.com/api/oauth.v2.access
    (GovSlack: slack-gov.com). Bot scopes go in `scope`, comma-separated."""
    parts = urlsplit(api_url)
    return OAuthEndpoints(
        authorize_url=f"{parts.scheme}://{parts.netloc}/oauth/v2/authorize",
        token_url=f"{api_url.rstrip('/')}/oauth.v2.access",
        scope=",".join(SCOPES),
        pkce=False,
    )


def token_refusal(body: Any) -> str:
    """Slack's error string when oauth.v2.access refused (invalid_code, bad_client_secret,
    invalid_refresh_token…); '' for a success, or for trouble that passes (rate limit, Slack's own)."""
    if not isinstance(body, dict) or body.get("ok") is not False:
        return ""
    error = str(body.get("error") or "unknown_error")
    return "" if error in RATE_LIMITED or error in RETRIED else error


def account_name(*, api_url: str, access_token: str) -> str:
    """'fieldhook in Acme Repairs': the bot user and the workspace (auth.test), or '' if Slack will not say."""
    try:
        who = SlackApi(api_url=api_url, token=lambda: access_token).call("auth.test")
    except ConnectorError:
        return ""
    user, team = str(who.get("user") or ""), str(who.get("team") or "")
    name = f"{user} in {team}" if user and team else user or team
    return name[:ACCOUNT_NAME_MAX]
