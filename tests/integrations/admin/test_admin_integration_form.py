"""The integration admin: the per-kind settings form, secrets that are never shown back,
tenant scoping, and the "Test connection" and "Send test event" actions.

Acme's owner is a staff tenant admin without Django model permissions; Globex belongs
to the outsider. Receivers are faked with `responses`.
"""

import re

import pytest
import responses
from django.contrib import messages
from django.contrib.messages import get_messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.test import Client
from django.urls import reverse

from integrations.models import EventType, IntegrationSync, TenantIntegration
from tests.factories import TenantIntegrationFactory

CHANGELIST = reverse("admin:integrations_tenantintegration_changelist")
ADD = reverse("admin:integrations_tenantintegration_add")
RECEIVER = "https://n8n.example.com/webhook/fieldhook"
HEADER_SECRET = "s3cr3t-header-value"
BASIC_PASSWORD = "s3cr3t-basic-pass"
SIGNING_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def change_url(integration: TenantIntegration) -> str:
    return reverse("admin:integrations_tenantintegration_change", args=[integration.pk])


def form_data(tenant, **overrides) -> dict:
    """A complete POST of the webhook form; pass a value of None to leave a field out (an unticked box)."""
    data = {
        "tenant": tenant.pk,
        "name": "n8n production",
        "integration_type": "webhook",
        "event_types": [EventType.WORKITEM_CREATED, EventType.WORKITEM_STATUS_CHANGED],
        "is_active": "on",
        "max_attempts": "8",
        "retry_backoff_seconds": "600",
        "cfg_url": RECEIVER,
        "cfg_headers": "",
        "cfg_basic_username": "",
        "cfg_basic_password": "",
        "cfg_signing_secret": "",
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def with_secrets(tenant) -> dict:
    return form_data(
        tenant,
        cfg_headers=f'{{"X-API-Key": "{HEADER_SECRET}"}}',
        cfg_basic_username="fieldhook",
        cfg_basic_password=BASIC_PASSWORD,
    )


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


def shown_messages(response) -> list[tuple[int, str]]:
    return [(message.level, str(message)) for message in get_messages(response.wsgi_request)]


def run_action(client: Client, action: str, *integrations: TenantIntegration, **kwargs):
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [i.pk for i in integrations], "index": "0"}, **kwargs
    )


@pytest.fixture
def saved(superuser_client, tenant) -> TenantIntegration:
    """An integration saved through the admin with a secret header and a basic auth password."""
    response = superuser_client.post(ADD, with_secrets(tenant), follow=True)  # follow: consume its messages
    assert response.redirect_chain, form_errors(response)
    return TenantIntegration.objects.get(tenant=tenant, name="n8n production")


@pytest.fixture
def receiver():
    with responses.RequestsMock() as mock:
        yield mock


# --- The settings form ----------------------------------------------------------------


def test_add_page_for_a_webhook_shows_its_settings_with_help_texts(superuser_client, tenant):
    response = superuser_client.get(ADD + "?integration_type=webhook")

    assert response.status_code == 200
    fields = response.context["adminform"].form.fields
    for name in ("url", "headers", "basic_username", "basic_password", "sign", "signing_secret"):
        assert f'name="cfg_{name}"' in response.text
    assert "Settings: Webhook (n8n, Zapier, Make, any URL)" in response.text
    for name in ("cfg_url", "cfg_headers", "cfg_basic_username", "cfg_sign", "cfg_signing_secret"):
        assert fields[name].help_text
        assert f'<div class="help" id="id_{name}_helptext">' in response.text
    assert "Choose an integration type" not in response.text


def test_add_page_without_a_type_asks_to_choose_one(superuser_client, tenant):
    response = superuser_client.get(ADD)

    assert response.status_code == 200
    assert "Choose an integration type to see its settings." in response.text
    assert "cfg_url" not in response.text


def test_the_form_reloads_with_the_settings_of_the_chosen_type(superuser_client, tenant):
    response = superuser_client.get(ADD)

    assert 'document.getElementById("id_integration_type")' in response.text
    assert 'params.set("integration_type", select.value)' in response.text


def test_adding_a_webhook_keeps_settings_in_config_and_secrets_encrypted(superuser_client, tenant):
    response = superuser_client.post(ADD, with_secrets(tenant))

    assert response.status_code == 302
    integration = TenantIntegration.objects.get(tenant=tenant, name="n8n production")
    assert integration.integration_type == "webhook"
    assert integration.event_types == [EventType.WORKITEM_CREATED, EventType.WORKITEM_STATUS_CHANGED]
    assert integration.config == {"url": RECEIVER, "sign": False, "basic_username": "fieldhook"}
    assert integration.secrets == {"headers": {"X-API-Key": HEADER_SECRET}, "basic_password": BASIC_PASSWORD}
    for secret in (HEADER_SECRET, BASIC_PASSWORD):
        assert secret not in integration.secrets_encrypted
        assert secret not in str(integration.config)


@pytest.mark.parametrize(
    ("overrides", "field", "error"),
    [
        ({"cfg_url": "not a url"}, "cfg_url", "Enter a valid URL."),
        ({"cfg_headers": '["X-API-Key", "abc"]'}, "cfg_headers", "Enter a JSON object of header names"),
        ({"cfg_headers": "{not json"}, "cfg_headers", "Enter a valid JSON."),
        ({"cfg_headers": '{"Bad Header": "abc"}'}, "cfg_headers", "'Bad Header' is not a valid header name."),
        ({"cfg_headers": '{"webhook-id": "abc"}'}, "cfg_headers", "'webhook-id' is set by Fieldhook"),
        ({"cfg_basic_username": "fieldhook"}, "cfg_basic_password", "Basic auth needs a password."),
        ({"cfg_sign": "on", "cfg_signing_secret": "hunter2"}, "cfg_signing_secret", "Expected whsec_"),
        ({"event_types": None}, "event_types", "This field is required."),
    ],
    ids=[
        "bad-url",
        "headers-not-object",
        "headers-not-json",
        "bad-header-name",
        "reserved-header",
        "user-no-pass",
        "secret-not-whsec",
        "no-events",
    ],
)
def test_invalid_settings_are_reported_on_their_field(superuser_client, tenant, overrides, field, error):
    response = superuser_client.post(ADD, form_data(tenant, **overrides))

    assert response.status_code == 200
    errors = form_errors(response)
    assert list(errors) == [field]
    assert errors[field][0].startswith(error)
    assert not TenantIntegration.objects.exists()


def test_a_duplicate_name_in_the_same_tenant_is_a_form_error(superuser_client, tenant):
    TenantIntegrationFactory(tenant=tenant, name="n8n production")

    response = superuser_client.post(ADD, form_data(tenant))

    assert response.status_code == 200
    assert "Tenant integration with this Tenant and Name already exists." in str(form_errors(response))
    assert TenantIntegration.objects.filter(tenant=tenant).count() == 1


def test_renaming_to_a_name_taken_in_the_same_tenant_is_a_form_error(superuser_client, tenant, saved):
    TenantIntegrationFactory(tenant=tenant, name="Zapier")

    response = superuser_client.post(change_url(saved), with_secrets(tenant) | {"name": "Zapier"})

    assert response.status_code == 200
    assert form_errors(response) == {"name": ["An integration named “Zapier” already exists for this tenant."]}
    saved.refresh_from_db()
    assert saved.name == "n8n production"


def test_the_same_name_in_another_tenant_is_allowed(superuser_client, tenant, other_tenant):
    TenantIntegrationFactory(tenant=other_tenant, name="n8n production")

    response = superuser_client.post(ADD, form_data(tenant))

    assert response.status_code == 302
    assert TenantIntegration.objects.filter(name="n8n production").count() == 2


# --- Secrets ----------------------------------------------------------------------------


def test_the_change_page_never_shows_stored_secrets(superuser_client, saved):
    response = superuser_client.get(change_url(saved))

    assert response.status_code == 200
    assert HEADER_SECRET not in response.text
    assert BASIC_PASSWORD not in response.text
    assert 'value="fieldhook"' in response.text
    fields = response.context["adminform"].form.fields
    for name in ("cfg_headers", "cfg_basic_password"):
        assert fields[name].help_text.startswith("A value is stored (not shown). Leave blank to keep it.")
    assert not fields["cfg_signing_secret"].help_text.startswith("A value is stored")


def test_saving_with_blank_secret_fields_keeps_the_stored_secrets(superuser_client, tenant, saved):
    data = form_data(tenant, cfg_basic_username="fieldhook", cfg_url="https://n8n.example.com/webhook/other")

    response = superuser_client.post(change_url(saved), data)

    assert response.status_code == 302
    saved.refresh_from_db()
    assert saved.config["url"] == "https://n8n.example.com/webhook/other"
    assert saved.secrets == {"headers": {"X-API-Key": HEADER_SECRET}, "basic_password": BASIC_PASSWORD}


NOT_SENT = "stored secrets are not sent to a new destination."


@pytest.mark.parametrize(
    ("url", "part"),
    [
        ("https://hooks.example.net/webhook/fieldhook", "host"),
        ("https://n8n.example.com:8443/webhook/fieldhook", "port"),
        ("http://n8n.example.com/webhook/fieldhook", "scheme"),
    ],
    ids=["host", "port", "scheme"],
)
def test_a_new_destination_with_blank_secret_fields_is_refused_on_each_of_them(
    superuser_client, tenant, saved, url, part
):
    data = form_data(tenant, cfg_basic_username="fieldhook", cfg_url=url)

    response = superuser_client.post(change_url(saved), data)

    assert response.status_code == 200
    assert form_errors(response) == {
        "cfg_headers": [f"The Receiver URL's {part} changed: enter the Secret headers again; {NOT_SENT}"],
        "cfg_basic_password": [f"The Receiver URL's {part} changed: enter the Basic auth password again; {NOT_SENT}"],
    }
    saved.refresh_from_db()
    assert saved.config["url"] == RECEIVER
    assert saved.secrets == {"headers": {"X-API-Key": HEADER_SECRET}, "basic_password": BASIC_PASSWORD}


def test_a_new_destination_is_saved_with_the_secrets_entered_again(superuser_client, tenant, saved):
    data = with_secrets(tenant) | {"cfg_url": "https://hooks.example.net/fieldhook", "cfg_headers": '{"X-Key": "n3w"}'}

    response = superuser_client.post(change_url(saved), data)

    assert response.status_code == 302, form_errors(response)
    saved.refresh_from_db()
    assert saved.config["url"] == "https://hooks.example.net/fieldhook"
    assert saved.secrets == {"headers": {"X-Key": "n3w"}, "basic_password": BASIC_PASSWORD}


@pytest.mark.parametrize(
    "url",
    ["https://N8N.Example.COM:443/webhook/fieldhook", "https://n8n.example.com./other/path?x=1"],
    ids=["case-and-default-port", "trailing-dot-and-path"],
)
def test_the_same_origin_written_differently_keeps_the_stored_secrets(superuser_client, tenant, saved, url):
    response = superuser_client.post(change_url(saved), form_data(tenant, cfg_basic_username="fieldhook", cfg_url=url))

    assert response.status_code == 302, form_errors(response)
    saved.refresh_from_db()
    assert saved.secrets == {"headers": {"X-API-Key": HEADER_SECRET}, "basic_password": BASIC_PASSWORD}


def test_saving_a_new_secret_value_replaces_the_stored_one(superuser_client, tenant, saved):
    data = form_data(tenant, cfg_basic_username="fieldhook", cfg_basic_password="n3w-basic-pass")

    response = superuser_client.post(change_url(saved), data)

    assert response.status_code == 302
    saved.refresh_from_db()
    assert saved.secrets == {"headers": {"X-API-Key": HEADER_SECRET}, "basic_password": "n3w-basic-pass"}


def test_a_generated_signing_secret_is_stored(superuser_client, tenant):
    superuser_client.post(ADD, form_data(tenant, cfg_sign="on"))

    integration = TenantIntegration.objects.get(tenant=tenant)
    assert integration.secrets["signing_secret"].startswith("whsec_")
    assert integration.config["sign"] is True


@pytest.mark.parametrize("button", ["_save", "_addanother", "_continue"])
def test_a_generated_signing_secret_is_shown_once_on_the_change_page(superuser_client, tenant, button):
    saved = superuser_client.post(ADD, form_data(tenant, cfg_sign="on", **{button: "1"}))
    integration = TenantIntegration.objects.get(tenant=tenant)
    secret = integration.secrets["signing_secret"]

    first, second = superuser_client.get(saved.url), superuser_client.get(saved.url)

    assert saved.url == change_url(integration)
    shown = f"Generated signing secret: <code>{secret}</code> — copy it into the receiver now; it is never shown again."
    assert first.text.count(secret) == 1
    assert shown in first.text
    assert secret not in second.text


def cookies_set(response) -> list[str]:
    """Every cookie the response sets, as sent, plus the messages cookie decoded (it may be compressed)."""
    values = [morsel.OutputString() for morsel in response.cookies.values()]
    if "messages" in response.cookies:
        decoded = CookieStorage(response.wsgi_request)._decode(response.cookies["messages"].value)
        values += [str(message) for message in decoded or []]
    return values


def test_a_generated_signing_secret_never_travels_in_a_cookie(superuser_client, tenant):
    saved = superuser_client.post(ADD, form_data(tenant, cfg_sign="on"))
    secret = TenantIntegration.objects.get(tenant=tenant).secrets["signing_secret"]
    page = superuser_client.get(saved.url)

    assert secret in page.text
    cookies = cookies_set(saved) + cookies_set(page)
    assert any("was added successfully" in cookie for cookie in cookies), "the messages cookie is decoded"
    for encoded in (secret, secret.removeprefix("whsec_")):
        assert not any(encoded in cookie for cookie in cookies)


def test_a_stored_signing_secret_is_not_shown_again_on_the_next_save(superuser_client, tenant):
    superuser_client.post(ADD, form_data(tenant, cfg_sign="on"), follow=True)
    integration = TenantIntegration.objects.get(tenant=tenant)
    secret = integration.secrets["signing_secret"]

    response = superuser_client.post(change_url(integration), form_data(tenant, cfg_sign="on"), follow=True)

    assert response.status_code == 200
    assert secret not in response.text
    assert [m.level for m in response.context["messages"]] == [messages.SUCCESS]
    integration.refresh_from_db()
    assert integration.secrets["signing_secret"] == secret


def test_a_signing_secret_entered_by_hand_is_kept_and_not_announced(superuser_client, tenant):
    data = form_data(tenant, cfg_sign="on", cfg_signing_secret=SIGNING_SECRET)

    response = superuser_client.post(ADD, data, follow=True)

    assert [m.level for m in response.context["messages"]] == [messages.SUCCESS]
    assert TenantIntegration.objects.get(tenant=tenant).secrets == {"signing_secret": SIGNING_SECRET}


# --- Tenant scoping ---------------------------------------------------------------------


def test_a_tenant_admin_sees_only_their_tenants_integrations(owner_client, tenant, other_tenant):
    TenantIntegrationFactory(tenant=tenant, name="Acme n8n")
    TenantIntegrationFactory(tenant=other_tenant, name="Globex Zapier")

    response = owner_client.get(CHANGELIST)

    assert response.status_code == 200
    assert [i.name for i in response.context["cl"].result_list] == ["Acme n8n"]
    assert "Globex Zapier" not in response.text


def test_a_tenant_admin_is_offered_only_their_tenants(owner_client, tenant, other_tenant):
    response = owner_client.get(ADD + "?integration_type=webhook")

    assert response.status_code == 200
    assert list(response.context["adminform"].form.fields["tenant"].queryset) == [tenant]
    assert "Globex" not in response.text


def test_a_tenant_admin_cannot_add_an_integration_to_another_tenant(owner_client, other_tenant):
    response = owner_client.post(ADD, form_data(other_tenant))

    assert response.status_code == 200
    assert list(form_errors(response)) == ["tenant"]
    assert not TenantIntegration.objects.exists()


def test_a_tenant_admin_cannot_open_another_tenants_integration(owner_client, other_tenant):
    foreign = TenantIntegrationFactory(tenant=other_tenant, name="Globex Zapier")

    response = owner_client.get(change_url(foreign))

    assert response.status_code == 302
    assert response.url == reverse("admin:index")


# --- Actions ----------------------------------------------------------------------------


def test_test_connection_reports_a_reachable_receiver(superuser_client, saved, receiver):
    receiver.head(RECEIVER, status=200)

    response = run_action(superuser_client, "test_connection", saved)

    assert response.status_code == 302
    assert shown_messages(response) == [
        (
            messages.SUCCESS,
            "n8n production: Reachable: the receiver answered HTTP 200 to a HEAD request. "
            "Use 'Send test event' to check a real delivery.",
        )
    ]
    assert receiver.calls[0].request.headers["X-API-Key"] == HEADER_SECRET


def test_test_connection_reports_refused_credentials_without_the_secret(superuser_client, saved, receiver):
    receiver.head(RECEIVER, status=401)

    response = run_action(superuser_client, "test_connection", saved)

    assert receiver.calls[0].request.headers["X-API-Key"] == HEADER_SECRET
    [(level, text)] = shown_messages(response)
    assert level == messages.ERROR
    assert "refused our credentials (HTTP 401)" in text
    assert HEADER_SECRET not in text
    assert BASIC_PASSWORD not in text


def test_send_test_event_queues_a_test_sync_for_the_integration(superuser_client, saved):
    response = run_action(superuser_client, "send_test_event", saved)

    assert response.status_code == 302
    sync = IntegrationSync.objects.get()
    assert (sync.integration, sync.event.event_type, sync.status) == (saved, EventType.INTEGRATION_TEST, "pending")
    assert sync.event.payload["test"] is True


def test_send_test_event_delivers_it_and_links_to_the_sync(superuser_client, saved, receiver, committed):
    receiver.post(RECEIVER, status=200)

    with committed():
        response = run_action(superuser_client, "send_test_event", saved, follow=True)

    sync = IntegrationSync.objects.get()
    assert sync.status == IntegrationSync.Status.SYNCED
    assert receiver.calls[0].request.headers["webhook-id"] == str(sync.event.event_id)
    sync_url = reverse("admin:integrations_integrationsync_change", args=[sync.pk])
    assert f"<a href='{sync_url}'>follow sync #{sync.pk}</a>" in response.text


def test_an_empty_secret_headers_box_is_empty_not_null(superuser_client):
    page = superuser_client.get(ADD + "?integration_type=webhook")

    assert re.search(r'<textarea[^>]*name="cfg_headers"[^>]*>\s*</textarea>', page.text)


def test_credentials_in_the_url_are_refused(superuser_client, tenant):
    response = superuser_client.post(ADD, form_data(tenant, cfg_url="https://bob:hunter22@r.example.com/hook"))

    assert response.status_code == 200
    assert "Basic auth fields" in str(form_errors(response)["cfg_url"])
    assert not TenantIntegration.objects.exists()
