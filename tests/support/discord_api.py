"""A fake Discord: REST API and gateway websocket on 127.0.0.1, for end-to-end tests.

REST (under /api/v10, what discord.py calls): GET /users/@me, GET /oauth2/applications/@me,
PUT /applications/{app}/commands and /applications/{app}/guilds/{guild}/commands (command sync),
POST /channels/{id}/messages, POST /users/@me/channels (open a DM),
POST /interactions/{id}/{token}/callback, POST/PATCH/DELETE /webhooks/{app}/{token}[/messages/..].
Every JSON answer carries `Content-Type: application/json` exactly (discord.py only parses JSON
when the header is exactly that). Failures are scripted with `fail_next(...)`; a 429 carries a
`Via` header (discord.py retries a 429 itself only when it has one) and `retry_after` in the body.

Gateway (/gateway): speaks the compression discord.py asks for in its `compress` query
parameter (zlib-stream: one zlib stream per connection, each message ends in a Z_SYNC_FLUSH;
zstd-stream when the `zstandard` module is importable), and the opening handshake: HELLO ->
IDENTIFY -> READY -> GUILD_CREATE, HEARTBEAT -> HEARTBEAT_ACK. `dispatch(event, data)` pushes
an event (INTERACTION_CREATE) to the connected clients. Payload builders make real-shaped
interaction payloads (slash commands, autocomplete, button clicks), in any of `guild_ids`.

Sharding, as Discord does it: an IDENTIFY with `shard: [id, count]` makes that connection one
shard; its READY lists, and GUILD_CREATE follows for, only the guilds with
`(guild_id >> 22) % count == id`, and a guild's events are dispatched to that shard alone (DMs
to shard 0). A connection that identified without `shard` gets every guild and every event.

`assert_discord_limits(payload)` checks one message payload against Discord's documented limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.support.fake_server import FakeServer

APP_ID = "1100000000000000001"
BOT_ID = "1100000000000000001"
GUILD_ID = "1200000000000000001"
CHANNEL_ID = "1300000000000000001"
USER_ID = "1400000000000000001"
OTHER_USER_ID = "1400000000000000002"
# A second guild, on the other shard of two (GUILD_ID is on shard 1 of 2, this one on shard 0).
OTHER_GUILD_ID = "1200000000004194305"
OTHER_CHANNEL_ID = "1300000000000000002"
TOKEN = "fake-discord-bot-token"

# Permission bits: what an ordinary member has, and the same plus Manage Channels.
VIEW_SEND = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16) | (1 << 31)
MEMBER_PERMISSIONS = VIEW_SEND
MANAGER_PERMISSIONS = VIEW_SEND | (1 << 4)

EPHEMERAL = 1 << 6
_SNOWFLAKES = itertools.count(1500000000000000001)


def snowflake() -> str:
    """A fresh, increasing snowflake id."""
    return str(next(_SNOWFLAKES))


def shard_of(guild_id: str, shard_count: int) -> int:
    """The shard Discord sends a guild's events to."""
    return (int(guild_id) >> 22) % shard_count


def text_channel_payload(channel_id: str, guild_id: str) -> dict[str, Any]:
    """A guild's text channel object (#papers), as in GUILD_CREATE and in interactions."""
    return {
        "id": channel_id,
        "type": 0,
        "guild_id": guild_id,
        "name": "papers",
        "position": 0,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
    }


def user_payload(user_id: str, name: str = "someone", *, bot: bool = False) -> dict[str, Any]:
    """A Discord user object."""
    return {
        "id": user_id,
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


# --- limits ---------------------------------------------------------------------------------------


def _embed_chars(embed: dict[str, Any]) -> int:
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += sum(len(f.get("name", "")) + len(f.get("value", "")) for f in embed.get("fields", []))
    total += len((embed.get("footer") or {}).get("text", ""))
    total += len((embed.get("author") or {}).get("name", ""))
    return total


def assert_discord_limits(payload: dict[str, Any], *, mentions_off: bool = True) -> None:
    """Assert one message payload (as sent to Discord) respects every documented limit.

    content 2,000; at most 10 embeds and 6,000 characters across them; title 256 (with an
    http(s) url), description 4,096, 25 fields (name 256, value 1,024), footer 2,048, author 256;
    5 action rows of at most 5 buttons, custom_id 100, label 80; not empty; and (by default)
    `allowed_mentions == {"parse": []}`.
    """
    content = payload.get("content") or ""
    embeds = payload.get("embeds") or []
    assert len(content) <= 2000, f"content is {len(content)} characters"
    assert content or embeds, "a message needs content or embeds"
    assert len(embeds) <= 10, f"{len(embeds)} embeds"
    total = 0
    for embed in embeds:
        assert len(embed.get("title", "")) <= 256, "embed title over 256"
        assert len(embed.get("description", "")) <= 4096, "embed description over 4,096"
        fields = embed.get("fields", [])
        assert len(fields) <= 25, "more than 25 fields"
        for f in fields:
            assert 0 < len(f["name"]) <= 256, "field name empty or over 256"
            assert 0 < len(f["value"]) <= 1024, "field value empty or over 1,024"
        assert len((embed.get("footer") or {}).get("text", "")) <= 2048, "footer over 2,048"
        assert len((embed.get("author") or {}).get("name", "")) <= 256, "author over 256"
        if "url" in embed:
            assert re.match(r"^https?://[^\s]+$", embed["url"]), f"embed url {embed['url']!r} is not http(s)"
        total += _embed_chars(embed)
    assert total <= 6000, f"{total} characters across embeds"
    rows = payload.get("components") or []
    assert len(rows) <= 5, f"{len(rows)} action rows"
    for row in rows:
        assert row["type"] == 1
        assert 1 <= len(row["components"]) <= 5, "an action row holds 1 to 5 buttons"
        for button in row["components"]:
            assert len(button.get("label", "")) <= 80, "button label over 80"
            if "custom_id" in button:
                assert 0 < len(button["custom_id"]) <= 100, "custom_id empty or over 100"
    if mentions_off:
        assert payload.get("allowed_mentions") == {"parse": []}, f"mentions not disabled: {payload.get('allowed_mentions')}"


# --- records ---------------------------------------------------------------------------------------


@dataclass
class Seen:
    """One REST request the fake received."""

    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Failure:
    """A scripted failure for requests matching `method` and the `path` regex."""

    method: str
    path: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    times: int


@dataclass
class _Connection:
    """One gateway websocket and, once it identified with one, its shard (id, count)."""

    ws: web.WebSocketResponse
    compress: Callable[[bytes], bytes]
    shard: tuple[int, int] | None = None

    def receives(self, guild_id: str | None) -> bool:
        """Whether Discord would send this connection an event of `guild_id` (None: a DM)."""
        if self.shard is None:
            return True
        shard_id, count = self.shard
        return shard_id == (0 if guild_id is None else shard_of(guild_id, count))


@dataclass
class FakeDiscord(FakeServer):
    """The fake Discord REST API and gateway. Use `async with FakeDiscord() as fake:`."""

    name = "fake Discord"

    heartbeat_interval_ms: int = 41250
    guild_ids: tuple[str, ...] = (GUILD_ID,)
    # The one text channel of each guild (GUILD_ID's is CHANNEL_ID, as is any unlisted guild's).
    guild_channels: dict[str, str] = field(default_factory=lambda: {OTHER_GUILD_ID: OTHER_CHANNEL_ID})
    requests: list[Seen] = field(default_factory=list)
    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (channel id, payload)
    callbacks: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (interaction id, payload)
    followups: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (token, payload)
    synced: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # "global" or guild id
    identifies: list[dict[str, Any]] = field(default_factory=list)
    heartbeats: int = 0
    gateway_queries: list[dict[str, str]] = field(default_factory=list)
    blocked_dm_users: set[str] = field(default_factory=set)
    dm_channels: dict[str, str] = field(default_factory=dict)  # user id -> DM channel id
    failures: list[Failure] = field(default_factory=list)
    _sockets: list[_Connection] = field(default_factory=list)
    _seq: int = 0

    def __post_init__(self) -> None:
        FakeServer.__init__(self)  # the dataclass __init__ sets only the fields above

    # --- lifecycle ---------------------------------------------------------------------------------

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """The gateway websocket and the REST API."""
        router.add_get("/gateway", self._gateway)
        router.add_route("*", "/api/v10/{tail:.*}", self._rest)

    async def close(self) -> None:
        """Close gateway connections and the server."""
        for connection in list(self._sockets):
            with contextlib.suppress(Exception):
                await connection.ws.close(code=1001)
        await super().close()

    @property
    def api_url(self) -> str:
        """The REST base to put in DISCORD_API_URL."""
        return self.url("/api/v10")

    @property
    def gateway_url(self) -> str:
        """The gateway URL to put in DISCORD_GATEWAY_URL."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    def _touch(self) -> None:
        # The handlers' name for FakeServer.changed(), kept while other branches add handlers.
        self.changed()

    # --- scripted failures ------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path: str,
        status: int,
        *,
        code: int = 0,
        message: str = "",
        retry_after: float | None = None,
        via: bool = True,
        times: int = 1,
    ) -> None:
        """The next `times` requests matching (method, path regex) get this error instead."""
        body: dict[str, Any] = {"message": message or f"error {status}", "code": code}
        headers: dict[str, str] = {}
        if status == 429:
            body = {"message": "You are being rate limited.", "retry_after": retry_after or 0.05, "global": False}
            headers["Retry-After"] = str(max(1, int(retry_after or 1)))
            headers["X-RateLimit-Scope"] = "user"
            if via:
                headers["Via"] = "1.1 google"
        self.failures.append(Failure(method.upper(), path, status, body, headers, times))

    def _scripted(self, method: str, path: str) -> Failure | None:
        for failure in self.failures:
            if failure.times > 0 and failure.method == method and re.fullmatch(failure.path, path):
                failure.times -= 1
                return failure
        return None

    # --- REST ---------------------------------------------------------------------------------------

    @staticmethod
    def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        # Exactly "application/json" (no charset): discord.py compares the header verbatim.
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        return web.Response(status=status, body=json.dumps(data).encode(), headers=all_headers)

    def message_payload(self, channel_id: str, body: dict[str, Any], *, webhook: bool = False) -> dict[str, Any]:
        """What Discord answers for a created message."""
        payload = {
            "id": snowflake(),
            "channel_id": channel_id,
            "author": user_payload(BOT_ID, "paperbot", bot=True),
            "content": body.get("content") or "",
            "timestamp": "2026-11-23T09:00:00.000000+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": body.get("flags", 0),
        }
        if webhook:
            payload["webhook_id"] = APP_ID
            payload["application_id"] = APP_ID
        return payload

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            with contextlib.suppress(ValueError):
                body = json.loads(raw) if raw else None
        seen = Seen(request.method, path, dict(request.query), dict(request.headers), body)
        self.requests.append(seen)
        try:
            return self._answer(seen)
        finally:
            self._touch()

    def _answer(self, seen: Seen) -> web.Response:
        method, path, body = seen.method, seen.path, seen.body
        if seen.headers.get("Authorization") not in (f"Bot {TOKEN}", None) and not path.startswith(
            ("/webhooks/", "/interactions/")
        ):
            return self._json({"message": "401: Unauthorized", "code": 0}, 401)
        failure = self._scripted(method, path)
        if failure is not None:
            return self._json(failure.body, failure.status, failure.headers)
        if method == "GET" and path == "/users/@me":
            return self._json(user_payload(BOT_ID, "paperbot", bot=True))
        if method == "GET" and path == "/oauth2/applications/@me":
            return self._json(
                {
                    "id": APP_ID,
                    "name": "paperbot",
                    "description": "",
                    "icon": None,
                    "bot_public": True,
                    "bot_require_code_grant": False,
                    "owner": user_payload(USER_ID, "owner"),
                    "verify_key": "0" * 64,
                    "flags": 0,
                }
            )
        match = re.fullmatch(r"/applications/(\d+)(?:/guilds/(\d+))?/commands", path)
        if method == "PUT" and match:
            scope = match.group(2) or "global"
            self.synced[scope] = list(body or [])
            answered = [
                {**command, "id": snowflake(), "application_id": APP_ID, "version": snowflake(), "default_member_permissions": None}
                | ({"guild_id": match.group(2)} if match.group(2) else {})
                for command in self.synced[scope]
            ]
            return self._json(answered)
        match = re.fullmatch(r"/channels/(\d+)/messages", path)
        if method == "POST" and match:
            channel_id = match.group(1)
            blocked = {dm for user, dm in self.dm_channels.items() if user in self.blocked_dm_users}
            if channel_id in blocked:
                return self._json({"message": "Cannot send messages to this user", "code": 50007}, 403)
            self.messages.append((channel_id, body))
            return self._json(self.message_payload(channel_id, body))
        if method == "POST" and path == "/users/@me/channels":
            user_id = str(body["recipient_id"])
            channel_id = self.dm_channels.setdefault(user_id, snowflake())
            return self._json({"id": channel_id, "type": 1, "last_message_id": None, "recipients": [user_payload(user_id)]})
        match = re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", path)
        if method == "POST" and match:
            interaction_id = match.group(1)
            self.callbacks.append((interaction_id, body))
            kind = body.get("type")
            data = body.get("data") or {}
            answer: dict[str, Any] = {
                "interaction": {
                    "id": interaction_id,
                    "type": 2,
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": bool(data.get("flags", 0) & EPHEMERAL),
                }
            }
            if kind == 4:
                message = self.message_payload(CHANNEL_ID, data, webhook=True)
                answer["interaction"]["response_message_id"] = message["id"]
                answer["resource"] = {"type": 4, "message": message}
            return self._json(answer)
        match = re.fullmatch(r"/webhooks/(\d+)/([^/]+)(/messages/[^/]+)?", path)
        if match:
            token = match.group(2)
            if method == "POST":
                self.followups.append((token, body))
                return self._json(self.message_payload(CHANNEL_ID, body, webhook=True))
            if method == "PATCH":
                self.followups.append((token, {"edit": True, **(body or {})}))
                return self._json(self.message_payload(CHANNEL_ID, body or {}, webhook=True))
            if method == "DELETE":
                return web.Response(status=204)
        return self._json({"message": "404: Not Found", "code": 0}, 404)

    # --- gateway ------------------------------------------------------------------------------------

    @staticmethod
    def _compressor(kind: str) -> Callable[[bytes], bytes]:
        if kind == "zlib-stream":
            stream = zlib.compressobj()
            return lambda data: stream.compress(data) + stream.flush(zlib.Z_SYNC_FLUSH)
        if kind == "zstd-stream":
            import zstandard  # only when discord.py itself found zstandard and asked for it

            zstd = zstandard.ZstdCompressor().compressobj()
            return lambda data: zstd.compress(data) + zstd.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        if kind == "":
            return lambda data: data
        raise ValueError(f"unsupported gateway compression {kind!r}")

    async def _send(self, ws: web.WebSocketResponse, compress: Callable[[bytes], bytes] | None, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        if compress is None:
            await ws.send_str(data.decode())
        else:
            await ws.send_bytes(compress(data))

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        query = dict(request.query)
        self.gateway_queries.append(query)
        kind = query.get("compress", "")
        compress = self._compressor(kind) if kind else None
        entry = _Connection(ws, compress or (lambda data: data))
        self._sockets.append(entry)
        self._touch()
        try:
            await self._send(ws, compress, {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None, "t": None})
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                payload = json.loads(msg.data)
                op = payload.get("op")
                if op == 1:
                    self.heartbeats += 1
                    await self._send(ws, compress, {"op": 11, "d": None, "s": None, "t": None})
                elif op == 2:
                    self.identifies.append(payload["d"])
                    shard = payload["d"].get("shard")
                    if shard:
                        entry.shard = (int(shard[0]), int(shard[1]))
                    await self._send_ready(entry, compress)
                elif op == 6:  # RESUME: keep it simple, start a fresh session
                    await self._send(ws, compress, {"op": 9, "d": False, "s": None, "t": None})
                self._touch()
        finally:
            self._sockets.remove(entry)
            self._touch()
        return ws

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def channel_of(self, guild_id: str) -> str:
        """The text channel of a guild."""
        return self.guild_channels.get(guild_id, CHANNEL_ID)

    async def _send_ready(self, connection: _Connection, compress: Callable[[bytes], bytes] | None) -> None:
        ws = connection.ws
        guilds = [gid for gid in self.guild_ids if connection.receives(gid)]
        ready: dict[str, Any] = {
            "v": 10,
            "user": user_payload(BOT_ID, "paperbot", bot=True),
            "guilds": [{"id": gid, "unavailable": True} for gid in guilds],
            "session_id": f"fake-session-{id(connection)}",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": APP_ID, "flags": 0},
        }
        if connection.shard is not None:
            ready["shard"] = list(connection.shard)
        await self._send(ws, compress, {"op": 0, "t": "READY", "s": self._next_seq(), "d": ready})
        for gid in guilds:
            created = {"op": 0, "t": "GUILD_CREATE", "s": self._next_seq(), "d": guild_payload(gid, self.channel_of(gid))}
            await self._send(ws, compress, created)

    def shards_identified(self) -> list[tuple[int, int]]:
        """The (shard id, count) of every IDENTIFY that named one, in order."""
        return [(int(d["shard"][0]), int(d["shard"][1])) for d in self.identifies if d.get("shard")]

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH event to the connections that receive it: the shard of its guild
        (`data["guild_id"]`), shard 0 for a DM, every unsharded connection."""
        guild_id = data.get("guild_id")
        targets = [c for c in self._sockets if c.receives(str(guild_id) if guild_id else None)]
        assert targets, f"no gateway client is connected for guild {guild_id}"
        for connection in targets:
            payload = {"op": 0, "t": event, "s": self._next_seq(), "d": data}
            await connection.ws.send_bytes(connection.compress(json.dumps(payload).encode()))

    # --- interaction payloads ------------------------------------------------------------------------

    def command_scope(self) -> str | None:
        """The guild id the commands were synced to (None when synced globally)."""
        guilds = [scope for scope in self.synced if scope != "global"]
        return guilds[0] if guilds else None

    def _base_interaction(
        self, kind: int, *, user_id: str, permissions: int, dm: bool, channel_id: str | None, guild_id: str = GUILD_ID
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": snowflake(),
            "application_id": APP_ID,
            "type": kind,
            "token": f"itoken-{snowflake()}",
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": 10485760,
            "app_permissions": str(VIEW_SEND),
        }
        if dm:
            dm_channel = channel_id or self.dm_channels.setdefault(user_id, snowflake())
            payload |= {
                "channel_id": dm_channel,
                "channel": {"id": dm_channel, "type": 1, "recipients": [user_payload(user_id)]},
                "user": user_payload(user_id),
                "context": 1,
                "authorizing_integration_owners": {"0": "0"},
            }
        else:
            channel = channel_id or self.channel_of(guild_id)
            payload |= {
                "guild_id": guild_id,
                "guild_locale": "en-US",
                "guild": {"id": guild_id, "locale": "en-US", "features": []},
                "channel_id": channel,
                "channel": text_channel_payload(channel, guild_id),
                "member": {
                    "user": user_payload(user_id),
                    "roles": [],
                    "permissions": str(permissions),
                    "joined_at": "2025-01-01T00:00:00.000000+00:00",
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                    "pending": False,
                    "nick": None,
                    "avatar": None,
                },
                "context": 0,
                "authorizing_integration_owners": {"0": guild_id},
            }
        return payload

    def _command_data(self, path: list[str], options: dict[str, Any], focused: str | None) -> dict[str, Any]:
        leaf = []
        for name, value in options.items():
            kind = 4 if isinstance(value, int) and not isinstance(value, bool) else 5 if isinstance(value, bool) else 3
            if name == focused:
                kind = 3 if isinstance(value, str) else kind
            option: dict[str, Any] = {"name": name, "type": kind, "value": value}
            if name == focused:
                option["focused"] = True
            leaf.append(option)
        nested: list[dict[str, Any]] = leaf
        for depth, name in reversed(list(enumerate(path))):
            is_leaf = depth == len(path) - 1
            nested = [{"name": name, "type": 1 if is_leaf else 2, "options": nested}]
        scope = self.command_scope()
        synced = self.synced.get(scope or "global", [])
        command_id = next((c.get("id", "") for c in synced if c.get("name") == "papers"), "") or snowflake()
        data: dict[str, Any] = {"id": command_id, "name": "papers", "type": 1, "options": nested}
        if scope:
            data["guild_id"] = scope
        return data

    def slash(
        self,
        path: list[str],
        options: dict[str, Any] | None = None,
        *,
        user_id: str = USER_ID,
        permissions: int = MEMBER_PERMISSIONS,
        dm: bool = False,
        channel_id: str | None = None,
        guild_id: str = GUILD_ID,
    ) -> dict[str, Any]:
        """An APPLICATION_COMMAND interaction: `/papers <path...> <options>` (in `guild_id`)."""
        payload = self._base_interaction(
            2, user_id=user_id, permissions=permissions, dm=dm, channel_id=channel_id, guild_id=guild_id
        )
        payload["data"] = self._command_data(path, options or {}, None)
        return payload

    def autocomplete(
        self,
        path: list[str],
        options: dict[str, Any],
        focused: str,
        *,
        user_id: str = USER_ID,
        permissions: int = MEMBER_PERMISSIONS,
    ) -> dict[str, Any]:
        """An APPLICATION_COMMAND_AUTOCOMPLETE interaction with `focused` being typed."""
        payload = self._base_interaction(4, user_id=user_id, permissions=permissions, dm=False, channel_id=None)
        payload["data"] = self._command_data(path, options, focused)
        return payload

    def button(
        self,
        custom_id: str,
        message: dict[str, Any],
        *,
        user_id: str = USER_ID,
        permissions: int = MEMBER_PERMISSIONS,
    ) -> dict[str, Any]:
        """A MESSAGE_COMPONENT interaction: a click on a button of `message` (as Discord stored it)."""
        payload = self._base_interaction(3, user_id=user_id, permissions=permissions, dm=False, channel_id=None)
        payload["data"] = {"custom_id": custom_id, "component_type": 2}
        payload["message"] = message
        return payload

    async def interact(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Dispatch an INTERACTION_CREATE to the bot; returns the payload (for its id/token)."""
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    def callbacks_for(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """Interaction callbacks received for this interaction."""
        return [body for iid, body in self.callbacks if iid == payload["id"]]

    def followups_for(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """Follow-up messages received for this interaction."""
        return [body for token, body in self.followups if token == payload["token"]]


def guild_payload(guild_id: str, channel_id: str = CHANNEL_ID) -> dict[str, Any]:
    """A GUILD_CREATE payload with one text channel."""
    return {
        "id": guild_id,
        "name": "Research",
        "unavailable": False,
        "owner_id": USER_ID,
        "member_count": 2,
        "large": False,
        "features": [],
        "emojis": [],
        "stickers": [],
        "roles": [
            {
                "id": guild_id,
                "name": "@everyone",
                "permissions": str(MEMBER_PERMISSIONS),
                "position": 0,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
                "flags": 0,
            }
        ],
        "channels": [text_channel_payload(channel_id, guild_id)],
        "threads": [],
        "members": [],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "joined_at": "2025-01-01T00:00:00.000000+00:00",
        "preferred_locale": "en-US",
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "premium_tier": 0,
        "system_channel_flags": 0,
        "nsfw_level": 0,
    }


# --- discord.py's own retry sleeps ------------------------------------------------------------------


class _FastSleepAsyncio:
    """The asyncio module as seen by discord.http, with `sleep` not actually waiting."""

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    async def sleep(delay: float, result: Any = None) -> Any:
        await asyncio.sleep(0)
        return result


@contextlib.contextmanager
def fast_discord_retries() -> Iterator[None]:
    """discord.py sleeps 1, 3, 5, 7 and 9 s between its own retries of a 500; tests need not.

    Only `discord.http`'s view of asyncio is replaced, and only inside the `with` block."""
    import discord.http

    original = discord.http.asyncio
    discord.http.asyncio = _FastSleepAsyncio()  # type: ignore[assignment]
    try:
        yield
    finally:
        discord.http.asyncio = original
