"""Status commands from Zulip: an outgoing-webhook bot is mentioned
(`@**Fieldhook** RMA-123 status Ready for Pickup`), Zulip POSTs the message to
`/webhooks/zulip/<integration uuid>/`, and what we answer is posted back as the bot's reply.
Here: checking the call's token, reading the command, and wording the replies; the generic
inbound view and `integrations.inbound.services` find the work item (in the integration's
tenant only) and change it.

Zulip's outgoing webhooks are not signed: each call carries the bot's fixed token in its JSON
body, compared here in constant time with the integration's `outgoing_webhook_token`.
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

from integrations.connectors.base import InboundCall, InboundOutcome, InboundRejected, StatusCommand
from workitems.models import WorkItem

STATUSES = tuple(WorkItem.Status.values)
# @**Name**, @**Name|12** (a name shared by several users), @_**Name** (silent); "@fieldhook" typed by hand.
MENTION = re.compile(r"@_?\*\*(?P<name>[^*|]+)(?:\|\d+)?\*\*")
TYPED_MENTION = re.compile(r"(?<!\w)@fieldhook\b", re.IGNORECASE)
REFERENCE = re.compile(r"^[A-Za-z][A-Za-z0-9]*-\d+$")
STATUS_WORDS = {"status", "to", "->", "→", "=", ":"}
PUNCTUATION = ".,;:#"
DEFAULT_BOT = "Fieldhook"


DEFAULT_SENDER = "someone"


@dataclass(frozen=True)
class Command:
    """What the message asks: `help`, or move `reference_id` to `status` (as typed); `problem`
    is the reply to send instead when the message could not be read as a command."""

    action: str  # "help", "status" or "invalid"
    reference_id: str = ""
    status: str = ""
    problem: str = ""


def call_verified(*, body: bytes, configured: str) -> bool:
    """Whether the JSON body carries the configured token (compared in constant time). A body
    that is not JSON carries none; no token configured: every call is refused."""
    try:
        received = json.loads(body).get("token")
    except (ValueError, AttributeError):
        return False
    return token_valid(received=received, configured=configured)


def token_valid(*, received: Any, configured: str) -> bool:
    """The call's token against the configured one, in constant time; no token configured: refused."""
    if not configured or not isinstance(received, str) or not received:
        return False
    return hmac.compare_digest(received.encode(), configured.encode())


def outgoing_call(body: Any) -> dict[str, Any]:
    """The fields of a Zulip outgoing-webhook call (the native JSON format)."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), str) or "token" not in body:
        raise InboundRejected(
            "Not a Zulip outgoing-webhook call: expected JSON with 'data' and 'token' "
            "(choose the Zulip format, not the Slack-compatible one, when creating the bot)."
        )
    return body


def call_parse(payload: Any) -> InboundCall:
    """A status command, or the help / an explanation to reply with when there is none."""
    body = outgoing_call(payload)
    command = command_parse(body)
    if command.action == "help":
        return InboundCall(ignored="help", reply=reply_help(bot=bot_name(body)))
    if command.action == "invalid":
        return InboundCall(ignored="command not understood", reply=command.problem)
    return InboundCall(
        command=StatusCommand(reference_id=command.reference_id, status=command.status, by=sender_name(body))
    )


def sender_name(body: dict[str, Any]) -> str:
    """Who mentioned the bot: 'Ana Silva (ana@example.com)'."""
    message = body.get("message") if isinstance(body.get("message"), dict) else {}
    name = " ".join(str(message.get("sender_full_name") or "").split())
    email = str(message.get("sender_email") or "").strip()
    if name and email:
        return f"{name} ({email})"
    return name or email or DEFAULT_SENDER


def command_parse(body: dict[str, Any]) -> Command:
    """The command in the message, without the bot's mention (wherever it is)."""
    text = MENTION.sub(" ", str(body.get("data") or ""))
    words = TYPED_MENTION.sub(" ", text).split()
    if not words or words[0].lower() in {"help", "?"}:
        return Command("help")
    reference = next((word for word in words if REFERENCE.match(word.strip(PUNCTUATION))), "")
    if not reference:
        return Command("invalid", problem=reply_not_understood(" ".join(words), bot=bot_name(body)))
    rest = words[words.index(reference) + 1 :]
    while rest and rest[0].lower() in STATUS_WORDS:
        rest = rest[1:]
    reference_id = reference.strip(PUNCTUATION).upper()
    wanted = " ".join(rest).strip(" .!")
    if not wanted:
        return Command("invalid", reference_id=reference_id, problem=reply_missing_status(reference_id))
    return Command("status", reference_id=reference_id, status=wanted)


def bot_name(body: dict[str, Any]) -> str:
    """How people mention the bot, for the help text."""
    return str(body.get("bot_full_name") or DEFAULT_BOT)


def status_match(text: str) -> str | None:
    """A status from what people type: any case, '-' or '_' for spaces, or the start of one
    status's name ('ready' → Ready for Pickup); None when nothing or several match."""
    wanted = _normalized(text)
    if not wanted:
        return None
    exact = [status for status in STATUSES if _normalized(status) == wanted]
    if exact:
        return exact[0]
    started = [status for status in STATUSES if _normalized(status).startswith(wanted)]
    return started[0] if len(started) == 1 else None


def _normalized(text: str) -> str:
    return " ".join(re.sub(r"[-_]+", " ", text).casefold().split())


# --- Replies (Zulip Markdown) ---------------------------------------------------------------


def reply_body(content: str | None) -> dict[str, Any]:
    """What the webhook answers: a reply posted by the bot, or none."""
    return {"content": content} if content else {"response_not_required": True}


def reply_for(call: InboundCall, outcome: InboundOutcome) -> dict[str, Any]:
    """The bot's reply to a call: the help or a problem, or what the command did."""
    command = call.command
    if command is None:
        return reply_body(call.reply)
    reference_id = command.reference_id
    replies = {
        "updated": lambda: reply_status_changed(
            reference_id=reference_id, old=outcome.previous, new=outcome.status, url=outcome.url
        ),
        "unchanged": lambda: reply_unchanged(reference_id=reference_id, status=outcome.status),
        "unmapped": lambda: reply_unknown_status(command.status),
        "unknown": lambda: reply_unknown_reference(reference_id),
        "invalid": lambda: reply_refused(reference_id=reference_id, reason=outcome.problem),
    }
    reply = replies.get(outcome.result)
    return reply_body(reply() if reply else f"I could not change **{reference_id}** ({outcome.result}).")


def reply_status_changed(*, reference_id: str, old: str, new: str, url: str) -> str:
    return f"✅ **{reference_id}** is now **{new}** (was {old}). [Open {reference_id} in Fieldhook]({url})"


def reply_unchanged(*, reference_id: str, status: str) -> str:
    return f"**{reference_id}** is already **{status}**: nothing changed."


def reply_unknown_reference(reference_id: str) -> str:
    return (
        f"I found no work item **{reference_id}**. Check the reference (it is in the topic name, "
        "e.g. `RMA-123`); I only see the work items of this integration's company."
    )


def reply_unknown_status(text: str) -> str:
    return f"**{_quoted(text)}** is not a status I know. Use one of: {_statuses()}."


def reply_missing_status(reference_id: str) -> str:
    return f"Which status should **{reference_id}** get? For example: `{reference_id} status Ready for Pickup`."


def reply_not_understood(text: str, *, bot: str = DEFAULT_BOT) -> str:
    return f"I did not understand “{_quoted(text)}”. " + reply_help(bot=bot)


def reply_refused(*, reference_id: str, reason: str) -> str:
    """The change was not saved (the work item refused it); `reason` says why in plain words."""
    return f"I could not change **{reference_id}**: {reason}"


def reply_help(*, bot: str = DEFAULT_BOT) -> str:
    return (
        "I change the status of a work item. Mention me with its reference and the new status, e.g. "
        f"`@**{bot}** RMA-123 status Ready for Pickup`. Statuses: "
        f"{_statuses()}. Any case works, and the start of a name is enough (`ready`)."
    )


def _statuses() -> str:
    return ", ".join(STATUSES)


def _quoted(text: str) -> str:
    """User text inside a reply: one line, short, no Markdown that could mention or format."""
    return re.sub(r"([\\`*_\[\]])", r"\\\1", " ".join(text.split())[:80])
