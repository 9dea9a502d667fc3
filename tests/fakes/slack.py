"""A fake Slack, faithful where our connector cares, served behind `responses` or on a local
server (tests/fakes/served.py):

- incoming webhooks (`/services/T…/B…/…`): JSON with `text` and valid Block Kit, no
  credentials sent along; answers 200 `ok` or Slack's plain-text errors (400
  invalid_payload, 403 invalid_token, 404 no_service / channel_not_found, 410
  channel_is_archived); incoming webhooks have no OpenAPI spec, so these are checked by hand;
- the Web API (`/api/<method>`): every request is checked against Slack's OpenAPI spec
  (tests/contracts/specs/slack, adjusted below) and by hand (Bearer token, JSON with charset,
  Block Kit); answers are HTTP 200 `{"ok": false, "error": …}` like Slack's, with scopes,
  channels, membership, threads, metadata and reactions kept in memory;
- OAuth v2: `approve(authorize_url)` plays the person who clicks "Allow" on Slack's
  authorize page (the app's client id, a registered redirect URL, bot scopes, no PKCE) and
  returns a code; `oauth.v2.access` (form-encoded POST, client credentials in the body or as
  Basic) trades it, or a refresh token with token rotation on, for a bot token as Slack
  does: errors as HTTP 200 `{"ok": false, "error": "invalid_code"}`, rotated tokens that
  expire (`token_expired`) and refresh tokens spent once. Slack's 2020 spec describes this
  method as a GET with a query, so it is checked by hand;
- faults (an HTTP status, a Slack error string, a lost answer after the work) can be
  injected for the next matching requests. Bad requests are recorded in `violations`, which
  the tests' fixture asserts empty.
"""

from __future__ import annotations

import base64
import copy
import itertools
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import responses

from tests.contracts.openapi import vendor_spec
from tests.fakes.served import Answer, FakeRequest, Fault, Faults, install, spec_problems

API_URL = "https://slack.com/api"
HOOKS_URL = "https://hooks.slack.com"
WEBHOOK_PATH = "/services/T0001/B0001/webhooksecret0001"
WEBHOOK_URL = HOOKS_URL + WEBHOOK_PATH
BOT_TOKEN = "xoxb-1111-2222-botsecret"
SCOPES = frozenset({"chat:write", "reactions:write"})
CHANNEL_ID = "C0REPAIRS1"
TEAM = {"team": "Acme Repairs", "team_id": "T0001", "url": "https://acme.slack.com/"}
BOT = {"user": "fieldhook", "user_id": "U0BOT0001", "bot_id": "B0BOT0001"}
NEEDED_SCOPE = {
    "chat.postMessage": "chat:write",
    "reactions.add": "reactions:write",
    "conversations.info": "channels:read",
    "conversations.history": "channels:history",
    "conversations.replies": "channels:history",
}
CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "slack-client-secret-5e6f7a"
APP_ID = "A0FIELDHOOK"
REDIRECT_URL = "https://fieldhook.example.com/integrations/oauth/slack/callback/"
ROTATION_SECONDS = 12 * 60 * 60  # a rotating token's lifetime
BLOCK_TYPES = {"header", "section", "actions", "context", "divider"}
SERVED = (  # the Web API methods the fake answers, each by its method `_<family>_<name>`
    "chat.postMessage",
    "chat.getPermalink",
    "reactions.add",
    "auth.test",
    "conversations.info",
    "conversations.history",
    "conversations.replies",
)


def slack_spec(server: str):
    """Slack's spec with what it does not say: the token as `Authorization: Bearer` (the spec
    has a `token` header/query parameter and an OAuth flow), and JSON bodies for writes (the
    spec has form bodies only; Slack takes JSON for them, blocks as arrays instead of strings)."""
    return vendor_spec("slack", server=server, adjust=_bearer_and_json)


def _bearer_and_json(document: dict[str, Any]) -> None:
    document["components"]["securitySchemes"] = {"bearerAuth": {"type": "http", "scheme": "bearer"}}
    for item in document["paths"].values():
        for operation in item.values():
            operation["parameters"] = [p for p in operation.get("parameters", []) if p.get("name") != "token"]
            operation["security"] = [{"bearerAuth": []}]
            content = (operation.get("requestBody") or {}).get("content") or {}
            form = content.get("application/x-www-form-urlencoded")
            if form:
                schema = copy.deepcopy(form["schema"])
                for name in ("blocks", "attachments"):
                    if name in schema.get("properties", {}):
                        schema["properties"][name] = {"type": "array", "items": {"type": "object"}}
                content["application/json"] = {"schema": schema}


@dataclass
class FakeSlack:
    validate: bool = True  # the benchmark turns the spec check off to time our side, not openapi-core
    webhooks: dict[str, str] = field(default_factory=lambda: {WEBHOOK_PATH: CHANNEL_ID})
    tokens: dict[str, set[str]] = field(default_factory=lambda: {BOT_TOKEN: set(SCOPES)})
    channels: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {CHANNEL_ID: {"name": "repairs", "is_archived": False, "is_member": True}}
    )
    messages: list[dict[str, Any]] = field(default_factory=list)
    reactions: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    requests: list[FakeRequest] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_ts: float = 0.0
    # OAuth v2: the app's credentials and redirect URLs, codes handed out, token rotation.
    clients: dict[str, str] = field(default_factory=lambda: {CLIENT_ID: CLIENT_SECRET})
    redirect_urls: set[str] = field(default_factory=lambda: {REDIRECT_URL})
    rotation: bool = False
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    refresh_tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # → (client, its access token)
    expires: dict[str, float] = field(default_factory=dict)  # rotating access token → when it expires
    serial: Any = field(default_factory=lambda: itertools.count(1))

    def install(self, mock: responses.RequestsMock) -> FakeSlack:
        install(mock, API_URL, self.handle)
        install(mock, HOOKS_URL, self.handle)
        return self

    # --- Test helpers ------------------------------------------------------------------------

    def calls(self, path: str) -> list[FakeRequest]:
        return [r for r in self.requests if re.fullmatch(path, r.path)]

    def api_calls(self, method: str) -> list[FakeRequest]:
        return self.calls(rf"(/api)?/{re.escape(method)}")

    def fail_next(self, path: str, *, status: int = 200, error: str = "", times: int = 1, **headers: str) -> None:
        self.faults.add(Fault("", path, status=status, error=error, headers=headers, times=times))

    def lose_answer_next(self, path: str) -> None:
        self.faults.add(Fault("", path, after=True))

    def thread(self, ts: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["ts"] == ts or m.get("thread_ts") == ts]

    # --- Dispatch ------------------------------------------------------------------------------

    def handle(self, request: FakeRequest) -> Answer:
        with self.lock:
            self.requests.append(request)
            if request.path.startswith("/services/"):
                return self._webhook(request)
            if request.path.endswith("/oauth.v2.access"):
                return self._oauth_v2_access(request)
            return self._api(request)

    def _violation(self, request: FakeRequest, problem: str) -> None:
        self.violations.append(f"{request.method} {request.path}: {problem}")

    # --- Incoming webhooks ----------------------------------------------------------------------

    def _webhook(self, request: FakeRequest) -> Answer:
        if request.method != "POST":
            self._violation(request, "incoming webhooks take POST only")
            return _text(405, "invalid_method")
        if "Authorization" in request.headers:
            self._violation(request, "a credential was sent to an incoming webhook (its URL is the credential)")
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            self._violation(request, f"Content-Type {request.headers.get('Content-Type')!r}, expected application/json")
            return _text(400, "invalid_payload")
        try:
            message = request.json()
        except ValueError:
            self._violation(request, "the body is not JSON")
            return _text(400, "invalid_payload")
        problems = message_problems(message)
        if problems:
            for problem in problems:
                self._violation(request, problem)
            return _text(400, "invalid_blocks" if message.get("text") else "no_text")
        fault = self.faults.take(request.method, request.path)
        if fault and not fault.after:
            return _text(fault.status, fault.error, **fault.headers)
        channel_id = self.webhooks.get(request.path)
        if channel_id is None:
            return _text(404, "no_service")
        channel = self.channels.get(channel_id)
        if channel is None:
            return _text(404, "channel_not_found")
        if channel["is_archived"]:
            return _text(410, "channel_is_archived")
        self._store(channel_id, message, via="webhook")
        if fault:
            raise requests.ReadTimeout("The fake posted the message, then never answered.")
        return _text(200, "ok")

    # --- The Web API ------------------------------------------------------------------------------

    def _api(self, request: FakeRequest) -> Answer:
        method = request.path.rsplit("/", 1)[-1]
        handler = getattr(self, "_" + method.replace(".", "_")) if method in SERVED else None
        if self.validate:
            base = request.url[: request.url.index(request.path)] + request.path.rsplit("/", 1)[0]
            for problem in spec_problems(slack_spec(base), request):
                self._violation(request, problem)
        if handler is None:
            self._violation(request, "the fake does not serve this method")
            return Answer.of_json({"ok": False, "error": "unknown_method"}, 404)
        body: dict[str, Any] = {}
        if request.method == "POST":
            content_type = request.headers.get("Content-Type", "")
            if content_type.replace(" ", "").lower() != "application/json;charset=utf-8":
                self._violation(request, f"Content-Type {content_type!r}, expected application/json; charset=utf-8")
            try:
                body = request.json()
            except ValueError:
                self._violation(request, "the body is not JSON")
                return _error("invalid_json")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not token:
            self._violation(request, "no Authorization: Bearer header")
            return _error("not_authed")
        if token not in self.tokens:
            return _error("invalid_auth")
        if token in self.expires and self.expires[token] <= time.time():
            return _error("token_expired")
        needed = NEEDED_SCOPE.get(method)
        if needed and needed not in self.tokens[token]:
            return _error("missing_scope", needed=needed, provided=",".join(sorted(self.tokens[token])))
        fault = self.faults.take(request.method, request.path)
        if fault and not fault.after:
            if fault.status != 200:
                error = fault.error or {429: "ratelimited"}.get(fault.status, "internal_error")
                return Answer.of_json({"ok": False, "error": error}, fault.status, **fault.headers)
            return _error(fault.error)
        answer = handler(request, {**request.query, **body})
        if fault:
            raise requests.ReadTimeout("The fake did the work, then never answered.")
        return answer

    def _channel(self, ref: str) -> tuple[str, dict[str, Any]] | tuple[None, None]:
        for channel_id, channel in self.channels.items():
            if ref in (channel_id, channel["name"], "#" + channel["name"]):
                return channel_id, channel
        return None, None

    def _chat_postMessage(self, request: FakeRequest, args: dict[str, Any]) -> Answer:
        for problem in message_problems(args):
            self._violation(request, problem)
        metadata = args.get("metadata")
        if metadata is not None and not (
            isinstance(metadata, dict) and isinstance(metadata.get("event_type"), str) and "event_payload" in metadata
        ):
            self._violation(request, f"metadata must be {{event_type, event_payload}}, got {metadata!r}")
        channel_id, channel = self._channel(str(args.get("channel", "")))
        if channel is None:
            return _error("channel_not_found")
        if channel["is_archived"]:
            return _error("is_archived")
        if not channel["is_member"]:
            return _error("not_in_channel")
        thread_ts = args.get("thread_ts")
        if thread_ts and not any(m["ts"] == thread_ts and m["channel"] == channel_id for m in self.messages):
            return _error("thread_not_found")
        stored = self._store(channel_id, args, via="bot")
        message = {k: v for k, v in stored.items() if k not in ("channel", "via")}
        return Answer.of_json({"ok": True, "channel": channel_id, "ts": stored["ts"], "message": message})

    def _reactions_add(self, request: FakeRequest, args: dict[str, Any]) -> Answer:
        key = (str(args.get("channel")), str(args.get("timestamp")))
        if not any((m["channel"], m["ts"]) == key for m in self.messages):
            return _error("message_not_found")
        names = self.reactions.setdefault(key, [])
        if args["name"] in names:
            return _error("already_reacted")
        names.append(args["name"])
        return Answer.of_json({"ok": True})

    def _auth_test(self, request: FakeRequest, args: dict[str, Any]) -> Answer:
        return Answer.of_json({"ok": True, **TEAM, **BOT})

    def _conversations_info(self, request: FakeRequest, args: dict[str, Any]) -> Answer:
        channel = self.channels.get(str(args.get("channel")))  # ids only, as Slack's
        if channel is None:
            return _error("channel_not_found")
        return Answer.of_json({"ok": True, "channel": {"id": args["channel"], **channel}})

    def _conversations_history(self, request: FakeRequest, args: dict[str, Any]) -> Answer:
        channel_id = str(args.get("channel"))
        if channel_id not in self.channels:  # names are not accepted here
            return _error("channel_not_found")
        oldest = float(args.get("oldest") or 0)
        found = [
            m
            for m in self.messages
            if m["channel"] == channel_id and not m.get("thread_ts") and float(m["ts"]) > oldest
        ]
        return self._listing(found, args)

    def _conversations_replies(self, request: FakeRequest, args: dict[str, Any]) -> Answer:
        channel_id = str(args.get("channel"))
        if channel_id not in self.channels:
            return _error("channel_not_found")
        found = [m for m in self.thread(str(args.get("ts"))) if m["channel"] == channel_id]
        if not found:
            return _error("thread_not_found")
        return self._listing(list(reversed(found)), args)

    def _listing(self, found: list[dict[str, Any]], args: dict[str, Any]) -> Answer:
        """Newest first; metadata only when asked for, as Slack does."""
        with_metadata = str(args.get("include_all_metadata")).lower() in ("true", "1")
        shown = [
            {k: v for k, v in m.items() if k not in ("channel", "via") and (with_metadata or k != "metadata")}
            for m in sorted(found, key=lambda m: float(m["ts"]), reverse=True)[: int(args.get("limit") or 100)]
        ]
        return Answer.of_json({"ok": True, "messages": shown, "has_more": False})

    def _chat_getPermalink(self, request: FakeRequest, args: dict[str, Any]) -> Answer:
        channel_id, ts = str(args.get("channel")), str(args.get("message_ts"))
        if not any((m["channel"], m["ts"]) == (channel_id, ts) for m in self.messages):
            return _error("message_not_found")
        return Answer.of_json(
            {
                "ok": True,
                "channel": channel_id,
                "permalink": f"{TEAM['url']}archives/{channel_id}/p{ts.replace('.', '')}",
            }
        )

    # --- OAuth v2 --------------------------------------------------------------------------------

    def approve(self, authorize_url: str) -> str:
        """The person clicks "Allow" on Slack's authorize page: a code for the redirect."""
        parts = urlsplit(authorize_url)
        query = dict(parse_qsl(parts.query))
        with self.lock:
            if parts.path != "/oauth/v2/authorize":
                self.violations.append(f"authorize at {parts.path}, expected /oauth/v2/authorize")
            if query.get("client_id") not in self.clients:
                self.violations.append(f"authorize with unknown client_id {query.get('client_id')!r}")
            if query.get("redirect_uri") not in self.redirect_urls:
                self.violations.append(f"redirect_uri {query.get('redirect_uri')!r} is not a registered Redirect URL")
            if "code_challenge" in query:
                self.violations.append("PKCE sent to an app that has not switched PKCE on (that makes it public)")
            if not query.get("state"):
                self.violations.append("authorize without a state")
            scopes = query.get("scope", "")
            if " " in scopes or not scopes:
                self.violations.append(f"bot scopes must be comma-separated, got {scopes!r}")
            code = f"{next(self.serial)}.code.{len(self.codes)}"
            self.codes[code] = {"redirect_uri": query.get("redirect_uri"), "scopes": scopes.split(","), "used": False}
            return code

    def _oauth_v2_access(self, request: FakeRequest) -> Answer:
        if request.method != "POST":
            self._violation(request, "oauth.v2.access takes a POST")
        content_type = request.headers.get("Content-Type", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            self._violation(request, f"Content-Type {content_type!r}, expected a form")
        if request.headers.get("Authorization", "").startswith("Bearer"):
            self._violation(request, "a bot token was sent to oauth.v2.access (it takes the client credentials)")
        form = request.form()
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        scheme, _, basic = request.headers.get("Authorization", "").partition(" ")
        if scheme == "Basic":
            client_id, _, client_secret = base64.b64decode(basic).decode().partition(":")
        fault = self.faults.take(request.method, request.path)
        if fault:
            return Answer.of_json(
                {"ok": False, "error": fault.error or "internal_error"}, fault.status, **fault.headers
            )
        if client_id not in self.clients:
            return _error("invalid_client_id")
        if self.clients[client_id] != client_secret:
            return _error("bad_client_secret")
        grant_type = form.get("grant_type", "authorization_code")
        if grant_type == "refresh_token":
            return self._refresh(form.get("refresh_token", ""), client_id)
        if grant_type != "authorization_code":
            return _error("invalid_grant_type")
        if "code_verifier" in form:
            self._violation(request, "code_verifier sent for a flow without PKCE")
        grant = self.codes.get(form.get("code", ""))
        if grant is None or grant["used"]:
            return _error("invalid_code")
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return _error("bad_redirect_uri")
        grant["used"] = True
        return self._issue(set(grant["scopes"]), client_id)

    def _refresh(self, refresh_token: str, client_id: str) -> Answer:
        """Token rotation: a refresh token is spent once; the old access token stays valid until it expires."""
        spent = self.refresh_tokens.pop(refresh_token, None)
        if spent is None or spent[0] != client_id:
            return _error("invalid_refresh_token")
        return self._issue(self.tokens[spent[1]], client_id)

    def _issue(self, scopes: set[str], client_id: str) -> Answer:
        serial = next(self.serial)
        token = f"xoxe.xoxb-1-oauth-{serial}" if self.rotation else f"xoxb-3333-4444-oauth-{serial}"
        self.tokens[token] = set(scopes)
        answer = {
            "ok": True,
            "access_token": token,
            "token_type": "bot",
            "scope": ",".join(sorted(scopes)),
            "bot_user_id": BOT["user_id"],
            "app_id": APP_ID,
            "team": {"id": TEAM["team_id"], "name": TEAM["team"]},
            "enterprise": None,
            "is_enterprise_install": False,
            "authed_user": {"id": "U0ADMIN01"},
        }
        if self.rotation:
            refresh_token = f"xoxe-1-refresh-{serial}"
            self.refresh_tokens[refresh_token] = (client_id, token)
            self.expires[token] = time.time() + ROTATION_SECONDS
            answer |= {"expires_in": ROTATION_SECONDS, "refresh_token": refresh_token}
        return Answer.of_json(answer)

    def _store(self, channel_id: str, message: dict[str, Any], *, via: str) -> dict[str, Any]:
        self.last_ts = max(time.time(), self.last_ts + 0.000001)  # Slack's ts: the post's time, unique per channel
        stored = {
            "type": "message",
            "channel": channel_id,
            "ts": f"{self.last_ts:.6f}",
            "text": message.get("text", ""),
            "blocks": message.get("blocks", []),
            "via": via,
            **({"thread_ts": message["thread_ts"]} if message.get("thread_ts") else {}),
            **({"metadata": message["metadata"]} if message.get("metadata") else {}),
            **({"bot_id": BOT["bot_id"]} if via == "bot" else {}),
        }
        self.messages.append(stored)
        return stored


def _text(status: int, text: str, **headers: str) -> Answer:
    return Answer(status, text.encode(), {"Content-Type": "text/html", **headers})


def _error(error: str, **fields: str) -> Answer:
    """The Web API's refusals: HTTP 200 with ok false (rate limits excepted)."""
    return Answer.of_json({"ok": False, "error": error, **fields})


# --- Block Kit, checked by hand (Slack's documented limits) -------------------------------------


def message_problems(message: Any) -> list[str]:
    if not isinstance(message, dict):
        return ["the message is not a JSON object"]
    problems = []
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append("no plain `text` fallback")
    blocks = message.get("blocks")
    if blocks is None:
        return problems
    if not isinstance(blocks, list) or not 1 <= len(blocks) <= 50:
        return [*problems, "blocks must be a list of 1 to 50 blocks"]
    for index, block in enumerate(blocks):
        problems += [f"block {index}: {p}" for p in block_problems(block)]
    return problems


def block_problems(block: Any) -> list[str]:
    kind = block.get("type") if isinstance(block, dict) else None
    if kind not in BLOCK_TYPES:
        return [f"unknown block type {kind!r}"]
    if kind == "header":
        return _text_problems(block.get("text"), kinds={"plain_text"}, limit=150)
    if kind == "section":
        if "text" not in block and "fields" not in block:
            return ["a section needs text or fields"]
        problems = _text_problems(block["text"], limit=3000) if "text" in block else []
        fields = block.get("fields", [])
        if not isinstance(fields, list) or len(fields) > 10:
            return [*problems, "a section has at most 10 fields"]
        for field_ in fields:
            problems += _text_problems(field_, limit=2000)
        return problems
    if kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
            return ["actions need 1 to 25 elements"]
        problems = []
        for element in elements:
            if element.get("type") != "button":
                problems.append(f"unexpected element {element.get('type')!r}")
                continue
            problems += _text_problems(element.get("text"), kinds={"plain_text"}, limit=75)
            url = element.get("url", "")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 3000:
                problems.append(f"a button url must be http(s) and at most 3000 characters, got {url!r}")
        return problems
    return []


def _text_problems(text: Any, *, kinds: frozenset[str] | set[str] = frozenset({"plain_text", "mrkdwn"}), limit: int):
    if not isinstance(text, dict) or text.get("type") not in kinds or not isinstance(text.get("text"), str):
        return [f"a text object of type {sorted(kinds)} expected, got {text!r}"]
    if not text["text"] or len(text["text"]) > limit:
        return [f"text of 1 to {limit} characters expected, got {len(text['text'])}"]
    return []
