"""'Connect to OpenProject' in the admin: the start (state and PKCE verifier in the session),
the callback (state checked, code exchanged, tokens stored encrypted, the user's name shown),
and what the change page shows. OpenProject's /oauth/token and /api/v3/users/me are faked
with `responses`; Acme's owner is a staff tenant admin, Globex belongs to the outsider."""

import re
import time
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import responses
from django.contrib import messages
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.auth import oauth
from integrations.auth.views import SESSION_KEY, STATE_TTL_SECONDS
from integrations.models import TenantIntegration
from tests.factories import TenantIntegrationFactory
from tests.helpers import logged_in, staff

BASE_URL = "https://openproject.example.com"
FIELDHOOK = "https://fieldhook.example.com"
CALLBACK = "/integrations/oauth/openproject/callback/"
CLIENT_ID = "op-client-id-4b1d"
CLIENT_SECRET = "op-client-secret-9e2f"
ACCESS_TOKEN = "op-access-token-5a5a5a"
REFRESH_TOKEN = "op-refresh-token-6b6b6b"
WEBHOOK_SECRET = "op-webhook-secret-7c7c"


@pytest.fixture(autouse=True)
def fieldhook_url(settings):
    settings.FIELDHOOK_BASE_URL = FIELDHOOK


@pytest.fixture
def openproject():
    with responses.RequestsMock() as mock:
        yield mock


def openproject_integration(tenant, *, name="OpenProject", **config) -> TenantIntegration:
    return TenantIntegrationFactory(
        tenant=tenant,
        name=name,
        integration_type="openproject",
        config={
            "base_url": BASE_URL,
            "project": "repairs",
            "type_id": 1,
            "auth_method": "oauth2",
            "oauth_client_id": CLIENT_ID,
            "poll_enabled": True,
            "poll_interval_seconds": 300,
            **config,
        },
        secrets={"oauth_client_secret": CLIENT_SECRET, "webhook_secret": WEBHOOK_SECRET},
    )


@pytest.fixture
def integration(tenant) -> TenantIntegration:
    return openproject_integration(tenant)


@pytest.fixture
def outsider_client(outsider):
    return logged_in(staff(outsider))


def change_url(integration) -> str:
    return reverse("admin:integrations_tenantintegration_change", args=[integration.pk])


def connect_url(integration) -> str:
    return reverse("admin:integrations_tenantintegration_oauth_connect", args=[integration.pk])


def start(client, integration) -> dict[str, str]:
    """Start the flow; returns the authorize URL's query parameters."""
    response = client.post(connect_url(integration))
    assert response.status_code == 302, response
    return {name: values[0] for name, values in parse_qs(urlsplit(response.url).query).items()}


def fake_token_endpoint(openproject, **answer):
    body = {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 7200, "refresh_token": REFRESH_TOKEN}
    openproject.post(f"{BASE_URL}/oauth/token", json={**body, **answer})


def fake_me(openproject, *, status=200, name="Ana Admin"):
    openproject.get(f"{BASE_URL}/api/v3/users/me", status=status, json={"_type": "User", "id": 5, "name": name})


def shown(response) -> list[tuple[int, str]]:
    return [(message.level, str(message)) for message in get_messages(response.wsgi_request)]


def assert_nothing_stored(integration):
    stored = TenantIntegration.objects.get(pk=integration.pk)
    assert stored.secrets == {"oauth_client_secret": CLIENT_SECRET, "webhook_secret": WEBHOOK_SECRET}
    assert "oauth_connected_as" not in stored.config


# --- The change page ------------------------------------------------------------------------


def test_the_change_page_offers_to_connect_an_oauth_integration(owner_client, integration):
    response = owner_client.get(change_url(integration))

    assert response.status_code == 200
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', response.text, re.DOTALL)
    assert form.group(1) == connect_url(integration)
    assert 'name="csrfmiddlewaretoken"' in form.group(2)
    assert '<button type="submit" class="oauth-connect">Connect to OpenProject</button>' in form.group(2)
    assert "OAuth: not connected — use &#x27;Connect to OpenProject&#x27;" in response.text


def test_the_change_page_of_an_api_key_integration_offers_no_connect(owner_client, tenant):
    integration = openproject_integration(tenant, auth_method="api_key_basic")

    response = owner_client.get(change_url(integration))

    assert "Connect to OpenProject</button>" not in response.text
    assert "API key (Basic)" in response.text


def test_the_connection_field_sits_in_the_settings_of_an_openproject_integration(owner_client, integration):
    response = owner_client.get(change_url(integration))

    fieldsets = dict(response.context["adminform"].model_admin.get_fieldsets(response.wsgi_request, integration))
    assert fieldsets["Settings: OpenProject"]["fields"][0] == "connection"


def test_a_webhook_integration_shows_no_connection_or_poll_fields(owner_client, tenant):
    webhook = TenantIntegrationFactory(tenant=tenant, name="n8n")

    response = owner_client.get(change_url(webhook))

    assert response.status_code == 200
    assert "Connect to OpenProject" not in response.text
    assert "field-connection" not in response.text
    assert "field-last_poll_result" not in response.text


def test_the_health_fieldset_shows_the_last_poll(owner_client, integration):
    TenantIntegration.objects.filter(pk=integration.pk).update(
        last_polled_at=timezone.now(), last_poll_result="Checked 3 linked work packages: 1 changed."
    )

    response = owner_client.get(change_url(integration))

    fieldsets = dict(response.context["adminform"].model_admin.get_fieldsets(response.wsgi_request, integration))
    assert fieldsets["Health"]["fields"][-2:] == ["last_polled_at", "last_poll_result"]
    assert "Checked 3 linked work packages: 1 changed." in response.text


# --- Starting the flow ----------------------------------------------------------------------


def test_connect_sends_the_browser_to_openproject_with_state_and_challenge(owner_client, integration):
    response = owner_client.post(connect_url(integration))

    assert response.status_code == 302
    parts = urlsplit(response.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{BASE_URL}/oauth/authorize"
    params = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == FIELDHOOK + CALLBACK
    assert params["scope"] == "api_v3"
    assert params["code_challenge_method"] == "S256"
    integration_id, verifier, created, _token_url = owner_client.session[SESSION_KEY][params["state"]]
    assert integration_id == integration.pk
    assert oauth.s256_challenge(verifier) == params["code_challenge"]
    assert time.time() - created < 5


def test_a_get_does_not_start_the_flow(owner_client, integration):
    response = owner_client.get(connect_url(integration))

    assert response.status_code == 405
    assert SESSION_KEY not in owner_client.session


def test_a_post_without_the_csrf_token_does_not_start_the_flow(owner, integration):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff(owner))

    response = client.post(connect_url(integration))

    assert response.status_code == 403
    assert SESSION_KEY not in client.session


def test_each_connect_gets_its_own_state(owner_client, integration):
    first, second = start(owner_client, integration), start(owner_client, integration)

    assert first["state"] != second["state"]
    assert set(owner_client.session[SESSION_KEY]) == {first["state"], second["state"]}


def test_connect_without_the_oauth_method_explains_what_to_do(owner_client, tenant):
    integration = openproject_integration(tenant, auth_method="api_key_bearer")

    response = owner_client.post(connect_url(integration))

    assert response.status_code == 302
    assert response.url == change_url(integration)
    assert shown(response) == [
        (
            messages.ERROR,
            "Choose OAuth 2 as the authentication method and save before connecting to OpenProject.",
        )
    ]
    assert SESSION_KEY not in owner_client.session


def test_connect_without_a_client_secret_explains_what_to_do(owner_client, tenant):
    integration = openproject_integration(tenant)
    integration.secrets = {}
    integration.save(update_fields=["secrets_encrypted"])

    response = owner_client.post(connect_url(integration))

    assert response.url == change_url(integration)
    [(level, text)] = shown(response)
    assert level == messages.ERROR
    assert text == "Enter the OAuth client id and secret, and save, before connecting to OpenProject."


def test_another_tenants_admin_cannot_start_the_flow(outsider_client, integration):
    response = outsider_client.post(connect_url(integration))

    assert response.status_code == 404
    assert SESSION_KEY not in outsider_client.session


def test_connect_is_refused_for_an_integration_of_another_kind(owner_client, tenant):
    webhook = TenantIntegrationFactory(tenant=tenant, name="n8n")

    assert owner_client.post(connect_url(webhook)).status_code == 404


# --- The callback ---------------------------------------------------------------------------


def test_the_callback_exchanges_the_code_with_the_verifier(owner_client, integration, openproject):
    params = start(owner_client, integration)
    verifier = owner_client.session[SESSION_KEY][params["state"]][1]
    fake_token_endpoint(openproject)
    fake_me(openproject)

    owner_client.get(CALLBACK, {"code": "auth-code-77", "state": params["state"]})

    token_call, me_call = openproject.calls
    assert dict(parse_qsl(token_call.request.body)) == {
        "grant_type": "authorization_code",
        "code": "auth-code-77",
        "redirect_uri": FIELDHOOK + CALLBACK,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "code_verifier": verifier,
    }
    assert me_call.request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"


def test_the_callback_stores_the_tokens_encrypted_and_the_user_name(owner_client, integration, openproject):
    params = start(owner_client, integration)
    fake_token_endpoint(openproject)
    fake_me(openproject)

    response = owner_client.get(CALLBACK, {"code": "auth-code-77", "state": params["state"]})

    assert response.status_code == 302
    assert response.url == change_url(integration)
    assert shown(response) == [(messages.SUCCESS, "Connected to OpenProject as Ana Admin.")]
    integration.refresh_from_db()
    stored = integration.secrets
    assert stored["oauth_access_token"] == ACCESS_TOKEN
    assert stored["oauth_refresh_token"] == REFRESH_TOKEN
    assert stored["oauth_expires_at"] > time.time() + 7000
    assert (stored["oauth_client_secret"], stored["webhook_secret"]) == (CLIENT_SECRET, WEBHOOK_SECRET)
    for token in (ACCESS_TOKEN, REFRESH_TOKEN):
        assert token not in integration.secrets_encrypted
        assert token not in str(integration.config)
    assert integration.config["oauth_connected_as"] == "Ana Admin"
    assert integration.config["project"] == "repairs"


def test_a_callback_after_the_tool_url_changed_sends_the_code_nowhere(owner_client, integration, openproject):
    """Found while making OAuth generic: the code was exchanged at whatever URL was saved by then."""
    params = start(owner_client, integration)
    TenantIntegration.objects.filter(pk=integration.pk).update(
        config={**integration.config, "base_url": "https://elsewhere.example.com"}
    )

    response = owner_client.get(CALLBACK, {"code": "auth-code-77", "state": params["state"]})

    assert shown(response) == [
        (messages.ERROR, "The OpenProject settings changed since you clicked Connect; nothing was stored.")
    ]
    assert len(openproject.calls) == 0
    assert_nothing_stored(integration)


def test_the_change_page_shows_whom_the_integration_is_connected_as(owner_client, integration, openproject):
    params = start(owner_client, integration)
    fake_token_endpoint(openproject)
    fake_me(openproject)
    owner_client.get(CALLBACK, {"code": "auth-code-77", "state": params["state"]})

    page = owner_client.get(change_url(integration))

    assert "OAuth: connected as Ana Admin, token valid until" in page.text
    assert ACCESS_TOKEN not in page.text
    assert REFRESH_TOKEN not in page.text


def test_tokens_are_stored_even_when_the_user_name_cannot_be_read(owner_client, tenant, openproject):
    integration = openproject_integration(tenant, oauth_connected_as="Someone Before")
    params = start(owner_client, integration)
    fake_token_endpoint(openproject)
    fake_me(openproject, status=403)

    response = owner_client.get(CALLBACK, {"code": "auth-code-77", "state": params["state"]})

    assert shown(response) == [(messages.SUCCESS, "Connected to OpenProject (it did not tell us the user's name).")]
    integration.refresh_from_db()
    assert integration.secrets["oauth_access_token"] == ACCESS_TOKEN
    assert "oauth_connected_as" not in integration.config


def test_a_state_is_used_only_once(owner_client, integration, openproject):
    params = start(owner_client, integration)
    fake_token_endpoint(openproject)
    fake_me(openproject)
    owner_client.get(CALLBACK, {"code": "auth-code-77", "state": params["state"]})

    again = owner_client.get(CALLBACK, {"code": "auth-code-77", "state": params["state"]})

    assert again.status_code == 400
    assert len(openproject.calls) == 2


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ({"code": "auth-code-77", "state": "forged-state"}, "does not match a connection started in this browser"),
        ({"code": "auth-code-77"}, "carries no state"),
    ],
    ids=["wrong-state", "missing-state"],
)
def test_a_callback_without_a_known_state_is_refused(owner_client, integration, openproject, query, problem):
    start(owner_client, integration)

    response = owner_client.get(CALLBACK, query)

    assert response.status_code == 400
    assert problem in response.text
    assert "Nothing was stored." in response.text
    assert len(openproject.calls) == 0
    assert_nothing_stored(integration)


def test_an_expired_state_is_refused(owner_client, integration, openproject):
    params = start(owner_client, integration)
    session = owner_client.session
    session[SESSION_KEY][params["state"]][2] -= STATE_TTL_SECONDS + 1
    session.save()

    response = owner_client.get(CALLBACK, {"code": "auth-code-77", "state": params["state"]})

    assert response.status_code == 400
    assert "This connection attempt expired (10 minutes)." in response.text
    assert len(openproject.calls) == 0
    assert_nothing_stored(integration)


def test_a_state_from_another_session_is_refused(owner_client, outsider_client, integration, openproject):
    params = start(owner_client, integration)

    response = outsider_client.get(CALLBACK, {"code": "auth-code-77", "state": params["state"]})

    assert response.status_code == 400
    assert len(openproject.calls) == 0
    assert_nothing_stored(integration)


def test_access_denied_in_openproject_is_reported_on_the_change_page(owner_client, integration, openproject):
    params = start(owner_client, integration)

    response = owner_client.get(
        CALLBACK,
        {
            "error": "access_denied",
            "error_description": "The resource owner or authorization server denied the request.",
            "state": params["state"],
        },
    )

    assert response.status_code == 302
    assert response.url == change_url(integration)
    assert shown(response) == [
        (
            messages.ERROR,
            "OpenProject did not grant access (access_denied: The resource owner or authorization server denied "
            "the request); nothing was changed.",
        )
    ]
    assert len(openproject.calls) == 0
    assert_nothing_stored(integration)


def test_a_failed_code_exchange_is_reported_and_stores_nothing(owner_client, integration, openproject):
    params = start(owner_client, integration)
    openproject.post(
        f"{BASE_URL}/oauth/token",
        status=400,
        json={"error": "invalid_grant", "error_description": "The provided authorization grant is invalid."},
    )

    response = owner_client.get(CALLBACK, {"code": "stale-code", "state": params["state"]})

    assert response.url == change_url(integration)
    [(level, text)] = shown(response)
    assert level == messages.ERROR
    assert text.startswith(
        "Connecting to OpenProject failed: OpenProject refused the authorization code (invalid_grant: "
    )
    assert CLIENT_SECRET not in text
    assert_nothing_stored(integration)


def test_the_callback_sends_a_visitor_without_a_staff_login_to_the_admin_login(client, integration):
    response = client.get(CALLBACK, {"code": "auth-code-77", "state": "some-state"})

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login") + "?next=")
    assert_nothing_stored(integration)


def connected_integration(tenant) -> TenantIntegration:
    """An OAuth integration connected as Ana Admin, with tokens stored."""
    integration = openproject_integration(tenant, oauth_connected_as="Ana Admin")
    integration.secrets = {
        **integration.secrets,
        "oauth_access_token": ACCESS_TOKEN,
        "oauth_refresh_token": REFRESH_TOKEN,
        "oauth_expires_at": time.time() + 3600,
    }
    integration.save()
    return integration


def settings_form(tenant, **overrides) -> dict:
    """A POST of the OAuth integration's settings with every secret field left blank."""
    return {
        "tenant": tenant.pk,
        "name": "OpenProject (renamed)",
        "integration_type": "openproject",
        "event_types": ["workitem_created"],
        "is_active": "on",
        "max_attempts": "8",
        "retry_backoff_seconds": "600",
        "cfg_base_url": BASE_URL,
        "cfg_project": "3",
        "cfg_type_id": "1",
        "cfg_auth_method": "oauth2",
        "cfg_oauth_client_id": CLIENT_ID,
        "cfg_status_map-0-key": "Closed",
        "cfg_status_map-0-value": "Closed",
        "cfg_custom_fields": "{}",
        "cfg_assignee_map": "{}",
        "cfg_poll_enabled": "on",
        "cfg_poll_interval_seconds": "300",
        **overrides,
    }


def test_saving_the_settings_keeps_the_oauth_tokens_and_the_connected_account(owner_client, tenant):
    integration = connected_integration(tenant)

    response = owner_client.post(change_url(integration), settings_form(tenant))

    integration.refresh_from_db()
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert integration.name == "OpenProject (renamed)"
    assert integration.secrets["oauth_refresh_token"] == REFRESH_TOKEN
    assert integration.secrets["oauth_client_secret"] == CLIENT_SECRET
    assert integration.config["oauth_connected_as"] == "Ana Admin"


def test_moving_to_a_path_on_the_same_host_keeps_the_tokens(owner_client, tenant):
    integration = connected_integration(tenant)

    response = owner_client.post(change_url(integration), settings_form(tenant, cfg_base_url=BASE_URL + "/openproject"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    integration.refresh_from_db()
    assert integration.config["base_url"] == BASE_URL + "/openproject"
    assert integration.secrets["oauth_access_token"] == ACCESS_TOKEN
    assert integration.config["oauth_connected_as"] == "Ana Admin"


def test_another_host_with_blank_secrets_is_refused_and_keeps_everything(owner_client, tenant):
    integration = connected_integration(tenant)

    response = owner_client.post(
        change_url(integration), settings_form(tenant, cfg_base_url="https://openproject.example.net")
    )

    assert response.status_code == 200
    not_sent = "stored secrets are not sent to a new destination."
    assert response.context["adminform"].form.errors == {
        "cfg_oauth_client_secret": [
            f"The OpenProject URL's host changed: enter the OAuth client secret again; {not_sent}"
        ],
        "cfg_webhook_secret": [f"The OpenProject URL's host changed: enter the Webhook secret again; {not_sent}"],
    }
    stored = TenantIntegration.objects.get(pk=integration.pk)
    assert stored.config["base_url"] == BASE_URL
    assert stored.secrets["oauth_refresh_token"] == REFRESH_TOKEN


def test_another_host_with_the_secrets_entered_again_drops_the_tokens_and_the_account(owner_client, tenant):
    integration = connected_integration(tenant)
    data = settings_form(
        tenant,
        cfg_base_url="https://openproject.example.net",
        cfg_oauth_client_secret="other-client-secret",
        cfg_webhook_secret="other-webhook-secret",
    )

    response = owner_client.post(change_url(integration), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    integration.refresh_from_db()
    assert integration.secrets == {
        "oauth_client_secret": "other-client-secret",
        "webhook_secret": "other-webhook-secret",
    }
    assert "oauth_connected_as" not in integration.config
    page = owner_client.get(change_url(integration))
    assert "OAuth: not connected" in page.text


def test_changing_the_type_drops_every_secret_of_the_old_type(owner_client, tenant):
    integration = connected_integration(tenant)
    data = settings_form(tenant, integration_type="webhook", cfg_url="https://n8n.example.com/webhook/fieldhook")

    response = owner_client.post(change_url(integration), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    integration.refresh_from_db()
    assert integration.integration_type == "webhook"
    assert integration.secrets == {}
    assert integration.config == {
        "url": "https://n8n.example.com/webhook/fieldhook",
        "basic_username": "",
        "sign": False,
    }
