"""Slack's bot token through the generic OAuth flow ('Connect to Slack', Slack's OAuth v2):
the admin's connect and callback against the fake Slack's authorize page and oauth.v2.access,
the token used by deliveries, Slack's HTTP 200 refusals, and token rotation (renewed before it
expires, and once more when Slack calls it expired)."""

import time
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.contrib import messages
from django.contrib.messages import get_messages
from django.urls import reverse

from integrations.auth.views import SESSION_KEY
from integrations.connectors.errors import ErrorClass
from integrations.models import EventType, TenantIntegration
from integrations.services import integration_connector
from tests.factories import WorkItemFactory
from tests.fakes.slack import BOT_TOKEN, CHANNEL_ID, CLIENT_ID, CLIENT_SECRET, REDIRECT_URL
from tests.integrations.connectors.delivery import deliver, last_attempt
from tests.integrations.connectors.slack.conftest import slack_integration

CALLBACK = "/integrations/oauth/slack/callback/"
ACCESS = "/api/oauth.v2.access"
POST = "/api/chat.postMessage"


@pytest.fixture(autouse=True)
def fieldhook_url(settings):
    settings.FIELDHOOK_BASE_URL = "https://fieldhook.example.com"


@pytest.fixture
def oauth_integration(tenant):
    return slack_integration(
        tenant,
        name="Slack OAuth",
        config={"mode": "bot_oauth", "channel": CHANNEL_ID, "oauth_client_id": CLIENT_ID},
        secrets={"oauth_client_secret": CLIENT_SECRET},
    )


def change_url(integration) -> str:
    return reverse("admin:integrations_tenantintegration_change", args=[integration.pk])


def connect_url(integration) -> str:
    return reverse("admin:integrations_tenantintegration_oauth_connect", args=[integration.pk])


def shown(response) -> list[tuple[int, str]]:
    return [(message.level, str(message)) for message in get_messages(response.wsgi_request)]


def connect(client, integration, fake_slack, *, code: str | None = None):
    """Click 'Connect to Slack', 'Allow' on Slack's page, and follow the redirect back."""
    started = client.post(connect_url(integration))
    assert started.status_code == 302, started
    state = dict(parse_qsl(urlsplit(started.url).query))["state"]
    return client.get(CALLBACK, {"code": code or fake_slack.approve(started.url), "state": state})


def stored(integration) -> TenantIntegration:
    return TenantIntegration.objects.get(pk=integration.pk)


# --- Connecting -----------------------------------------------------------------------------


def test_the_change_page_offers_to_connect_a_bot_that_uses_oauth(owner_client, oauth_integration):
    page = owner_client.get(change_url(oauth_integration))

    assert '<button type="submit" class="oauth-connect">Connect to Slack</button>' in page.text
    assert "OAuth: not connected — use &#x27;Connect to Slack&#x27;" in page.text


def test_a_pasted_bot_token_is_not_connected_with_oauth(owner_client, bot_integration):
    page = owner_client.get(change_url(bot_integration))

    assert "Connect to Slack</button>" not in page.text
    assert "Bot token (pasted)" in page.text


def test_connect_sends_the_browser_to_slacks_authorize_page_with_the_bot_scopes(owner_client, oauth_integration):
    response = owner_client.post(connect_url(oauth_integration))

    parts = urlsplit(response.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://slack.com/oauth/v2/authorize"
    params = dict(parse_qsl(parts.query))
    assert params["client_id"] == CLIENT_ID
    assert params["scope"] == "chat:write,reactions:write,channels:history,channels:read"
    assert params["redirect_uri"] == REDIRECT_URL
    assert params["state"] in owner_client.session[SESSION_KEY]
    assert "code_challenge" not in params


def test_the_callback_trades_the_code_for_the_bot_token_without_pkce(owner_client, oauth_integration, fake_slack):
    response = connect(owner_client, oauth_integration, fake_slack)

    (request,) = fake_slack.calls(ACCESS)
    assert request.form() == {
        "grant_type": "authorization_code",
        "code": request.form()["code"],
        "redirect_uri": REDIRECT_URL,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    assert shown(response) == [(messages.SUCCESS, "Connected to Slack as fieldhook in Acme Repairs.")]
    integration = stored(oauth_integration)
    token = integration.secrets["oauth_access_token"]
    assert token.startswith("xoxb-")
    assert token not in integration.secrets_encrypted
    assert [integration.secrets.get(name) for name in ("oauth_refresh_token", "oauth_expires_at")] == [None, None]
    assert integration.config["oauth_connected_as"] == "fieldhook in Acme Repairs"


def test_the_change_page_shows_the_connected_bot_and_workspace(owner_client, oauth_integration, fake_slack):
    connect(owner_client, oauth_integration, fake_slack)

    page = owner_client.get(change_url(oauth_integration))

    assert "OAuth: connected as fieldhook in Acme Repairs, token without an expiry date" in page.text
    assert stored(oauth_integration).secrets["oauth_access_token"] not in page.text


def test_slacks_http_200_refusal_of_a_code_is_reported_with_its_error_string(
    owner_client, oauth_integration, fake_slack
):
    """Found while adding Slack: its token endpoint answers errors with HTTP 200 and `ok: false`,
    which the generic flow took for an answer without a token ("answered without an access token")."""
    response = connect(owner_client, oauth_integration, fake_slack, code="stale.code")

    [(level, text)] = shown(response)
    assert level == messages.ERROR
    assert text == (
        "Connecting to Slack failed: Slack refused the authorization code (invalid_code); check the OAuth client "
        "id, secret and redirect URI, then connect again. Nothing was stored."
    )
    assert stored(oauth_integration).secrets == {"oauth_client_secret": CLIENT_SECRET}


def test_a_wrong_client_secret_is_named(owner_client, oauth_integration, fake_slack):
    fake_slack.clients[CLIENT_ID] = "the-real-secret"

    response = connect(owner_client, oauth_integration, fake_slack)

    [(_, text)] = shown(response)
    assert "Slack refused the authorization code (bad_client_secret)" in text
    assert CLIENT_SECRET not in text
    assert "oauth_access_token" not in stored(oauth_integration).secrets


def test_connect_while_the_token_is_pasted_says_to_choose_oauth_first(owner_client, bot_integration):
    response = owner_client.post(connect_url(bot_integration))

    assert response.url == change_url(bot_integration)
    assert shown(response) == [
        (messages.ERROR, "Choose OAuth 2 as the authentication method and save before connecting to Slack.")
    ]


# --- Delivering with the token ----------------------------------------------------------------


def test_deliveries_post_with_the_token_the_flow_obtained(owner_client, oauth_integration, fake_slack):
    connect(owner_client, oauth_integration, fake_slack)
    WorkItemFactory(tenant=oauth_integration.tenant, description="Cracked screen")

    sync = deliver(stored(oauth_integration), EventType.WORKITEM_CREATED)

    assert sync.status == "synced", sync.last_error
    (request,) = fake_slack.calls(POST)
    assert request.headers["Authorization"] == f"Bearer {stored(oauth_integration).secrets['oauth_access_token']}"
    assert request.headers["Authorization"] != f"Bearer {BOT_TOKEN}"


def test_a_delivery_before_connecting_fails_saying_how_to_connect(oauth_integration, fake_slack):
    WorkItemFactory(tenant=oauth_integration.tenant)

    sync = deliver(oauth_integration, EventType.WORKITEM_CREATED)

    assert sync.status == "failed"
    assert sync.last_error == "Slack OAuth is not connected: use 'Connect to Slack' on the integration's admin page."
    assert fake_slack.calls(POST) == []


def test_a_revoked_oauth_token_says_to_connect_again(owner_client, oauth_integration, fake_slack):
    connect(owner_client, oauth_integration, fake_slack)
    fake_slack.tokens.clear()
    WorkItemFactory(tenant=oauth_integration.tenant)

    sync = deliver(stored(oauth_integration), EventType.WORKITEM_CREATED)

    assert (sync.status, last_attempt(sync).error_class) == ("failed", ErrorClass.AUTH)
    assert sync.last_error == (
        "Slack refused chat.postMessage (invalid_auth): the bot token is not valid: use 'Connect to Slack' on the "
        "integration's page again."
    )


# --- Token rotation -----------------------------------------------------------------------------


@pytest.fixture
def rotating(fake_slack):
    fake_slack.rotation = True
    return fake_slack


def test_with_token_rotation_the_refresh_token_and_expiry_are_stored(owner_client, oauth_integration, rotating):
    connect(owner_client, oauth_integration, rotating)

    secrets = stored(oauth_integration).secrets
    assert secrets["oauth_access_token"].startswith("xoxe.xoxb-")
    assert secrets["oauth_refresh_token"].startswith("xoxe-1-")
    assert time.time() + 11 * 3600 < secrets["oauth_expires_at"] <= time.time() + 12 * 3600
    page = owner_client.get(change_url(oauth_integration))
    assert "OAuth: connected as fieldhook in Acme Repairs, token valid until" in page.text


def expire_soon(integration) -> None:
    """The stored token is a few seconds from its expiry (Slack's token still works)."""
    integration = stored(integration)
    integration.secrets = {**integration.secrets, "oauth_expires_at": time.time() + 5}
    integration.save()


def test_a_token_about_to_expire_is_renewed_before_the_delivery(owner_client, oauth_integration, rotating):
    connect(owner_client, oauth_integration, rotating)
    first = stored(oauth_integration).secrets
    expire_soon(oauth_integration)
    WorkItemFactory(tenant=oauth_integration.tenant)

    sync = deliver(stored(oauth_integration), EventType.WORKITEM_CREATED)

    assert sync.status == "synced", sync.last_error
    refresh = rotating.calls(ACCESS)[-1].form()
    assert (refresh["grant_type"], refresh["refresh_token"]) == ("refresh_token", first["oauth_refresh_token"])
    renewed = stored(oauth_integration).secrets
    assert renewed["oauth_access_token"] != first["oauth_access_token"]
    assert renewed["oauth_refresh_token"] != first["oauth_refresh_token"]
    (post,) = rotating.calls(POST)
    assert post.headers["Authorization"] == f"Bearer {renewed['oauth_access_token']}"


def test_a_token_slack_calls_expired_is_renewed_once_and_the_post_sent_again(owner_client, oauth_integration, rotating):
    connect(owner_client, oauth_integration, rotating)
    first = stored(oauth_integration).secrets["oauth_access_token"]
    rotating.expires[first] = 0  # Slack's clock says it expired, ours does not yet
    WorkItemFactory(tenant=oauth_integration.tenant)

    sync = deliver(stored(oauth_integration), EventType.WORKITEM_CREATED)

    assert sync.status == "synced", sync.last_error
    expired, posted = rotating.calls(POST)
    assert expired.headers["Authorization"] == f"Bearer {first}"
    assert posted.headers["Authorization"] == f"Bearer {stored(oauth_integration).secrets['oauth_access_token']}"
    assert len(rotating.messages) == 1


def test_a_refused_refresh_token_is_a_permanent_auth_error(owner_client, oauth_integration, rotating):
    """Found while adding Slack: Slack refuses a spent or revoked refresh token with HTTP 200,
    which the generic refresh took for a server fault and retried for hours."""
    connect(owner_client, oauth_integration, rotating)
    rotating.refresh_tokens.clear()
    expire_soon(oauth_integration)
    WorkItemFactory(tenant=oauth_integration.tenant)

    sync = deliver(stored(oauth_integration), EventType.WORKITEM_CREATED)

    assert (sync.status, last_attempt(sync).error_class) == ("failed", ErrorClass.AUTH)
    assert sync.last_error == ("Slack refused the refresh token (access revoked?): reconnect with 'Connect to Slack'.")
    assert rotating.calls(POST) == []


def test_a_refresh_slack_cannot_answer_now_is_retried(owner_client, oauth_integration, rotating):
    connect(owner_client, oauth_integration, rotating)
    expire_soon(oauth_integration)
    rotating.fail_next(ACCESS, error="ratelimited", status=429, **{"Retry-After": "20"})
    WorkItemFactory(tenant=oauth_integration.tenant)

    sync = deliver(stored(oauth_integration), EventType.WORKITEM_CREATED)

    assert (sync.status, last_attempt(sync).error_class) == ("pending", ErrorClass.RATE_LIMITED)


# --- The settings form ----------------------------------------------------------------------------


def oauth_form(tenant, **config) -> dict:
    return {
        "tenant": tenant.pk,
        "name": "Slack",
        "integration_type": "slack",
        "event_types": [EventType.WORKITEM_CREATED],
        "is_active": "on",
        "max_attempts": "8",
        "retry_backoff_seconds": "600",
        "cfg_mode": "bot_oauth",
        "cfg_api_url": "https://slack.com/api",
        **{f"cfg_{name}": value for name, value in config.items()},
    }


def test_oauth_needs_the_apps_client_credentials_and_a_channel_but_no_token(superuser_client, tenant):
    response = superuser_client.post(reverse("admin:integrations_tenantintegration_add"), oauth_form(tenant))

    assert response.context["adminform"].form.errors == {
        "cfg_channel": ["Enter the channel the bot posts to (its ID, e.g. C0123ABCD, or its name)."],
        "cfg_oauth_client_id": ["OAuth needs your Slack app's Client ID and Client Secret (Basic Information)."],
        "cfg_oauth_client_secret": ["OAuth needs your Slack app's Client ID and Client Secret (Basic Information)."],
    }


def test_an_oauth_integration_is_saved_with_its_client_secret_encrypted(superuser_client, tenant):
    data = oauth_form(tenant, channel="#repairs", oauth_client_id=CLIENT_ID, oauth_client_secret=CLIENT_SECRET)

    response = superuser_client.post(reverse("admin:integrations_tenantintegration_add"), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    integration = TenantIntegration.objects.get(tenant=tenant, name="Slack")
    assert integration.config["mode"] == "bot_oauth"
    assert integration.secrets == {"oauth_client_secret": CLIENT_SECRET}
    assert integration_connector(integration=integration).uses_oauth()
