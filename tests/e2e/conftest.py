"""Fixtures the Discord e2e files share: the fake Discord, the small ServiceAPI behind the adapter,
and a started adapter (a file needing another service, as the feedback tests do, overrides
`service`). The Slack files share `running_bot` from test_slack_runtime.py instead."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import discord.http
import pytest
from discord.gateway import DiscordWebSocket

from adapters.discord import DiscordAdapter
from tests.support.discord_api import FakeDiscord
from tests.support.discord_harness import started_adapter
from tests.support.discord_service import FakeService


@pytest.fixture(autouse=True)
def _restore_discord_endpoints() -> Iterator[None]:
    """A Discord adapter sets discord.py's process-wide endpoints; put them back after each test."""
    base, gateway = discord.http.Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    yield
    discord.http.Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = base, gateway


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    """A fake Discord (REST + gateway) on 127.0.0.1."""
    async with FakeDiscord() as server:
        yield server


@pytest.fixture
def service() -> FakeService:
    """The small ServiceAPI behind the adapter (tests/support/discord_service.py)."""
    return FakeService()


@pytest.fixture
async def adapter(fake: FakeDiscord, service: FakeService) -> AsyncIterator[DiscordAdapter]:
    """A DiscordAdapter started against the fake, with `service` behind it."""
    async with started_adapter(fake, service) as started:
        yield started
