"""OpenProject's wire side, private to the OpenProject connector: the Authorization header
(API key, or OAuth with refresh), readable HAL error bodies, reads retried briefly, cached
look-ups (statuses, users), and what we write into work packages (Markdown, custom fields).

Writes are never retried here: the engine retries a whole delivery (DESIGN §3).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.core.cache import cache
from django.db import models
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from integrations.connectors import http
from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.connectors.http import HttpResponse
from integrations.connectors.text import change_lines, workitem_facts, workitem_url
from integrations.payloads import TRACKED_FIELDS

USER_NAME_MAX = 200

if TYPE_CHECKING:
    from integrations.connectors.openproject import OpenProjectConnector

STATUSES_CACHE_SECONDS = 10 * 60
USER_CACHE_SECONDS = 60 * 60
BATCH_SIZE = 100
ALL_STATUSES = {"status": {"operator": "*", "values": []}}
CUSTOM_FIELD = re.compile(r"^customField\d+$")
WORKITEM_KEYS = {"id", "reference_id", *TRACKED_FIELDS}
TRANSIENT = {ErrorClass.CONNECTION, ErrorClass.TIMEOUT, ErrorClass.SERVER, ErrorClass.RATE_LIMITED}
READ_TRIES = 3
REFRESH_MARGIN_SECONDS = 60


class AuthMethod(models.TextChoices):
    API_KEY_BASIC = "api_key_basic", "API key, sent as Basic apikey:<key>"
    API_KEY_BEARER = "api_key_bearer", "API key, sent as Bearer <key>"
    OAUTH2 = "oauth2", "OAuth 2 (use 'Connect to OpenProject' after saving)"


def _sleep(seconds: float) -> None:
    """Tenacity's pause between read tries (a seam, so tests need not wait)."""
    time.sleep(seconds)


def _transient(error: BaseException) -> bool:
    return isinstance(error, ConnectorError) and error.error_class in TRANSIENT


def filters_param(*filters: dict[str, Any]) -> str:
    """The `filters` query parameter: a JSON list of {name: {operator, values}} objects."""
    return json.dumps(list(filters), separators=(",", ":"))


def hal_error_detail(response: HttpResponse) -> str:
    """' (PropertyConstraintViolation): Subject can't be blank; …' from a HAL error body, or ''."""
    try:
        body = json.loads(response.body)
    except ValueError:
        return ""
    if not isinstance(body, dict) or body.get("_type") != "Error":
        return ""
    nested = (body.get("_embedded") or {}).get("errors")
    errors = [e for e in nested if isinstance(e, dict)] if isinstance(nested, list) and nested else [body]
    names = dict.fromkeys(str(e.get("errorIdentifier", "")).rsplit(":", 1)[-1] for e in errors)
    messages = [str(e.get("message", "")).strip().rstrip(".") for e in errors if e.get("message")]
    name = ", ".join(n for n in names if n)
    return f" ({name}): {'; '.join(messages)}." if messages else f" ({name})."


def raise_for_openproject(response: HttpResponse, *, what: str, not_found: str) -> None:
    """Map an answer to a ConnectorError that says what OpenProject objected to."""
    code = response.status_code
    if 200 <= code < 300:
        return
    detail = hal_error_detail(response)
    common = {"status_code": code, "response_excerpt": response.excerpt}
    if code in (400, 422):
        # 400 (InvalidQuery, InvalidRequestBody) and 422 (PropertyConstraintViolation,
        # PropertyIsReadOnly…) judge the request itself: sending it again cannot succeed.
        raise ConnectorError(f"OpenProject rejected {what}{detail or f' (HTTP {code}).'}", permanent=True, **common)
    if code == 404:
        # OpenProject answers 404 both for a missing resource and for one the API user may not see.
        raise ConnectorError(f"{not_found}{detail}", permanent=True, **common)
    try:
        http.raise_for_status(response, service="OpenProject")
    except ConnectorError as error:
        if detail:
            error.message = f"{error.message}{detail}"
            error.args = (error.message,)
        raise


class OpenProjectApi:
    """Requests to one OpenProject instance with the integration's credentials."""

    def __init__(self, connector: OpenProjectConnector) -> None:
        self.connector = connector
        self.base_url = str(connector.config.get("base_url", "")).rstrip("/")
        self.method = connector.config.get("auth_method") or AuthMethod.API_KEY_BASIC

    def url(self, path: str) -> str:
        return self.base_url + path

    def project_path(self, suffix: str = "") -> str:
        return f"/api/v3/projects/{quote(str(self.connector.config.get('project', '')), safe='')}{suffix}"

    def send(self, method: str, path: str, *, params: dict | None = None, body: Any = None) -> HttpResponse:
        """One request; with OAuth, a 401 refreshes the token once and repeats this one request
        (a 401 means OpenProject did not act on it, so repeating a write is safe)."""
        response = self._send_once(method, path, params, body)
        if response.status_code == 401 and self.method == AuthMethod.OAUTH2:
            self.refresh_tokens()
            response = self._send_once(method, path, params, body)
        return response

    def read(self, path: str, *, params: dict | None = None, what: str, not_found: str) -> Any:
        """GET a resource as JSON; connection errors, timeouts, 429 and 5xx get a few quick tries."""

        def attempt() -> Any:
            response = self.send("GET", path, params=params)
            raise_for_openproject(response, what=what, not_found=not_found)
            return response.json()

        retrying = Retrying(
            stop=stop_after_attempt(READ_TRIES),
            wait=wait_random_exponential(multiplier=0.25, max=2),
            retry=retry_if_exception(_transient),
            sleep=_sleep,
            reraise=True,
        )
        return retrying(attempt)

    def _send_once(self, method: str, path: str, params: dict | None, body: Any) -> HttpResponse:
        headers = {"Authorization": self.authorization(), "Accept": "application/hal+json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode() if body is not None else None
        return http.send(method, self.url(path), params=params, data=data, headers=headers)

    # --- Cached look-ups and batched reads -----------------------------------------------------

    def cache_key(self, what: str, *parts: str) -> str:
        """Per integration (what its API user may see) and per instance (a new URL starts afresh)."""
        scope = digest("|".join([self.connector.cache_namespace, self.base_url, *parts]))
        return f"openproject:{what}:{scope}"

    def statuses(self) -> list[dict[str, Any]]:
        """Every status (id, name, isClosed), cached per integration for 10 minutes."""
        key = self.cache_key("statuses")
        statuses = cache.get(key)
        if statuses is None:
            found = self.read("/api/v3/statuses", what="the status list", not_found="OpenProject has no /statuses.")
            statuses = [
                {"id": s["id"], "name": s["name"], "isClosed": s.get("isClosed", False)}
                for s in found.get("_embedded", {}).get("elements", [])
            ]
            cache.set(key, statuses, STATUSES_CACHE_SECONDS)
        return statuses

    def user_id_by_email(self, email: str) -> int | None:
        """The user whose email or login is `email`, cached per integration for an hour (a miss too)."""
        key = self.cache_key("user", email.casefold())
        cached = cache.get(key)
        if cached is not None:
            return cached or None
        search = {"any_name_attribute": {"operator": "~", "values": [email]}}
        try:
            found = self.read(
                "/api/v3/users",
                params={"filters": filters_param(search)},
                what="the user search",
                not_found="OpenProject has no /users.",
            )
        except ConnectorError as error:
            if error.permanent:  # e.g. 403: only admins may list users; deliver without an assignee
                cache.set(key, 0, USER_CACHE_SECONDS)
            return None
        users = found.get("_embedded", {}).get("elements", [])
        wanted = email.casefold()
        user_id = next(
            (int(u["id"]) for u in users if wanted in {str(u.get(f) or "").casefold() for f in ("email", "login")}), 0
        )
        cache.set(key, user_id, USER_CACHE_SECONDS)
        return user_id or None

    def work_package_statuses(self, external_ids: list[str]) -> dict[str, str]:
        """Status names of work packages: one filtered GET per page of up to 100 ids.

        A batch of n ids has at most n results, so paging stops there whatever `total` the
        server claims; and a poll never asks for more than one page beyond what its ids can
        fill, so a broken instance that keeps answering cannot keep it paging."""
        statuses: dict[str, str] = {}
        ids = list(dict.fromkeys(str(i) for i in external_ids))
        batches = [ids[start : start + BATCH_SIZE] for start in range(0, len(ids), BATCH_SIZE)]
        page_cap, pages = None, 0
        for batch in batches:
            filters = filters_param({"id": {"operator": "=", "values": batch}}, ALL_STATUSES)
            page, seen = 1, 0
            while True:
                found = self.read(
                    "/api/v3/work_packages",
                    params={"filters": filters, "pageSize": BATCH_SIZE, "offset": page},
                    what="the status query",
                    not_found="OpenProject has no /work_packages.",
                )
                pages += 1
                elements = found.get("_embedded", {}).get("elements", [])
                if page_cap is None:
                    page_cap = _page_cap(batches, page_size=_as_int(found.get("pageSize")) or len(elements))
                for element in elements:
                    name = (element.get("_links", {}).get("status") or {}).get("title")
                    name = name or (element.get("_embedded", {}).get("status") or {}).get("name")
                    if name:
                        statuses[str(element["id"])] = name
                seen += len(elements)
                if not elements or seen >= min(len(batch), _as_int(found.get("total"))):
                    break
                if pages >= page_cap:
                    raise ConnectorError(
                        f"OpenProject kept sending pages (it claims {found.get('total')!r} work packages for "
                        f"{len(ids)} ids); the poll stopped after {pages} pages.",
                        error_class=ErrorClass.SERVER,
                    )
                page += 1
        return statuses

    # --- Credentials -------------------------------------------------------------------------

    def authorization(self) -> str:
        if self.method == AuthMethod.OAUTH2:
            return f"Bearer {self._access_token()}"
        key = self.connector.secrets.get("api_key") or ""
        if not key:
            raise ConnectorError(
                "No OpenProject API key is stored: enter one in the integration's settings.",
                permanent=True,
                error_class=ErrorClass.CONFIG,
            )
        if self.method == AuthMethod.API_KEY_BEARER:
            return f"Bearer {key}"
        return "Basic " + base64.b64encode(f"apikey:{key}".encode()).decode()

    def _access_token(self) -> str:
        secrets = self.connector.secrets
        token = secrets.get("oauth_access_token")
        if not token and not secrets.get("oauth_refresh_token"):
            raise ConnectorError(
                "OpenProject OAuth is not connected: use 'Connect to OpenProject' on the integration's admin page.",
                permanent=True,
                error_class=ErrorClass.AUTH,
            )
        expires_at = float(secrets.get("oauth_expires_at") or 0)
        if not token or (expires_at and expires_at - time.time() < REFRESH_MARGIN_SECONDS):
            return self.refresh_tokens()
        return token

    def refresh_tokens(self) -> str:
        """Trade the refresh token for new tokens, store them (encrypted), return the access token."""
        from integrations import oauth  # written alongside the admin's OAuth flow

        secrets = self.connector.secrets
        if not secrets.get("oauth_refresh_token"):
            raise ConnectorError(
                "The OpenProject OAuth token expired and no refresh token is stored: "
                "use 'Connect to OpenProject' again.",
                permanent=True,
                error_class=ErrorClass.AUTH,
            )
        try:
            tokens = oauth.refresh_tokens(
                base_url=self.base_url,
                client_id=self.connector.config.get("oauth_client_id", ""),
                client_secret=secrets.get("oauth_client_secret", ""),
                refresh_token=secrets["oauth_refresh_token"],
            )
        except ConnectorError:
            # OpenProject rotates refresh tokens: if another worker refreshed first, ours was
            # just spent. Its tokens are stored by now; use them instead of failing.
            stored = self.connector.stored_secrets()
            if stored.get("oauth_refresh_token") in (None, secrets["oauth_refresh_token"]):
                raise
            self.connector.secrets = stored
            return stored["oauth_access_token"]
        self.connector.save_secrets({**self.connector.secrets, **tokens})
        return tokens["oauth_access_token"]


def _as_int(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError, OverflowError):
        return 0


def _page_cap(batches: list[list[str]], *, page_size: int) -> int:
    """Pages the ids can fill at the page size the server uses (at most ours), plus one."""
    size = min(BATCH_SIZE, max(1, page_size))
    return sum(math.ceil(len(batch) / size) for batch in batches) + 1


# --- What we write -----------------------------------------------------------------------------


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def description_markdown(workitem: dict[str, Any]) -> str:
    reference = workitem["reference_id"]
    lines = [f"**Fieldhook work item {reference}**", ""]
    lines += [f"- **{label}:** {value}" for label, value in workitem_facts(workitem)]
    lines += [
        "",
        str(workitem.get("description") or ""),
        "",
        f"[Open {reference} in Fieldhook]({workitem_url(workitem)})",
    ]
    return "\n".join(lines)


def changes_markdown(changes: dict[str, dict[str, Any]]) -> str:
    lines = ["**Changed in Fieldhook:**", ""]
    lines += [f"- **{label}:** {old} → {new}" for label, old, new in change_lines(changes)]
    return "\n".join(lines)


def custom_fields_error(value: Any) -> str:
    if value in (None, "", {}):
        return ""
    if not isinstance(value, dict):
        return 'Enter a JSON object, e.g. {"customField1": "reference_id"}.'
    for name, key in value.items():
        if not CUSTOM_FIELD.match(str(name)):
            return f"'{name}' is not an OpenProject custom field name (customField<number>)."
        if not isinstance(key, str) or key.split(".", 1)[0] not in WORKITEM_KEYS:
            return f"'{key}' is not a work item field; use one of: {', '.join(sorted(WORKITEM_KEYS))}."
    return ""


def assignee_map_error(value: Any) -> str:
    if value in (None, "", {}):
        return ""
    if not isinstance(value, dict):
        return 'Enter a JSON object of emails to OpenProject user ids, e.g. {"ana@example.com": 11}.'
    for email, user_id in value.items():
        if "@" not in str(email):
            return f"'{email}' is not an email address."
        if isinstance(user_id, bool) or not str(user_id).isdigit():
            return f"The OpenProject user id of '{email}' must be a number."
    return ""


def user_name(*, base_url: str, access_token: str) -> str:
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
