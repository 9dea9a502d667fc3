"""Secrets are scrubbed from recorded text in every encoding a connector sends them in:
raw, inside Basic credentials with any user, base64 (standard, URL-safe, unpadded),
URL-encoded, JSON-escaped — also when an excerpt cuts one off."""

import base64
import json
from urllib.parse import quote, urlencode

import pytest

from integrations.engine.policy import REDACTED, scrub, secret_strings

API_KEY = "op-api-key-5d7e1c"
ODD_PASSWORD = 'p/w+9"d\\8 c&7b=6a'


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def hidden(**secrets) -> list[str]:
    return secret_strings(secrets)


@pytest.mark.parametrize("user", ["apikey", "a", "ab", "fieldhook"])
def test_basic_credentials_holding_a_secret_are_redacted_whatever_the_user(user):
    text = f"Authorization: Basic {b64(f'{user}:{API_KEY}')}"

    assert scrub(text, hidden(api_key=API_KEY)) == f"Authorization: Basic {REDACTED}"


def test_url_safe_unpadded_base64_of_a_secret_is_redacted():
    token = base64.urlsafe_b64encode(f"apikey:{API_KEY}".encode()).decode().rstrip("=")

    assert scrub(f"token={token}.", hidden(api_key=API_KEY)) == f"token={REDACTED}."


def test_base64_glued_to_other_characters_is_redacted():
    text = f"GET /?auth=Basic%20{b64('apikey:' + API_KEY)}"

    assert b64("apikey:" + API_KEY) not in scrub(text, hidden(api_key=API_KEY))


def test_a_url_encoded_secret_is_redacted():
    text = "POST /login " + urlencode({"user": "fieldhook", "password": ODD_PASSWORD})

    scrubbed = scrub(text, hidden(basic_password=ODD_PASSWORD))

    assert quote(ODD_PASSWORD, safe="") not in text  # urlencode uses quote_plus
    assert scrubbed == f"POST /login user=fieldhook&password={REDACTED}"


def test_a_json_escaped_secret_is_redacted():
    text = json.dumps({"error": "bad password", "password": ODD_PASSWORD})

    assert scrub(text, hidden(basic_password=ODD_PASSWORD)) == f'{{"error": "bad password", "password": "{REDACTED}"}}'


def test_basic_credentials_cut_off_at_the_end_of_an_excerpt_are_redacted():
    text = f"echo: Authorization: Basic {b64('apikey:' + API_KEY)}"[:-6]

    assert scrub(text, hidden(api_key=API_KEY), cut=True) == f"echo: Authorization: Basic {REDACTED}"


def test_base64_without_a_secret_is_left_alone():
    text = f"Authorization: Basic {b64('someone:else-entirely')} for work package 12345678"

    assert scrub(text, hidden(api_key=API_KEY), cut=True) == text
