"""The bundled Jira spec still judges: trimmed to our operations, it accepts the requests the
client sends, refuses wrong ones and anonymous ones, and covers every endpoint the fake serves."""

import re
from pathlib import Path

import requests
from requests.structures import CaseInsensitiveDict

from tests.contracts.openapi import SPECS_DIR, vendor_spec_document
from tests.fakes.jira import API, API_TOKEN, EMAIL, SITE_URL, FakeJira, jira_spec
from tests.fakes.served import FakeRequest, spec_problems


def problems(method: str, path: str, *, body=None, auth: bool = True) -> list[str]:
    prepared = requests.Request(
        method, f"{SITE_URL}{API}{path}", json=body, auth=(EMAIL, API_TOKEN) if auth else None
    ).prepare()
    request = FakeRequest(method, prepared.url, CaseInsensitiveDict(prepared.headers), prepared.body or b"")
    return spec_problems(jira_spec(SITE_URL), request)


def test_it_accepts_a_search_with_a_next_page_token():
    body = {"jql": 'labels = "fieldhook"', "fields": ["status"], "maxResults": 100, "nextPageToken": "abc"}

    assert problems("POST", "/search/jql", body=body) == []


def test_it_refuses_the_retired_paging_of_search():
    found = problems("POST", "/search/jql", body={"jql": 'labels = "fieldhook"', "startAt": 100})

    assert any("startAt" in problem for problem in found)


def test_it_refuses_a_link_without_its_type():
    found = problems("POST", "/issueLink", body={"inwardIssue": {"key": "SVC-1"}, "outwardIssue": {"key": "SVC-2"}})

    assert any("type" in problem for problem in found)


def test_it_refuses_a_request_without_credentials():
    assert problems("GET", "/myself", auth=False) != []


def test_every_operation_the_fake_serves_is_in_the_bundle():
    listed = [
        line.split()
        for line in Path(SPECS_DIR / "jira" / "operations.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    bundled = vendor_spec_document("jira")["paths"]
    fake = FakeJira()

    for method, path in listed:
        assert method.lower() in bundled[path]
        concrete = re.sub(r"\{[^}]+\}", "SVC-1", path)
        assert fake._route(method, concrete)[0] is not None, f"{method} {path}"
