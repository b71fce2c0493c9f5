"""A fake Slack on 127.0.0.1: the Web API, response_url endpoints and a Socket Mode websocket.

`FakeSlack` is an aiohttp server that
- answers `POST|GET /api/<method>` for auth.test, chat.postMessage, chat.postEphemeral,
  conversations.open, users.info, views.publish, views.open, views.update, oauth.v2.access and
  apps.connections.open (which returns this server's `ws://` URL), recording every call with its
  form/JSON body and headers;
- answers conversations.info as paperbot's token sees a conversation: `D<user>` (what
  conversations.open names) is paperbot's DM with that user (`is_im`, `user`), a `C...` id a
  channel it is a member of, anything else `channel_not_found` (a DM between other people),
  unless `add_conversation(id, **fields)` says otherwise (`add_conversation(id, None)`: not seen);
- knows workspaces: `add_workspace("T1")` makes one whose bot token (issued by oauth.v2.access
  after an install) answers auth.test and users.info as that workspace; `revoke("T1")` makes
  its tokens fail with `token_revoked`. Other `xoxb-` tokens belong to TEAM_ID, as before;
- serves `GET /oauth/v2/authorize` as the page where someone approves the app: it checks the
  client id and answers with a redirect to the redirect URI carrying a one-time code and the
  state, as Slack does (`?team=T1` picks the workspace that approves);
- can be told to fail: `fail("chat.postMessage", "not_in_channel")` answers
  `{"ok": false, "error": "not_in_channel"}`; `fail_status("chat.postMessage", 429,
  retry_after=0)` answers HTTP 429 with Retry-After (both for the next `times` calls);
  `hold("users.info")` keeps such calls waiting (recorded, unanswered) until its event is set;
- serves `POST /response/<name>` as a command's response_url, recording each JSON body
  (`fail_response` refuses the next posts to one with an HTTP status, recorded apart);
- can be told to be slow: `slow("chat.postMessage", 2.0)` posts the message when the request
  arrives (as Slack does) and answers 2 s later; `in_flight` counts requests waiting for their
  answer. A client that dies meanwhile has posted the message without learning its ts;
- serves `GET /socket` as the Socket Mode websocket: sends `hello` on connect, lets the test
  push envelopes (`send_envelope`) and records what the client sends back (the acks).

Also here: `sign()` for Slack's v0 request signatures, `assert_slack_limits()` (Block Kit model
validation plus the size limits, written independently of the renderer), `visible_text()`
(what a Slack user would read in a message's blocks), and the contract-suite harness.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import re
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.ports import ChatAdapter
from tests.support.fake_server import Canned, FakeServer

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
class FakeWorkspace:
    """A workspace of the fake: its id, its bot user, and the tokens issued to it."""

    team_id: str
    name: str
    bot_user_id: str
    installer_id: str = "UINSTALLER"
    tokens: list[str] = field(default_factory=list)

    @property
    def token(self) -> str:
        """The latest bot token issued to this workspace."""
        assert self.tokens, f"{self.team_id} was never installed"
        return self.tokens[-1]


CLIENT_ID = "1111.2222"
CLIENT_SECRET = "fake-client-secret"


class FakeSlack(FakeServer):
    """The fake Slack server (see the module docstring)."""

    name = "fake Slack"

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[SlackCall] = []
        self.responses: list[tuple[str, dict[str, Any]]] = []  # (response_url name, JSON body)
        self.refused: list[tuple[str, dict[str, Any]]] = []  # response_url posts answered with an error
        self.received: list[dict[str, Any]] = []  # what clients sent on the websocket
        self.admins: set[str] = set()
        self.owners: set[str] = set()
        self.ws_connections = 0
        self.workspaces: dict[str, FakeWorkspace] = {}
        self.revoked: set[str] = set()  # tokens that answer token_revoked
        self.redirect_uri = ""  # the app's registered redirect URL (set by the test once known)
        self.codes: dict[str, str] = {}  # one-time OAuth code -> team id
        self.views: dict[str, dict[str, Any]] = {}  # view id -> the last view sent for it
        self.conversations: dict[str, dict[str, Any] | None] = {}  # conversations.info answers (None: not seen)
        self._view_ids = itertools.count(1)
        self._held: dict[str, asyncio.Event] = {}
        self._delays: dict[str, float] = {}
        self.in_flight = 0
        self._ts = itertools.count(1)
        self._ws: web.WebSocketResponse | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """The Web API, the OAuth approval page, response_urls and the Socket Mode websocket."""
        router.add_route("*", "/api/{method}", self._api)
        router.add_get("/oauth/v2/authorize", self._authorize)
        router.add_post("/response/{name}", self._response_url)
        router.add_get("/socket", self._socket)

    async def close(self) -> None:
        """Close the websocket and stop the server."""
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        await super().close()

    @property
    def api_url(self) -> str:
        """What SLACK_API_URL should be set to (no trailing slash, as a user would write it)."""
        return f"{self.base_url}/api"

    @property
    def ws_url(self) -> str:
        """The Socket Mode websocket URL apps.connections.open hands out."""
        return f"ws://127.0.0.1:{self.port}/socket"

    @property
    def authorize_url(self) -> str:
        """What SLACK_AUTHORIZE_URL should be set to."""
        return f"{self.base_url}/oauth/v2/authorize"

    def response_url(self, name: str = "cmd") -> str:
        """A response_url that records what is posted to it under `name`."""
        return f"{self.base_url}/response/{name}"

    # --- scripting -----------------------------------------------------------------------------

    def add_workspace(self, team_id: str, *, installer_id: str = "UINSTALLER") -> FakeWorkspace:
        """A workspace that can install the app (its token is issued by oauth.v2.access)."""
        workspace = FakeWorkspace(team_id, f"Team {team_id}", f"UBOT{team_id}", installer_id)
        self.workspaces[team_id] = workspace
        return workspace

    def revoke(self, team_id: str) -> None:
        """Every token issued to the workspace answers token_revoked from now on."""
        self.revoked.update(self.workspaces[team_id].tokens)

    def workspace_of(self, call: SlackCall) -> str:
        """The workspace whose token made a call ("" when it was not a workspace token)."""
        token = call.headers.get("Authorization", "").removeprefix("Bearer ")
        return next((w.team_id for w in self.workspaces.values() if token in w.tokens), "")

    def add_conversation(self, channel_id: str, fields: dict[str, Any] | None) -> None:
        """What conversations.info answers for `channel_id`: these fields of its conversation
        object, or with None `channel_not_found` (paperbot's token cannot see it)."""
        self.conversations[channel_id] = fields

    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with `{"ok": false, "error": error}`."""
        self.queue(method, Canned(200, {"ok": False, "error": error}), times=times)

    def fail_status(self, method: str, status: int, *, retry_after: float | None = None, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with an HTTP error status (429 -> ratelimited)."""
        headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
        error = "ratelimited" if status == 429 else "internal_error"
        self.queue(method, Canned(status, {"ok": False, "error": error}, headers), times=times)

    def hold(self, method: str) -> asyncio.Event:
        """Keep calls of `method` waiting, recorded but unanswered, until the returned event is set."""
        release = asyncio.Event()
        self._held[method] = release
        return release

    def fail_response(self, name: str, status: int, *, retry_after: float | None = None, times: int = 1) -> None:
        """Answer the next `times` posts to one response_url with an HTTP error status."""
        headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
        self.queue(_response_key(name), Canned(status, {}, headers), times=times)

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

    async def _notify(self) -> None:
        # The handlers' name for FakeServer.changed(), kept while other branches add handlers.
        self.changed()

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
        if method in self._held:
            await self._notify()
            await self._held[method].wait()
        failure = self.next_queued(method)
        if failure is not None:
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
        if method == "oauth.v2.access":
            return self._oauth_access(auth, body)
        if not auth.startswith("Bearer xoxb-"):
            return {"ok": False, "error": "not_authed"}
        token = auth.removeprefix("Bearer ")
        if token in self.revoked:
            return {"ok": False, "error": "token_revoked"}
        workspace = next((w for w in self.workspaces.values() if token in w.tokens), None)
        team_id = workspace.team_id if workspace else TEAM_ID
        if method == "auth.test":
            if workspace is not None:
                return {
                    "ok": True, "url": f"https://{team_id.lower()}.slack.test/", "team": workspace.name,
                    "user": "paperbot", "team_id": team_id, "user_id": workspace.bot_user_id,
                    "bot_id": f"B{team_id}", "is_enterprise_install": False,
                }
            return {
                "ok": True, "url": "https://fake.slack.test/", "team": "Fake team", "user": "paperbot",
                "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": "BPAPER", "is_enterprise_install": False,
            }
        if method in ("views.publish", "views.open", "views.update"):
            return self._view(method, body)
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
        if method == "conversations.info":
            return self._conversation(str(body.get("channel", "")))
        if method == "users.info":
            user = str(body.get("user", ""))
            return {
                "ok": True,
                "user": {"id": user, "team_id": team_id, "is_admin": user in self.admins, "is_owner": user in self.owners},
            }
        return {"ok": False, "error": "unknown_method"}

    def _conversation(self, channel_id: str) -> dict[str, Any]:
        """conversations.info as a bot token sees it (see the module)."""
        not_found = {"ok": False, "error": "channel_not_found"}
        if channel_id in self.conversations:
            fields = self.conversations[channel_id]
            return not_found if fields is None else {"ok": True, "channel": {"id": channel_id, **fields}}
        if channel_id.startswith("DU"):  # D + a user id: paperbot's own DM with that user
            return {"ok": True, "channel": {"id": channel_id, "is_im": True, "user": channel_id[1:], "is_user_deleted": False}}
        if channel_id.startswith("C"):
            return {
                "ok": True,
                "channel": {"id": channel_id, "name": channel_id.lower(), "is_channel": True, "is_im": False, "is_mpim": False, "is_member": True},
            }
        return not_found

    def _view(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        view = body.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not isinstance(view, dict) or not view.get("blocks"):
            return {"ok": False, "error": "invalid_arguments"}
        if method == "views.publish" and not body.get("user_id"):
            return {"ok": False, "error": "invalid_arguments"}
        if method == "views.open" and not body.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        if method == "views.update":
            view_id = str(body.get("view_id", ""))
            if view_id not in self.views:
                return {"ok": False, "error": "not_found"}
        else:
            view_id = f"V{next(self._view_ids):04d}"
        self.views[view_id] = view
        return {"ok": True, "view": {**view, "id": view_id}}

    def _oauth_access(self, auth: str, body: dict[str, Any]) -> dict[str, Any]:
        """Exchange a one-time code for a bot token (client id and secret in HTTP Basic auth)."""
        try:
            client_id, _, secret = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
        except ValueError:
            return {"ok": False, "error": "invalid_client_id"}
        if client_id != CLIENT_ID:
            return {"ok": False, "error": "invalid_client_id"}
        if secret != CLIENT_SECRET:
            return {"ok": False, "error": "bad_client_secret"}
        team_id = self.codes.pop(str(body.get("code", "")), None)
        if team_id is None:
            return {"ok": False, "error": "invalid_code"}
        workspace = self.workspaces[team_id]
        workspace.tokens.append(f"xoxb-{team_id}-{len(workspace.tokens) + 1}-{uuid.uuid4().hex[:8]}")
        return {
            "ok": True, "app_id": "APAPER", "access_token": workspace.token, "token_type": "bot",
            "scope": "commands,chat:write,chat:write.public,im:write,users:read,im:read,mpim:read", "bot_user_id": workspace.bot_user_id,
            "team": {"id": team_id, "name": workspace.name}, "enterprise": None, "is_enterprise_install": False,
            "authed_user": {"id": workspace.installer_id},
        }

    async def _authorize(self, request: web.Request) -> web.Response:
        """The approval page: someone in `team` approves the app; off to the redirect URI."""
        query = request.query
        self.calls.append(SlackCall("oauth/v2/authorize", dict(query), dict(request.headers)))
        await self._notify()
        if query.get("client_id") != CLIENT_ID:
            return web.Response(status=400, text="invalid_client_id")
        team_id = query.get("team") or next(iter(self.workspaces), "")
        redirect = query.get("redirect_uri") or self.redirect_uri
        if team_id not in self.workspaces or not redirect:
            return web.Response(status=400, text="no such workspace or no redirect URI")
        code = uuid.uuid4().hex
        self.codes[code] = team_id
        params = urllib.parse.urlencode({"code": code, "state": query.get("state", "")})
        raise web.HTTPFound(f"{redirect}?{params}")

    async def _response_url(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        failure = self.next_queued(_response_key(name))
        if failure is not None:
            self.refused.append((name, await request.json()))
            await self._notify()
            return web.Response(text="rate_limited", status=failure.status, headers=failure.headers)
        self.responses.append((name, await request.json()))
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


def _response_key(name: str) -> str:
    """Where failures of one response_url queue (apart from the Web API methods' queues)."""
    return f"/response/{name}"


@asynccontextmanager
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """A started FakeSlack, closed on exit."""
    async with FakeSlack() as fake:
        yield fake


# --- payloads Slack would send ------------------------------------------------------------------


def sign(secret: str, body: str | bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers of a Slack request signed with the v0 scheme (over the body's bytes)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + raw, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def slash_command(
    text: str,
    *,
    response_url: str,
    user_id: str = "UADA",
    channel_id: str = "CGENERAL",
    command: str = "/papers",
    team_id: str = TEAM_ID,
    channel_name: str = "",
) -> dict[str, str]:
    """The form fields of a slash command invocation (`channel_name`: Slack's name of the
    conversation, by default "general" for a C... id and "directmessage" for any other)."""
    return {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "team_domain": "fake",
        "channel_id": channel_id,
        "channel_name": channel_name or ("general" if channel_id.startswith("C") else "directmessage"),
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
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """A `block_actions` payload for a button click on a message."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
        "api_app_id": "APAPER",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id, "is_ephemeral": ephemeral},
        "trigger_id": "1.2.3",
        "team": {"id": team_id, "domain": "fake"},
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


def event_callback(event: dict[str, Any], *, team_id: str = TEAM_ID) -> dict[str, Any]:
    """An Events API envelope (`app_home_opened`, `app_uninstalled`, `tokens_revoked`)."""
    return {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "api_app_id": "APAPER",
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": 1700000000,
        "authorizations": [{"team_id": team_id, "user_id": f"UBOT{team_id}", "is_bot": True}],
    }


def _who(user_id: str, team_id: str) -> dict[str, Any]:
    return {
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
        "team": {"id": team_id, "domain": "fake"},
        "api_app_id": "APAPER",
        "token": "legacy-verification-token",
        "trigger_id": f"trigger-{uuid.uuid4().hex[:8]}",
    }


def home_action(action_id: str, value: str, *, user_id: str = "UADA", team_id: str = TEAM_ID, view_id: str = "V0001") -> dict[str, Any]:
    """A button clicked in the Home tab (the container is the view; there is no channel)."""
    return {
        "type": "block_actions",
        **_who(user_id, team_id),
        "container": {"type": "view", "view_id": view_id},
        "view": {"id": view_id, "type": "home", "blocks": []},
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b1", "value": value, "action_ts": "1700000001.000001"}],
    }


def view_submission(view: dict[str, Any], values: dict[str, dict[str, Any]], *, user_id: str = "UADA", team_id: str = TEAM_ID) -> dict[str, Any]:
    """A modal submitted with `values` (block_id -> action_id -> element state)."""
    return {
        "type": "view_submission",
        **_who(user_id, team_id),
        "view": {**view, "id": "VMODAL", "team_id": team_id, "state": {"values": values}},
    }


def block_suggestion(action_id: str, typed: str, *, user_id: str = "UADA", team_id: str = TEAM_ID) -> dict[str, Any]:
    """An external select asking for options as someone types in a modal."""
    return {
        "type": "block_suggestion",
        **_who(user_id, team_id),
        "action_id": action_id,
        "block_id": "timezone",
        "value": typed,
        "container": {"type": "view", "view_id": "VMODAL"},
        "view": {"id": "VMODAL", "type": "modal", "callback_id": "paperbot_digest_settings"},
    }


def message_action(
    callback_id: str,
    message: dict[str, Any],
    *,
    response_url: str,
    user_id: str = "UADA",
    channel_id: str = "CGENERAL",
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """A message shortcut chosen on `message`."""
    return {
        "type": "message_action",
        **_who(user_id, team_id),
        "callback_id": callback_id,
        "action_ts": "1700000002.000001",
        "message_ts": message.get("ts", "1700000000.000100"),
        "channel": {"id": channel_id, "name": "general"},
        "message": {"type": "message", "ts": "1700000000.000100", "user": "UOTHER", **message},
        "response_url": response_url,
    }


def form_body(payload: dict[str, Any]) -> str:
    """An interaction payload as Slack posts it over HTTP (form field `payload`)."""
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


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


def assert_view_limits(view: dict[str, Any]) -> None:
    """A Home or modal view must parse as Block Kit (slack_sdk's View and block models validate
    it, nested elements included) and stay within Slack's limits (checked independently too)."""
    json.dumps(view)
    parsed = View(**view)
    parsed.validate_json()
    assert parsed.to_dict()["type"] == view["type"]  # to_dict validates every nested object
    blocks = view["blocks"]
    assert 1 <= len(blocks) <= 100, f"{len(blocks)} blocks"
    if view["type"] == "modal":
        assert 1 <= len(view["title"]["text"]) <= 24
        assert len(view.get("private_metadata", "")) <= 3000
    action_ids = []
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()
        kind = raw["type"]
        if kind == "section":
            assert 1 <= len(raw["text"]["text"]) <= 3000
        elif kind == "header":
            assert raw["text"]["type"] == "plain_text" and 1 <= len(raw["text"]["text"]) <= 150
        elif kind == "context":
            assert 1 <= len(raw["elements"]) <= 10
        elif kind == "input":
            assert 1 <= len(raw["label"]["text"]) <= 2000 and raw["block_id"]
            options = raw["element"].get("options", [])
            assert len(options) <= 100
        for element in raw.get("elements", []) + [raw.get("accessory") or {}]:
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= 75 and len(element.get("value", "")) <= 2000
                action_ids.append(element["action_id"])
    assert len(action_ids) == len(set(action_ids)), f"duplicate action ids {action_ids}"


def view_text(view: dict[str, Any]) -> str:
    """The text a user reads in a view (button labels left out)."""
    return "\n".join(_texts(view.get("blocks") or []))


def buttons(view: dict[str, Any]) -> list[dict[str, Any]]:
    """Every button of a view or message, in order (accessories and actions blocks)."""
    found = []
    for raw in view.get("blocks") or []:
        for element in raw.get("elements", []) + [raw.get("accessory") or {}]:
            if isinstance(element, dict) and element.get("type") == "button":
                found.append(element)
    return found


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
