"""The Zulip settings form: the organization's URL, the bot's key kept secret, the channel,
and a topic template whose placeholders are checked."""

import pytest
from django.urls import reverse

from integrations.connectors.zulip.config import DEFAULT_TOPIC, ZulipConfig
from integrations.forms import integration_form_for
from integrations.models import EventType
from tests.fakes.zulip import API_KEY, BOT_EMAIL, SITE_URL


def zulip_form(tenant, instance=None, **config):
    values = {
        "site_url": SITE_URL,
        "bot_email": BOT_EMAIL,
        "api_key": API_KEY,
        "channel": "repairs",
        "topic_template": DEFAULT_TOPIC,
        "create_channel": "on",
        **config,
    }
    data = {
        "tenant": tenant.pk,
        "name": "Zulip",
        "integration_type": "zulip",
        "event_types": [EventType.WORKITEM_CREATED],
        "is_active": "on",
        "max_attempts": "8",
        "retry_backoff_seconds": "600",
        **{f"cfg_{name}": value for name, value in values.items() if value is not None},
    }
    return integration_form_for("zulip")(data=data, instance=instance)


def errors(form) -> dict:
    form.is_valid()
    return {name.removeprefix("cfg_"): messages for name, messages in form.errors.items()}


def test_the_settings_are_stored_with_the_key_as_a_secret(tenant):
    form = zulip_form(tenant, site_url=f"{SITE_URL}/api/v1/", channel="#repairs")

    assert form.is_valid(), form.errors
    integration = form.save()
    assert integration.config == {
        "site_url": SITE_URL,
        "bot_email": BOT_EMAIL,
        "channel": "repairs",
        "topic_template": DEFAULT_TOPIC,
        "create_channel": True,
    }
    assert integration.secrets == {"api_key": API_KEY}
    assert API_KEY not in integration.secrets_encrypted


def test_the_key_is_required(tenant):
    assert errors(zulip_form(tenant, api_key="")) == {"api_key": ["Enter the bot's API key."]}


def test_a_site_url_with_credentials_is_refused(tenant):
    found = errors(zulip_form(tenant, site_url="https://bot:key@zulip.example.com"))

    assert found == {
        "site_url": [
            "Put credentials in the bot email and API key fields, not in the URL (they would be stored unencrypted)."
        ]
    }


def test_a_private_address_is_refused(tenant):
    assert "only sends to public addresses" in errors(zulip_form(tenant, site_url="https://192.168.1.5"))["site_url"][0]


def test_a_channel_name_longer_than_zulip_allows_is_refused(tenant):
    assert errors(zulip_form(tenant, channel="x" * 61)) == {
        "channel": ["Zulip channel names have at most 60 characters."]
    }


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ("{reference}: {description}", "Unknown placeholder {reference}: use {reference_id}, {description}"),
        ("{reference_id:>10}", "Placeholders take no format: write {reference_id}, not {reference_id:10}."),
        ("{reference_id", "Unbalanced braces: write placeholders as {reference_id}, and a literal brace as {{ or }}."),
    ],
)
def test_a_topic_template_with_a_wrong_placeholder_is_refused(tenant, template, error):
    assert errors(zulip_form(tenant, topic_template=template))["topic_template"][0].startswith(error)


def test_an_empty_template_means_the_default(tenant):
    form = zulip_form(tenant, topic_template="")

    assert form.is_valid(), form.errors
    assert form.save().config["topic_template"] == DEFAULT_TOPIC


def test_the_key_is_kept_when_left_blank_and_dropped_for_another_site(tenant):
    first = zulip_form(tenant)
    assert first.is_valid(), first.errors
    integration = first.save()

    kept = zulip_form(tenant, instance=integration, api_key="", channel="support")
    assert kept.is_valid(), kept.errors
    integration = kept.save()
    assert integration.secrets["api_key"] == API_KEY

    moved = zulip_form(tenant, instance=integration, api_key="", site_url="https://other.zulipchat.com")
    assert "stored secrets are not sent to a new destination" in errors(moved)["api_key"][0]


def test_the_settings_have_defaults_for_what_is_not_stored_and_a_new_form_starts_from_them():
    fields = integration_form_for("zulip")().fields

    assert ZulipConfig.from_dict({"site_url": SITE_URL}) == ZulipConfig(site_url=SITE_URL)
    assert ZulipConfig.from_dict({"create_channel": False}).create_channel is False
    assert (fields["cfg_topic_template"].initial, fields["cfg_create_channel"].initial) == (DEFAULT_TOPIC, True)


def test_the_admin_shows_every_setting_with_its_help(superuser_client):
    page = superuser_client.get(reverse("admin:integrations_tenantintegration_add") + "?integration_type=zulip")

    assert page.status_code == 200
    html = page.content.decode()
    for name in ("site_url", "bot_email", "api_key", "channel", "topic_template", "create_channel"):
        assert f'name="cfg_{name}"' in html
    assert "Personal settings › Bots" in html


def test_a_saved_key_is_never_shown_back_in_the_admin(superuser_client, tenant):
    form = zulip_form(tenant)
    assert form.is_valid(), form.errors
    integration = form.save()

    page = superuser_client.get(reverse("admin:integrations_tenantintegration_change", args=[integration.pk]))

    assert page.status_code == 200
    assert API_KEY not in page.content.decode()
