"""OpenProject's own OpenAPI document (API v3) as the judge of every request the fake
receives, so that the fake cannot drift from the real API.

The spec is the bundle in tests/contracts/specs/openproject/ (see its SOURCE.md), loaded
once per test session with three adjustments, each because the spec itself says more than
its machine-readable parts:

- `servers` is the fake's address (the spec lists OpenProject's public instances);
- a Bearer scheme is added next to BasicAuth (the spec's introduction documents API
  tokens and OAuth access tokens as `Authorization: Bearer`, its securitySchemes do not);
- a create body is not required to carry the read-only links (self, schema, author…):
  the request schema is the response model. Every other schema error still counts, and
  the rules in `body_problems` check what the spec cannot.
"""

from __future__ import annotations

from typing import Any

from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest
from openapi_core.validation.request.exceptions import InvalidRequestBody
from requests import PreparedRequest

from tests.contracts.openapi import vendor_spec

LINK_PREFIX = "/api/v3/"


def openproject_spec(server: str) -> OpenAPI:
    return vendor_spec("openproject", server=server, adjust=_accept_bearer_tokens)


def _accept_bearer_tokens(document: dict[str, Any]) -> None:
    document["components"]["securitySchemes"]["BearerAuth"] = {"type": "http", "scheme": "bearer"}
    document["security"] = [{"BasicAuth": []}, {"BearerAuth": []}]


def spec_problems(request: PreparedRequest, *, server: str) -> list[str]:
    """What the OpenAPI spec finds wrong with the request: path, method, parameters, body."""
    problems = []
    for error in openproject_spec(server).iter_request_errors(RequestsOpenAPIRequest(request)):
        schema_errors = getattr(error.__cause__, "schema_errors", None)
        if isinstance(error, InvalidRequestBody) and schema_errors:
            problems += [
                f"body: {e.message} (at {'/'.join(map(str, e.path)) or 'top'})"
                for e in schema_errors
                if not (e.validator == "required" and list(e.path) == ["_links"])
            ]
        else:
            problems.append(f"{type(error).__name__}: {error}")
    return problems


def body_problems(kind: str, body: Any) -> list[str]:
    """Our own rules for the bodies we send, where the spec cannot judge them (see above)."""
    if not isinstance(body, dict):
        return [f"{kind}: the body is not a JSON object"]
    problems = [f"{kind}: {p}" for p in _links_problems(body.get("_links"))]
    description = body.get("description")
    if "description" in body and (
        not isinstance(description, dict)
        or set(description) != {"format", "raw"}
        or description["format"] != "markdown"
        or not isinstance(description["raw"], str)
    ):
        problems.append(f'{kind}: description must be {{"format": "markdown", "raw": str}}, got {description!r}')
    if kind == "update":
        lock = body.get("lockVersion")
        if not isinstance(lock, int) or isinstance(lock, bool):
            problems.append(f"update: lockVersion must be an integer, got {lock!r}")
    if kind == "create" and not isinstance(body.get("subject"), str):
        problems.append("create: subject must be a string")
    if kind == "comment":
        comment = body.get("comment")
        if set(body) - {"comment", "internal"} or not isinstance(comment, dict) or set(comment) != {"raw"}:
            problems.append(f'comment: expected {{"comment": {{"raw": str}}}}, got {body!r}')
    return problems


def _links_problems(links: Any) -> list[str]:
    if links is None:
        return []
    if not isinstance(links, dict):
        return [f"_links must be an object, got {links!r}"]
    return [
        f'_links.{name} must be {{"href": "{LINK_PREFIX}…"}}, got {link!r}'
        for name, link in links.items()
        if not (
            isinstance(link, dict)
            and set(link) == {"href"}
            and isinstance(link["href"], str)
            and link["href"].startswith(LINK_PREFIX)
        )
    ]
