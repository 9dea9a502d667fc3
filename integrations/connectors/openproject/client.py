"""OpenProject's wire side: the Authorization header (API key, or OAuth with refresh),
readable HAL error bodies, reads retried briefly, cached look-ups (statuses, users) and the
batched status query of a poll. Writes are never retried here: the engine retries a whole
delivery (DESIGN §3).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.core.cache import cache

from integrations.auth import oauth
from integrations.connectors import http
from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.connectors.http import HttpResponse
from integrations.connectors.openproject.config import AuthMethod

if TYPE_CHECKING:
    from integrations.connectors.openproject.connector import OpenProjectConnector

STATUSES_CACHE_SECONDS = 10 * 60
USER_CACHE_SECONDS = 60 * 60
BATCH_SIZE = 100
ALL_STATUSES = {"status": {"operator": "*", "values": []}}


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
        self.base_url = connector.config.base_url.rstrip("/")
        self.method = connector.config.auth_method

    def url(self, path: str) -> str:
        return self.base_url + path

    def project_path(self, suffix: str = "") -> str:
        return f"/api/v3/projects/{quote(str(self.connector.config.project), safe='')}{suffix}"

    def send(self, method: str, path: str, *, params: dict | None = None, body: Any = None) -> HttpResponse:
        """One request; with OAuth, a 401 refreshes the token once and repeats this one request
        (a 401 means OpenProject did not act on it, so repeating a write is safe)."""
        response = self._send_once(method, path, params, body)
        if response.status_code == 401 and self.method == AuthMethod.OAUTH2:
            oauth.tokens_refresh(self.connector)
            response = self._send_once(method, path, params, body)
        return response

    def read(self, path: str, *, params: dict | None = None, what: str, not_found: str) -> Any:
        """GET a resource as JSON, with a few quick tries on transient failures."""

        def attempt() -> Any:
            response = self.send("GET", path, params=params)
            raise_for_openproject(response, what=what, not_found=not_found)
            return response.json()

        return http.read_retrying(attempt)

    def _send_once(self, method: str, path: str, params: dict | None, body: Any) -> HttpResponse:
        headers = {"Authorization": self.authorization(), "Accept": "application/hal+json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode() if body is not None else None
        return http.send(method, self.url(path), params=params, data=data, headers=headers)

    def authorization(self) -> str:
        if self.method == AuthMethod.OAUTH2:
            return f"Bearer {oauth.access_token(self.connector)}"
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

    # --- Cached look-ups and batched reads -----------------------------------------------------

    def cache_key(self, what: str, *parts: str) -> str:
        """Per integration (what its API user may see) and per instance (a new URL starts afresh)."""
        scope = hashlib.sha256("|".join([self.connector.cache_namespace, self.base_url, *parts]).encode())
        return f"openproject:{what}:{scope.hexdigest()[:32]}"

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

    def work_packages(self, external_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The work packages with these ids: one filtered GET per page of up to 100 ids.

        A batch of n ids has at most n results, so paging stops there whatever `total` the
        server claims; and a poll never asks for more than one page beyond what its ids can
        fill, so a broken instance that keeps answering cannot keep it paging."""
        found_packages: dict[str, dict[str, Any]] = {}
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
                    found_packages[str(element["id"])] = element
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
        return found_packages


def status_name(package: dict[str, Any]) -> str:
    """A work package's status name: `_links.status.title`, else `_embedded.status.name`."""
    name = (package.get("_links", {}).get("status") or {}).get("title")
    name = name or (package.get("_embedded", {}).get("status") or {}).get("name")
    return name.strip() if isinstance(name, str) else ""


def _as_int(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError, OverflowError):
        return 0


def _page_cap(batches: list[list[str]], *, page_size: int) -> int:
    """Pages the ids can fill at the page size the server uses (at most ours), plus one."""
    size = min(BATCH_SIZE, max(1, page_size))
    return sum(math.ceil(len(batch) / size) for batch in batches) + 1
