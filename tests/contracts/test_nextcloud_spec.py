"""The bundled Nextcloud OCS spec judges: it accepts what the connector sends, refuses wrong
requests, covers every OCS endpoint the fake serves, and the fake's answers match it."""

import base64
import json

import pytest
import requests
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from tests.contracts.openapi import vendor_spec
from tests.fakes.nextcloud import APP_PASSWORD, BASE_URL, USER, FakeNextcloud
from tests.fakes.nextcloud_ocs import OCS_ROUTES, spec_problems

SHARES = "/ocs/v2.php/apps/files_sharing/api/v1/shares"
CAPABILITIES = "/ocs/v2.php/cloud/capabilities"
AUTH = "Basic " + base64.b64encode(f"{USER}:{APP_PASSWORD}".encode()).decode()
OCS_HEADERS = {"OCS-APIRequest": "true", "Accept": "application/json", "Authorization": AUTH}


def problems(method: str, path: str, *, body=None, headers=None) -> list[str]:
    data = json.dumps(body).encode() if body is not None else b""
    sent = {**OCS_HEADERS, "Content-Type": "application/json"} if headers is None else headers
    return spec_problems(method, f"{BASE_URL}{path}?format=json", sent, data, server=BASE_URL)


def test_it_accepts_the_share_the_connector_creates():
    body = {"path": "/Fieldhook/Acme/RMA-1 - Cracked screen", "shareType": 0, "shareWith": "ana", "permissions": 15}

    assert problems("POST", SHARES, body=body) == []


def test_it_refuses_a_share_type_that_is_not_a_number():
    found = problems("POST", SHARES, body={"path": "/x", "shareType": "user"})

    assert len(found) == 1
    assert "InvalidRequestBody" in found[0]


def test_it_refuses_a_share_request_without_credentials():
    headers = {"OCS-APIRequest": "true", "Content-Type": "application/json"}

    assert problems("POST", SHARES, body={"path": "/x", "shareType": 3}, headers=headers) != []


def test_it_refuses_an_operation_left_out_of_the_bundle():
    assert problems("DELETE", f"{SHARES}/7") != []


def test_every_ocs_endpoint_the_fake_serves_is_in_the_bundle():
    spec = vendor_spec("nextcloud", server=BASE_URL)
    served = [(method, path) for method, path in OCS_ROUTES]
    missing = [f"{method} {path}" for method, path in served if method.lower() not in spec.spec / "paths" / path]

    assert missing == []


@pytest.fixture
def fake():
    return FakeNextcloud()


def answer_problems(fake: FakeNextcloud, method: str, path: str, *, body=None, query: str = "") -> list[str]:
    """What the spec finds wrong with the fake's answer to a request the spec accepts."""
    data = json.dumps(body).encode() if body is not None else b""
    headers = {**OCS_HEADERS, "Content-Type": "application/json"}
    url = f"{BASE_URL}{path}?format=json{query}"
    status, answer_headers, payload, _ = fake.handle(method, url, headers, data)
    request = requests.Request(method, url, headers=headers, data=data or None).prepare()
    response = requests.Response()
    response.status_code, response._content = status, payload
    response.headers.update(answer_headers)
    response.request = request
    spec = vendor_spec("nextcloud", server=BASE_URL)
    errors = spec.iter_response_errors(RequestsOpenAPIRequest(request), RequestsOpenAPIResponse(response))
    return [f"{status}: {error!r} {getattr(error.__cause__, 'schema_errors', '')}" for error in errors]


def test_the_fakes_capabilities_match_the_spec(fake):
    assert answer_problems(fake, "GET", CAPABILITIES) == []


def test_the_fakes_new_share_and_share_list_match_the_spec(fake):
    fake.add_folder("/Fieldhook/RMA-1")

    assert answer_problems(fake, "POST", SHARES, body={"path": "/Fieldhook/RMA-1", "shareType": 3}) == []
    assert answer_problems(fake, "GET", SHARES, query="&path=/Fieldhook/RMA-1") == []


def test_the_fakes_refusals_match_the_spec(fake):
    assert answer_problems(fake, "POST", SHARES, body={"path": "/nowhere", "shareType": 0, "shareWith": "ana"}) == []
