"""The Slack integration's settings: how it connects (an incoming webhook, a pasted bot token,
or a bot token obtained with Slack's OAuth v2), where it posts, and the checks the admin form
runs on them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.db import models

from integrations.connectors.config import (
    ConfigField,
    OAuthClientConfig,
    destination_url_error,
    oauth_client_fields,
    password_input,
)
from integrations.connectors.ssrf import url_refusal

SLACK_API_URL = "https://slack.com/api"
WEBHOOK_HOSTS = {"hooks.slack.com", "hooks.slack-gov.com"}
CHANNEL = re.compile(r"^[^\s,]{1,80}$")


class SlackMode(models.TextChoices):
    WEBHOOK = "webhook", "Incoming webhook (one message per event)"
    BOT = "bot", "Bot token, pasted (one thread per work item)"
    BOT_OAUTH = "bot_oauth", "Bot token via OAuth 2: 'Connect to Slack' after saving (one thread per work item)"


BOT_MODES = (SlackMode.BOT, SlackMode.BOT_OAUTH)


@dataclass(frozen=True)
class SlackConfig(OAuthClientConfig):
    """The non-secret settings; the webhook URL, the bot token, the OAuth client secret and the
    tokens 'Connect to Slack' obtains are secrets."""

    mode: str = SlackMode.WEBHOOK
    channel: str = ""
    api_url: str = SLACK_API_URL


def channel_name(value: str) -> str:
    """A channel as chat.postMessage takes it: an id (C0123ABCD) or a name without its '#'."""
    return str(value).strip().removeprefix("#")


FIELDS = [
    ConfigField(
        "mode",
        forms.ChoiceField(
            label="Connect with",
            choices=SlackMode.choices,
            help_text="An incoming webhook posts one message per event to its channel. A bot posts the first "
            "message of a work item and answers later events in its thread, adding ✅ when it closes; give it "
            "a token you copy from your Slack app, or let 'Connect to Slack' install the app and fetch the token "
            "(OAuth: no token to copy; needed when the app has token rotation on).",
        ),
    ),
    ConfigField(
        "webhook_url",
        forms.URLField(
            label="Incoming webhook URL",
            required=False,
            max_length=500,
            assume_scheme="https",
            widget=password_input(),
            help_text="For an incoming webhook: the URL from your Slack app's Incoming Webhooks page, "
            "https://hooks.slack.com/services/T…/B…/…. The URL is the credential: stored encrypted, never shown again.",
        ),
        secret=True,
    ),
    ConfigField(
        "bot_token",
        forms.CharField(
            label="Bot token",
            required=False,
            max_length=500,
            widget=password_input(),
            help_text="For a pasted bot token: the Bot User OAuth Token (xoxb-…) from your Slack app's OAuth & "
            "Permissions page; the app needs the chat:write and reactions:write scopes. Stored encrypted.",
        ),
        secret=True,
    ),
    ConfigField(
        "channel",
        forms.CharField(
            label="Channel",
            required=False,
            max_length=81,
            help_text="For a bot: the channel's ID (C0123ABCD, at the bottom of the channel's details) or "
            "its name (#repairs). Invite the bot to it first: /invite @your-app in the channel.",
        ),
    ),
    *oauth_client_fields(where="your Slack app's Basic Information › App Credentials"),
    ConfigField(
        "api_url",
        forms.URLField(
            label="Slack API URL",
            required=False,
            assume_scheme="https",
            help_text="Where a bot's requests (and OAuth) go. Leave https://slack.com/api; GovSlack uses "
            "https://slack-gov.com/api.",
        ),
    ),
]


def clean_config(cleaned: dict[str, Any], form: Any) -> dict[str, Any]:
    """What each way of connecting needs; URLs pass the SSRF check and carry no credentials."""
    mode = cleaned.get("mode") or SlackMode.WEBHOOK
    if mode == SlackMode.WEBHOOK:
        error = webhook_url_error(cleaned.get("webhook_url") or "")
        if error:
            form.add_error("webhook_url", error)
    else:
        cleaned["channel"] = _bot_channel(cleaned, form)
    if mode == SlackMode.BOT:
        token = str(cleaned.get("bot_token") or "").strip()
        if not token:
            form.add_error("bot_token", "A bot token is needed to connect with a bot token.")
        elif not token.startswith("xox"):
            form.add_error("bot_token", "Expected a Slack token starting with xoxb- (the Bot User OAuth Token).")
        cleaned["bot_token"] = token
    if mode == SlackMode.BOT_OAUTH:
        for name in ("oauth_client_id", "oauth_client_secret"):
            if not cleaned.get(name):
                form.add_error(name, "OAuth needs your Slack app's Client ID and Client Secret (Basic Information).")
    api_url = cleaned.get("api_url") or SLACK_API_URL
    error = destination_url_error(api_url, credentials_belong="the bot token field")
    if error:
        form.add_error("api_url", error)
    cleaned["api_url"] = api_url.rstrip("/")
    return cleaned


def _bot_channel(cleaned: dict[str, Any], form: Any) -> str:
    channel = channel_name(cleaned.get("channel") or "")
    if not channel:
        form.add_error("channel", "Enter the channel the bot posts to (its ID, e.g. C0123ABCD, or its name).")
    elif not CHANNEL.match(channel):
        form.add_error("channel", "A channel is one word: its ID (C0123ABCD) or its name (repairs).")
    return channel


def webhook_url_error(url: str) -> str:
    if not url:
        return "An incoming webhook needs its URL (https://hooks.slack.com/services/…)."
    parts = urlsplit(url)
    if (parts.hostname or "").lower() in WEBHOOK_HOSTS and not parts.path.startswith("/services/"):
        return (
            "This is not an incoming-webhook URL (those look like https://hooks.slack.com/services/T…/B…/…); "
            "Workflow Builder URLs (/triggers/…) take a different message format."
        )
    return url_refusal(url)  # also refuses credentials in the URL (the URL itself is the credential)
