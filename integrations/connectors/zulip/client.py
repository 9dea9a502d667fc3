"""Requests to one Zulip organization as its bot: HTTP Basic `email:api_key`, form-encoded
bodies (lists and objects JSON-encoded, as Zulip reads them), and Zulip's answers —
`{"result": "error", "code": …}` — turned into ConnectorErrors that name the code and say
what to do. Every answer's X-RateLimit-* headers are kept as a RateLimitHint."""

from __future__ import annotations

import json
import time
from typing import Any

from integrations.connectors import http
from integrations.connectors.base import RateLimitHint
from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.connectors.http import HttpResponse

BOTS = "Personal settings › Bots"
ADVICE = {
    "INVALID_API_KEY": f"check the bot email and API key ({BOTS})",
    "UNAUTHORIZED": f"check the bot email and API key ({BOTS})",
    "USER_DEACTIVATED": f"the bot is deactivated: reactivate it ({BOTS})",
    "REALM_DEACTIVATED": "the Zulip organization is deactivated",
    "STREAM_DOES_NOT_EXIST": "create the channel in Zulip, or tick 'Create the channel if missing'",
}


class ZulipError(ConnectorError):
    """A refusal by Zulip; `code` is Zulip's error code (e.g. 'REACTION_ALREADY_EXISTS')."""

    def __init__(self, message: str, *, code: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.code = code


class ZulipApi:
    """The REST API (`<site>/api/v1`) with the bot's credentials."""

    def __init__(self, *, site_url: str, email: str, api_key: str) -> None:
        self.site_url = site_url.rstrip("/")
        self.email = email
        self.api_key = api_key
        self.rate_limit: RateLimitHint | None = None  # what the last answer said about the quota

    def get(self, path: str, *, params: dict[str, Any] | None = None, what: str) -> dict[str, Any]:
        return self._request("GET", path, params=_encoded(params or {}), data=None, what=what)

    def post(self, path: str, *, form: dict[str, Any], what: str) -> dict[str, Any]:
        return self._request("POST", path, params=None, data=_encoded(form), what=what)

    def _request(self, method: str, path: str, *, params: Any, data: Any, what: str) -> dict[str, Any]:
        if not self.api_key:
            raise ConnectorError(
                f"No Zulip API key is stored: enter the bot's API key ({BOTS}) in the integration's settings.",
                permanent=True,
                error_class=ErrorClass.CONFIG,
            )
        response = http.send(
            method, f"{self.site_url}/api/v1{path}", params=params, data=data, auth=(self.email, self.api_key)
        )
        self.rate_limit = rate_limit_hint(response.headers)
        return raise_for_zulip(response, what=what, rate_limit=self.rate_limit)


def _encoded(values: dict[str, Any]) -> dict[str, str]:
    """Zulip reads list, object and boolean parameters as JSON; strings as they are."""
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in values.items()}


def rate_limit_hint(headers: dict[str, str]) -> RateLimitHint | None:
    """X-RateLimit-Remaining and X-RateLimit-Reset (a Unix time) as a hint, if Zulip sent them."""
    try:
        remaining = int(headers["X-RateLimit-Remaining"])
        reset_at = float(headers["X-RateLimit-Reset"])
    except (KeyError, ValueError):
        return None
    return RateLimitHint(remaining=remaining, reset_after=max(0.0, reset_at - time.time()))


def raise_for_zulip(response: HttpResponse, *, what: str, rate_limit: RateLimitHint | None = None) -> dict[str, Any]:
    """The answer when Zulip says `success`, else the matching ZulipError."""
    answer = _answer(response)
    if 200 <= response.status_code < 300 and answer.get("result") == "success":
        return answer
    code = str(answer.get("code") or "")
    said = f"{code}: {answer['msg']}" if code and answer.get("msg") else code or f"HTTP {response.status_code}"
    advice = ADVICE.get(code, "")
    details = {"code": code, "status_code": response.status_code, "response_excerpt": response.excerpt}
    try:
        http.raise_for_status(response, service="Zulip")
    except ConnectorError as error:
        if error.error_class in (ErrorClass.RATE_LIMITED, ErrorClass.SERVER):
            message = f"Zulip could not take {what} now ({said}); it is retried."
            retry_after = error.retry_after or _seconds(answer.get("retry-after"))
        else:
            # 400 judges the request (a channel that does not exist, one the bot may not post in),
            # 401/403 the bot's credentials: Zulip answers the same request the same way again.
            message = f"Zulip refused {what} ({said})" + (f": {advice}." if advice else ".")
            message = message if code else error.message  # not Zulip's own answer (a proxy, a redirect)
            retry_after = None
        raise ZulipError(
            message,
            permanent=error.permanent,
            error_class=error.error_class,
            retry_after=retry_after,
            rate_limit=rate_limit,
            **details,
        ) from None
    raise ZulipError(
        f"Zulip did not confirm {what} ({said}).", error_class=ErrorClass.SERVER, rate_limit=rate_limit, **details
    )


def _answer(response: HttpResponse) -> dict[str, Any]:
    try:
        answer = json.loads(response.body)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _seconds(value: Any) -> float | None:
    return http.retry_after_seconds(str(value)) if value is not None else None
