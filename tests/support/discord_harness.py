"""The Discord adapter's harness for the adapter contract suite (tests/contract/harnesses.py),
and the settings and waits the Discord e2e tests share (tests/e2e/conftest.py).

The real DiscordAdapter, started against the fake Discord (REST + gateway) on 127.0.0.1; what
"arrived" is read back from the messages the fake received (content, then each embed's title,
description, fields and footer: what a user sees).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import discord.http
from discord.gateway import DiscordWebSocket

from adapters.discord import DiscordAdapter
from bot.core.metrics import Metrics
from bot.ports import ServiceAPI
from bot.settings import Settings
from tests.support.discord_api import (
    APP_ID,
    CHANNEL_ID,
    GUILD_ID,
    TOKEN,
    USER_ID,
    FakeDiscord,
    fast_discord_retries,
)
from tests.support.discord_service import FakeService
from tests.support.processes import child_env

_LIVE_MENTION = re.compile(r"@everyone|@here|<@[!&]?\d+>|<#\d+>")


def settings_for(fake: FakeDiscord, *, guilds: bool = True) -> Settings:
    """Settings as `paperbot run` would load them from DISCORD_* variables pointing at the fake
    (with the fake's guild as the one to sync commands to, unless `guilds` is off)."""
    return Settings(
        discord_token=TOKEN,
        discord_application_id=APP_ID,
        discord_api_url=fake.api_url,
        discord_gateway_url=fake.gateway_url,
        discord_guild_ids=(int(GUILD_ID),) if guilds else (),
    )


def run_env(fake: FakeDiscord, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a `paperbot run` subprocess configured only by DISCORD_* variables
    pointing at the fake (plus `extra` settings)."""
    return child_env(
        data_dir,
        DISCORD_TOKEN=TOKEN,
        DISCORD_APPLICATION_ID=APP_ID,
        DISCORD_API_URL=fake.api_url,
        DISCORD_GATEWAY_URL=fake.gateway_url,
        **extra,
    )


@asynccontextmanager
async def started_adapter(
    fake: FakeDiscord, service: ServiceAPI, *, guilds: bool = True, metrics: Metrics | None = None
) -> AsyncIterator[DiscordAdapter]:
    """A DiscordAdapter built as `paperbot run` builds it, started against the fake with `service`
    behind it (a short wait for guilds: the fake sends them at once); stopped on the way out."""
    adapter = DiscordAdapter(settings_for(fake, guilds=guilds), ready_timeout=20, guild_ready_timeout=0.05, metrics=metrics)
    await adapter.start(service)
    try:
        yield adapter
    finally:
        await adapter.stop()


async def answers(fake: FakeDiscord, payload: dict[str, Any], followups: int) -> list[dict[str, Any]]:
    """Wait until the interaction `payload` has at least `followups` follow-ups; return them all."""
    await fake.wait_for(lambda: len(fake.followups_for(payload)) >= followups, what=f"{followups} follow-ups")
    return fake.followups_for(payload)


def message_text(payload: dict[str, Any]) -> str:
    """The visible text of one message payload."""
    lines = [payload.get("content") or ""]
    for embed in payload.get("embeds") or []:
        lines += [embed.get("title", ""), embed.get("description", "")]
        lines += [f"{f['name']}: {f['value']}" for f in embed.get("fields", [])]
        lines.append((embed.get("footer") or {}).get("text", ""))
    return "\n".join(line for line in lines if line)


class DiscordHarness:
    """The contract harness over a started DiscordAdapter and the fake Discord."""

    def __init__(self, fake: FakeDiscord, adapter: DiscordAdapter) -> None:
        self.fake = fake
        self.adapter = adapter
        self.destination = CHANNEL_ID
        self.user_id = USER_ID

    async def delivered(self) -> list[str]:
        """Every message the fake accepted (channels and DMs), in order."""
        return [message_text(body) for _, body in self.fake.messages]

    def fail_next(self, status: int) -> None:
        """429 once (discord.py retries it itself); a 5xx for every retry discord.py makes."""
        times = 1 if status == 429 else 5
        self.fake.fail_next("POST", r"/channels/\d+/messages", status, message="fake failure", times=times)

    def mention_is_inert(self, text: str) -> bool:
        """No raw @everyone/@here/<@id>/<@&id>/<#id>, and every message sent with mentions off."""
        mentions_off = all(body.get("allowed_mentions") == {"parse": []} for _, body in self.fake.messages)
        return mentions_off and not _LIVE_MENTION.search(text)


@asynccontextmanager
async def discord_harness() -> AsyncIterator[DiscordHarness]:
    """Start the fake Discord and the adapter; stop both (and restore discord.py's endpoints)."""
    base, gateway = discord.http.Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    try:
        async with FakeDiscord() as fake, started_adapter(fake, FakeService(), guilds=False) as adapter:
            with fast_discord_retries():
                yield DiscordHarness(fake, adapter)
    finally:
        discord.http.Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = base, gateway
