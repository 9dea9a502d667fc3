"""An in-memory OpenProject (API v3) behind `responses`, faithful where our connector cares:

- every request is checked against OpenProject's OpenAPI spec and our body rules
  (`openproject_spec`); a bad request is answered 400 and recorded in `violations`,
  which the `fake_openproject` fixture asserts empty after each test;
- credentials: Basic apikey:<key> or Bearer <key / OAuth access token>, else 401; the
  OAuth token endpoint (refresh grant) is `oauth` (`openproject_oauth`);
- work packages keep a lockVersion, bumped by every PATCH (with `updatedAt`); a stale one gets 409;
- collections take `filters` (id "=", subject "~", status "*"/"o"/"=", customFieldN "~"/"="),
  `pageSize` and `offset` (a page number); without `filters`, only open work packages;
- errors are HAL error bodies; faults (a 5xx, a timeout after the work is done, a
  concurrent edit) can be injected for the next matching requests.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import responses

from tests.fakes.faults import Fault, fault_take
from tests.fakes.openproject_oauth import FakeDoorkeeper
from tests.fakes.openproject_spec import body_problems, spec_problems
from tests.fakes.served import basic_credentials

BASE_URL = "https://openproject.example.com"
API_KEY = "op-api-key-5d7e1c"
PROJECT = {"id": 3, "identifier": "service-desk", "name": "Service desk"}
STATUSES = [
    {"id": 1, "name": "New", "isClosed": False, "isDefault": True},
    {"id": 7, "name": "In progress", "isClosed": False, "isDefault": False},
    {"id": 8, "name": "Review", "isClosed": False, "isDefault": False},
    {"id": 12, "name": "Closed", "isClosed": True, "isDefault": False},
    {"id": 14, "name": "Rejected", "isClosed": True, "isDefault": False},
]
TYPES = {1: "Task", 2: "Milestone"}
HAL = {"Content-Type": "application/hal+json"}
MAX_REQUESTS = 1000  # more in one test is a client loop that does not end: answered 500 and reported
FAULT_NAMES = {401: "Unauthenticated", 403: "MissingPermission", 404: "NotFound", 429: "TooManyRequests"}
BODY_KINDS = {"create": r"/api/v3/projects/[^/]+/work_packages", "update": r"/api/v3/work_packages/\d+"}


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]

    @property
    def filters(self) -> list[dict[str, Any]]:
        return json.loads(self.query["filters"]) if "filters" in self.query else []


@dataclass
class FakeOpenProject:
    base_url: str = BASE_URL
    api_keys: set[str] = field(default_factory=lambda: {API_KEY})
    oauth: FakeDoorkeeper = field(default_factory=FakeDoorkeeper)
    projects: dict[str, dict[str, Any]] = field(default_factory=lambda: {"3": dict(PROJECT)})
    statuses: list[dict[str, Any]] = field(default_factory=lambda: [dict(s) for s in STATUSES])
    users: list[dict[str, Any]] = field(default_factory=list)
    users_visible: bool = True  # listing users needs an admin API user
    max_page_size: int = 1000
    # A broken instance: lists claim this `total`, and with `ignores_offset` answer page 1 for any offset.
    claimed_total: int | None = None
    ignores_offset: bool = False
    work_packages: dict[int, dict[str, Any]] = field(default_factory=dict)
    activities: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    concurrent_edits: dict[int, int] = field(default_factory=dict)
    routes: list[tuple[str, re.Pattern, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.routes = [
            ("GET", re.compile(r"/api/v3/projects/(?P<id>[^/]+)"), self._project),
            ("GET", re.compile(r"/api/v3/projects/(?P<id>[^/]+)/work_packages"), self._list),
            ("POST", re.compile(r"/api/v3/projects/(?P<id>[^/]+)/work_packages"), self._create),
            ("GET", re.compile(r"/api/v3/work_packages"), self._list),
            ("GET", re.compile(r"/api/v3/work_packages/(?P<id>\d+)"), self._show),
            ("PATCH", re.compile(r"/api/v3/work_packages/(?P<id>\d+)"), self._update),
            ("POST", re.compile(r"/api/v3/work_packages/(?P<id>\d+)/activities"), self._comment),
            ("GET", re.compile(r"/api/v3/statuses"), self._statuses),
            ("GET", re.compile(r"/api/v3/users"), self._users),
        ]

    def install(self, mock: responses.RequestsMock) -> FakeOpenProject:
        """One catch-all callback per method (responses would pop overlapping registrations)."""
        for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
            mock.add_callback(method, re.compile(re.escape(self.base_url) + r"/.*"), callback=self.handle)
        return self

    # --- Test helpers ----------------------------------------------------------------------

    def calls(self, method: str, path: str) -> list[Recorded]:
        """Recorded requests of a method whose path matches the regex entirely."""
        return [r for r in self.requests if r.method == method and re.fullmatch(path, r.path)]

    def add_user(self, *, user_id: int, email: str, name: str = "", login: str = "") -> None:
        self.users.append({"id": user_id, "email": email, "name": name or email, "login": login or email})

    def add_work_package(self, *, subject: str = "Existing", status_id: int = 1, **fields: Any) -> dict[str, Any]:
        package_id = max(self.work_packages, default=0) + 1
        self.work_packages[package_id] = {
            "id": package_id, "lockVersion": 0, "subject": subject, "status_id": status_id,
            "type_id": 1, "project_id": 3, "description": "", "assignee_id": None, "updatedAt": _now(), **fields,
        }  # fmt: skip
        return self.work_packages[package_id]

    def fail_next(self, method: str, path: str, *, status: int, times: int = 1) -> None:
        self.faults.append(Fault(method, path, status=status, times=times))

    def time_out_after_next(self, method: str, path: str) -> None:
        self.faults.append(Fault(method, path, timeout_after=True))

    def edit_concurrently(self, package_id: int, *, times: int = 1) -> None:
        """Someone else saves the work package between our read and our next `times` PATCHes."""
        self.concurrent_edits[package_id] = times

    def status_name(self, status_id: int) -> str:
        return next(s["name"] for s in self.statuses if s["id"] == status_id)

    # --- Dispatch --------------------------------------------------------------------------

    def handle(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(request.url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if request.method == "POST" and parts.path == "/oauth/token":
            self.requests.append(Recorded(request.method, parts.path, query, None, dict(request.headers)))
            return self.oauth.handle(request)
        body = self._body(request)
        recorded = Recorded(request.method, parts.path, query, body, dict(request.headers))
        self.requests.append(recorded)
        if len(self.requests) > MAX_REQUESTS:
            self.violations.append(f"{request.method} {parts.path}: over {MAX_REQUESTS} requests, a runaway loop")
            return error(500, "InternalServerError", "The fake stopped answering a runaway client.")
        problems = spec_problems(request, server=self.base_url)
        kind = self._body_kind(request.method, parts.path)
        if kind and body is not None:
            problems += body_problems(kind, body)
        if problems:
            self.violations += [f"{request.method} {parts.path}: {p}" for p in problems]
            return error(400, "InvalidRequestBody", "; ".join(problems))
        if not self._authenticated(request.headers.get("Authorization", "")):
            status, headers, text = error(401, "Unauthenticated", "You did not provide the correct credentials.")
            return status, {**headers, "WWW-Authenticate": 'Basic realm="OpenProject API"'}, text
        if body is not None and "application/json" not in request.headers.get("Content-Type", ""):
            return error(415, "UnsupportedMediaType", "Expected CONTENT-TYPE to be (expected application/json).")
        fault = fault_take(self.faults, request.method, parts.path)
        if fault and fault.status:
            return error(fault.status, FAULT_NAMES.get(fault.status, "InternalServerError"), "Injected by the test.")
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(parts.path)
            if method == request.method and match:
                answer = handler(recorded, **match.groupdict())
                if fault and fault.timeout_after:
                    raise requests.ReadTimeout("The fake did the work, then never answered.")
                return answer
        self.violations.append(f"{request.method} {parts.path}: the fake does not serve this endpoint")
        return error(404, "NotFound", "The requested resource could not be found.")

    def _body(self, request: requests.PreparedRequest) -> Any:
        if not request.body:
            return None
        raw = request.body.decode() if isinstance(request.body, bytes) else request.body
        try:
            return json.loads(raw)
        except ValueError:
            self.violations.append(f"{request.method} {request.url}: the body is not JSON: {raw[:100]!r}")
            return raw

    def _body_kind(self, method: str, path: str) -> str:
        if method == "POST" and path.endswith("/activities"):
            return "comment"
        wanted = {"POST": "create", "PATCH": "update"}.get(method, "")
        return wanted if wanted and re.fullmatch(BODY_KINDS[wanted], path) else ""

    def _authenticated(self, header: str) -> bool:
        scheme, _, credentials = header.partition(" ")
        if scheme == "Bearer":
            return credentials in self.api_keys or credentials in self.oauth.access_tokens
        basic = basic_credentials(header)
        return basic is not None and basic[0] == "apikey" and basic[1] in self.api_keys

    # --- Endpoints ---------------------------------------------------------------------------

    def _find_project(self, ref: str) -> dict[str, Any] | None:
        return next((p for key, p in self.projects.items() if ref in (key, p["identifier"])), None)

    def _project(self, recorded: Recorded, id: str):
        project = self._find_project(id)
        if project is None:
            return error(404, "NotFound", "The requested resource could not be found.")
        return ok({"_type": "Project", **project, "_links": {"self": {"href": f"/api/v3/projects/{project['id']}"}}})

    def _create(self, recorded: Recorded, id: str):
        project = self._find_project(id)
        if project is None:
            return error(404, "NotFound", "The requested resource could not be found.")
        body = recorded.body
        links = body.get("_links", {})
        type_id = _link_id(links.get("type")) or 1
        status_id = _link_id(links.get("status")) or next(s["id"] for s in self.statuses if s["isDefault"])
        problems = []
        if not body.get("subject", "").strip():
            problems.append(("subject", "Subject can't be blank."))
        if type_id not in TYPES:
            problems.append(("type", "Type is not set to one of the allowed values."))
        if not any(s["id"] == status_id for s in self.statuses):
            problems.append(("status", "Status is not set to one of the allowed values."))
        if problems:
            return constraint_violations(problems)
        custom = {k: v for k, v in body.items() if k.startswith("customField")}
        package = self.add_work_package(
            subject=body["subject"], status_id=status_id, type_id=type_id, project_id=project["id"],
            description=body.get("description", {}).get("raw", ""), dueDate=body.get("dueDate"),
            assignee_id=_link_id(links.get("assignee")), **custom,
        )  # fmt: skip
        return ok(self.representation(package), 201)

    def _show(self, recorded: Recorded, id: str):
        package = self.work_packages.get(int(id))
        if package is None:
            return error(404, "NotFound", "The requested resource could not be found.")
        return ok(self.representation(package))

    def _update(self, recorded: Recorded, id: str):
        package = self.work_packages.get(int(id))
        if package is None:
            return error(404, "NotFound", "The requested resource could not be found.")
        if self.concurrent_edits.get(package["id"]):
            self.concurrent_edits[package["id"]] -= 1
            package["lockVersion"] += 1
        if recorded.body["lockVersion"] != package["lockVersion"]:
            return error(
                409,
                "UpdateConflict",
                "Your changes could not be saved, because the resource was changed in the meantime.",
            )
        status_id = _link_id(recorded.body.get("_links", {}).get("status"))
        if status_id is not None:
            if not any(s["id"] == status_id for s in self.statuses):
                return constraint_violations([("status", "Status is not set to one of the allowed values.")])
            package["status_id"] = status_id
        package["lockVersion"] += 1
        package["updatedAt"] = _now()
        return ok(self.representation(package))

    def _comment(self, recorded: Recorded, id: str):
        if int(id) not in self.work_packages:
            return error(404, "NotFound", "The requested resource could not be found.")
        activity = {"id": len(self.activities) + 1, "work_package_id": int(id), "raw": recorded.body["comment"]["raw"]}
        self.activities.append(activity)
        return ok({"_type": "Activity::Comment", "id": activity["id"], "comment": {"raw": activity["raw"]}}, 201)

    def _statuses(self, recorded: Recorded):
        elements = [
            {"_type": "Status", **s, "_links": {"self": {"href": f"/api/v3/statuses/{s['id']}"}}} for s in self.statuses
        ]
        return ok(collection("/api/v3/statuses", elements, total=len(elements)))

    def _users(self, recorded: Recorded):
        if not self.users_visible:
            return error(403, "MissingPermission", "You are not authorized to access this resource.")
        users = self.users
        for condition in recorded.filters:
            (name, spec) = next(iter(condition.items()))
            value = str((spec.get("values") or [""])[0]).casefold()
            if name == "any_name_attribute" and spec["operator"] == "~":
                users = [u for u in users if any(value in str(u[f]).casefold() for f in ("name", "login", "email"))]
            elif name == "login" and spec["operator"] == "=":
                users = [u for u in users if u["login"].casefold() == value]
            else:
                return error(400, "InvalidQuery", f"Filter {name} does not exist.")
        elements = [{"_type": "User", **u, "_links": {"self": {"href": f"/api/v3/users/{u['id']}"}}} for u in users]
        return ok(collection("/api/v3/users", elements, total=len(elements)))

    def _list(self, recorded: Recorded, id: str | None = None):
        packages = list(self.work_packages.values())
        if id is not None:
            project = self._find_project(id)
            if project is None:
                return error(404, "NotFound", "The requested resource could not be found.")
            packages = [p for p in packages if p["project_id"] == project["id"]]
        filters = recorded.filters if "filters" in recorded.query else [{"status": {"operator": "o", "values": []}}]
        for condition in filters:
            (name, spec) = next(iter(condition.items()))
            keep = self._filter(name, spec["operator"], [str(v) for v in spec.get("values") or []])
            if keep is None:
                return error(400, "InvalidQuery", f"Filter {name} with operator {spec['operator']} is not supported.")
            packages = [p for p in packages if keep(p)]
        page_size = min(int(recorded.query.get("pageSize", 20)), self.max_page_size)
        page = 1 if self.ignores_offset else int(recorded.query.get("offset", 1))
        chosen = sorted(packages, key=lambda p: p["id"])[(page - 1) * page_size : page * page_size]
        elements = [self.representation(p) for p in chosen]
        total = len(packages) if self.claimed_total is None else self.claimed_total
        return ok(collection(recorded.path, elements, total=total, page_size=page_size, offset=page))

    def _filter(self, name: str, operator: str, values: list[str]):
        closed = {s["id"] for s in self.statuses if s["isClosed"]}
        if name == "id" and operator == "=":
            return lambda p: str(p["id"]) in values
        if name == "subject" and operator == "~":
            return lambda p: values[0].casefold() in p["subject"].casefold()
        if name == "status" and operator == "*":
            return lambda p: True
        if name == "status" and operator == "o":
            return lambda p: p["status_id"] not in closed
        if name == "status" and operator == "=":
            return lambda p: str(p["status_id"]) in values
        if name.startswith("customField") and operator in ("~", "="):
            if operator == "=":
                return lambda p: str(p.get(name)) in values
            return lambda p: values[0].casefold() in str(p.get(name) or "").casefold()
        return None

    def representation(self, package: dict[str, Any]) -> dict[str, Any]:
        status = self.status_name(package["status_id"])
        custom = {k: v for k, v in package.items() if k.startswith("customField")}
        assignee = package["assignee_id"]
        return {
            "_type": "WorkPackage",
            "id": package["id"],
            "lockVersion": package["lockVersion"],
            "subject": package["subject"],
            "description": {"format": "markdown", "raw": package["description"], "html": ""},
            "dueDate": package.get("dueDate"),
            "updatedAt": package["updatedAt"],
            **custom,
            "_links": {
                "self": {"href": f"/api/v3/work_packages/{package['id']}", "title": package["subject"]},
                "type": {"href": f"/api/v3/types/{package['type_id']}", "title": TYPES[package["type_id"]]},
                "status": {"href": f"/api/v3/statuses/{package['status_id']}", "title": status},
                "project": {"href": f"/api/v3/projects/{package['project_id']}"},
                "assignee": {"href": f"/api/v3/users/{assignee}" if assignee else None},
            },
        }


def ok(body: dict[str, Any], status: int = 200) -> tuple[int, dict[str, str], str]:
    return status, HAL, json.dumps(body)


def error(status: int, name: str, message: str, **extra: Any) -> tuple[int, dict[str, str], str]:
    body = {"_type": "Error", "errorIdentifier": f"urn:openproject-org:api:v3:errors:{name}", "message": message}
    return status, HAL, json.dumps({**body, **extra})


def constraint_violations(problems: list[tuple[str, str]]) -> tuple[int, dict[str, str], str]:
    """422: one PropertyConstraintViolation, or MultipleErrors nesting several."""
    errors = [
        {
            "_type": "Error",
            "errorIdentifier": "urn:openproject-org:api:v3:errors:PropertyConstraintViolation",
            "message": message,
            "_embedded": {"details": {"attribute": attribute}},
        }
        for attribute, message in problems
    ]
    if len(errors) == 1:
        return 422, HAL, json.dumps(errors[0])
    return error(422, "MultipleErrors", "Multiple field constraints have been violated.", _embedded={"errors": errors})


def collection(path: str, elements: list, *, total: int, page_size: int | None = None, offset: int = 1) -> dict:
    body = {"_type": "Collection", "total": total, "count": len(elements), "_embedded": {"elements": elements}}
    if page_size is not None:
        body |= {"pageSize": page_size, "offset": offset}
    return body | {"_links": {"self": {"href": path}}}


def _now() -> str:
    """OpenProject's timestamps: ISO 8601 in UTC with a Z."""
    return datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")


def _link_id(link: dict[str, Any] | None) -> int | None:
    href = (link or {}).get("href") or ""
    return int(href.rsplit("/", 1)[-1]) if href else None
