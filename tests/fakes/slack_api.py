"""A fake Slack on 127.0.0.1: the Web API, response_url endpoints and a Socket Mode websocket.

`FakeSlack` is an aiohttp server that
- answers `POST|GET /api/<method>` for auth.test, chat.postMessage, chat.postEphemeral,
  conversations.open, users.info and apps.connections.open (which returns this server's
  `ws://` URL), recording every call with its form/JSON body and headers;
- can be told to fail: `fail("chat.postMessage", "not_in_channel")` answers
  `{"ok": false, "error": "not_in_channel"}`; `fail_status("chat.postMessage", 429,
  retry_after=0)` answers HTTP 429 with Retry-After (both for the next `times` calls);
- can be told to be slow: `slow("chat.postMessage", 2.0)` posts the message when the request
  arrives (as Slack does) and answers 2 s later; `in_flight` counts requests waiting for their
  answer. A client that dies meanwhile has posted the message without learning its ts;
- serves `POST /response/<name>` as a command's response_url, recording each JSON body;
- serves `GET /socket` as the Socket Mode websocket: sends `hello` on connect, lets the test
  push envelopes (`send_envelope`) and records what the client sends back (the acks).

Also here: `sign()` for Slack's v0 request signatures, `assert_slack_limits()` (Block Kit model
validation plus the size limits, written independently of the renderer), `visible_text()`
(what a Slack user would read in a message's blocks), and the contract-suite harness.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from slack_sdk.models.blocks import Block

from bot.ports import ChatAdapter

BOT_USER_ID = "UBOTPAPER"
TEAM_ID = "T0FAKE"


@dataclass
class SlackCall:
    """One Web API call the fake received (`at`: time.monotonic() on arrival)."""

    method: str
    body: dict[str, Any]
    headers: dict[str, str]
    ok: bool = True
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Failure:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakeSlack:
    """The fake Slack server (see the module docstring)."""

    def __init__(self) -> None:
        self.calls: list[SlackCall] = []
        self.responses: list[tuple[str, dict[str, Any]]] = []  # (response_url name, JSON body)
        self.received: list[dict[str, Any]] = []  # what clients sent on the websocket
        self.admins: set[str] = set()
        self.owners: set[str] = set()
        self.ws_connections = 0
        self._failures: dict[str, deque[_Failure]] = {}
        self._delays: dict[str, float] = {}
        self.in_flight = 0
        self._ts = itertools.count(1)
        self._changed = asyncio.Condition()
        self._ws: web.WebSocketResponse | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        """Listen on 127.0.0.1, port chosen by the OS."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._response_url)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def close(self) -> None:
        """Close the websocket and stop the server."""
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base(self) -> str:
        """http://127.0.0.1:<port>"""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """What SLACK_API_URL should be set to (no trailing slash, as a user would write it)."""
        return f"{self.base}/api"

    @property
    def ws_url(self) -> str:
        """The Socket Mode websocket URL apps.connections.open hands out."""
        return f"ws://127.0.0.1:{self.port}/socket"

    def response_url(self, name: str = "cmd") -> str:
        """A response_url that records what is posted to it under `name`."""
        return f"{self.base}/response/{name}"

    # --- scripting -----------------------------------------------------------------------------

    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with `{"ok": false, "error": error}`."""
        for _ in range(times):
            self._failures.setdefault(method, deque()).append(_Failure(200, {"ok": False, "error": error}))

    def fail_status(self, method: str, status: int, *, retry_after: float | None = None, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with an HTTP error status (429 -> ratelimited)."""
        headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
        error = "ratelimited" if status == 429 else "internal_error"
        for _ in range(times):
            self._failures.setdefault(method, deque()).append(_Failure(status, {"ok": False, "error": error}, headers))

    def slow(self, method: str, seconds: float) -> None:
        """Answer every call of `method` `seconds` after it arrived (it takes effect at once)."""
        self._delays[method] = seconds

    # --- inspection ----------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[SlackCall]:
        """Every recorded call of one method, in order."""
        return [c for c in self.calls if c.method == method]

    def posted(self) -> list[dict[str, Any]]:
        """Bodies of the chat.postMessage calls that succeeded, in order."""
        return [c.body for c in self.calls if c.method == "chat.postMessage" and c.ok]

    def responses_to(self, name: str) -> list[dict[str, Any]]:
        """Bodies posted to one response_url."""
        return [body for n, body in self.responses if n == name]

    async def response(self, name: str, timeout: float = 15.0) -> dict[str, Any]:
        """Wait for the first message posted to one response_url and return it."""
        found: dict[str, Any] = await self.wait_for(lambda: next(iter(self.responses_to(name)), None), timeout)
        return found

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
        """Wait until `predicate()` is truthy and return its value (the timeout only stops a hang)."""

        async def until() -> Any:
            async with self._changed:
                while not (value := predicate()):
                    await self._changed.wait()
                return value

        return await asyncio.wait_for(until(), timeout)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- socket mode ---------------------------------------------------------------------------

    async def wait_connected(self, timeout: float = 15.0) -> None:
        """Wait for a Socket Mode client to be connected."""
        await self.wait_for(lambda: self._ws is not None and not self._ws.closed, timeout)

    async def send_envelope(self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = False) -> str:
        """Push one Socket Mode envelope (`slash_commands`, `interactive`); returns its id."""
        assert self._ws is not None and not self._ws.closed, "no socket mode client connected"
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
            "payload": payload,
        }
        await self._ws.send_str(json.dumps(envelope))
        return envelope_id

    async def wait_for_ack(self, envelope_id: str, timeout: float = 15.0) -> dict[str, Any]:
        """The message the client sent back for an envelope."""
        return await self.wait_for(
            lambda: next((m for m in self.received if m.get("envelope_id") == envelope_id), None), timeout
        )

    def acked(self, envelope_id: str) -> bool:
        """Whether the client has acked an envelope yet."""
        return any(m.get("envelope_id") == envelope_id for m in self.received)

    # --- handlers ------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body.update(await request.json())
        elif request.can_read_body:
            body.update({k: str(v) for k, v in (await request.post()).items()})
        if isinstance(body.get("blocks"), str):
            body["blocks"] = json.loads(body["blocks"])
        call = SlackCall(method, body, dict(request.headers))
        self.calls.append(call)
        failures = self._failures.get(method)
        if failures:
            failure = failures.popleft()
            call.ok = False
            await self._notify()
            return web.json_response(failure.body, status=failure.status, headers=failure.headers)
        answer = self._answer(method, body, request)
        call.ok = bool(answer.get("ok"))
        await self._notify()
        delay = self._delays.get(method, 0.0)
        if delay:
            self.in_flight += 1
            try:
                await asyncio.sleep(delay)
            finally:
                self.in_flight -= 1
                await self._notify()
        return web.json_response(answer)

    def _answer(self, method: str, body: dict[str, Any], request: web.Request) -> dict[str, Any]:
        auth = request.headers.get("Authorization", "")
        if method == "apps.connections.open":
            if not auth.startswith("Bearer xapp-"):
                return {"ok": False, "error": "not_allowed_token_type"}
            return {"ok": True, "url": self.ws_url}
        if not auth.startswith("Bearer xoxb-"):
            return {"ok": False, "error": "not_authed"}
        if method == "auth.test":
            return {
                "ok": True, "url": "https://fake.slack.test/", "team": "Fake team", "user": "paperbot",
                "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": "BPAPER", "is_enterprise_install": False,
            }
        if method in ("chat.postMessage", "chat.postEphemeral"):
            if not body.get("channel"):
                return {"ok": False, "error": "channel_not_found"}
            if not (body.get("text") or body.get("blocks")):
                return {"ok": False, "error": "no_text"}
            ts = f"1700000000.{next(self._ts):06d}"
            if method == "chat.postEphemeral":
                return {"ok": True, "message_ts": ts}
            return {"ok": True, "channel": body["channel"], "ts": ts, "message": {"text": body.get("text"), "ts": ts}}
        if method == "conversations.open":
            users = str(body.get("users", ""))
            if not users:
                return {"ok": False, "error": "users_not_found"}
            return {"ok": True, "channel": {"id": "D" + users.split(",")[0]}}
        if method == "users.info":
            user = str(body.get("user", ""))
            return {
                "ok": True,
                "user": {"id": user, "team_id": TEAM_ID, "is_admin": user in self.admins, "is_owner": user in self.owners},
            }
        return {"ok": False, "error": "unknown_method"}

    async def _response_url(self, request: web.Request) -> web.Response:
        self.responses.append((request.match_info["name"], await request.json()))
        await self._notify()
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        self.ws_connections += 1
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "APAPER"}}))
        await self._notify()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self.received.append(json.loads(message.data))
                await self._notify()
        return ws


@asynccontextmanager
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """A started FakeSlack, closed on exit."""
    fake = await FakeSlack().start()
    try:
        yield fake
    finally:
        await fake.close()


# --- payloads Slack would send ------------------------------------------------------------------


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers of a Slack request signed with the v0 scheme."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def slash_command(text: str, *, response_url: str, user_id: str = "UADA", channel_id: str = "CGENERAL", command: str = "/papers") -> dict[str, str]:
    """The form fields of a slash command invocation."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "team_domain": "fake",
        "channel_id": channel_id,
        "channel_name": "general" if channel_id.startswith("C") else "directmessage",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": "APAPER",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": "1.2.3",
    }


def block_action(
    action_id: str,
    value: str,
    *,
    response_url: str,
    user_id: str = "UADA",
    channel_id: str = "CGENERAL",
    message_ts: str = "1700000000.000001",
    ephemeral: bool = False,
) -> dict[str, Any]:
    """A `block_actions` payload for a button click on a message."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID},
        "api_app_id": "APAPER",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id, "is_ephemeral": ephemeral},
        "trigger_id": "1.2.3",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "channel": {"id": channel_id, "name": "general"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button", "action_id": action_id, "block_id": "b1", "value": value,
                "text": {"type": "plain_text", "text": "Button"}, "action_ts": "1700000001.000001",
            }
        ],
    }
    if not ephemeral:
        payload["message"] = {"type": "message", "ts": message_ts, "text": "fallback", "user": BOT_USER_ID}
    return payload


# --- what arrived ------------------------------------------------------------------------------


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["text"]] if isinstance(node.get("text"), str) and node.get("type") in ("mrkdwn", "plain_text") else []
        for key, value in node.items():
            if key == "accessory" or (key == "elements" and node.get("type") == "actions"):
                continue  # button labels are not content
            found.extend(_texts(value))
        return found
    if isinstance(node, list):
        return [t for item in node for t in _texts(item)]
    return []


def visible_text(message: dict[str, Any]) -> str:
    """The text a user reads in a message's blocks (the fallback `text` when it has none)."""
    blocks = message.get("blocks") or []
    return "\n".join(_texts(blocks)) if blocks else str(message.get("text", ""))


_LIVE_MENTION = re.compile(r"<[!@#]|@(?:here|channel|everyone)\b", re.IGNORECASE)


def slack_mention_is_inert(text: str) -> bool:
    """No raw `<!...>`, `<@...>`, `<#...>` and no bare @here/@channel/@everyone."""
    return _LIVE_MENTION.search(text) is None


def assert_slack_limits(part: dict[str, Any]) -> None:
    """A message must parse as Block Kit and respect Slack's limits (checked independently)."""
    json.dumps(part)  # JSON-serializable, as the outbox stores it
    text = part.get("text")
    assert isinstance(text, str) and text.strip(), "the fallback text must be set"
    assert len(text) < 4000, f"fallback text is {len(text)} characters"
    blocks = part.get("blocks") or []
    assert 1 <= len(blocks) <= 50, f"{len(blocks)} blocks"
    total = 0
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()
        assert block.to_dict()["type"] == raw["type"]
        kind = raw["type"]
        if kind == "section":
            assert 1 <= len(raw["text"]["text"]) <= 3000
        elif kind == "header":
            assert raw["text"]["type"] == "plain_text" and 1 <= len(raw["text"]["text"]) <= 150
        elif kind == "context":
            assert 1 <= len(raw["elements"]) <= 10
            assert all(len(e["text"]) <= 3000 for e in raw["elements"])
        for element in raw.get("elements", []) + ([raw["accessory"]] if "accessory" in raw else []):
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= 75 and len(element.get("value", "")) <= 2000
                assert len(element["action_id"]) <= 255
        total += sum(len(t) for t in _texts(raw))
    assert total <= 12000, f"blocks carry {total} characters (Slack rejects ~13,200: msg_blocks_too_long)"
    action_ids = [
        e["action_id"]
        for raw in blocks
        for e in raw.get("elements", []) + ([raw["accessory"]] if "accessory" in raw else [])
        if isinstance(e, dict) and "action_id" in e
    ]
    assert len(action_ids) == len(set(action_ids)), f"duplicate action ids {action_ids}"


# --- the contract-suite harness ----------------------------------------------------------------


class SlackHarness:
    """The Slack adapter in front of FakeSlack, for tests/contract (see harnesses.py)."""

    def __init__(self, fake: FakeSlack, adapter: ChatAdapter) -> None:
        self.fake = fake
        self.adapter = adapter
        self.destination = "CCONTRACT"
        self.user_id = "UCONTRACT"

    async def delivered(self) -> list[str]:
        """The blocks' text of every message that was accepted, in order (limits checked too)."""
        for body in self.fake.posted():
            assert_slack_limits({"text": body.get("text"), "blocks": body.get("blocks")})
        return [visible_text(body) for body in self.fake.posted()]

    def fail_next(self, status: int) -> None:
        """The next chat.postMessage answers `status` (429 carries Retry-After: 1)."""
        self.fake.fail_status("chat.postMessage", status, retry_after=1 if status == 429 else None)

    def mention_is_inert(self, text: str) -> bool:
        """No raw <!...>, <@...>, <#...>, @here, @channel, @everyone."""
        return slack_mention_is_inert(text)


async def _no_sleep(_seconds: float) -> None:
    return None


@asynccontextmanager
async def slack_harness() -> AsyncIterator[SlackHarness]:
    """The Slack adapter (not started: delivery needs only the Web API) against FakeSlack."""
    from adapters.slack import SlackAdapter
    from bot.settings import Settings

    async with fake_slack() as fake:
        settings = Settings(slack_bot_token="xoxb-contract", slack_signing_secret="s", slack_api_url=fake.api_url)
        yield SlackHarness(fake, SlackAdapter(settings, sleep=_no_sleep))
