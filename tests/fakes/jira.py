"""A fake Jira Cloud site (REST API v3), faithful where our connector cares, served behind
`responses` (`install`) or on a local server (tests/fakes/served.py, `handle`):

- every request is checked against Jira's OpenAPI spec (tests/contracts/specs/jira, with its
  security requirement made strict below), every ADF document against the ADF rules
  (tests/fakes/adf.py), and what the spec cannot judge by hand (JQL the fake cannot read,
  an unbounded query); a bad request is recorded in `violations`, which tests assert empty;
- HTTP Basic `email:API token`, else 401 (no body, as Jira answers);
- projects with issue types, priorities, custom fields, a workflow (status → transitions),
  issues by key with comments, issue links by link-type name, `search/jql` over a small
  JQL subset (project, labels, key in, updated >= relative or absolute, text/summary/cf ~)
  with `nextPageToken` paging;
- errors as Jira's ErrorCollection (`errorMessages`, `errors`); bulk create reports refused
  elements by `failedElementNumber`, answering 400 only when none was created;
- rate limit: X-RateLimit-Limit/-Remaining/-Reset (ISO time) on every answer, 429 with
  Retry-After and RateLimit-Reason when the window is spent;
- faults: an HTTP status (with headers) or a lost answer after the work for the next
  matching requests, given elements of the next bulk calls refused, or every call failing
  once N issues exist.
"""

from __future__ import annotations

import datetime
import itertools
import re
import secrets
import shlex
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
import responses

from tests.contracts.openapi import vendor_spec
from tests.fakes.adf import adf_problems, adf_text
from tests.fakes.served import (
    Answer,
    FakeRequest,
    Fault,
    Faults,
    RateWindowed,
    basic_credentials,
    install,
    spec_problems,
)

SITE_URL = "https://acme.atlassian.net"
EMAIL = "fieldhook@acme.example"
API_TOKEN = "ATATT3xFfGF0-jira-token-5c1d"
ACCOUNT_ID = "5b10ac8d82e05b22cc7d4ef5"
DISPLAY_NAME = "Fieldhook Service"
PROJECT = "SVC"
API = "/rest/api/3"
PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")
LINK_TYPES = {"Relates": ("relates to", "relates to"), "Blocks": ("is blocked by", "blocks")}
LINK_TYPES |= {"Duplicate": ("is duplicated by", "duplicates"), "Cloners": ("is cloned by", "clones")}
# status → [(transition id, transition name, target status)]: Jira's classic workflow
WORKFLOW = {
    "To Do": [("21", "Start progress", "In Progress"), ("31", "Done", "Done")],
    "In Progress": [("11", "Stop progress", "To Do"), ("31", "Done", "Done")],
    "Done": [("41", "Reopen", "To Do")],
}
STATUS_IDS = {"To Do": "10000", "In Progress": "3", "Done": "10001"}
CATEGORIES = {"To Do": "new", "In Progress": "indeterminate", "Done": "done"}
TEXTAREA, TEXT, NUMBER = "textarea", "textfield", "float"
PAGE_CAP = 100  # Jira returns at most this many issues a page when fields beyond id/key are asked


def jira_spec(server: str):
    """Jira's spec with its security made strict: as published every operation also lists `{}`
    (anonymous access), so a request without credentials would pass."""
    return vendor_spec("jira", server=server, adjust=_require_basic_auth)


def _require_basic_auth(document: dict[str, Any]) -> None:
    for path_item in document["paths"].values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "security" in operation:
                operation["security"] = [{"basicAuth": []}]


@dataclass
class FakeJira(RateWindowed):
    site_url: str = SITE_URL
    email: str = EMAIL
    api_token: str = API_TOKEN
    validate: bool = True
    projects: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {PROJECT: {"id": "10000", "issuetypes": {"Task", "Bug", "Story", "Sub-task"}}}
    )
    custom_fields: dict[str, str] = field(
        default_factory=lambda: {"customfield_10050": TEXT, "customfield_10060": NUMBER, "customfield_10070": TEXTAREA}
    )
    workflow: dict[str, list[tuple[str, str, str]]] = field(default_factory=lambda: dict(WORKFLOW))
    rate_limit: int = 500
    rate_window_seconds: float = 60.0
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)  # key → fields
    ids: dict[str, str] = field(default_factory=dict)  # key → issue id
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # key → ADF bodies
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (type, inward key, outward key)
    requests: list[FakeRequest] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    lock: threading.Lock = field(default_factory=threading.RLock)
    next_ids: itertools.count = field(default_factory=lambda: itertools.count(10001))
    window: list[float] = field(default_factory=list)
    failing_elements: set[int] = field(default_factory=set)
    fail_after_count: tuple[int, int] | None = None  # (issues, status)
    pages: dict[str, list[str]] = field(default_factory=dict)  # nextPageToken → keys still to send

    def install(self, mock: responses.RequestsMock) -> FakeJira:
        install(mock, self.site_url, self.handle)
        return self

    # --- Test helpers ------------------------------------------------------------------------

    def calls(self, method: str, path: str) -> list[FakeRequest]:
        """The requests to `path` (a regex below /rest/api/3)."""
        return [r for r in self.requests if r.method == method and re.fullmatch(rf"{API}{path}", r.path)]

    def fail_next(self, method: str, path: str, *, status: int, times: int = 1, body: str = "", **headers: str):
        """The next `times` requests to `path` (a regex below /rest/api/3) answer `status`."""
        self.faults.add(Fault(method, API + path, status=status, error=body, headers=headers, times=times))

    def lose_answer_next(self, method: str, path: str) -> None:
        """The next request to `path` does its work, then its answer is lost (a read timeout)."""
        self.faults.add(Fault(method, API + path, after=True))

    def fail_bulk_elements(self, indexes: set[int]) -> None:
        """In the next bulk creates, the elements at these positions are refused (400 each)."""
        self.failing_elements = set(indexes)

    def fail_after(self, n: int, *, status: int = 503) -> None:
        """Once n issues exist, every call answers `status`; a bulk create that would pass n
        creates up to n and reports the rest as failed elements with that status."""
        self.fail_after_count = (n, status)

    def add_issue(self, fields: dict[str, Any], *, status: str = "To Do") -> str:
        """An issue made in Jira by someone (not through the API under test); returns its key."""
        with self.lock:
            return self._store(fields, status=status)

    def set_status(self, key: str, status: str, *, at: datetime.datetime | None = None) -> None:
        """A person moved the issue in Jira."""
        self.issues[key]["status"] = _status(status)
        self.issues[key]["updated"] = _jira_time(at or _now())

    def status_of(self, key: str) -> str:
        return self.issues[key]["status"]["name"]

    def webhook_issue(self, key: str) -> dict[str, Any]:
        """The `issue` object of a webhook about this issue."""
        return {"id": self.ids[key], "key": key, "self": self._self(key), "fields": dict(self.issues[key])}

    # --- Dispatch ------------------------------------------------------------------------------

    def handle(self, request: FakeRequest) -> Answer:
        with self.lock:
            self.requests.append(request)
            answer = self._handle(request)
            answer.headers.update(self._rate_headers())
            return answer

    def _handle(self, request: FakeRequest) -> Answer:
        base, _, path = request.url.partition(API)
        path = API + "/" + path.split("?", 1)[0].lstrip("/")
        if self.validate:
            for problem in spec_problems(jira_spec(base), request):
                self._violation(request, problem)
        if request.method == "POST" and request.headers.get("Content-Type", "").split(";")[0] != "application/json":
            self._violation(request, f"Content-Type {request.headers.get('Content-Type')!r}, expected JSON")
        handler, match = self._route(request.method, path)
        if handler is None:
            self._violation(request, "the fake does not serve this endpoint")
            return _errors(404, messages=["The requested resource could not be found."])
        if not self._authenticated(request.headers.get("Authorization", "")):
            return Answer(401, b"", {"WWW-Authenticate": 'Basic realm="protected-by-api-token"'})
        if self._spent():
            retry = max(1, int(self.window[0] + self.rate_window_seconds - time.time()) + 1)
            return _errors(
                429,
                messages=["Rate limit exceeded."],
                **{"Retry-After": str(retry), "RateLimit-Reason": "jira-burst-based"},
            )
        self.window.append(time.time())
        fault = self.faults.take(request.method, path)
        if fault and not fault.after:
            answer = _errors(fault.status, messages=[fault.error] if fault.error else [])
            answer.headers.update(fault.headers)
            return answer
        if self._failing_now() and handler != self._bulk:
            return _errors(self.fail_after_count[1], messages=["Service unavailable."])
        answer = handler(request, **match)
        if fault:
            raise requests.ReadTimeout("The fake did the work, then never answered.")
        return answer

    def _route(self, method: str, path: str) -> tuple[Any, dict[str, str]]:
        routes = {
            ("GET", f"{API}/myself"): self._myself,
            ("POST", f"{API}/issue"): self._create,
            ("POST", f"{API}/issue/bulk"): self._bulk,
            ("POST", f"{API}/issueLink"): self._link,
            ("POST", f"{API}/search/jql"): self._search,
        }
        if (method, path) in routes:
            return routes[(method, path)], {}
        if method == "GET" and (issue := re.fullmatch(rf"{API}/issue/(?P<key>[^/]+)", path)):
            return self._get, {"key": issue["key"]}
        issue = re.fullmatch(rf"{API}/issue/(?P<key>[^/]+)/(?P<what>transitions|comment)", path)
        if issue:
            handlers = {
                ("GET", "transitions"): self._transitions,
                ("POST", "transitions"): self._transition,
                ("POST", "comment"): self._comment,
            }
            handler = handlers.get((method, issue["what"]))
            return handler, ({"key": issue["key"]} if handler else {})
        return None, {}

    def _violation(self, request: FakeRequest, problem: str) -> None:
        self.violations.append(f"{request.method} {request.path}: {problem}")

    def _authenticated(self, header: str) -> bool:
        return basic_credentials(header) == (self.email, self.api_token)

    def _rate_headers(self) -> dict[str, str]:
        reset = self._reset_at()
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(self._remaining()),
            "X-RateLimit-Reset": datetime.datetime.fromtimestamp(reset, datetime.UTC).isoformat(timespec="seconds"),
        }

    def _failing_now(self) -> bool:
        return self.fail_after_count is not None and len(self.issues) >= self.fail_after_count[0]

    def _self(self, key: str) -> str:
        return f"{self.site_url}{API}/issue/{self.ids[key]}"

    # --- Issues ----------------------------------------------------------------------------------

    def _myself(self, request: FakeRequest) -> Answer:
        return Answer.of_json(
            {
                "accountId": ACCOUNT_ID,
                "accountType": "atlassian",
                "active": True,
                "displayName": DISPLAY_NAME,
                "emailAddress": self.email,
                "self": f"{self.site_url}{API}/user?accountId={ACCOUNT_ID}",
                "timeZone": "Europe/Berlin",
            }
        )

    def _create(self, request: FakeRequest) -> Answer:
        body = request.json()
        fields = body.get("fields") if isinstance(body, dict) else None
        errors = self._field_errors(request, fields)
        if errors:
            return _errors(400, errors=errors)
        key = self._store(fields)
        return Answer.of_json({"id": self.ids[key], "key": key, "self": self._self(key)}, 201)

    def _bulk(self, request: FakeRequest) -> Answer:
        updates = request.json().get("issueUpdates") or []
        if len(updates) > 50:
            return _errors(400, messages=["The number of issues to create must not exceed 50."])
        created, failed = [], []
        for index, update in enumerate(updates):
            fields = update.get("fields") if isinstance(update, dict) else None
            errors = self._field_errors(request, fields)
            if index in self.failing_elements:
                errors = errors or {"summary": "Injected by the test: this element is refused."}
            if errors:
                failed.append(_element_error(index, 400, errors=errors))
            elif self._failing_now():
                failed.append(_element_error(index, self.fail_after_count[1], messages=["Service unavailable."]))
            else:
                key = self._store(fields)
                created.append({"id": self.ids[key], "key": key, "self": self._self(key)})
        return Answer.of_json({"issues": created, "errors": failed}, 201 if created else 400)

    def _field_errors(self, request: FakeRequest, fields: Any) -> dict[str, str]:
        """What Jira's create screen says about these fields (field → message), {} when valid."""
        if not isinstance(fields, dict):
            return {"fields": "Fields are required."}
        errors: dict[str, str] = {}
        project = self.projects.get((fields.get("project") or {}).get("key", ""))
        if project is None:
            errors["project"] = "valid project is required"
        elif (fields.get("issuetype") or {}).get("name") not in project["issuetypes"]:
            errors["issuetype"] = "Specify a valid issue type"
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif len(summary) > 255 or "\n" in summary:
            errors["summary"] = "Summary must be less than 255 characters and on one line."
        if "priority" in fields and (fields["priority"] or {}).get("name") not in PRIORITIES:
            errors["priority"] = "Specify the Priority (id or name) in the string format"
        if "duedate" in fields and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(fields["duedate"])):
            errors["duedate"] = "Error parsing date string: " + str(fields["duedate"])
        labels = fields.get("labels", [])
        if not isinstance(labels, list) or any(not isinstance(x, str) or not x or " " in x for x in labels):
            errors["labels"] = "The label must not contain spaces."
        for name, value in fields.items():
            kind = self.custom_fields.get(name)
            if name.startswith("customfield_") and kind is None:
                errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
            elif kind == NUMBER and (not isinstance(value, (int, float)) or isinstance(value, bool)):
                errors[name] = "Operation value must be a number"
            elif kind == TEXT and not isinstance(value, str):
                errors[name] = "Operation value must be a string"
            elif kind == TEXTAREA or name in ("description", "environment"):
                for problem in adf_problems(value, where=name):
                    self._violation(request, problem)
        return errors

    def _store(self, fields: dict[str, Any], *, status: str = "To Do") -> str:
        project = fields["project"]["key"]
        number = sum(1 for key in self.issues if key.startswith(f"{project}-")) + 1
        key, now = f"{project}-{number}", _jira_time(_now())
        self.ids[key] = str(next(self.next_ids))
        self.issues[key] = {**fields, "status": _status(status), "created": now, "updated": now}
        self.comments[key] = []
        return key

    def _issue(self, key: str) -> dict[str, Any] | None:
        return self.issues.get(key) or next(
            (self.issues[k] for k, issue_id in self.ids.items() if issue_id == key), None
        )

    def _key(self, key_or_id: str) -> str:
        return key_or_id if key_or_id in self.issues else next(k for k, i in self.ids.items() if i == key_or_id)

    def _get(self, request: FakeRequest, *, key: str) -> Answer:
        if self._issue(key) is None:
            return _errors(404, messages=["Issue does not exist or you do not have permission to see it."])
        key = self._key(key)
        wanted = [name for name in request.query.get("fields", "").split(",") if name] or list(self.issues[key])
        return Answer.of_json(self._found(key, wanted))

    # --- Transitions, comments, links ------------------------------------------------------------

    def _transitions(self, request: FakeRequest, *, key: str) -> Answer:
        issue = self._issue(key)
        if issue is None:
            return _errors(404, messages=["Issue does not exist or you do not have permission to see it."])
        offered = [
            {
                "id": transition_id,
                "name": name,
                "to": _status(target),
                "hasScreen": False,
                "isAvailable": True,
                "isConditional": False,
                "isGlobal": False,
                "isInitial": False,
            }
            for transition_id, name, target in self.workflow.get(issue["status"]["name"], [])
        ]
        return Answer.of_json({"transitions": offered})

    def _transition(self, request: FakeRequest, *, key: str) -> Answer:
        issue = self._issue(key)
        if issue is None:
            return _errors(404, messages=["Issue does not exist or you do not have permission to see it."])
        wanted = str((request.json().get("transition") or {}).get("id", ""))
        target = next((t for i, _, t in self.workflow.get(issue["status"]["name"], []) if i == wanted), None)
        if target is None:
            return _errors(400, messages=[f"Transition id '{wanted}' is not valid for this issue."])
        self.set_status(self._key(key), target)
        return Answer(204)

    def _comment(self, request: FakeRequest, *, key: str) -> Answer:
        issue = self._issue(key)
        if issue is None:
            return _errors(404, messages=["Issue does not exist or you do not have permission to see it."])
        body = request.json().get("body")
        for problem in adf_problems(body, where="comment"):
            self._violation(request, problem)
        self.comments[self._key(key)].append(body)
        comment_id = str(next(self.next_ids))
        now = _jira_time(_now())
        return Answer.of_json(
            {
                "id": comment_id,
                "self": f"{self._self(self._key(key))}/comment/{comment_id}",
                "body": body,
                "created": now,
                "updated": now,
                "author": {"accountId": ACCOUNT_ID, "displayName": DISPLAY_NAME},
            },
            201,
        )

    def _link(self, request: FakeRequest) -> Answer:
        body = request.json()
        link_type = (body.get("type") or {}).get("name")
        if link_type not in LINK_TYPES:
            return _errors(404, messages=[f"No issue link type with name '{link_type}' found."])
        inward, outward = (body.get("inwardIssue") or {}).get("key"), (body.get("outwardIssue") or {}).get("key")
        missing = [k for k in (inward, outward) if self._issue(str(k)) is None]
        if missing:
            return _errors(404, messages=[f"Issue Does Not Exist: {missing[0]}"])
        self.links.append((link_type, self._key(inward), self._key(outward)))
        return Answer(201)

    # --- Search ----------------------------------------------------------------------------------

    def _search(self, request: FakeRequest) -> Answer:
        body = request.json()
        token = body.get("nextPageToken")
        if token is not None:
            keys = self.pages.pop(token, None)
            if keys is None:
                return _errors(400, messages=["The provided next page token is invalid or expired."])
        else:
            try:
                keys = self._matching(str(body.get("jql", "")))
            except JqlError as error:
                if error.ours:
                    self._violation(request, f"JQL the fake cannot read: {error}")
                return _errors(400, messages=[str(error)])
        wanted = body.get("fields") or ["id"]
        size = max(1, min(int(body.get("maxResults", 50)), PAGE_CAP))
        page, rest = keys[:size], keys[size:]
        answer: dict[str, Any] = {"issues": [self._found(key, wanted) for key in page], "isLast": not rest}
        if rest:
            next_token = secrets.token_urlsafe(12)
            self.pages[next_token] = rest
            answer["nextPageToken"] = next_token
        return Answer.of_json(answer)

    def _found(self, key: str, wanted: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = {"id": self.ids[key], "key": key, "self": self._self(key)}
        fields = {name: self.issues[key].get(name) for name in wanted if name not in ("id", "key")}
        if fields:
            found["fields"] = fields
        return found

    def _matching(self, jql: str) -> list[str]:
        query, order = _split_order(jql)
        clauses = [c.strip() for c in re.split(r"\s+AND\s+", query, flags=re.IGNORECASE) if c.strip()]
        if not clauses:
            raise JqlError("Unbounded JQL queries are not allowed here. Please add a search restriction.", ours=False)
        for clause in clauses:
            project = re.fullmatch(r"project\s*=\s*(.+)", clause, flags=re.IGNORECASE)
            if project and _unquote(project[1]) not in self.projects:
                raise JqlError(
                    f"The value '{_unquote(project[1])}' does not exist for the field 'project'.", ours=False
                )
        keys = list(self.issues)
        for clause in clauses:
            keys = [key for key in keys if self._matches(key, clause)]
        reverse = order.endswith("DESC")
        if order.startswith("updated"):
            return sorted(keys, key=lambda k: (self.issues[k]["updated"], int(self.ids[k])), reverse=reverse)
        return sorted(keys, key=lambda k: int(self.ids[k]), reverse=reverse)

    def _matches(self, key: str, clause: str) -> bool:
        fields = self.issues[key]
        match = re.fullmatch(r"(\w+|cf\[\d+\])\s*(=|>=|~|in)\s*(.+)", clause, flags=re.IGNORECASE)
        if match is None:
            raise JqlError(f"Error in the JQL Query: cannot read '{clause}'.")
        name, operator, operand = match[1].lower(), match[2].lower(), match[3].strip()
        if (name, operator) == ("project", "="):
            return fields["project"]["key"] == _unquote(operand)
        if (name, operator) == ("labels", "="):
            return _unquote(operand) in (fields.get("labels") or [])
        if (name, operator) == ("key", "in"):
            return key in self._keys_in(operand)
        if (name, operator) == ("updated", ">="):
            return fields["updated"] >= _jira_time(_moment(_unquote(operand)))
        if operator == "~":
            return _phrase(operand).casefold() in self._text_of(fields, name).casefold()
        raise JqlError(f"Error in the JQL Query: the fake does not know '{clause}'.")

    def _keys_in(self, operand: str) -> set[str]:
        inner = re.fullmatch(r"\((.*)\)", operand)
        if inner is None:
            raise JqlError(f"Error in the JQL Query: expected a list, got {operand}.")
        keys = {_unquote(k.strip()) for k in inner[1].split(",") if k.strip()}
        missing = sorted(k for k in keys if k not in self.issues)
        if missing:
            # Jira refuses the whole query when one listed key does not exist.
            raise JqlError(f"An issue with key '{missing[0]}' does not exist for field 'key'.", ours=False)
        return keys

    def _text_of(self, fields: dict[str, Any], name: str) -> str:
        def text(value: Any) -> str:
            return adf_text(value) if isinstance(value, dict) else str(value or "")

        if name == "summary":
            return text(fields.get("summary"))
        custom = re.fullmatch(r"cf\[(\d+)\]", name)
        if custom:
            return text(fields.get(f"customfield_{custom[1]}"))
        if name == "text":
            parts = [fields.get("summary"), fields.get("description"), fields.get("environment")]
            parts += [value for field_name, value in fields.items() if field_name in self.custom_fields]
            return "\n".join(text(part) for part in parts)
        raise JqlError(f"Error in the JQL Query: the fake cannot search text in '{name}'.")


class JqlError(Exception):
    """A query Jira refuses; `ours` when it is rather a query the fake cannot read."""

    def __init__(self, message: str, *, ours: bool = True) -> None:
        super().__init__(message)
        self.ours = ours


def _split_order(jql: str) -> tuple[str, str]:
    parts = re.split(r"\s+ORDER\s+BY\s+", jql, maxsplit=1, flags=re.IGNORECASE)
    return parts[0], (parts[1].strip() if len(parts) > 1 else "key ASC")


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _phrase(operand: str) -> str:
    """`"\\"RMA-1\\""` (an exact phrase) or `"RMA"` → the text to look for."""
    return " ".join(shlex.split(_unquote(operand))) if '"' in _unquote(operand) else _unquote(operand)


def _moment(value: str) -> datetime.datetime:
    """A JQL date: relative ('-15m', '-2h', '-1d', '-1w') or 'yyyy-MM-dd[ HH:mm]' in UTC (the
    fake's account time zone)."""
    relative = re.fullmatch(r"-(\d+)([mhdw])", value)
    if relative:
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[relative[2]]
        return _now() - datetime.timedelta(**{unit: int(relative[1])})
    for layout in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.datetime.strptime(value, layout).replace(tzinfo=datetime.UTC)
        except ValueError:
            continue
    raise JqlError(f"Date value '{value}' for field 'updated' is invalid.", ours=False)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _jira_time(moment: datetime.datetime) -> str:
    """Jira's timestamp format: 2025-03-04T10:15:30.123+0000 (sorts as text within one zone)."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _status(name: str) -> dict[str, Any]:
    return {
        "id": STATUS_IDS.get(name, "1"),
        "name": name,
        "statusCategory": {"key": CATEGORIES.get(name, "indeterminate"), "name": name},
    }


def _errors(status: int, *, messages: list[str] | None = None, errors: dict[str, str] | None = None, **headers):
    return Answer.of_json({"errorMessages": messages or [], "errors": errors or {}}, status, **headers)


def _element_error(index: int, status: int, *, messages: list[str] | None = None, errors: dict | None = None):
    return {
        "failedElementNumber": index,
        "status": status,
        "elementErrors": {"errorMessages": messages or [], "errors": errors or {}},
    }
