"""docs/n8n.md's Code node recipe, run with Node against real signed deliveries: it passes
what Fieldhook signed and stops anything else. Skipped only where Node is not installed."""

import base64
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from integrations.connectors.webhook.connector import standard_webhooks_signature
from tests.factories import TenantIntegrationFactory, WorkItemFactory
from tests.integrations.conftest import RECEIVER_URL

ROOT = Path(__file__).resolve().parents[2]
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PLACEHOLDER = "whsec_PASTE_YOUR_SIGNING_SECRET_HERE"
NODE = shutil.which("node")

# n8n runs a Code node's JavaScript as the body of an async function, with `$input` and
# `this.helpers`; this harness does the same with one Webhook node item read from stdin.
HARNESS = """
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const item = { json: { headers: input.headers, params: {}, query: {}, body: input.body } };
if (input.raw !== null) item.binary = { data: { mimeType: 'application/json', data: input.raw } };
const $input = { all: () => [item], first: () => item };
const helpers = { getBinaryDataBuffer: async (index, name) => Buffer.from([item][index].binary[name].data, 'base64') };
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
const recipe = new AsyncFunction('$input', 'require', RECIPE);
recipe.call({ helpers }, $input, require).then(
  (output) => console.log(JSON.stringify({ ok: true, output })),
  (error) => console.log(JSON.stringify({ ok: false, error: error.message })),
);
"""

pytestmark = pytest.mark.skipif(NODE is None, reason="Node is not installed")


def recipe() -> str:
    text = (ROOT / "docs" / "n8n.md").read_text()
    match = re.search(r"<!-- recipe: verify-signature.*?-->\n```javascript\n(.*?)```", text, re.DOTALL)
    assert match, "docs/n8n.md lost its recipe block"
    code = match.group(1)
    assert PLACEHOLDER in code
    return code.replace(PLACEHOLDER, SECRET)


def run_recipe(*, headers: dict[str, str], body: bytes, raw: bool = True) -> dict:
    """What the Code node does with this delivery, as n8n's Webhook node hands it over."""
    item = {
        "headers": {name.lower(): value for name, value in headers.items()},
        "body": json.loads(body),
        "raw": base64.b64encode(body).decode() if raw else None,
    }
    script = HARNESS.replace("RECIPE", json.dumps(recipe()))
    result = subprocess.run(
        [NODE, "-e", script], input=json.dumps(item), capture_output=True, text=True, timeout=30, check=True
    )
    return json.loads(result.stdout)


@pytest.fixture
def delivery(tenant, receiver, committed) -> tuple[dict[str, str], bytes]:
    """A real signed delivery of the webhook connector: its headers and body."""
    TenantIntegrationFactory(
        tenant=tenant, config={"url": RECEIVER_URL, "sign": True}, secrets={"signing_secret": SECRET}
    )
    with committed():
        WorkItemFactory(tenant=tenant, description="Café ☕ screen", comments="line one\nline two \u2028 end")
    request = receiver.calls[0].request
    return dict(request.headers), request.body


def test_a_signed_delivery_passes_and_becomes_the_event(delivery):
    headers, body = delivery

    result = run_recipe(headers=headers, body=body)

    assert result == {"ok": True, "output": [{"json": json.loads(body)}]}


def test_without_raw_body_the_parsed_json_is_checked(delivery):
    headers, body = delivery

    result = run_recipe(headers=headers, body=body, raw=False)

    assert result["ok"] is True


def test_a_changed_body_is_refused(delivery):
    headers, body = delivery

    result = run_recipe(headers=headers, body=body.replace(b"screen", b"SCREEN"))

    assert result["ok"] is False
    assert "Invalid webhook-signature" in result["error"]


def test_another_secret_is_refused(delivery):
    headers, body = delivery
    other = "whsec_" + base64.b64encode(b"another secret of 32 bytes long!").decode()
    headers = {**headers, "webhook-signature": standard_webhooks_signature(
        secret=other, msg_id=headers["webhook-id"], timestamp=int(headers["webhook-timestamp"]), body=body
    )}  # fmt: skip

    assert run_recipe(headers=headers, body=body)["ok"] is False


def test_an_old_delivery_is_refused_even_when_correctly_signed(delivery):
    headers, body = delivery
    old = int(time.time()) - 3600
    headers = {
        **headers,
        "webhook-timestamp": str(old),
        "webhook-signature": standard_webhooks_signature(
            secret=SECRET, msg_id=headers["webhook-id"], timestamp=old, body=body
        ),
    }

    result = run_recipe(headers=headers, body=body)

    assert result["ok"] is False
    assert "refused" in result["error"]


def test_one_valid_signature_among_several_is_enough(delivery):
    headers, body = delivery
    headers = {**headers, "webhook-signature": f"v1,bm90LXRoaXMtb25l {headers['webhook-signature']}"}

    assert run_recipe(headers=headers, body=body)["ok"] is True


def test_an_unsigned_delivery_is_refused(delivery):
    headers, body = delivery
    headers = {name: value for name, value in headers.items() if name != "webhook-signature"}

    result = run_recipe(headers=headers, body=body)

    assert (result["ok"], "header is missing" in result["error"]) == (False, True)
