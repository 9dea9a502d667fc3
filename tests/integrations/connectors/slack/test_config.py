"""The Slack settings form: what each way of connecting needs, URLs that cannot be used, and
secrets that are stored encrypted and never shown back."""

import pytest
from django.urls import reverse

from integrations.connectors.slack.config import SLACK_API_URL, SlackConfig
from integrations.forms import integration_form_for
from integrations.models import EventType
from tests.fakes.slack import BOT_TOKEN, WEBHOOK_URL


def slack_form(tenant, instance=None, **config):
    data = {
        "tenant": tenant.pk,
        "name": "Slack",
        "integration_type": "slack",
        "event_types": [EventType.WORKITEM_CREATED],
        "is_active": "on",
        "max_attempts": "8",
        "retry_backoff_seconds": "600",
        "cfg_api_url": SLACK_API_URL,
        **{f"cfg_{name}": value for name, value in config.items()},
    }
    return integration_form_for("slack")(data=data, instance=instance)


def errors(form) -> dict:
    form.is_valid()
    return {name.removeprefix("cfg_"): messages for name, messages in form.errors.items()}


def test_an_incoming_webhook_is_stored_as_a_secret(tenant):
    form = slack_form(tenant, mode="webhook", webhook_url=WEBHOOK_URL)

    assert form.is_valid(), form.errors
    integration = form.save()
    assert integration.secrets["webhook_url"] == WEBHOOK_URL
    assert "webhook_url" not in integration.config
    assert WEBHOOK_URL not in integration.secrets_encrypted


def test_an_incoming_webhook_needs_its_url(tenant):
    assert errors(slack_form(tenant, mode="webhook")) == {
        "webhook_url": ["An incoming webhook needs its URL (https://hooks.slack.com/services/…)."]
    }


def test_a_workflow_builder_url_is_refused_with_an_explanation(tenant):
    found = errors(slack_form(tenant, mode="webhook", webhook_url="https://hooks.slack.com/triggers/T1/123/abc"))

    assert "Workflow Builder URLs (/triggers/…) take a different message format" in found["webhook_url"][0]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://user:pw@hooks.slack.com/services/T1/B1/x", "must not contain credentials"),
        ("https://10.1.2.3/services/T1/B1/x", "only sends to public addresses"),
    ],
)
def test_a_webhook_url_that_cannot_be_used_is_refused(tenant, url, reason):
    assert reason in errors(slack_form(tenant, mode="webhook", webhook_url=url))["webhook_url"][0]


def test_a_bot_token_needs_a_token_and_a_channel(tenant):
    assert errors(slack_form(tenant, mode="bot")) == {
        "bot_token": ["A bot token is needed to connect with a bot token."],
        "channel": ["Enter the channel the bot posts to (its ID, e.g. C0123ABCD, or its name)."],
    }


def test_a_bot_token_must_look_like_a_slack_token(tenant):
    found = errors(slack_form(tenant, mode="bot", bot_token="hunter2", channel="C0REPAIRS1"))

    assert found == {"bot_token": ["Expected a Slack token starting with xoxb- (the Bot User OAuth Token)."]}


def test_a_channel_name_loses_its_hash(tenant):
    form = slack_form(tenant, mode="bot", bot_token=BOT_TOKEN, channel="#repairs")

    assert form.is_valid(), form.errors
    integration = form.save()
    assert integration.config == {"mode": "bot", "channel": "repairs", "api_url": SLACK_API_URL, "oauth_client_id": ""}
    assert integration.secrets["bot_token"] == BOT_TOKEN


def test_a_stored_token_is_kept_when_the_field_is_left_blank(tenant):
    first = slack_form(tenant, mode="bot", bot_token=BOT_TOKEN, channel="C0REPAIRS1")
    assert first.is_valid(), first.errors
    integration = first.save()

    again = slack_form(tenant, instance=integration, mode="bot", bot_token="", channel="C0OTHER001")

    assert again.is_valid(), again.errors
    assert again.save().secrets["bot_token"] == BOT_TOKEN


def test_a_token_is_not_sent_to_another_api_url_without_being_entered_again(tenant):
    first = slack_form(tenant, mode="bot", bot_token=BOT_TOKEN, channel="C0REPAIRS1")
    assert first.is_valid(), first.errors
    integration = first.save()

    moved = slack_form(
        tenant, instance=integration, mode="bot", channel="C0REPAIRS1", api_url="https://slack-gov.com/api"
    )

    assert "stored secrets are not sent to a new destination" in errors(moved)["bot_token"][0]


def test_the_settings_have_defaults_for_what_is_not_stored_and_a_new_form_starts_from_them():
    fields = integration_form_for("slack")().fields

    assert SlackConfig.from_dict({}) == SlackConfig(mode="webhook", channel="", api_url=SLACK_API_URL)
    assert (fields["cfg_mode"].initial, fields["cfg_api_url"].initial) == ("webhook", SLACK_API_URL)


def test_the_admin_shows_every_setting_with_its_help(superuser_client):
    page = superuser_client.get(reverse("admin:integrations_tenantintegration_add") + "?integration_type=slack")

    assert page.status_code == 200
    html = page.content.decode()
    for name in ("mode", "webhook_url", "bot_token", "channel", "api_url"):
        assert f'name="cfg_{name}"' in html
    assert "chat:write and reactions:write" in html


def test_a_saved_token_is_never_shown_back_in_the_admin(superuser_client, tenant):
    form = slack_form(tenant, mode="bot", bot_token=BOT_TOKEN, channel="C0REPAIRS1")
    assert form.is_valid(), form.errors
    integration = form.save()

    page = superuser_client.get(reverse("admin:integrations_tenantintegration_change", args=[integration.pk]))

    assert page.status_code == 200
    assert BOT_TOKEN not in page.content.decode()
    assert "A value is stored (not shown)." in page.content.decode()
