"""The generic OAuth 2 client (authorization code + PKCE, refresh), driven by the OpenProject
connector's endpoints against its Doorkeeper token endpoint, faked with `responses`; and the
connector using it to renew a token."""

import base64
import hashlib
import re
import time
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import requests
import responses

from integrations.auth import oauth
from integrations.connectors.base import OAuthEndpoints
from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.services import integration_connector
from tests.factories import TenantIntegrationFactory

BASE_URL = "https://openproject.example.com"
TOKEN_URL = f"{BASE_URL}/oauth/token"
REDIRECT_URI = "https://fieldhook.example.com/integrations/oauth/openproject/callback/"
CLIENT_ID = "op-client-id-4b1d"
CLIENT_SECRET = "op-client-secret-9e2f"
OLD_REFRESH_TOKEN = "old-refresh-token-3333"
REFRESH_REFUSED = "OpenProject refused the refresh token (access revoked?): reconnect with 'Connect to OpenProject'."


@pytest.fixture
def openproject():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def connector(tenant):
    """An OpenProject integration set up for OAuth, holding a refresh token."""
    integration = TenantIntegrationFactory(
        tenant=tenant,
        integration_type="openproject",
        config={"base_url": BASE_URL, "project": "repairs", "auth_method": "oauth2", "oauth_client_id": CLIENT_ID},
        secrets={"oauth_client_secret": CLIENT_SECRET, "oauth_refresh_token": OLD_REFRESH_TOKEN},
    )
    return integration_connector(integration=integration)


def token_answer(**overrides) -> dict:
    answer = {
        "access_token": "new-access-token-1111",
        "token_type": "Bearer",
        "expires_in": 7200,
        "refresh_token": "new-refresh-token-2222",
        "scope": "api_v3",
        "created_at": 1700000000,
    }
    answer.update(overrides)
    return {name: value for name, value in answer.items() if value is not None}


def form_of(call) -> dict[str, str]:
    return dict(parse_qsl(call.request.body))


def exchange(connector) -> dict:
    return oauth.code_exchange(
        connector=connector, code="auth-code-77", redirect_uri=REDIRECT_URI, code_verifier="v" * 64
    )


def refresh(connector) -> dict:
    """Refresh the connector's tokens; the secrets it stored afterwards."""
    oauth.tokens_refresh(connector)
    return connector.stored_secrets()


# --- PKCE and the authorization URL ---------------------------------------------------------


def test_the_pkce_challenge_is_the_unpadded_base64url_sha256_of_the_verifier():
    verifier, challenge = oauth.pkce_pair()

    assert re.fullmatch(r"[A-Za-z0-9_-]{64}", verifier)
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert challenge == expected
    assert "=" not in challenge


def test_the_s256_challenge_matches_the_rfc_7636_example():
    assert oauth.s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == (
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_every_pkce_pair_is_new():
    assert oauth.pkce_pair()[0] != oauth.pkce_pair()[0]


def test_the_authorization_url_asks_openproject_for_a_code_with_pkce():
    url = oauth.authorization_url(
        endpoints=OAuthEndpoints(f"{BASE_URL}/oauth/authorize", TOKEN_URL, "api_v3"),
        client_id=CLIENT_ID,
        redirect_uri=REDIRECT_URI,
        state="state-abc",
        code_challenge="challenge-xyz",
    )

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{BASE_URL}/oauth/authorize"
    assert parse_qs(parts.query) == {
        "response_type": ["code"],
        "client_id": [CLIENT_ID],
        "redirect_uri": [REDIRECT_URI],
        "scope": ["api_v3"],
        "state": ["state-abc"],
        "code_challenge": ["challenge-xyz"],
        "code_challenge_method": ["S256"],
    }


def test_the_authorization_url_of_a_tool_without_pkce_carries_no_challenge():
    url = oauth.authorization_url(
        endpoints=OAuthEndpoints(f"{BASE_URL}/oauth/authorize", TOKEN_URL, "api_v3", pkce=False),
        client_id=CLIENT_ID,
        redirect_uri=REDIRECT_URI,
        state="state-abc",
        code_challenge="challenge-xyz",
    )

    assert set(parse_qs(urlsplit(url).query)) == {"response_type", "client_id", "redirect_uri", "scope", "state"}


# --- Exchanging the code ----------------------------------------------------------------------


def test_exchanging_a_code_posts_the_form_with_the_verifier(openproject, connector):
    openproject.post(TOKEN_URL, json=token_answer())

    exchange(connector)

    request = openproject.calls[0].request
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form_of(openproject.calls[0]) == {
        "grant_type": "authorization_code",
        "code": "auth-code-77",
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "code_verifier": "v" * 64,
    }


def test_exchanged_tokens_come_back_in_the_secrets_layout(openproject, connector):
    openproject.post(TOKEN_URL, json=token_answer())
    before = time.time()

    tokens = exchange(connector)

    assert set(tokens) == {"oauth_access_token", "oauth_refresh_token", "oauth_expires_at"}
    assert tokens["oauth_access_token"] == "new-access-token-1111"
    assert tokens["oauth_refresh_token"] == "new-refresh-token-2222"
    assert before + 7200 <= tokens["oauth_expires_at"] <= time.time() + 7200


def test_a_token_without_expiry_has_no_expiry_time(openproject, connector):
    openproject.post(TOKEN_URL, json=token_answer(expires_in=None))

    assert exchange(connector)["oauth_expires_at"] is None


def test_a_refused_code_is_a_permanent_auth_error_with_the_tools_reason(openproject, connector):
    openproject.post(
        TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": "The provided authorization grant is invalid."},
    )

    with pytest.raises(ConnectorError) as raised:
        exchange(connector)

    error = raised.value
    assert (error.permanent, error.error_class, error.status_code) == (True, ErrorClass.AUTH, 400)
    assert error.message.startswith(
        "OpenProject refused the authorization code (invalid_grant: The provided authorization grant is invalid);"
    )


def test_an_answer_without_an_access_token_is_an_error(openproject, connector):
    openproject.post(TOKEN_URL, json={"token_type": "Bearer"})

    with pytest.raises(ConnectorError, match="without an access token"):
        exchange(connector)


# --- Refreshing ----------------------------------------------------------------------------


def test_a_refresh_posts_the_refresh_token_with_the_client_credentials(openproject, connector):
    openproject.post(TOKEN_URL, json=token_answer())

    tokens = refresh(connector)

    assert form_of(openproject.calls[0]) == {
        "grant_type": "refresh_token",
        "refresh_token": OLD_REFRESH_TOKEN,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    assert tokens["oauth_access_token"] == "new-access-token-1111"
    assert tokens["oauth_refresh_token"] == "new-refresh-token-2222"
    assert tokens["oauth_expires_at"] > time.time() + 7000


def test_a_refresh_keeps_the_old_refresh_token_when_the_tool_returns_none(openproject, connector):
    openproject.post(TOKEN_URL, json=token_answer(refresh_token=None))

    assert refresh(connector)["oauth_refresh_token"] == OLD_REFRESH_TOKEN


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"error": "invalid_grant", "error_description": "The provided authorization grant is invalid."}),
        (401, {"error": "invalid_client", "error_description": "Client authentication failed."}),
        (403, {}),
    ],
    ids=["invalid-grant", "invalid-client", "forbidden"],
)
def test_a_refused_refresh_token_is_a_permanent_auth_error(openproject, connector, status, body):
    openproject.post(TOKEN_URL, status=status, json=body)

    with pytest.raises(ConnectorError) as raised:
        refresh(connector)

    error = raised.value
    assert (error.message, error.permanent, error.error_class) == (REFRESH_REFUSED, True, ErrorClass.AUTH)
    assert error.status_code == status
    assert OLD_REFRESH_TOKEN not in error.response_excerpt


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_during_a_refresh_is_retried_later(openproject, connector, status):
    openproject.post(TOKEN_URL, status=status, body="Service unavailable")

    with pytest.raises(ConnectorError) as raised:
        refresh(connector)

    assert (raised.value.permanent, raised.value.error_class) == (False, ErrorClass.SERVER)


def test_rate_limiting_during_a_refresh_is_retried_after_the_pause(openproject, connector):
    openproject.post(TOKEN_URL, status=429, headers={"Retry-After": "30"})

    with pytest.raises(ConnectorError) as raised:
        refresh(connector)

    error = raised.value
    assert (error.permanent, error.error_class, error.retry_after) == (False, ErrorClass.RATE_LIMITED, 30.0)


def test_a_timeout_during_a_refresh_is_retried_later(openproject, connector):
    openproject.post(TOKEN_URL, body=requests.ReadTimeout("read timed out"))

    with pytest.raises(ConnectorError) as raised:
        refresh(connector)

    assert (raised.value.permanent, raised.value.error_class) == (False, ErrorClass.TIMEOUT)


# --- The connector renewing its token --------------------------------------------------------


def test_the_connector_renews_an_expired_token_and_stores_the_new_ones_encrypted(openproject, tenant):
    integration = TenantIntegrationFactory(
        tenant=tenant,
        integration_type="openproject",
        config={"base_url": BASE_URL, "project": "repairs", "auth_method": "oauth2", "oauth_client_id": CLIENT_ID},
        secrets={
            "oauth_client_secret": CLIENT_SECRET,
            "oauth_access_token": "expired-access-token",
            "oauth_refresh_token": OLD_REFRESH_TOKEN,
            "oauth_expires_at": time.time() - 10,
        },
    )
    openproject.post(TOKEN_URL, json=token_answer(refresh_token=None))

    authorization = integration_connector(integration=integration).api.authorization()

    assert authorization == "Bearer new-access-token-1111"
    assert form_of(openproject.calls[0])["refresh_token"] == OLD_REFRESH_TOKEN
    integration.refresh_from_db()
    stored = integration.secrets
    assert stored["oauth_access_token"] == "new-access-token-1111"
    assert stored["oauth_refresh_token"] == OLD_REFRESH_TOKEN
    assert stored["oauth_client_secret"] == CLIENT_SECRET
    assert "new-access-token-1111" not in integration.secrets_encrypted
