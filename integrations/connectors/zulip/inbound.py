"""Status commands from Zulip, the parts that need no database: reading an outgoing-webhook
call (`@**Fieldhook** RMA-123 status Ready for Pickup`), checking its token, and the
replies the bot posts back. The generic inbound view looks the work item up, applies the
change and answers with `reply_body(...)`.

Zulip's outgoing webhooks are not signed: each call carries the bot's fixed token, compared
here in constant time with the integration's `outgoing_webhook_token`.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Any

STATUSES = ("New", "In Progress", "Awaiting Parts", "Ready for Pickup", "Closed", "Cancelled")
# @**Name**, @**Name|12** (a name shared by several users), @_**Name** (silent); "@fieldhook" typed by hand.
MENTION = re.compile(r"@_?\*\*(?P<name>[^*|]+)(?:\|\d+)?\*\*")
TYPED_MENTION = re.compile(r"(?<!\w)@fieldhook\b", re.IGNORECASE)
REFERENCE = re.compile(r"^[A-Za-z][A-Za-z0-9]*-\d+$")
STATUS_WORDS = {"status", "to", "->", "→", "=", ":"}
PUNCTUATION = ".,;:#"
DEFAULT_BOT = "Fieldhook"


class InboundError(Exception):
    """A call that is not a Zulip outgoing-webhook call (answered 400, nothing changes)."""


@dataclass(frozen=True)
class Command:
    """What the message asks: `help`, or move `reference_id` to `status`; `problem` is the
    reply to send instead when the message could not be read as a command."""

    action: str  # "help", "status" or "invalid"
    reference_id: str = ""
    status: str = ""
    problem: str = ""


def token_valid(*, received: Any, configured: str) -> bool:
    """The call's token against the configured one, in constant time; no token configured: refused."""
    if not configured or not isinstance(received, str) or not received:
        return False
    return hmac.compare_digest(received.encode(), configured.encode())


def outgoing_call(body: Any) -> dict[str, Any]:
    """The fields of a Zulip outgoing-webhook call (the native JSON format)."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), str) or "token" not in body:
        raise InboundError(
            "Not a Zulip outgoing-webhook call: expected JSON with 'data' and 'token' "
            "(choose the Zulip format, not the Slack-compatible one, when creating the bot)."
        )
    return body


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
    if not rest:
        return Command("invalid", reference_id=reference_id, problem=reply_missing_status(reference_id))
    wanted = " ".join(rest).strip(" .!")
    status = status_match(wanted)
    if status is None:
        return Command("invalid", reference_id=reference_id, problem=reply_unknown_status(wanted))
    return Command("status", reference_id=reference_id, status=status)


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
