"""Oversized request bodies answer 413 before anything reads them, on every endpoint: the
REST API (token endpoint included) up to API_MAX_BODY_BYTES, inbound webhooks up to
INBOUND_MAX_BODY_BYTES; the process does not grow by the size of the body."""

import json
import tracemalloc

import pytest
from django.test import Client, override_settings

from tests.factories import UserFactory

MIB = 1024 * 1024
HUGE = 20 * MIB
UNKNOWN_WEBHOOK = "/webhooks/openproject/6f1c4f0e-8a5e-4c53-9d43-2b1c77f5a001/"


class GeneratedBody:
    """A request body of `size` bytes made only as it is read, counting what was read."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        left = self.size - self.consumed
        chunk = left if size is None or size < 0 else min(size, left)
        self.consumed += chunk
        return b" " * chunk

    readline = read


def post_generated(client: Client, path: str, body: GeneratedBody, **headers: str):
    environ = {"wsgi.input": body, "CONTENT_LENGTH": str(body.size), "CONTENT_TYPE": "application/json"}
    return client.generic("POST", path, **environ, headers=headers)


def peak_bytes_while(call) -> tuple[object, int]:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture
def warm_client(db) -> Client:
    """A client whose first request already ran, so that lazy imports do not count as memory."""
    client = Client()
    client.get("/api/v1/")
    return client


@pytest.mark.parametrize("path", ["/api/v1/auth/token/", "/api/v1/workitems/", "/api/v1/customers/"])
def test_a_20_mib_body_is_413_unread_and_the_process_does_not_grow_by_it(warm_client, path):
    body = GeneratedBody(HUGE)

    response, peak = peak_bytes_while(lambda: post_generated(warm_client, path, body))

    assert body.consumed == 0
    assert peak < MIB
    assert response.status_code == 413
    assert response.json() == {"detail": f"Request body over {MIB} bytes."}


def test_a_20_mib_body_to_an_inbound_webhook_is_413_unread(warm_client):
    body = GeneratedBody(HUGE)

    response = post_generated(warm_client, UNKNOWN_WEBHOOK, body)

    assert response.status_code == 413
    assert body.consumed == 0


@override_settings(API_MAX_BODY_BYTES=2048)
def test_the_api_limit_is_a_setting_and_a_body_of_exactly_the_limit_is_served(warm_client):
    UserFactory(username="ana", password="s3cret-pass")
    credentials = {"username": "ana", "password": "s3cret-pass", "padding": ""}
    credentials["padding"] = "x" * (2048 - len(json.dumps(credentials)))
    body = json.dumps(credentials)
    assert len(body) == 2048

    served = warm_client.post("/api/v1/auth/token/", body, content_type="application/json")
    refused = warm_client.post("/api/v1/auth/token/", body + " ", content_type="application/json")

    assert served.status_code == 200
    assert "token" in served.json()
    assert refused.status_code == 413


@override_settings(INBOUND_MAX_BODY_BYTES=2048, API_MAX_BODY_BYTES=MIB)
def test_inbound_webhooks_have_their_own_smaller_limit(warm_client):
    body = GeneratedBody(4096)

    response = post_generated(warm_client, UNKNOWN_WEBHOOK, body)

    assert response.status_code == 413
    assert body.consumed == 0


def test_a_malformed_content_length_counts_as_no_body(warm_client):
    response = warm_client.generic(
        "POST", "/api/v1/auth/token/", CONTENT_LENGTH="many", CONTENT_TYPE="application/json"
    )

    assert response.status_code == 400
