"""The Jira settings, in the admin form and through /api/v1/integrations/: the site, the account
and its token (secret), the project and issue type, field mapping, both status maps; errors on
their fields; and /test-credentials/ answering the account's name or Jira's exact error."""

import pytest
from django.urls import reverse

from integrations.connectors.jira.config import JiraConfig, default_transition_map
from integrations.forms import integration_form_for
from integrations.models import EventType, TenantIntegration
from tests.fakes.jira import API_TOKEN, DISPLAY_NAME, EMAIL, PROJECT, SITE_URL

LIST_URL = "/api/v1/integrations/"


def jira_form(tenant, instance=None, **config):
    values = {
        "site_url": SITE_URL,
        "email": EMAIL,
        "api_token": API_TOKEN,
        "project_key": PROJECT,
        "issue_type": "Task",
        "marker_label": "fieldhook",
        "poll_interval_seconds": "300",
        "status_map-0-key": "Done",
        "status_map-0-value": "Closed",
        **config,
    }
    data = {
        "tenant": tenant.pk,
        "name": "Jira",
        "integration_type": "jira",
        "event_types": [EventType.WORKITEM_CREATED],
        "is_active": "on",
        "max_attempts": "8",
        "retry_backoff_seconds": "600",
        **{f"cfg_{name}": value for name, value in values.items() if value is not None},
    }
    return integration_form_for("jira")(data=data, instance=instance)


def errors(form) -> dict:
    form.is_valid()
    return {name.removeprefix("cfg_"): messages for name, messages in form.errors.items()}


def test_the_settings_are_stored_typed_with_the_token_as_a_secret(tenant):
    form = jira_form(
        tenant,
        site_url=f"{SITE_URL}/rest/api/3/",
        project_key="svc",
        extra_labels="repairs, workshop",
        estimated_price_field=" customfield_10060 ",
        **{"transition_map-0-key": "Closed", "transition_map-0-value": "Done"},
    )

    assert form.is_valid(), form.errors
    integration = form.save()
    config = JiraConfig.from_dict(integration.config)
    assert (config.site_url, config.project_key) == (SITE_URL, "SVC")
    assert config.extra_labels == ["repairs", "workshop"]
    assert config.estimated_price_field == "customfield_10060"
    assert config.transition_map == {"Closed": "Done"}
    assert integration.secrets == {"api_token": API_TOKEN}
    assert API_TOKEN not in integration.secrets_encrypted


@pytest.mark.parametrize(
    ("config", "field", "error"),
    [
        ({"api_token": ""}, "api_token", "Enter the account's API token."),
        ({"project_key": "1SVC"}, "project_key", "A project key is a capital letter"),
        ({"marker_label": "made by fieldhook"}, "marker_label", "Jira labels cannot contain spaces."),
        ({"reference_field": "Reference"}, "reference_field", "“Reference” is not a custom field id"),
        (
            {"transition_map-0-key": "Done", "transition_map-0-value": "Done"},
            "transition_map",
            "“Done” is not a Fieldhook status",
        ),
        ({"priority_map-0-key": "P1", "priority_map-0-value": "High"}, "priority_map", "“P1” is not a Fieldhook"),
        ({"status_map-0-key": "Done", "status_map-0-value": "Finished"}, "status_map", "“Finished” (for “Done”)"),
        ({"site_url": "https://me:token@acme.atlassian.net"}, "site_url", "Put credentials in the account email"),
    ],
    ids=["no-token", "project-key", "label-space", "custom-field", "transition", "priority", "status", "url-creds"],
)
def test_a_wrong_setting_is_reported_on_its_field(tenant, config, field, error):
    found = errors(jira_form(tenant, **config))

    assert list(found) == [field]
    assert found[field][0].startswith(error)


def test_the_token_is_kept_when_left_blank_and_dropped_for_another_site(tenant):
    integration = jira_form(tenant).save()

    kept = jira_form(tenant, instance=integration, api_token="", issue_type="Bug")
    assert kept.is_valid(), kept.errors
    assert kept.save().secrets["api_token"] == API_TOKEN

    moved = jira_form(tenant, instance=integration, api_token="", site_url="https://globex.atlassian.net")
    assert "stored secrets are not sent to a new destination" in errors(moved)["api_token"][0]


def test_a_new_form_starts_from_the_defaults():
    fields = integration_form_for("jira")().fields

    assert fields["cfg_issue_type"].initial == "Task"
    assert fields["cfg_marker_label"].initial == "fieldhook"
    assert fields["cfg_transition_map"].initial == default_transition_map()


def test_the_admin_shows_every_setting_with_its_help_and_never_the_token(superuser_client, tenant):
    integration = jira_form(tenant).save()

    add = superuser_client.get(reverse("admin:integrations_tenantintegration_add") + "?integration_type=jira")
    change = superuser_client.get(reverse("admin:integrations_tenantintegration_change", args=[integration.pk]))

    html = add.content.decode()
    for name in ("site_url", "email", "api_token", "project_key", "issue_type", "transition_map", "webhook_secret"):
        assert f'name="cfg_{name}"' in html or f'name="cfg_{name}-0-key"' in html
    assert "id.atlassian.com" in html
    assert change.status_code == 200
    assert API_TOKEN not in change.content.decode()


# --- The API --------------------------------------------------------------------------------------


def jira_body(**config) -> dict:
    return {
        "kind": "jira",
        "name": "Jira",
        "events": ["workitem_created", "workitem_status_changed"],
        "config": {"site_url": SITE_URL, "email": EMAIL, "project_key": PROJECT, "issue_type": "Task", **config},
        "secrets": {"api_token": API_TOKEN},
    }


def test_an_admin_creates_a_jira_integration_through_the_api(api, tenant):
    response = api.post(LIST_URL, jira_body(transition_map={"Closed": "Done"}), format="json")

    assert response.status_code == 201, response.data
    integration = TenantIntegration.objects.get()
    assert (integration.tenant, integration.integration_type) == (tenant, "jira")
    assert integration.config["transition_map"] == {"Closed": "Done"}
    assert response.data["secrets_set"] == ["api_token"]
    assert API_TOKEN not in response.content.decode()


def test_a_wrong_setting_is_a_400_naming_the_field(api, tenant):
    response = api.post(LIST_URL, jira_body(project_key="svc-1"), format="json")

    assert response.status_code == 400
    assert "config.project_key" in response.data


def test_test_credentials_answers_the_account_name(api, tenant, fake_jira):
    integration = jira_form(tenant).save()

    response = api.post(f"{LIST_URL}{integration.pk}/test-credentials/")

    assert response.status_code == 200
    assert response.data == {
        "ok": True,
        "message": f"Connected to {SITE_URL} as {DISPLAY_NAME} ({EMAIL}); project SVC is visible.",
    }


def test_test_credentials_answers_jiras_exact_error_without_the_token(api, tenant, fake_jira):
    integration = jira_form(tenant).save()
    fake_jira.api_token = "rotated"

    response = api.post(f"{LIST_URL}{integration.pk}/test-credentials/")

    assert response.data["ok"] is False
    assert response.data["message"].startswith("Jira refused the account email and API token (HTTP 401)")
    assert API_TOKEN not in response.content.decode()


def test_an_outsider_cannot_test_another_tenants_credentials(outsider_api, tenant, fake_jira):
    integration = jira_form(tenant).save()

    response = outsider_api.post(f"{LIST_URL}{integration.pk}/test-credentials/")

    assert response.status_code == 404
    assert fake_jira.requests == []
