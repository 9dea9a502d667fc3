"""Zulip: each work item gets a topic in one channel; its events are messages in that topic,
and the topic's first message gets a ✅ reaction when the work item closes. The channel is
created (and the bot subscribed) when it is missing and the integration allows it.

Idempotency: Zulip takes no idempotency key. A retried delivery (an earlier attempt may
have posted before its answer was lost) first reads the bot's latest messages in the topic
and adopts one with the same content sent since the event; only then does it post. The ✅
reaction is idempotent (REACTION_ALREADY_EXISTS counts as done) and is added before a
reply, so a retry never repeats a message because of it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from integrations.connectors.base import (
    Capability,
    Connector,
    DeliveryResult,
    Event,
    InboundCall,
    InboundOutcome,
)
from integrations.connectors.errors import ConnectorError, ErrorClass
from integrations.connectors.text import closes, event_time
from integrations.connectors.zulip import config, inbound
from integrations.connectors.zulip.client import ZulipApi, ZulipError
from integrations.connectors.zulip.config import ZulipConfig, topic_template_error
from integrations.connectors.zulip.render import TEST_TOPIC, topic, zulip_content

DONE_EMOJI = "check"  # ✅
LOOK_BACK_MESSAGES = 50
LOOK_BACK_SECONDS = 60
CHANNEL_DESCRIPTION = "Work items from Fieldhook, one topic each."


class ZulipConnector(Connector):
    kind = "zulip"
    label = "Zulip"
    capabilities = frozenset({Capability.DELIVERS, Capability.RECEIVES_WEBHOOKS})
    description = (
        "Posts each work item's events in its own topic of a Zulip channel; people change a work item's status "
        "by mentioning an outgoing-webhook bot."
    )
    # Zulip allows 200 requests a minute per user; a delivery makes one request, sometimes
    # two or three (a reaction, creating the channel), so deliveries stay below that.
    default_rate_per_second = 3.0
    uses_external_links = True
    config_class = ZulipConfig
    config_fields = config.FIELDS
    destination_fields = ("site_url",)
    config: ZulipConfig

    @classmethod
    def clean_config(cls, cleaned: dict[str, Any], form: Any) -> dict[str, Any]:
        return config.clean_config(cleaned, form)

    @cached_property
    def api(self) -> ZulipApi:
        return ZulipApi(
            site_url=self.config.site_url, email=self.config.bot_email, api_key=str(self.secrets.get("api_key") or "")
        )

    # --- Delivering ---------------------------------------------------------------------------

    def deliver(self, event: Event) -> DeliveryResult:
        if event.event_type == "integration_test":
            message_id = self._send(event, channel=self.config.channel, topic=TEST_TOPIC)
            return self._result(f"Posted a test message (#{message_id}) in topic '{TEST_TOPIC}'.")
        existing = event.existing
        if existing is None:
            channel = self.config.channel
            where = topic(self._topic_template(), event.payload["workitem"])
            first_id = str(self._send(event, channel=channel, topic=where))
            if closes(event.payload):
                self._mark_done(first_id)
            excerpt = f"Started topic '{where}' in channel '{channel}' (message #{first_id})."
        else:
            channel = str(existing.details.get("channel") or self.config.channel)
            where = str(existing.details.get("topic") or "")
            first_id = existing.external_id
            if closes(event.payload):
                self._mark_done(first_id)
            excerpt = f"Posted message #{self._send(event, channel=channel, topic=where)} in topic '{where}'."
        return self._result(
            excerpt,
            external_id=first_id,
            external_url=f"{self.config.site_url}/#narrow/id/{first_id}",
            details={"channel": channel, "topic": where},
        )

    def _topic_template(self) -> str:
        """The template, checked again here: a stored one never reached the form's check."""
        template = self.config.topic_template
        error = topic_template_error(template)
        if error:
            message = f"The Zulip topic template {template!r} cannot be used: {error}"
            raise ConnectorError(message, permanent=True, error_class=ErrorClass.CONFIG)
        return template

    def _result(self, excerpt: str, **link: Any) -> DeliveryResult:
        return DeliveryResult(status_code=200, response_excerpt=excerpt, rate_limit=self.api.rate_limit, **link)

    def _send(self, event: Event, *, channel: str, topic: str) -> int:
        """The id of the event's message in the topic: an earlier attempt's, else a new one."""
        content = zulip_content(event.payload)
        if event.attempt > 1:
            found = self._find_sent(event, channel=channel, topic=topic, content=content)
            if found is not None:
                return found
        # The name JSON-encoded: Zulip reads a bare "2024" as the id of channel 2024.
        form = {"type": "stream", "to": json.dumps(channel), "topic": topic, "content": content}
        try:
            return int(self.api.post("/messages", form=form, what="the message")["id"])
        except ZulipError as error:
            if error.code != "STREAM_DOES_NOT_EXIST" or not self.config.create_channel:
                raise
        self._create_channel(channel)
        return int(self.api.post("/messages", form=form, what="the message")["id"])

    def _find_sent(self, event: Event, *, channel: str, topic: str, content: str) -> int | None:
        narrow = [
            {"operator": "stream", "operand": channel},
            {"operator": "topic", "operand": topic},
            {"operator": "sender", "operand": self.config.bot_email},
        ]
        params = {"anchor": "newest", "num_before": LOOK_BACK_MESSAGES, "num_after": 0}
        params |= {"narrow": narrow, "apply_markdown": False}
        try:
            found = self.api.get("/messages", params=params, what="the search for an earlier message")
        except ZulipError as error:
            if error.permanent and error.error_class != ErrorClass.AUTH:
                return None  # e.g. the channel does not exist yet: nothing was posted there
            raise
        since = (event_time(event.payload) or 0) - LOOK_BACK_SECONDS
        return next(
            (
                int(message["id"])
                for message in reversed(found.get("messages") or [])
                if message.get("content") == content and float(message.get("timestamp") or 0) >= since
            ),
            None,
        )

    def _create_channel(self, channel: str) -> None:
        subscription = {"name": channel, "description": CHANNEL_DESCRIPTION}
        self.api.post("/users/me/subscriptions", form={"subscriptions": [subscription]}, what="creating the channel")

    def _mark_done(self, message_id: str) -> None:
        try:
            self.api.post(f"/messages/{message_id}/reactions", form={"emoji_name": DONE_EMOJI}, what="the ✅ reaction")
        except ZulipError as error:
            if error.code != "REACTION_ALREADY_EXISTS":  # a retry, or someone reacted first: done either way
                raise

    # --- Status commands (an outgoing-webhook bot) ----------------------------------------------

    def inbound_verify(self, *, headers: Mapping[str, str], body: bytes) -> bool:
        return inbound.call_verified(body=body, configured=str(self.secrets.get("outgoing_webhook_token") or ""))

    def inbound_parse(self, *, payload: Any) -> InboundCall:
        return inbound.call_parse(payload)

    def local_status_for(self, remote_status: str) -> str | None:
        """The Fieldhook status a person typed in a command ('ready' → Ready for Pickup)."""
        return inbound.status_match(remote_status)

    def inbound_reply(self, call: InboundCall, outcome: InboundOutcome) -> dict[str, Any]:
        return inbound.reply_for(call, outcome)

    # --- Admin ----------------------------------------------------------------------------------

    def test_connection(self) -> str:
        me = self.api.get("/users/me", what="the bot's profile")
        who = f"Connected to {self.config.site_url} as {me.get('full_name')} ({me.get('email')})"
        channel = self.config.channel
        try:
            self.api.get("/get_stream_id", params={"stream": channel}, what="the channel look-up")
        except ZulipError as error:
            if error.code != "BAD_REQUEST":
                raise
            if not self.config.create_channel:
                raise ConnectorError(
                    f"{who}, but channel '{channel}' does not exist or the bot cannot see it: create it in Zulip "
                    "(subscribe the bot if it is private), or tick 'Create the channel if missing'.",
                    permanent=True,
                    error_class=ErrorClass.CONFIG,
                ) from None
            return f"{who}; channel '{channel}' does not exist yet: the first message will create it."
        return f"{who}; channel '{channel}' found."
