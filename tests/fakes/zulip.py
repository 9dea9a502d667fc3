"""A fake Zulip (REST API v1), faithful where our connector cares, served behind `responses`
or on a local server (tests/fakes/served.py):

- every request is checked against Zulip's OpenAPI spec (tests/contracts/specs/zulip, with
  its security requirement fixed below) and by hand: form-encoded bodies, parameters the
  endpoint knows, a topic within 60 characters; a bad request is recorded in `violations`,
  which the tests' fixture asserts empty;
- HTTP Basic `email:api_key` of the bot, else 401 like Zulip's;
- channels (public or private, with subscribers), messages with topics, reactions, the bot
  creating a channel by subscribing to it (if the organization lets it);
- answers `{"result": "success", …}` or `{"result": "error", "msg", "code"}` with Zulip's
  codes, and X-RateLimit-Limit/-Remaining/-Reset on every answer (Reset a Unix time);
  429 RATE_LIMIT_HIT with Retry-After and `retry-after` when the quota is spent;
- faults (an HTTP status with a code, a lost answer after the work) for the next matching requests.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
import responses

from tests.contracts.openapi import vendor_spec
from tests.fakes.served import (
    Answer,
    FakeRequest,
    Fault,
    Faults,
    RateWindowed,
    basic_credentials,
    install,
    spec_problems,
)

SITE_URL = "https://zulip.example.com"
BOT_EMAIL = "fieldhook-bot@zulip.example.com"
API_KEY = "zulip-api-key-8f3a"
BOT_NAME = "Fieldhook"
BOT_ID = 27
CHANNEL = "repairs"
MAX_TOPIC = 60
OUTGOING_TOKEN = "outgoing-token-7c1e"
EMOJI = {"check", "+1", "tada", "octopus"}
PARAMETERS = {
    ("POST", "/messages"): {"type", "to", "topic", "content", "queue_id", "local_id", "read_by_sender"},
    ("GET", "/messages"): {"anchor", "num_before", "num_after", "narrow", "apply_markdown", "client_gravatar"},
    ("POST", "/users/me/subscriptions"): {"subscriptions", "principals", "announce", "invite_only"},
    ("GET", "/users/me"): set(),
    ("GET", "/get_stream_id"): {"stream"},
    ("POST", "/messages/{id}/reactions"): {"emoji_name", "emoji_code", "reaction_type"},
}


def zulip_spec(server: str):
    """Zulip's spec with its security requirement pointing at the scheme it defines: the
    document requires `basicAuth` while the scheme is named `BasicAuth`, so as published a
    request without credentials passes."""
    return vendor_spec("zulip", server=server, adjust=_require_basic_auth)


def _require_basic_auth(document: dict[str, Any]) -> None:
    document["security"] = [{"BasicAuth": []}]


@dataclass
class FakeZulip(RateWindowed):
    validate: bool = True  # the benchmark turns the spec check off to time our side, not openapi-core
    bots: dict[str, str] = field(default_factory=lambda: {BOT_EMAIL: API_KEY})
    channels: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {CHANNEL: {"id": 5, "private": False, "subscribers": {BOT_EMAIL}}}
    )
    bots_may_create_channels: bool = True
    rate_limit: int = 200
    rate_window_seconds: float = 60.0
    messages: list[dict[str, Any]] = field(default_factory=list)
    reactions: dict[int, list[str]] = field(default_factory=dict)
    requests: list[FakeRequest] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count = field(default_factory=lambda: itertools.count(101))
    window: list[float] = field(default_factory=list)  # when the requests of the current rate window came

    def install(self, mock: responses.RequestsMock) -> FakeZulip:
        install(mock, SITE_URL, self.handle)
        return self

    # --- Test helpers ------------------------------------------------------------------------

    def calls(self, method: str, path: str) -> list[FakeRequest]:
        return [r for r in self.requests if r.method == method and re.fullmatch(rf"/api/v1{path}", r.path)]

    def fail_next(self, method: str, path: str, *, status: int, code: str = "", times: int = 1, **headers: str):
        self.faults.add(Fault(method, path, status=status, error=code, headers=headers, times=times))

    def lose_answer_next(self, method: str, path: str) -> None:
        self.faults.add(Fault(method, path, after=True))

    def in_topic(self, channel: str, topic: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["channel"] == channel and m["topic"] == topic]

    # --- Dispatch ------------------------------------------------------------------------------

    def handle(self, request: FakeRequest) -> Answer:
        with self.lock:
            self.requests.append(request)
            answer = self._handle(request)
            answer.headers.update(self._rate_headers())
            return answer

    def _handle(self, request: FakeRequest) -> Answer:
        base, _, path = request.url.partition("/api/v1")
        path = "/" + path.split("?", 1)[0].lstrip("/")
        if self.validate:
            for problem in spec_problems(zulip_spec(base + "/api/v1"), request):
                self._violation(request, problem)
        route, handler, match = self._route(request.method, path)
        if handler is None:
            self._violation(request, "the fake does not serve this endpoint")
            return _error(404, "BAD_REQUEST", "Invalid API endpoint")
        args = request.query
        if request.method == "POST":
            if request.headers.get("Content-Type") != "application/x-www-form-urlencoded":
                self._violation(request, f"Content-Type {request.headers.get('Content-Type')!r}, expected a form")
            args = {**args, **request.form()}
        unknown = set(args) - PARAMETERS[route]
        if unknown:
            self._violation(request, f"parameters Zulip ignores here: {sorted(unknown)}")
        if not self._authenticated(request.headers.get("Authorization", "")):
            if "Authorization" in request.headers:
                answer = _error(401, "INVALID_API_KEY", "Invalid API key")
            else:
                answer = _error(401, "UNAUTHORIZED", "Missing authorization header")
            answer.headers["WWW-Authenticate"] = 'Basic realm="zulip"'
            return answer
        if self._spent():
            retry = max(1.0, self.window[0] + self.rate_window_seconds - time.time())
            answer = _error(429, "RATE_LIMIT_HIT", "API usage exceeded rate limit", **{"retry-after": retry})
            answer.headers["Retry-After"] = str(int(retry) + 1)
            return answer
        self.window.append(time.time())
        fault = self.faults.take(request.method, path)
        if fault and not fault.after:
            answer = _error(fault.status, fault.error or "BAD_REQUEST", "Injected by the test.")
            answer.headers.update(fault.headers)
            return answer
        answer = handler(request, args, **match)
        if fault:
            raise requests.ReadTimeout("The fake did the work, then never answered.")
        return answer

    def _route(self, method: str, path: str) -> tuple[tuple[str, str], Any, dict[str, str]]:
        routes = {
            ("POST", "/messages"): self._send,
            ("GET", "/messages"): self._messages,
            ("POST", "/users/me/subscriptions"): self._subscribe,
            ("GET", "/users/me"): self._me,
            ("GET", "/get_stream_id"): self._stream_id,
        }
        if (method, path) in routes:
            return (method, path), routes[(method, path)], {}
        reaction = re.fullmatch(r"/messages/(?P<message_id>\d+)/reactions", path)
        if method == "POST" and reaction:
            return ("POST", "/messages/{id}/reactions"), self._react, reaction.groupdict()
        return (method, path), None, {}

    def _violation(self, request: FakeRequest, problem: str) -> None:
        self.violations.append(f"{request.method} {request.path}: {problem}")

    def _authenticated(self, header: str) -> bool:
        credentials = basic_credentials(header)
        return credentials is not None and self.bots.get(credentials[0]) == credentials[1]

    def _rate_headers(self) -> dict[str, str]:
        reset = self._reset_at()
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(self._remaining()),
            "X-RateLimit-Reset": str(int(reset)),
        }

    # --- Endpoints -------------------------------------------------------------------------------

    def _channel_named(self, indicator: str) -> str | int:
        """How Zulip reads `to` for a channel message: JSON (a name, an id, a one-item list) or a bare name."""
        try:
            value = json.loads(indicator)
        except ValueError:
            return indicator
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        return value if isinstance(value, (str, int)) else indicator

    def _visible(self, name: str) -> dict[str, Any] | None:
        channel = self.channels.get(name)
        if channel is None or (channel["private"] and BOT_EMAIL not in channel["subscribers"]):
            return None
        return channel

    def _send(self, request: FakeRequest, args: dict[str, str]) -> Answer:
        if args.get("type") not in ("stream", "channel"):
            self._violation(request, f"type {args.get('type')!r}: the connector sends channel messages")
        if "topic" not in args:
            return _error(400, "REQUEST_VARIABLE_MISSING", "Missing 'topic' argument", var_name="topic")
        if len(args["topic"]) > MAX_TOPIC:
            self._violation(request, f"a topic of {len(args['topic'])} characters (Zulip cuts at {MAX_TOPIC})")
        target = self._channel_named(args.get("to", ""))
        if isinstance(target, int):
            name = next((n for n, c in self.channels.items() if c["id"] == target), None)
            if name is None:
                return _error(400, "BAD_REQUEST", f"Invalid channel ID {target}")
        else:
            name = target
        if name not in self.channels:
            return _error(400, "STREAM_DOES_NOT_EXIST", f"Channel '{name}' does not exist", stream=name)
        if self._visible(name) is None:
            return _error(400, "BAD_REQUEST", f"Not authorized to send to channel '{name}'")
        message_id = next(self.ids)
        self.messages.append(
            {
                "id": message_id,
                "channel": name,
                "topic": args["topic"][:MAX_TOPIC],
                "content": args.get("content", ""),
                "sender_email": BOT_EMAIL,
                "timestamp": int(time.time()),
            }
        )
        return _success(id=message_id)

    def _messages(self, request: FakeRequest, args: dict[str, str]) -> Answer:
        try:
            narrow = json.loads(args.get("narrow", "[]"))
        except ValueError:
            return _error(400, "BAD_REQUEST", "Invalid narrow")
        found = list(self.messages)
        for term in narrow:
            operator, operand = term.get("operator"), term.get("operand")
            if operator in ("stream", "channel"):
                if self._visible(operand) is None:
                    return _error(400, "BAD_REQUEST", f"Invalid narrow operator: unknown channel '{operand}'")
                found = [m for m in found if m["channel"] == operand]
            elif operator == "topic":
                found = [m for m in found if m["topic"].casefold() == str(operand).casefold()]
            elif operator == "sender":
                found = [m for m in found if m["sender_email"] == operand]
            else:
                return _error(400, "BAD_REQUEST", f"Invalid narrow operator: unknown operator {operator}")
        if args.get("anchor") != "newest":
            self._violation(request, "the connector reads the newest messages (anchor=newest)")
        found = found[-int(args.get("num_before") or 0) - 1 :] if found else []
        raw = args.get("apply_markdown") == "false"
        shown = [
            {
                "id": m["id"],
                "subject": m["topic"],
                "display_recipient": m["channel"],
                "content": m["content"] if raw else f"<p>{m['content']}</p>",
                "sender_email": m["sender_email"],
                "timestamp": m["timestamp"],
                "type": "stream",
            }
            for m in found
        ]
        return _success(messages=shown, found_newest=True, found_oldest=True, found_anchor=False)

    def _react(self, request: FakeRequest, args: dict[str, str], *, message_id: str) -> Answer:
        message = next((m for m in self.messages if m["id"] == int(message_id)), None)
        if message is None or self._visible(message["channel"]) is None:
            return _error(400, "BAD_REQUEST", "Invalid message(s)")
        if args.get("emoji_name") not in EMOJI:
            return _error(400, "BAD_REQUEST", f"Emoji '{args.get('emoji_name')}' does not exist")
        names = self.reactions.setdefault(message["id"], [])
        if args["emoji_name"] in names:
            return _error(400, "REACTION_ALREADY_EXISTS", "Reaction already exists.")
        names.append(args["emoji_name"])
        return _success()

    def _subscribe(self, request: FakeRequest, args: dict[str, str]) -> Answer:
        subscriptions = json.loads(args.get("subscriptions", "[]"))
        subscribed, already = [], []
        for subscription in subscriptions:
            name = subscription["name"]
            if name not in self.channels:
                if not self.bots_may_create_channels:
                    return _error(400, "BAD_REQUEST", "Insufficient permission")
                new_id = max((c["id"] for c in self.channels.values()), default=0) + 1
                self.channels[name] = {"id": new_id, "private": False, "subscribers": set()}
            channel = self.channels[name]
            (already if BOT_EMAIL in channel["subscribers"] else subscribed).append(name)
            channel["subscribers"].add(BOT_EMAIL)
        key = str(BOT_ID)
        return _success(
            subscribed={key: subscribed} if subscribed else {}, already_subscribed={key: already} if already else {}
        )

    def _me(self, request: FakeRequest, args: dict[str, str]) -> Answer:
        return _success(user_id=BOT_ID, email=BOT_EMAIL, full_name=BOT_NAME, is_bot=True, is_active=True)

    def _stream_id(self, request: FakeRequest, args: dict[str, str]) -> Answer:
        channel = self._visible(args.get("stream", ""))
        if channel is None:
            return _error(400, "BAD_REQUEST", f"Invalid channel name '{args.get('stream')}'")
        return _success(stream_id=channel["id"])


def _success(**fields: Any) -> Answer:
    return Answer.of_json({"result": "success", "msg": "", **fields})


def _error(status: int, code: str, msg: str, **fields: Any) -> Answer:
    return Answer.of_json({"result": "error", "msg": msg, "code": code, **fields}, status)


def outgoing_webhook_call(data: str, *, token: str = OUTGOING_TOKEN, **message: Any) -> dict[str, Any]:
    """What Zulip POSTs to an outgoing-webhook bot when someone mentions it (native format)."""
    return {
        "bot_email": "fieldhook-outgoing-bot@zulip.example.com",
        "bot_full_name": BOT_NAME,
        "data": data,
        "trigger": "mention",
        "token": token,
        "message": {
            "id": 112,
            "type": "stream",
            "display_recipient": CHANNEL,
            "subject": "RMA-1: Cracked screen",
            "content": data,
            "sender_email": "ana@example.com",
            "sender_full_name": "Ana Silva",
            "timestamp": 1527876931,
            **message,
        },
    }
