"""Requests to one Jira Cloud site (REST API v3) as one Atlassian account: HTTP Basic
`email:API token`, JSON bodies, Jira's error bodies (`errorMessages` and `errors`) made
readable, and its rate-limit headers kept as a RateLimitHint. Reads (a GET, a search) get
a few quick tries; writes are never retried here: the engine retries a whole delivery."""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.utils import timezone

from integrations.connectors import http
from integrations.connectors.base import RateLimitHint
from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.connectors.http import HttpResponse

API = "/rest/api/3"
BULK_LIMIT = 50  # Jira creates at most 50 issues per bulk call
MAX_SEARCH_PAGES = 50  # a search never pages on beyond this: a runaway cursor is an error
TOKEN_ADVICE = "create an API token at id.atlassian.com › Security › API tokens and enter it with the account's email"  # noqa: S105


@dataclass(frozen=True)
class BulkCreated:
    """What one bulk create made and what it refused, by position in the request."""

    created: list[tuple[int, str, str]]  # (index in the request, issue id, issue key)
    failed: list[tuple[int, str]]  # (failedElementNumber, readable error)


class JiraClient:
    """The REST API of one site with one account's API token."""

    def __init__(self, *, site_url: str, email: str, api_token: str, cache_namespace: str = "") -> None:
        self.site_url = site_url.rstrip("/")
        self.email = email
        self.api_token = api_token
        self.cache_namespace = cache_namespace
        self.rate_limit: RateLimitHint | None = None  # what the last answer said about the quota

    def browse_url(self, key: str) -> str:
        """Where a person sees the issue in Jira."""
        return f"{self.site_url}/browse/{key}"

    def cache_key(self, what: str, *parts: str) -> str:
        """A cache key per integration and site, so one account's view is never served to another."""
        scope = hashlib.sha256("|".join([self.cache_namespace, self.site_url, *parts]).encode())
        return f"jira:{what}:{scope.hexdigest()[:32]}"

    # --- Operations ---------------------------------------------------------------------------

    def myself(self) -> dict[str, Any]:
        """The account the API token belongs to (accountId, displayName, emailAddress)."""
        return self._read("GET", "/myself", what="the account check")

    def issue_create(self, fields: dict[str, Any]) -> dict[str, Any]:
        """One new issue: `{"id", "key", "self"}`."""
        return self._call("POST", "/issue", {"fields": fields}, what="the new issue")

    def issues_create_bulk(self, issue_updates: list[dict[str, Any]]) -> BulkCreated:
        """Up to 50 issues in one call; Jira creates those it can and reports the others by
        their position (`failedElementNumber`), answering 400 only when none was created."""
        if len(issue_updates) > BULK_LIMIT:
            raise ValueError(f"Jira creates at most {BULK_LIMIT} issues per bulk call, got {len(issue_updates)}.")
        response = self._send("POST", "/issue/bulk", {"issueUpdates": issue_updates})
        answer = _answer(response)
        if response.status_code not in (201, 400) or not isinstance(answer.get("errors"), list):
            raise_for_jira(response, what="the new issues", rate_limit=self.rate_limit)
        failed = [
            (int(error.get("failedElementNumber", -1)), _element_error(error))
            for error in answer["errors"]
            if isinstance(error, dict)
        ]
        failed_indexes = {index for index, _ in failed}
        indexes = [index for index in range(len(issue_updates)) if index not in failed_indexes]
        created = [
            (index, str(issue["id"]), str(issue["key"]))
            for index, issue in zip(indexes, answer.get("issues") or [], strict=False)
        ]
        return BulkCreated(created=created, failed=failed)

    def issues_search(
        self, jql: str, *, fields: list[str], page_size: int = 100, max_pages: int = MAX_SEARCH_PAGES
    ) -> Iterator[dict[str, Any]]:
        """Every issue the (bounded) JQL finds, page by page with `nextPageToken`
        (`POST /search/jql`; the retired `/search` with startAt/total is never used)."""
        body: dict[str, Any] = {"jql": jql, "fields": fields, "maxResults": page_size}
        seen_tokens: set[str] = set()
        for _page in range(max_pages):
            answer = self._read("POST", "/search/jql", what="the issue search", body=body)
            yield from answer.get("issues") or []
            token = answer.get("nextPageToken")
            if answer.get("isLast", True) or not token:
                return
            if token in seen_tokens:
                raise ConnectorError(
                    "Jira sent the same nextPageToken twice; the search stopped.", error_class=ErrorClass.SERVER
                )
            seen_tokens.add(token)
            body = {**body, "nextPageToken": token}
        raise ConnectorError(
            f"Jira kept sending pages; the search stopped after {max_pages} pages of {page_size}.",
            error_class=ErrorClass.SERVER,
        )

    def issue_status(self, key: str) -> str:
        """The name of the issue's status now."""
        answer = self._read("GET", f"/issue/{quote(key, safe='')}?fields=status", what=f"the status of {key}")
        return str(((answer.get("fields") or {}).get("status") or {}).get("name") or "")

    def issue_transitions(self, key: str) -> list[dict[str, Any]]:
        """The transitions the account may make on the issue now (id, name, to: {name, …})."""
        answer = self._read("GET", f"/issue/{quote(key, safe='')}/transitions", what=f"the transitions of {key}")
        return [t for t in answer.get("transitions") or [] if isinstance(t, dict)]

    def issue_transition(self, key: str, transition_id: str) -> None:
        """Make one transition (Jira answers 204)."""
        self._call(
            "POST",
            f"/issue/{quote(key, safe='')}/transitions",
            {"transition": {"id": str(transition_id)}},
            what=f"the status change of {key}",
        )

    def issue_comment_add(self, key: str, body_adf: dict[str, Any]) -> dict[str, Any]:
        """A comment whose body is an Atlassian Document Format document."""
        return self._call(
            "POST", f"/issue/{quote(key, safe='')}/comment", {"body": body_adf}, what=f"a comment on {key}"
        )

    def issue_link_create(self, *, link_type: str, inward_key: str, outward_key: str) -> None:
        """Link two issues by a link type's name ("Relates", "Blocks"…); Jira answers 201, empty."""
        body = {"type": {"name": link_type}, "inwardIssue": {"key": inward_key}, "outwardIssue": {"key": outward_key}}
        self._call("POST", "/issueLink", body, what=f"the link {inward_key} → {outward_key}")

    # --- The wire -----------------------------------------------------------------------------

    def _read(self, method: str, path: str, *, what: str, body: Any = None) -> dict[str, Any]:
        """An idempotent request (a GET, a search), briefly retried on transient failures."""
        return http.read_retrying(lambda: self._call(method, path, body, what=what))

    def _call(self, method: str, path: str, body: Any, *, what: str) -> dict[str, Any]:
        response = self._send(method, path, body)
        raise_for_jira(response, what=what, rate_limit=self.rate_limit)
        return _answer(response)

    def _send(self, method: str, path: str, body: Any) -> HttpResponse:
        if not self.api_token:
            raise ConnectorError(
                f"No Jira API token is stored: {TOKEN_ADVICE}.", permanent=True, error_class=ErrorClass.CONFIG
            )
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body, ensure_ascii=False).encode()
        response = http.send(
            method, f"{self.site_url}{API}{path}", data=data, headers=headers, auth=(self.email, self.api_token)
        )
        self.rate_limit = rate_limit_hint(response.headers) or self.rate_limit
        return response


def rate_limit_hint(headers: dict[str, str]) -> RateLimitHint | None:
    """X-RateLimit-Remaining with X-RateLimit-Reset (an ISO-8601 time) as a hint, if Jira sent them."""
    try:
        remaining = int(headers["X-RateLimit-Remaining"])
    except (KeyError, ValueError):
        return None
    return RateLimitHint(remaining=remaining, reset_after=_seconds_until(headers.get("X-RateLimit-Reset", "")))


def _seconds_until(moment: str) -> float | None:
    try:
        reset = datetime.datetime.fromisoformat(moment.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if timezone.is_naive(reset):
        reset = timezone.make_aware(reset, datetime.UTC)
    return max(0.0, (reset - timezone.now()).total_seconds())


def error_detail(answer: dict[str, Any]) -> str:
    """Jira's ErrorCollection in one line: 'Field x is required; priority: not valid'."""
    messages = [str(m).strip().rstrip(".") for m in answer.get("errorMessages") or [] if str(m).strip()]
    errors = answer.get("errors")
    if isinstance(errors, dict):
        messages += [f"{field}: {str(text).strip().rstrip('.')}" for field, text in errors.items()]
    return "; ".join(messages)


def raise_for_jira(response: HttpResponse, *, what: str, rate_limit: RateLimitHint | None = None) -> None:
    """Map a non-2xx answer to a ConnectorError that says what Jira objected to and what to do."""
    code = response.status_code
    if 200 <= code < 300:
        return
    detail = error_detail(_answer(response))
    said = f": {detail}." if detail else f" (HTTP {code})."
    common = {"status_code": code, "response_excerpt": response.excerpt, "rate_limit": rate_limit}
    if code == 401:
        # Jira answers 401 to a wrong email, a revoked or mistyped token: the same request fails again.
        message = f"Jira refused the account email and API token (HTTP 401): {TOKEN_ADVICE}."
        raise ConnectorError(message, permanent=True, error_class=ErrorClass.AUTH, **common)
    if code == 403:
        # 403: the account lacks a project permission (Browse projects, Create issues, Transition
        # issues, Add comments, Link issues); nothing changes until an admin grants it.
        message = (
            f"Jira refused {what} to this account (HTTP 403{f': {detail}' if detail else ''}): it lacks a "
            "project permission; ask a Jira admin to grant it."
        )
        raise ConnectorError(message, permanent=True, error_class=ErrorClass.AUTH, **common)
    if code == 404:
        # 404: the project, issue or link type does not exist, or the account may not see it.
        raise ConnectorError(f"Jira could not find what {what} needs{said}", permanent=True, **common)
    if code in (429, 503):
        raise _throttled(response, what=what, detail=detail, common=common)
    if code == 409:
        # 409: another update of the same issue was under way; Jira asks to send it again.
        raise ConnectorError(f"Jira had a conflicting update of {what}{said} It is retried.", **common)
    if 400 <= code < 500 and code != 408:
        # 400 judges the request (a field the screen lacks, a value Jira refuses); 413 a
        # per-issue limit (comments, links): the same request fails the same way again.
        raise ConnectorError(f"Jira rejected {what}{said}", permanent=True, **common)
    try:
        http.raise_for_status(response, service="Jira")
    except ConnectorError as error:
        if detail:
            error.message = f"{error.message} {detail}."
            error.args = (error.message,)
        error.rate_limit = rate_limit
        raise


def _throttled(response: HttpResponse, *, what: str, detail: str, common: dict[str, Any]) -> ConnectorError:
    """429 (or a 503 that says when to come back): retried no earlier than Retry-After."""
    reason = response.headers.get("RateLimit-Reason", "")
    retry_after = http.retry_after_seconds(response.headers.get("Retry-After"))
    limited = response.status_code == 429
    why = "is rate limiting us" if limited else "is unavailable"
    message = f"Jira {why} (HTTP {response.status_code}{f', {reason}' if reason else ''}) and could not take {what}"
    message += f"; {detail}" if detail else ""
    message += f"; retried after {retry_after:g} s." if retry_after is not None else "; it is retried."
    error_class = ErrorClass.RATE_LIMITED if limited else ErrorClass.SERVER
    return ConnectorError(message, error_class=error_class, retry_after=retry_after, **common)


def _element_error(error: dict[str, Any]) -> str:
    detail = error_detail(error.get("elementErrors") or {})
    status = error.get("status")
    return detail or (f"HTTP {status}" if status else "refused without a reason")


def _answer(response: HttpResponse) -> dict[str, Any]:
    try:
        answer = json.loads(response.body)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
