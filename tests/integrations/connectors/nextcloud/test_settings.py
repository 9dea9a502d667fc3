"""The Nextcloud settings in the admin: what is stored where, and the errors shown on the fields."""

import pytest
from django.urls import reverse

from integrations.connectors import registry
from integrations.connectors.base import Capability
from integrations.connectors.nextcloud.config import NextcloudConfig
from integrations.models import TenantIntegration
from tests.fakes.nextcloud import APP_PASSWORD
from tests.integrations.connectors.test_contract import admin_form

ADD = reverse("admin:integrations_tenantintegration_add")


def settings_form(tenant, **overrides) -> dict:
    """A complete POST of the Nextcloud settings, as people type them (spaces, a page's URL)."""
    typed = {
        "name": "Nextcloud",
        "cfg_base_url": "https://cloud.example.com/index.php/apps/files/?dir=/Fieldhook",
        "cfg_username": " fieldhook ",
        "cfg_root_folder": "/Fieldhook/{tenant}/",
        "cfg_share_with": " technicians ",
        "cfg_share_permissions": "view",
    }
    return admin_form(tenant, "nextcloud", **{**typed, **overrides})


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


def test_saving_keeps_the_app_password_secret_and_tidies_the_rest(superuser_client, tenant):
    response = superuser_client.post(ADD, settings_form(tenant))

    assert response.status_code == 302, form_errors(response)
    integration = TenantIntegration.objects.get(tenant=tenant, name="Nextcloud")
    assert integration.config == {
        "base_url": "https://cloud.example.com",
        "username": "fieldhook",
        "root_folder": "Fieldhook/{tenant}",
        "folder_names": "reference_and_description",
        "share_with": "technicians",
        "share_type": "group",
        "share_permissions": "view",
        "public_link": True,
    }
    assert integration.secrets == {"app_password": APP_PASSWORD}


def test_a_nextcloud_in_a_subfolder_keeps_its_path(superuser_client, tenant):
    superuser_client.post(ADD, settings_form(tenant, cfg_base_url="https://example.com/nextcloud/"))

    assert TenantIntegration.objects.get(tenant=tenant).config["base_url"] == "https://example.com/nextcloud"


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        (
            "cfg_base_url",
            "https://fieldhook:secret@cloud.example.com",
            "Put credentials in the User and App password fields, not in the URL",
        ),
        ("cfg_base_url", "https://10.0.0.5", "Fieldhook only sends to public addresses"),
        ("cfg_app_password", "", "Enter an app password of that user."),
        ("cfg_username", "team/fieldhook", "A Nextcloud user id has no '/'."),
        ("cfg_root_folder", "Fieldhook/../../etc", "'..' is not a folder name Nextcloud accepts as written"),
        ("cfg_root_folder", "Fieldhook/{customer}", "Only {tenant} can be replaced here, not {customer}."),
    ],
)
def test_a_bad_setting_is_refused_on_its_field(superuser_client, tenant, field, value, error):
    response = superuser_client.post(ADD, settings_form(tenant, **{field: value}))

    assert response.status_code == 200
    assert any(error in message for message in form_errors(response)[field])
    assert not TenantIntegration.objects.filter(tenant=tenant).exists()


def test_nextcloud_is_a_registered_kind_that_delivers_at_ten_requests_a_second(db):
    connector = registry.get("nextcloud")

    assert (connector.label, connector.default_rate_per_second, connector.uses_external_links) == (
        "Nextcloud",
        10,
        True,
    )
    assert connector.capabilities == frozenset({Capability.DELIVERS})
    assert connector.destination_fields == ("base_url",)
    assert connector.secret_field_names() == {"app_password"}


def test_a_stored_config_without_some_settings_takes_their_defaults():
    settings = NextcloudConfig.from_dict({"base_url": "https://cloud.example.com", "username": "fieldhook"})

    assert (settings.root_folder, settings.folder_names, settings.public_link) == (
        "Fieldhook/{tenant}",
        "reference_and_description",
        False,
    )
    assert NextcloudConfig.from_dict({"root_folder": ""}).root_folder == ""
