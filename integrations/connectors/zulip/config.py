"""The Zulip integration's settings: the organization, the bot that posts, the channel and
the topic of each work item, and the checks the admin form runs on them."""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any

from django import forms

from integrations.connectors.config import ConfigField, ConnectorConfig, destination_url_error, password_input

DEFAULT_TOPIC = "{reference_id}: {description}"
TOPIC_FIELDS = ("reference_id", "description", "customer", "status", "priority", "type")
CHANNEL_CHARS = 60  # Zulip's max_stream_name_length


@dataclass(frozen=True)
class ZulipConfig(ConnectorConfig):
    """The non-secret settings; the API key and the outgoing webhook token are secrets."""

    site_url: str = ""
    bot_email: str = ""
    channel: str = ""
    topic_template: str = DEFAULT_TOPIC
    create_channel: bool = True


def channel_name(value: str) -> str:
    """A channel as people type it ('#repairs', '#**repairs**') as Zulip names it."""
    return str(value).strip().removeprefix("#").strip("*").strip()


FIELDS = [
    ConfigField(
        "site_url",
        forms.URLField(
            label="Zulip URL",
            assume_scheme="https",
            help_text="Your organization's address, e.g. https://acme.zulipchat.com (without /api/v1).",
        ),
    ),
    ConfigField(
        "bot_email",
        forms.EmailField(
            label="Bot email",
            help_text="The bot's email from Personal settings › Bots, e.g. fieldhook-bot@acme.zulipchat.com.",
        ),
    ),
    ConfigField(
        "api_key",
        forms.CharField(
            label="API key",
            required=False,
            max_length=200,
            widget=password_input(),
            help_text="The bot's API key (Personal settings › Bots › the bot's key icon). Stored encrypted.",
        ),
        secret=True,
    ),
    ConfigField(
        "channel",
        forms.CharField(
            label="Channel",
            max_length=CHANNEL_CHARS + 1,
            help_text="The channel (stream) the bot posts in, e.g. repairs. For a private channel, subscribe the "
            "bot to it.",
        ),
    ),
    ConfigField(
        "topic_template",
        forms.CharField(
            label="Topic",
            required=False,
            max_length=200,
            help_text="The topic of each work item's messages, cut to Zulip's 60 characters. Placeholders: "
            + ", ".join("{" + name + "}" for name in TOPIC_FIELDS)
            + ". Default: {reference_id}: {description}.",
        ),
    ),
    ConfigField(
        "create_channel",
        forms.BooleanField(
            label="Create the channel if missing",
            required=False,
            help_text="If the channel does not exist, the bot creates it (and subscribes to it) before posting; "
            "the organization must let bots create channels.",
        ),
    ),
    ConfigField(
        "outgoing_webhook_token",
        forms.CharField(
            label="Outgoing webhook token",
            required=False,
            max_length=200,
            widget=password_input(),
            help_text="For status commands from Zulip (@-mention a bot: RMA-123 status Ready for Pickup): the token "
            "of an Outgoing webhook bot whose Endpoint URL is https://<fieldhook>/webhooks/zulip/<this integration's "
            "uuid>/; it is the token= line of the bot's zuliprc (Personal settings › Bots). Empty: every call is "
            "refused. Stored encrypted.",
        ),
        secret=True,
    ),
]


def clean_config(cleaned: dict[str, Any], form: Any) -> dict[str, Any]:
    url = cleaned.get("site_url")
    if url:
        refusal = destination_url_error(url, credentials_belong="the bot email and API key fields")
        if refusal:
            form.add_error("site_url", refusal)
        cleaned["site_url"] = url.rstrip("/").removesuffix("/api/v1")
    if not cleaned.get("api_key"):
        form.add_error("api_key", "Enter the bot's API key.")
    channel = channel_name(cleaned.get("channel") or "")
    if not channel:
        form.add_error("channel", "Enter the channel the bot posts in.")
    elif len(channel) > CHANNEL_CHARS:
        form.add_error("channel", f"Zulip channel names have at most {CHANNEL_CHARS} characters.")
    cleaned["channel"] = channel
    template = cleaned.get("topic_template") or DEFAULT_TOPIC
    error = topic_template_error(template)
    if error:
        form.add_error("topic_template", error)
    cleaned["topic_template"] = template
    return cleaned


def topic_template_error(template: str) -> str:
    """'' if every placeholder is a known field with no format spec, else what is wrong."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError:
        return "Unbalanced braces: write placeholders as {reference_id}, and a literal brace as {{ or }}."
    names = [name for _, name, spec, conversion in parts if name is not None or spec or conversion]
    unknown = [name for name in names if name not in TOPIC_FIELDS]
    if unknown:
        return f"Unknown placeholder {{{unknown[0]}}}: use " + ", ".join("{" + f + "}" for f in TOPIC_FIELDS) + "."
    if any(spec or conversion for _, _, spec, conversion in parts):
        return "Placeholders take no format: write {reference_id}, not {reference_id:10}."
    if not template.strip():
        return "The topic cannot be empty."
    return ""
