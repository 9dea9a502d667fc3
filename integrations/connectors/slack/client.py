"""Requests to Slack — an incoming webhook, or Web API methods with a bot token — and
Slack's answers turned into ConnectorErrors that carry Slack's error string and say what
to do about it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from integrations.connectors import http
from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.connectors.http import HttpResponse

# Web API error strings (HTTP 200, {"ok": false, "error": …}) that only time can fix:
# Slack's own trouble, a rate limit, a workspace in migration (Slack: "intermittently unavailable").
RETRIED = {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "team_added_to_org"}
RATE_LIMITED = {"ratelimited", "rate_limited"}
# The token itself is refused or lacks a permission: no retry helps until someone fixes the app.
AUTH = {
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
    "missing_scope",
    "no_permission",
    "not_allowed_token_type",
    "ekm_access_denied",
}


@dataclass(frozen=True)
class Renewal:
    """What a person does to give the bot a working token again, which depends on how it got one."""

    invalid: str  # the token is not valid
    reinstall: str  # the app must be installed again (revoked, a permission changed)
    scope: str  # the app lacks a scope ('{needed}' names it)
    expired: str  # an expiring token (token rotation) ran out


PASTED = Renewal(
    invalid="paste the Bot User OAuth Token (xoxb-…) again",
    reinstall="reinstall the app to the workspace and paste its new Bot User OAuth Token",
    scope="add {needed} under OAuth & Permissions › Scopes, then reinstall the app to the workspace and paste "
    "its new Bot User OAuth Token",
    expired="the app has token rotation on, so a pasted token lasts only 12 hours: choose 'Bot token via OAuth 2' "
    "and use 'Connect to Slack', then Fieldhook renews the token itself",
)
CONNECTED = Renewal(
    invalid="use 'Connect to Slack' on the integration's page again",
    reinstall="use 'Connect to Slack' on the integration's page again (it installs the app anew)",
    scope="use 'Connect to Slack' on the integration's page again: it asks for every scope Fieldhook needs",
    expired="it could not be renewed: use 'Connect to Slack' on the integration's page again",
)
ADVICE = {
    "invalid_auth": "the bot token is not valid: {invalid}",
    "not_authed": "no token reached Slack: {invalid}",
    "token_revoked": "the token was revoked (the app was uninstalled?): {reinstall}",
    "token_expired": "the token expired: {expired}",
    "account_inactive": "the bot's user or workspace was deactivated",
    "no_permission": "the token may not do this: {reinstall}",
    "not_allowed_token_type": "this is not a bot token: {invalid}",
    "channel_not_found": "the channel does not exist or the bot cannot see it: check the channel ID, and for a "
    "private channel invite the bot (/invite @your-app)",
    "not_in_channel": "the bot is not a member of the channel: invite it with /invite @your-app in the channel",
    "is_archived": "the channel is archived: unarchive it or choose another channel",
    "msg_too_long": "the message is longer than Slack accepts",
    "invalid_blocks": "Slack refused the message layout (a Fieldhook bug: please report it with this sync)",
    "invalid_blocks_format": "Slack refused the message layout (a Fieldhook bug: please report it with this sync)",
    "restricted_action": "a workspace setting stops the bot from posting in this channel",
    "message_not_found": "the work item's first message was deleted",
    "thread_not_found": "the work item's thread was deleted",
}
# Incoming webhooks answer with a plain-text error string and an HTTP status
# (Slack changelog 2016-05: 400 invalid_payload/user_not_found, 403 action_prohibited,
# 404 channel_not_found, 410 channel_is_archived, 500 rollup_error).
NEW_WEBHOOK = "create a new incoming webhook in your Slack app and paste its URL"
WEBHOOK_ADVICE = {
    "invalid_payload": "Slack could not read the message (a Fieldhook bug: please report it with this sync)",
    "no_text": "Slack found no text in the message (a Fieldhook bug: please report it with this sync)",
    "invalid_blocks": "Slack refused the message layout (a Fieldhook bug: please report it with this sync)",
    "action_prohibited": "a workspace restriction stops this webhook from posting; ask a Slack admin",
    "invalid_token": f"the webhook URL is no longer valid: {NEW_WEBHOOK}",
    "no_service": f"the webhook was removed or its app uninstalled: {NEW_WEBHOOK}",
    "no_team": f"the webhook's workspace is gone: {NEW_WEBHOOK}",
    "team_disabled": "the webhook's workspace is disabled",
    "channel_not_found": f"the webhook's channel was deleted: {NEW_WEBHOOK} for another channel",
    "channel_is_archived": f"the webhook's channel is archived: unarchive it, or {NEW_WEBHOOK} for another channel",
    "posting_to_general_channel_denied": "only admins may post in this channel: choose another channel",
}


class SlackError(ConnectorError):
    """A refusal by Slack; `code` is Slack's error string (e.g. 'already_reacted')."""

    def __init__(self, message: str, *, code: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.code = code


def webhook_post(url: str, message: dict[str, Any]) -> HttpResponse:
    """POST one message to an incoming webhook; Slack answers 200 `ok`."""
    body = json.dumps(message, ensure_ascii=False).encode()
    response = http.send("POST", url, data=body, headers={"Content-Type": "application/json"})
    raise_for_webhook(response)
    return response


def raise_for_webhook(response: HttpResponse) -> None:
    if 200 <= response.status_code < 300:
        return
    code = response.text.strip()[:100] if response.text.strip().isidentifier() else ""
    _raise_http(response, code=code, what="the incoming webhook post", advice=WEBHOOK_ADVICE.get(code, ""))


def _raise_http(response: HttpResponse, *, code: str, what: str, advice: str) -> None:
    """A non-2xx answer, classified as http.raise_for_status does (429 and 5xx retried, other
    4xx permanent), described with Slack's error string."""
    try:
        http.raise_for_status(response, service="Slack")
    except ConnectorError as error:
        said = f"HTTP {response.status_code}" + (f" {code}" if code else "")
        message = f"Slack refused {what} ({said})" + (f": {advice}." if advice else ".")
        if error.error_class in (ErrorClass.RATE_LIMITED, ErrorClass.SERVER):
            message = f"Slack could not take {what} now ({said}); it is retried."
        elif not code:
            message = error.message  # not Slack's own answer (a proxy, a redirect)
        raise SlackError(
            message,
            code=code,
            permanent=error.permanent,
            error_class=error.error_class,
            status_code=error.status_code,
            retry_after=error.retry_after,
            response_excerpt=error.response_excerpt,
        ) from None


class SlackApi:
    """Web API methods with the bot token: `Authorization: Bearer`, JSON bodies for writes.

    `token` gives the token to send (an OAuth one is renewed first when it is about to
    expire); with `refresh`, a token Slack calls expired is renewed once and the call repeated
    (Slack did nothing with it, so repeating a write is safe)."""

    def __init__(
        self,
        *,
        api_url: str,
        token: Callable[[], str],
        renewal: Renewal = PASTED,
        refresh: Callable[[], str] | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.renewal = renewal
        self.refresh = refresh

    def call(self, method: str, *, body: dict[str, Any] | None = None, params: dict[str, Any] | None = None) -> dict:
        """POST `body` as JSON (a write) or GET with `params` (a read); the answer when `ok`."""
        try:
            return self._call_once(method, self.token(), body=body, params=params)
        except SlackError as error:
            if error.code != "token_expired" or self.refresh is None:
                raise
        return self._call_once(method, self.refresh(), body=body, params=params)

    def _call_once(self, method: str, token: str, *, body: dict[str, Any] | None, params: dict[str, Any] | None):
        if not token:
            raise ConnectorError(
                "No Slack bot token is stored: enter the Bot User OAuth Token in the integration's settings.",
                permanent=True,
                error_class=ErrorClass.CONFIG,
            )
        headers = {"Authorization": f"Bearer {token}"}
        url = f"{self.api_url}/{method}"
        if body is None:
            response = http.send("GET", url, params=params, headers=headers)
        else:
            headers["Content-Type"] = "application/json; charset=utf-8"
            response = http.send("POST", url, data=json.dumps(body, ensure_ascii=False).encode(), headers=headers)
        return raise_for_api(response, method=method, renewal=self.renewal)


def raise_for_api(response: HttpResponse, *, method: str, renewal: Renewal = PASTED) -> dict[str, Any]:
    """The answer of a Web API method when Slack says `ok`, else the matching SlackError."""
    if not 200 <= response.status_code < 300:
        code = _error_string(response)
        _raise_http(response, code=code, what=method, advice=_advice(code, renewal))
    answer = response.json()
    if isinstance(answer, dict) and answer.get("ok") is True:
        return answer
    code = str(answer.get("error") if isinstance(answer, dict) else "") or "unknown_error"
    answer = answer if isinstance(answer, dict) else {}
    raise api_error(code, method=method, answer=answer, response=response, renewal=renewal)


def _advice(code: str, renewal: Renewal, *, needed: str = "a scope") -> str:
    if code == "missing_scope":
        return f"the app lacks the {needed} scope: " + renewal.scope.format(needed=needed)
    return ADVICE.get(code, "").format(
        invalid=renewal.invalid, reinstall=renewal.reinstall, expired=renewal.expired, needed=needed
    )


def api_error(
    code: str, *, method: str, answer: dict[str, Any], response: HttpResponse, renewal: Renewal = PASTED
) -> SlackError:
    details = {"code": code, "status_code": response.status_code, "response_excerpt": response.excerpt}
    if code in RATE_LIMITED or code in RETRIED:
        error_class = ErrorClass.RATE_LIMITED if code in RATE_LIMITED else ErrorClass.SERVER
        retry_after = http.retry_after_seconds(response.headers.get("Retry-After"))
        message = f"Slack could not complete {method} now ({code}); it is retried."
        return SlackError(message, error_class=error_class, retry_after=retry_after, **details)
    advice = _advice(code, renewal, needed=str(answer.get("needed") or "a scope"))
    message = f"Slack refused {method} ({code})" + (f": {advice}." if advice else ".")
    if code in AUTH:
        return SlackError(message, permanent=True, error_class=ErrorClass.AUTH, **details)
    # Any other error string judges the request itself (a channel the bot cannot post to, a
    # message Slack will not take): Slack gives the same answer to the same request again.
    return SlackError(message, permanent=True, error_class=ErrorClass.CLIENT, **details)


def _error_string(response: HttpResponse) -> str:
    try:
        answer = json.loads(response.body)
    except ValueError:
        return ""
    return str(answer.get("error") or "") if isinstance(answer, dict) else ""
