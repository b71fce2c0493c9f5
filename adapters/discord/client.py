"""The Discord adapter: a discord.py 2.x client with the `/papers` app commands.

It connects with the bot token and the default intents (no privileged intents: paperbot never
reads message content, members or presences), registers `/papers` globally or, when
DISCORD_GUILD_IDS is set, in those guilds only (guild commands update instantly; global ones can
take up to an hour), and answers interactions (see interactions.py). Delivery (`send`,
`open_dm`) is used by the core outbox and maps Discord's errors onto bot.core.errors.

DISCORD_API_URL and DISCORD_GATEWAY_URL point discord.py elsewhere (proxies, tests): discord.py
takes its REST base from `discord.http.Route.BASE` and always opens the gateway at
`DiscordWebSocket.DEFAULT_GATEWAY` (a yarl.URL; it never asks REST for it), so both class
attributes are set before logging in. They are process-wide, as is the one Discord client.

Sharding (DISCORD_SHARD_COUNT, DISCORD_SHARD_IDS): replicas split the guilds, each running some
of the shards; Discord sends a guild's events to shard `(guild_id >> 22) % shard_count` (and
DMs to shard 0). One shard in this process is a `discord.Client(shard_id=, shard_count=)`;
several (or all, when only the count is given) are one `discord.AutoShardedClient(shard_count=,
shard_ids=)`, which identifies each shard on its own connection, five seconds apart as Discord
asks. `holds_workspace` tells the outbox which guilds' channel messages are this replica's to
send (`bot.ports.Sharded`); DMs go from any shard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp
import discord
import discord.http
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket

from adapters.discord.commands import PapersGroup
from adapters.discord.interactions import InteractionResponder
from adapters.discord.messages import NO_MENTIONS, delivery_error, send_kwargs
from adapters.discord.render import render_reply
from adapters.discord.types import MessagePayload
from bot.core.errors import ConfigError, PermanentDeliveryError, TransientDeliveryError
from bot.core.metrics import Metrics
from bot.core.models import Reply
from bot.ports import Part, ServiceAPI
from bot.settings import Settings

log = logging.getLogger(__name__)

# Longer rate-limit waits are not slept through inside discord.py (30 s is its minimum setting):
# they surface as RetryAfter and the outbox reschedules the row.
MAX_RATELIMIT_WAIT = 30.0
DEFAULT_READY_TIMEOUT = 60.0
# discord.py identifies the shards of one process 5 s apart (Discord's identify rate limit).
IDENTIFY_SPACING = 5.0


def configure_endpoints(api_url: str, gateway_url: str) -> None:
    """Point discord.py's REST base and gateway URL at the configured endpoints."""
    discord.http.Route.BASE = api_url.rstrip("/")
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord sends a guild's events to."""
    return (guild_id >> 22) % shard_count


class _Client(discord.Client):
    """The discord.py client: command tree, command sync at login, READY and button events.
    `shards` are discord.py's sharding options (shard_id or shard_ids, and shard_count)."""

    def __init__(self, adapter: DiscordAdapter, responder: InteractionResponder, **shards: Any) -> None:
        super().__init__(
            intents=discord.Intents.default(),
            allowed_mentions=NO_MENTIONS,
            max_ratelimit_timeout=MAX_RATELIMIT_WAIT,
            guild_ready_timeout=adapter.guild_ready_timeout,
            **shards,
        )
        self.adapter = adapter
        self.responder = responder
        self.ready_event = asyncio.Event()
        self.tree = app_commands.CommandTree(self)
        self.tree.error(responder.on_error)

    async def setup_hook(self) -> None:
        """Runs at the end of login: register and sync `/papers`."""
        await self.adapter.sync_commands(self)

    async def on_ready(self) -> None:
        """The gateway session is established, on every shard this process runs (also after a
        reconnect)."""
        shards = f", shards {self.adapter.shards_text}" if self.adapter.shards else ""
        log.info("discord connected as %s (%d guilds%s)", self.user, len(self.guilds), shards)
        self.ready_event.set()

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Buttons (commands and autocomplete go through the command tree)."""
        if interaction.type is discord.InteractionType.component:
            try:
                await self.responder.on_component(interaction)
            except Exception:
                log.exception("discord button handling failed")


class _ShardedClient(_Client, discord.AutoShardedClient):
    """The same client holding several shards in this process (discord.py's AutoShardedClient)."""


class DiscordAdapter:
    """The Discord ChatAdapter (`platform = "discord"`), also `bot.ports.Sharded`."""

    platform = "discord"

    def __init__(
        self,
        settings: Settings,
        *,
        ready_timeout: float = DEFAULT_READY_TIMEOUT,
        guild_ready_timeout: float = 2.0,
        metrics: Metrics | None = None,
    ) -> None:
        """`ready_timeout`: how long start() waits for READY (on every shard); `guild_ready_timeout`:
        how long discord.py waits for the guilds listed in READY before reporting ready (its
        default); `metrics`: where interaction acknowledgement times are recorded."""
        if settings.discord_manage_permission not in discord.Permissions.VALID_FLAGS:
            raise ConfigError(
                [
                    f"DISCORD_MANAGE_PERMISSION={settings.discord_manage_permission!r}: not a Discord "
                    "permission name; use e.g. manage_channels, manage_guild or administrator"
                ]
            )
        self.settings = settings
        self.metrics = metrics
        self.shards = settings.discord_shards  # empty: not sharded
        self.finished = asyncio.Event()  # never set: Discord runs until paperbot stops
        # Every shard after the first identifies 5 s later, so READY on all of them comes later.
        self.ready_timeout = ready_timeout + IDENTIFY_SPACING * max(0, len(self.shards) - 1)
        self.guild_ready_timeout = guild_ready_timeout
        self._client: _Client | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def shards_text(self) -> str:
        """This process's shards as a log line shows them ("0,1 of 4")."""
        return f"{','.join(map(str, self.shards))} of {self.settings.discord_shard_count}"

    def holds_workspace(self, workspace_id: str) -> bool:
        """Whether this process runs the shard of the guild `workspace_id` (always, unsharded)."""
        count = self.settings.discord_shard_count
        if count is None or not workspace_id.isdigit():
            return True
        return shard_of(int(workspace_id), count) in self.shards

    def _build_client(self, responder: InteractionResponder) -> _Client:
        """One shard: a Client for it; several: an AutoShardedClient; unsharded: a plain Client."""
        count = self.settings.discord_shard_count
        if count is None:
            return _Client(self, responder)
        if len(self.shards) == 1:
            return _Client(self, responder, shard_id=self.shards[0], shard_count=count)
        return _ShardedClient(self, responder, shard_ids=list(self.shards), shard_count=count)

    @property
    def connected(self) -> bool:
        """Whether the gateway session is up (for /healthz)."""
        client = self._client
        return client is not None and client.is_ready() and not client.is_closed()

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self, service: ServiceAPI) -> None:
        """Log in, sync `/papers`, connect to the gateway; returns once READY.

        Raises ConfigError naming the setting to check when the token is rejected, the commands
        cannot be registered, or the gateway does not reach READY within `ready_timeout`.
        """
        settings = self.settings
        if not settings.discord_enabled:
            raise ConfigError(["DISCORD_TOKEN is not set"])
        configure_endpoints(settings.discord_api_url, settings.discord_gateway_url)
        client = self._build_client(
            InteractionResponder(service, settings.discord_manage_permission, metrics=self.metrics)
        )
        self._client = client
        try:
            await client.login(settings.discord_token.get_secret_value())
        except discord.LoginFailure:
            await self._close_quietly()
            raise ConfigError(
                ["DISCORD_TOKEN: Discord rejected the token (401); copy it again from Developer Portal → Bot"]
            ) from None
        except discord.Forbidden as exc:
            await self._close_quietly()
            raise ConfigError(
                [
                    f"DISCORD_GUILD_IDS={','.join(map(str, settings.discord_guild_ids))}: could not register "
                    f"/papers ({exc.status} {exc.text}); is the bot in every listed server, invited with the "
                    "applications.commands scope (paperbot discord-invite)?"
                ]
            ) from None
        except (TimeoutError, discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            await self._close_quietly()
            raise ConfigError(
                [f"DISCORD_API_URL={settings.discord_api_url}: could not log in or register commands: {exc!r}"]
            ) from None

        self._task = asyncio.create_task(client.connect(reconnect=True), name="discord-gateway")
        ready = asyncio.create_task(client.ready_event.wait())
        done, _ = await asyncio.wait({ready, self._task}, timeout=self.ready_timeout, return_when=asyncio.FIRST_COMPLETED)
        if ready in done:
            return
        ready.cancel()
        problem = f"no READY from the gateway within {self.ready_timeout:.0f}s"
        if self._task.done() and not self._task.cancelled() and self._task.exception() is not None:
            error = self._task.exception()
            code = getattr(error, "code", None)
            if code == 4004:
                await self._close_quietly()
                raise ConfigError(["DISCORD_TOKEN: the gateway rejected the token (close code 4004)"])
            problem = f"the gateway connection failed: {error!r}"
        await self._close_quietly()
        raise ConfigError([f"DISCORD_GATEWAY_URL={settings.discord_gateway_url}: {problem}"])

    async def sync_commands(self, client: _Client) -> None:
        """Register `/papers` and sync it: to each DISCORD_GUILD_IDS guild, else globally."""
        assert client.responder is not None
        group = PapersGroup(client.responder)
        guild_ids = self.settings.discord_guild_ids
        if guild_ids:
            guilds = [discord.Object(id=gid) for gid in guild_ids]
            client.tree.add_command(group, guilds=guilds)
            for guild in guilds:
                synced = await client.tree.sync(guild=guild)
                log.info("synced %d command(s) to guild %s", len(synced), guild.id)
        else:
            client.tree.add_command(group)
            synced = await client.tree.sync()
            log.info("synced %d global command(s) (may take up to an hour to appear)", len(synced))

    async def stop(self) -> None:
        """Close the gateway and HTTP session; in-flight sends finish or fail as delivery errors."""
        await self._close_quietly()

    async def _close_quietly(self) -> None:
        client, task = self._client, self._task
        if client is not None and not client.is_closed():
            with contextlib.suppress(Exception):
                await client.close()
        if task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=10)
        self._task = None

    # --- delivery (used by the core outbox) ------------------------------------------------------

    def render(self, reply: Reply) -> list[MessagePayload]:
        """Pure: the reply as Discord message payloads (see render.py)."""
        return render_reply(reply)

    def _require_client(self) -> _Client:
        client = self._client
        if client is None or client.is_closed() or client.http.token is None:
            raise TransientDeliveryError("the Discord adapter is not connected")
        return client

    async def send(self, destination: str, part: Part) -> str:
        """Post one part to a channel (or DM channel) id; returns the message id."""
        client = self._require_client()
        if not destination.isdigit():
            raise PermanentDeliveryError("channel_not_found", f"{destination!r} is not a Discord channel id")
        channel = client.get_partial_messageable(int(destination))
        try:
            message = await channel.send(**send_kwargs(part))
        except Exception as exc:
            raise delivery_error(exc, f"channel {destination}") from exc
        return str(message.id)

    async def open_dm(self, user_id: str) -> str:
        """The id of the DM channel with a user (created if needed)."""
        client = self._require_client()
        if not user_id.isdigit():
            raise PermanentDeliveryError("user_not_found", f"{user_id!r} is not a Discord user id")
        try:
            channel = await client.create_dm(discord.Object(id=int(user_id)))
        except Exception as exc:
            raise delivery_error(exc, f"DM with user {user_id}") from exc
        return str(channel.id)
