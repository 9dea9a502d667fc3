"""The bundled Zulip spec still judges: with its security requirement fixed it accepts what the
connector sends, refuses a request without credentials (it would not as published), refuses
a bare channel name in `to` (a JSON-encoded one is what we send), and covers every endpoint
the fake serves."""

import base64
import json
from urllib.parse import urlencode

from requests.structures import CaseInsensitiveDict

from tests.contracts.openapi import vendor_spec, vendor_spec_document
from tests.fakes.served import FakeRequest, spec_problems
from tests.fakes.zulip import API_KEY, BOT_EMAIL, PARAMETERS, SITE_URL, zulip_spec

API = f"{SITE_URL}/api/v1"
MESSAGE = {"type": "stream", "to": json.dumps("repairs"), "topic": "RMA-1: Cracked screen", "content": "Hi"}


def request(method: str, path: str, *, form=None, query=None, auth: bool = True) -> FakeRequest:
    headers = CaseInsensitiveDict()
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{BOT_EMAIL}:{API_KEY}".encode()).decode()
    if form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    url = API + path + (f"?{urlencode(query)}" if query else "")
    return FakeRequest(method, url, headers, urlencode(form).encode() if form is not None else b"")


def test_it_accepts_the_message_the_connector_sends():
    assert spec_problems(zulip_spec(API), request("POST", "/messages", form=MESSAGE)) == []


def test_it_refuses_a_message_without_credentials_once_fixed():
    unfixed = vendor_spec("zulip", server=API)

    assert spec_problems(unfixed, request("POST", "/messages", form=MESSAGE, auth=False)) == []
    assert spec_problems(zulip_spec(API), request("POST", "/messages", form=MESSAGE, auth=False)) != []


def test_it_refuses_a_bare_channel_name():
    assert spec_problems(zulip_spec(API), request("POST", "/messages", form={**MESSAGE, "to": "repairs"})) != []


def test_it_refuses_subscriptions_that_are_not_json():
    found = spec_problems(
        zulip_spec(API), request("POST", "/users/me/subscriptions", form={"subscriptions": "repairs"})
    )

    assert found != []


def test_it_accepts_the_search_for_an_earlier_message():
    narrow = json.dumps([{"operator": "stream", "operand": "repairs"}, {"operator": "topic", "operand": "RMA-1"}])
    query = {"anchor": "newest", "num_before": "50", "num_after": "0", "narrow": narrow, "apply_markdown": "false"}

    assert spec_problems(zulip_spec(API), request("GET", "/messages", query=query)) == []


def test_every_endpoint_the_fake_serves_is_in_the_bundle():
    bundled = {
        (method.upper(), path.replace("{message_id}", "{id}"))
        for path, item in vendor_spec_document("zulip")["paths"].items()
        for method in item
        if method in ("get", "post")
    }

    assert set(PARAMETERS) == bundled
