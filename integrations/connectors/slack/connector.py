"""Slack: an incoming webhook posts one message per event; a bot posts a work item's first
message and answers its later events in that message's thread, adding ✅ to it when the work
item closes. The bot's token is pasted, or obtained by the generic OAuth flow ('Connect to
Slack', Slack's OAuth v2), which also renews it when the app has token rotation on.

Idempotency (bot token): Slack's chat.postMessage takes no idempotency key, so every message
carries the event id in its metadata, and a retried delivery (an earlier attempt may have
posted before its answer was lost) first looks for that message in the channel or thread.
That look needs a history scope (channels:history, groups:history for private channels);
without it the post is sent again. The ✅ reaction is idempotent (already_reacted counts as
done) and is added before a reply, so a retry never repeats a message because of it.
An incoming webhook cannot be asked what it posted: a post retried after a timeout may
appear twice.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from integrations.auth import oauth as generic_oauth
from integrations.connectors.base import Capability, Connector, DeliveryResult, Event, ExternalRef, OAuthEndpoints
from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.connectors.slack import config, oauth
from integrations.connectors.slack.client import CONNECTED, SlackApi, SlackError, webhook_post
from integrations.connectors.slack.config import SlackConfig, SlackMode
from integrations.connectors.slack.render import slack_message
from integrations.connectors.text import closes, event_time

DONE_REACTION = "white_check_mark"
METADATA_TYPE = "fieldhook_event"
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
LOOK_BACK_SECONDS = 60  # a retried first message is looked for from a minute before its event
UNREADABLE = {"missing_scope", "channel_not_found", "not_in_channel"}  # reading history may need more than posting


class SlackConnector(Connector):
    kind = "slack"
    label = "Slack"
    capabilities = frozenset({Capability.DELIVERS, Capability.OAUTH2, Capability.CONNECTION_STATE})
    description = "Posts each event to a Slack channel; with a bot, one thread per work item."
    # Slack allows about one message per second per incoming webhook and per channel.
    default_rate_per_second = 1.0
    uses_external_links = True
    config_class = SlackConfig
    config_fields = config.FIELDS
    destination_fields = ("api_url",)
    config: SlackConfig

    @classmethod
    def clean_config(cls, cleaned: dict[str, Any], form: Any) -> dict[str, Any]:
        return config.clean_config(cleaned, form)

    @cached_property
    def api(self) -> SlackApi:
        if self.uses_oauth():
            return SlackApi(
                api_url=self.config.api_url,
                token=lambda: generic_oauth.access_token(self),
                renewal=CONNECTED,
                refresh=lambda: generic_oauth.tokens_refresh(self),
            )
        return SlackApi(api_url=self.config.api_url, token=lambda: str(self.secrets.get("bot_token") or ""))

    # --- Delivering ---------------------------------------------------------------------------

    def deliver(self, event: Event) -> DeliveryResult:
        if self.config.mode == SlackMode.WEBHOOK:
            response = webhook_post(self._webhook_url(), slack_message(event.payload))
            return DeliveryResult(status_code=response.status_code, response_excerpt=response.excerpt)
        if event.event_type == "integration_test":
            answer = self._post(event, channel=self.config.channel, thread=None)
            return DeliveryResult(status_code=200, response_excerpt=f"Posted a test message (ts {answer['ts']}).")
        return self._deliver_in_thread(event)

    def _deliver_in_thread(self, event: Event) -> DeliveryResult:
        thread = event.existing
        if thread is None:
            posted = self._post(event, channel=self.config.channel, thread=None)
            channel, ts = str(posted["channel"]), str(posted["ts"])
            if closes(event.payload):
                self._mark_done(channel=channel, ts=ts)
            return DeliveryResult(
                external_id=ts,
                external_url=self._permalink(channel=channel, ts=ts),
                status_code=200,
                response_excerpt=f"Started a thread in channel {channel} (ts {ts}).",
                details={"channel": channel},
            )
        channel = str(thread.details.get("channel") or self.config.channel)
        if closes(event.payload):
            self._mark_done(channel=channel, ts=thread.external_id)
        posted = self._post(event, channel=channel, thread=thread)
        return DeliveryResult(
            external_id=thread.external_id,
            external_url=thread.external_url,
            status_code=200,
            response_excerpt=f"Replied in the thread (ts {posted['ts']}).",
            details=thread.details,
        )

    def _post(self, event: Event, *, channel: str, thread: ExternalRef | None) -> dict[str, Any]:
        """chat.postMessage, unless a retried delivery finds that an earlier attempt posted it."""
        if event.attempt > 1:
            earlier = self._find_posted(event, channel=channel, thread=thread)
            if earlier is not None:
                return {"channel": channel, "ts": earlier["ts"]}
        body: dict[str, Any] = {
            "channel": channel,
            **slack_message(event.payload, in_thread=thread is not None),
            "unfurl_links": False,
            "unfurl_media": False,
            "metadata": {"event_type": METADATA_TYPE, "event_payload": {"event_id": event.event_id}},
        }
        if thread is not None:
            body["thread_ts"] = thread.external_id
        return self.api.call("chat.postMessage", body=body)

    def _find_posted(self, event: Event, *, channel: str, thread: ExternalRef | None) -> dict[str, Any] | None:
        """The message whose metadata carries this event's id, if the token may read the channel."""
        params: dict[str, Any] = {"channel": channel, "include_all_metadata": "true", "limit": 200}
        if thread is not None:
            method = "conversations.replies"
            params["ts"] = thread.external_id
        else:
            method = "conversations.history"
            oldest = event_time(event.payload)
            if oldest:
                params["oldest"] = f"{oldest - LOOK_BACK_SECONDS:.6f}"
        try:
            answer = self.api.call(method, params=params)
        except SlackError as error:
            if error.code in UNREADABLE:
                return None
            raise
        return next(
            (
                message
                for message in answer.get("messages") or []
                if ((message.get("metadata") or {}).get("event_payload") or {}).get("event_id") == event.event_id
            ),
            None,
        )

    def _mark_done(self, *, channel: str, ts: str) -> None:
        try:
            self.api.call("reactions.add", body={"channel": channel, "name": DONE_REACTION, "timestamp": ts})
        except SlackError as error:
            if error.code != "already_reacted":  # a retry, or someone reacted first: done either way
                raise

    def _permalink(self, *, channel: str, ts: str) -> str:
        """A link to the thread for the sync and the work item's note; '' when Slack will not say."""
        try:
            answer = self.api.call("chat.getPermalink", params={"channel": channel, "message_ts": ts})
        except ConnectorError:
            return ""
        return str(answer.get("permalink") or "")

    def _webhook_url(self) -> str:
        url = str(self.secrets.get("webhook_url") or "")
        if not url:
            raise ConnectorError(
                "No Slack incoming-webhook URL is stored: paste it into the integration's settings.",
                permanent=True,
                error_class=ErrorClass.CONFIG,
            )
        return url

    # --- OAuth ----------------------------------------------------------------------------------

    def uses_oauth(self) -> bool:
        return self.config.mode == SlackMode.BOT_OAUTH

    def oauth_endpoints(self) -> OAuthEndpoints:
        return oauth.endpoints(self.config.api_url)

    def oauth_token_refusal(self, body: Any) -> str:
        return oauth.token_refusal(body)

    def oauth_account_name(self, access_token: str) -> str:
        return oauth.account_name(api_url=self.config.api_url, access_token=access_token)

    # --- Admin ----------------------------------------------------------------------------------

    def test_connection(self) -> str:
        if self.config.mode == SlackMode.WEBHOOK:
            host = urlsplit(self._webhook_url()).hostname
            return (
                f"An incoming webhook on {host} is configured. Slack cannot check a webhook without posting "
                "to it: use 'Send test event', which posts a short test message to its channel."
            )
        who = self.api.call("auth.test")
        return f"Connected to Slack workspace '{who.get('team')}' as {who.get('user')}; {self._channel_state()}"

    def connection_state(self) -> str:
        if self.config.mode == SlackMode.WEBHOOK:
            return "Incoming webhook"
        if self.config.mode == SlackMode.BOT:
            return "Bot token (pasted)"
        return generic_oauth.connection_state(self)

    def _channel_state(self) -> str:
        channel = self.config.channel
        if not CHANNEL_ID.match(channel):
            return f"posting to #{channel} by name (enter the channel's ID to let this test check it)."
        try:
            found = self.api.call("conversations.info", params={"channel": channel}).get("channel") or {}
        except SlackError as error:
            if error.code == "missing_scope":
                return f"channel {channel} not checked (the channels:read scope would let this test see it)."
            raise
        name = f"#{found.get('name') or channel}"
        if found.get("is_archived"):
            return f"channel {name} is archived: unarchive it or choose another channel."
        if found.get("is_member") is False:
            return f"channel {name} found, but the bot is not a member yet: invite it with /invite @your-app."
        return f"channel {name} found and the bot is a member."
