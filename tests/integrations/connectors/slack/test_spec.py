"""The bundled Slack Web API spec still judges: with the test adjustments it accepts what the
connector sends, refuses a request without the Bearer token or with a malformed body, and
covers every method the fake serves."""

import json

from requests.structures import CaseInsensitiveDict

from tests.contracts.openapi import vendor_spec_document
from tests.fakes.served import FakeRequest, spec_problems
from tests.fakes.slack import API_URL, BOT_TOKEN, SERVED, slack_spec

MESSAGE = {"channel": "C0REPAIRS1", "text": "RMA-1: Cracked screen", "blocks": [{"type": "section"}]}


def problems(method: str, name: str, *, body=None, query: str = "", auth: bool = True) -> list[str]:
    headers = CaseInsensitiveDict({"Authorization": f"Bearer {BOT_TOKEN}"} if auth else {})
    if body is not None:
        headers["Content-Type"] = "application/json; charset=utf-8"
    url = f"{API_URL}/{name}" + (f"?{query}" if query else "")
    request = FakeRequest(method, url, headers, json.dumps(body).encode() if body is not None else b"")
    return spec_problems(slack_spec(API_URL), request)


def test_it_accepts_the_json_message_the_connector_sends():
    assert problems("POST", "chat.postMessage", body={**MESSAGE, "unfurl_links": False, "thread_ts": "1.2"}) == []


def test_it_refuses_a_message_without_a_channel():
    found = problems("POST", "chat.postMessage", body={"text": "hi"})

    assert found == ["body: 'channel' is a required property (at top)"]


def test_it_refuses_blocks_sent_as_a_string():
    assert problems("POST", "chat.postMessage", body={**MESSAGE, "blocks": "[]"}) != []


def test_it_refuses_a_request_without_the_bearer_token():
    assert problems("POST", "reactions.add", body={"channel": "C1", "name": "x", "timestamp": "1.2"}, auth=False) != []
    assert problems("GET", "auth.test", auth=False) != []


def test_it_refuses_a_reaction_without_its_message():
    assert problems("POST", "reactions.add", body={"channel": "C1", "name": "white_check_mark"}) != []


def test_every_method_the_fake_serves_is_in_the_bundle():
    bundled = {path.strip("/") for path in vendor_spec_document("slack")["paths"]}

    assert set(SERVED) == bundled
