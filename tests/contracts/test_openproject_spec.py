"""The bundled OpenProject spec still judges: trimmed to our operations, it accepts the requests
the connector sends and refuses wrong ones, and it covers every endpoint the fake serves."""

import json
import re
from typing import Any

import pytest
import requests

from tests.contracts.openapi import SPECS_DIR, vendor_spec_document, vendor_spec_path
from tests.fakes.openproject import API_KEY, BASE_URL, FakeOpenProject
from tests.fakes.openproject_spec import spec_problems

CREATE = {
    "subject": "RMA-1: Cracked screen",
    "description": {"format": "markdown", "raw": "Cracked screen"},
    "dueDate": "2026-03-01",
    "_links": {"type": {"href": "/api/v3/types/1"}},
}


def problems(method: str, path: str, *, body: Any = None, auth: bool = True, **params: str) -> list[str]:
    request = requests.Request(
        method,
        f"{BASE_URL}{path}",
        params=params,
        json=body,
        headers={"Authorization": f"Bearer {API_KEY}"} if auth else {},
    )
    return spec_problems(request.prepare(), server=BASE_URL)


def test_it_accepts_the_create_the_connector_sends():
    assert problems("POST", "/api/v3/projects/3/work_packages", body=CREATE, notify="false") == []


def test_it_refuses_a_due_date_that_is_not_a_date():
    found = problems("POST", "/api/v3/projects/3/work_packages", body={**CREATE, "dueDate": "next week"})

    assert len(found) == 1
    assert "dueDate" in found[0]


def test_it_refuses_a_status_change_whose_lock_version_is_not_an_integer():
    body = {"lockVersion": "3", "_links": {"status": {"href": "/api/v3/statuses/7"}}}

    found = problems("PATCH", "/api/v3/work_packages/5", body=body)

    assert any("lockVersion" in problem for problem in found)


def test_it_refuses_a_query_parameter_of_the_wrong_type():
    assert problems("GET", "/api/v3/work_packages", pageSize="all") != []


def test_it_refuses_a_request_without_credentials():
    assert problems("GET", "/api/v3/statuses", auth=False) != []


def test_it_refuses_an_operation_left_out_of_the_bundle():
    assert problems("DELETE", "/api/v3/work_packages/5") != []


def test_every_endpoint_the_fake_serves_is_in_the_bundle():
    operations = [
        (method.upper(), re.sub(r"\{[^}]+\}", "1", path))
        for path, item in vendor_spec_document("openproject")["paths"].items()
        for method in item
        if method in ("get", "post", "patch", "put", "delete")
    ]
    missing = [
        f"{method} {pattern.pattern}"
        for method, pattern, _ in FakeOpenProject().routes
        if not any(m == method and pattern.fullmatch(path) for m, path in operations)
    ]

    assert missing == []


@pytest.mark.parametrize("vendor", sorted(p.name for p in SPECS_DIR.iterdir() if p.is_dir()))
def test_a_bundled_spec_is_one_small_file_with_local_references_only(vendor):
    path = vendor_spec_path(vendor)
    references = re.findall(r'"\$ref": "([^"]*)"', path.read_text(encoding="utf-8"))

    assert path.stat().st_size < 300_000
    assert references
    assert [ref for ref in references if not ref.startswith("#/")] == []
    assert (path.parent / "SOURCE.md").is_file()
    assert json.loads(path.read_text(encoding="utf-8"))["x-bundle"]["operations"]
