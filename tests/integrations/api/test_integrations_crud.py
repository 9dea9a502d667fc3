"""/api/v1/integrations/: tenant admins create, change and delete integrations with the rules
of the admin form; secrets are write-only; errors name the API's fields."""

import json

import pytest

from integrations.models import TenantIntegration
from tests.factories import TenantIntegrationFactory
from tests.integrations.api.conftest import RECEIVER

LIST_URL = "/api/v1/integrations/"
HEADER_SECRET = "s3cr3t-header-value"
BASIC_PASSWORD = "s3cr3t-basic-pass"


def detail_url(integration: TenantIntegration) -> str:
    return f"{LIST_URL}{integration.pk}/"


def webhook_body(**overrides) -> dict:
    body = {
        "kind": "webhook",
        "name": "n8n production",
        "events": ["workitem_created", "workitem_status_changed"],
        "config": {"url": RECEIVER},
    }
    body.update(overrides)
    return body


def test_an_admin_creates_a_webhook_integration(api, tenant):
    response = api.post(LIST_URL, webhook_body(), format="json")

    assert response.status_code == 201, response.data
    integration = TenantIntegration.objects.get()
    assert (integration.tenant, integration.name, integration.integration_type) == (tenant, "n8n production", "webhook")
    assert integration.event_types == ["workitem_created", "workitem_status_changed"]
    assert integration.config == {"url": RECEIVER, "basic_username": "", "sign": False}
    assert response.data["kind"] == "webhook"
    assert response.data["active"] is True
    assert response.data["id"] == integration.pk


def test_left_out_settings_take_the_forms_defaults(api, tenant):
    response = api.post(LIST_URL, webhook_body(), format="json")

    assert (response.data["max_attempts"], response.data["retry_backoff_seconds"]) == (8, 600.0)
    assert response.data["rate_limit_per_second"] is None


def test_secrets_are_stored_encrypted_and_never_returned(api, tenant):
    body = webhook_body(
        config={"url": RECEIVER, "basic_username": "fieldhook"},
        secrets={"headers": {"X-API-Key": HEADER_SECRET}, "basic_password": BASIC_PASSWORD},
    )

    response = api.post(LIST_URL, body, format="json")

    integration = TenantIntegration.objects.get()
    assert integration.secrets == {"headers": {"X-API-Key": HEADER_SECRET}, "basic_password": BASIC_PASSWORD}
    assert response.data["secrets_set"] == ["basic_password", "headers"]
    for text in (json.dumps(response.data), api.get(detail_url(integration)).content.decode()):
        assert HEADER_SECRET not in text
        assert BASIC_PASSWORD not in text
        assert '"secrets"' not in text


def test_a_generated_signing_secret_is_answered_once(api, tenant):
    response = api.post(LIST_URL, webhook_body(config={"url": RECEIVER, "sign": True}), format="json")

    secret = response.data["generated_secrets"]["signing_secret"]
    assert secret.startswith("whsec_")
    assert TenantIntegration.objects.get().secrets["signing_secret"] == secret
    assert api.get(detail_url(TenantIntegration.objects.get())).data["generated_secrets"] == {}


def test_a_config_error_is_a_400_on_that_config_field(api, tenant):
    response = api.post(LIST_URL, webhook_body(config={"url": "ftp://n8n.example.com/hook"}), format="json")

    assert response.status_code == 400
    assert list(response.data) == ["config.url"]
    assert not TenantIntegration.objects.exists()


def test_a_missing_secret_is_a_400_on_that_secret(api, tenant):
    response = api.post(LIST_URL, webhook_body(config={"url": RECEIVER, "basic_username": "fieldhook"}), format="json")

    assert response.status_code == 400
    assert response.data == {"secrets.basic_password": ["Basic auth needs a password."]}


def test_an_address_inside_the_network_is_refused_as_in_the_admin(api, tenant, settings):
    settings.INTEGRATIONS_ALLOWED_NETWORKS = []

    response = api.post(LIST_URL, webhook_body(config={"url": "http://10.0.0.5/hook"}), format="json")

    assert response.status_code == 400
    assert "public addresses" in str(response.data["config.url"])


def test_a_bad_signing_secret_is_a_400_on_that_secret(api, tenant):
    body = webhook_body(config={"url": RECEIVER, "sign": True}, secrets={"signing_secret": "not-a-secret"})

    response = api.post(LIST_URL, body, format="json")

    assert list(response.data) == ["secrets.signing_secret"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (webhook_body(kind="carrier-pigeon"), "kind"),
        (webhook_body(events=["workitem_deleted"]), "events"),
        (webhook_body(events=[]), "events"),
        (webhook_body(name=""), "name"),
        (webhook_body(name="x" * 121), "name"),
        (webhook_body(max_attempts=0), "max_attempts"),
        (webhook_body(retry_backoff_seconds=-1), "retry_backoff_seconds"),
        (webhook_body(config={"url": RECEIVER, "colour": "blue"}), "config.colour"),
        (webhook_body(config={"url": RECEIVER, "basic_password": "x"}), "config.basic_password"),
        (webhook_body(secrets={"url": RECEIVER}), "secrets.url"),
        (webhook_body(config={"url": RECEIVER, "sign": "yes"}), "config.sign"),
        (webhook_body(config={"url": {"nested": 1}}), "config.url"),
        (webhook_body(config={}), "config.url"),
    ],
)
def test_bad_input_is_a_400_on_the_api_field(api, tenant, body, field):
    response = api.post(LIST_URL, body, format="json")

    assert response.status_code == 400
    assert field in response.data, response.data
    assert not TenantIntegration.objects.exists()


def test_a_name_taken_in_the_tenant_is_a_400_on_name(api, tenant, webhook):
    response = api.post(LIST_URL, webhook_body(name=webhook.name), format="json")

    assert response.status_code == 400
    assert list(response.data) == ["name"]


def test_a_name_taken_in_another_tenant_is_fine(api, tenant, foreign_webhook):
    response = api.post(LIST_URL, webhook_body(name=foreign_webhook.name), format="json")

    assert response.status_code == 201


def test_a_patch_changes_only_what_it_sends_and_keeps_the_secrets(api, webhook):
    response = api.patch(detail_url(webhook), {"config": {"url": f"{RECEIVER}-v2"}}, format="json")

    assert response.status_code == 200, response.data
    webhook.refresh_from_db()
    assert webhook.config["url"] == f"{RECEIVER}-v2"
    assert webhook.name == "n8n production"
    assert webhook.event_types == ["workitem_created", "workitem_status_changed", "workitem_updated"]
    assert webhook.secrets == {"headers": {"X-API-Key": HEADER_SECRET}}


def test_a_patch_to_another_host_asks_for_the_secrets_again(api, webhook):
    response = api.patch(detail_url(webhook), {"config": {"url": "https://elsewhere.example.com/hook"}}, format="json")

    assert response.status_code == 400
    assert "enter the Secret headers again" in str(response.data["secrets.headers"])
    webhook.refresh_from_db()
    assert webhook.config["url"] == RECEIVER


def test_a_patch_can_replace_a_secret(api, webhook):
    api.patch(detail_url(webhook), {"secrets": {"headers": {"X-API-Key": "rotated"}}}, format="json")

    webhook.refresh_from_db()
    assert webhook.secrets == {"headers": {"X-API-Key": "rotated"}}


def test_the_kind_cannot_change(api, webhook):
    response = api.patch(detail_url(webhook), {"kind": "openproject"}, format="json")

    assert response.status_code == 400
    assert list(response.data) == ["kind"]


def test_deactivating_and_renaming_with_a_patch(api, webhook):
    response = api.patch(detail_url(webhook), {"active": False, "name": "Old n8n"}, format="json")

    webhook.refresh_from_db()
    assert (webhook.is_active, webhook.name) == (False, "Old n8n")
    assert response.data["active"] is False


def test_saving_active_clears_a_pause(api, webhook):
    TenantIntegration.objects.filter(pk=webhook.pk).update(is_active=False, paused_reason="Paused automatically.")

    api.patch(detail_url(webhook), {"active": True}, format="json")

    webhook.refresh_from_db()
    assert (webhook.is_active, webhook.paused_reason) == (True, "")


def test_an_admin_deletes_an_integration(api, webhook):
    response = api.delete(detail_url(webhook))

    assert response.status_code == 204
    assert not TenantIntegration.objects.exists()


def test_the_list_shows_the_tenants_integrations_by_name(api, tenant, webhook):
    TenantIntegrationFactory(tenant=tenant, name="A first one")

    response = api.get(LIST_URL)

    assert [row["name"] for row in response.data["results"]] == ["A first one", "n8n production"]
    assert response.data["results"][1]["secrets_set"] == ["headers"]


def test_an_openproject_integration_takes_its_settings_and_a_status_map(api, tenant):
    body = {
        "kind": "openproject",
        "name": "OpenProject",
        "events": ["workitem_created"],
        "config": {
            "base_url": "https://openproject.example.com/",
            "project": "3",
            "auth_method": "api_key_bearer",
            "status_map": {"New": "New", "Done": "Closed"},
        },
        "secrets": {"api_key": "op-key"},
    }

    response = api.post(LIST_URL, body, format="json")

    assert response.status_code == 201, response.data
    integration = TenantIntegration.objects.get()
    assert integration.config["base_url"] == "https://openproject.example.com"
    assert integration.config["status_map"] == {"New": "New", "Done": "Closed"}
    assert integration.config["type_id"] == 1
    assert integration.secrets == {"api_key": "op-key"}


def test_an_openproject_status_map_with_an_unknown_status_is_a_400_on_it(api, tenant):
    body = {
        "kind": "openproject",
        "name": "OpenProject",
        "events": ["workitem_created"],
        "config": {"base_url": "https://openproject.example.com", "project": "3", "status_map": {"Done": "Finished"}},
        "secrets": {"api_key": "op-key"},
    }

    response = api.post(LIST_URL, body, format="json")

    assert list(response.data) == ["config.status_map"]


def test_the_kinds_endpoint_describes_each_kinds_settings(member_api):
    response = member_api.get("/api/v1/integration-kinds/")

    kinds = {row["kind"]: row for row in response.data}
    assert {"webhook", "openproject"} <= set(kinds)
    settings = {field["name"]: field for field in kinds["webhook"]["settings"]}
    assert (settings["url"]["secret"], settings["url"]["required"], settings["url"]["type"]) == (False, True, "string")
    assert (settings["basic_password"]["secret"], settings["sign"]["type"]) == (True, "boolean")
    assert settings["headers"]["type"] == "object"
    assert "delivers" in kinds["webhook"]["capabilities"]
