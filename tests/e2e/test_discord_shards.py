"""Discord sharding against the fake gateway: replicas split the guilds.

Two `paperbot run` processes, DISCORD_SHARD_COUNT=2 with DISCORD_SHARD_IDS=0 and 1, against one
fake Discord holding two guilds, one on each shard: each process identifies its own shard, gets
only its guild, and answers the commands of that guild (and shard 0 the DMs). Which process
answered is read from each process's own /metrics and JSON log lines. Then one DiscordAdapter
holding both shards (an AutoShardedClient) in this process answers in both guilds.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import discord
import discord.http
from prometheus_client.parser import text_string_to_metric_families

from adapters.discord import DiscordAdapter
from adapters.discord.interactions import InteractionResponder
from bot.settings import Settings
from tests.support.discord_api import (
    APP_ID,
    CHANNEL_ID,
    GUILD_ID,
    OTHER_CHANNEL_ID,
    OTHER_GUILD_ID,
    TOKEN,
    FakeDiscord,
    shard_of,
)
from tests.support.discord_harness import run_env
from tests.support.discord_service import FakeService
from tests.support.processes import RunningBot, paperbot


def _env(fake: FakeDiscord, data_dir: Path, shard: int) -> dict[str, str]:
    return run_env(
        fake,
        data_dir,
        DISCORD_SHARD_COUNT="2",
        DISCORD_SHARD_IDS=str(shard),
        LOG_FORMAT="json",
        LOG_LEVEL="debug",
    )


async def commands_answered(port: str) -> dict[str, float]:
    """The commands one process handled, by kind, from its /metrics."""
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics") as response:
        text = await response.text()
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "paperbot_commands":
            for sample in family.samples:
                if sample.name == "paperbot_commands_total":
                    counts[sample.labels["kind"]] = counts.get(sample.labels["kind"], 0) + sample.value
    return counts


def command_lines(bot: RunningBot) -> Iterator[dict[str, str]]:
    """The JSON log lines a process wrote while handling commands."""
    for line in bot.log_lines:
        if line.startswith("{"):
            entry = json.loads(line)
            if "command" in entry:
                yield entry


def test_the_two_guilds_are_on_different_shards() -> None:
    assert shard_of(OTHER_GUILD_ID, 2) == 0 and shard_of(GUILD_ID, 2) == 1


async def test_two_processes_each_run_their_shard_and_answer_their_guilds(tmp_path: Path) -> None:
    async with FakeDiscord(guild_ids=(GUILD_ID, OTHER_GUILD_ID)) as fake:
        env_zero, env_one = _env(fake, tmp_path / "zero", 0), _env(fake, tmp_path / "one", 1)
        async with (
            # No source is enabled: an empty store, so the replicas start and stop quickly.
            paperbot(["run"], cwd=tmp_path, env=env_zero) as zero,
            paperbot(["run"], cwd=tmp_path, env=env_one) as one,
        ):
            for bot in (zero, one):
                running = asyncio.create_task(bot.running.wait())
                exited = asyncio.create_task(bot.process.wait())
                await asyncio.wait({running, exited}, timeout=120, return_when=asyncio.FIRST_COMPLETED)
                running.cancel()
                exited.cancel()
                assert bot.running.is_set(), bot.log[-3000:]
            assert sorted(fake.shards_identified()) == [(0, 2), (1, 2)]

            topics = await fake.interact(fake.slash(["topics"], guild_id=OTHER_GUILD_ID))  # shard 0
            search = await fake.interact(fake.slash(["search"], {"query": "diffusion"}, guild_id=GUILD_ID))  # shard 1
            saved = await fake.interact(fake.slash(["saved"], dm=True))  # a DM: shard 0
            await fake.wait_for(lambda: fake.callbacks_for(topics), timeout=60, what="the topics answer")
            await fake.wait_for(lambda: fake.followups_for(search), timeout=60, what="the search answer")
            await fake.wait_for(lambda: fake.followups_for(saved), timeout=60, what="the saved answer")
            assert len(fake.callbacks_for(topics)) == len(fake.callbacks_for(search)) == 1  # answered once

            assert await commands_answered(env_zero["HTTP_PORT"]) == {"topics": 1, "saved": 1}
            assert await commands_answered(env_one["HTTP_PORT"]) == {"search": 1}
            (searched,) = {line["command"]: line for line in command_lines(one)}.values()
            assert searched["command_kind"] == "search" and searched["channel"] == f"discord:{CHANNEL_ID}"
            channels = {line["channel"] for line in command_lines(zero)}
            assert f"discord:{OTHER_CHANNEL_ID}" in channels and f"discord:{CHANNEL_ID}" not in channels
            # Both at once, then wait for both (a second SIGTERM while exiting would kill one).
            for bot in (zero, one):
                bot.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(asyncio.gather(zero.process.wait(), one.process.wait()), timeout=60)
        for bot in (zero, one):
            assert bot.process.returncode == 0, bot.log[-3000:]
            assert "Traceback" not in bot.log, bot.log[-3000:]


async def test_one_process_holding_both_shards_uses_one_auto_sharded_client() -> None:
    async with FakeDiscord(guild_ids=(GUILD_ID, OTHER_GUILD_ID)) as fake:
        settings = Settings(
            discord_token=TOKEN, discord_application_id=APP_ID, discord_api_url=fake.api_url,
            discord_gateway_url=fake.gateway_url, discord_shard_count=2,
        )
        adapter = DiscordAdapter(settings, ready_timeout=60, guild_ready_timeout=0.05)
        assert adapter.ready_timeout == 65  # the second shard identifies 5 s after the first
        service = FakeService()
        await adapter.start(service)
        try:
            assert isinstance(adapter._client, discord.AutoShardedClient)
            assert sorted(fake.shards_identified()) == [(0, 2), (1, 2)]
            assert adapter.holds_workspace(GUILD_ID) and adapter.holds_workspace(OTHER_GUILD_ID)
            for guild in (GUILD_ID, OTHER_GUILD_ID):
                asked = await fake.interact(fake.slash(["topics"], guild_id=guild))
                await fake.wait_for(lambda asked=asked: fake.callbacks_for(asked), timeout=30, what=f"topics in {guild}")
        finally:
            await adapter.stop()  # discord.py's endpoints are put back by tests/e2e/conftest.py


async def test_one_shard_is_a_plain_client_that_holds_only_its_guilds() -> None:
    settings = Settings(discord_token=TOKEN, discord_shard_count=2, discord_shard_ids="1")
    adapter = DiscordAdapter(settings)
    client = adapter._build_client(InteractionResponder(FakeService(), "manage_channels"))
    assert not isinstance(client, discord.AutoShardedClient)
    assert (client.shard_id, client.shard_count) == (1, 2)
    assert adapter.holds_workspace(GUILD_ID) and not adapter.holds_workspace(OTHER_GUILD_ID)
    assert adapter.holds_workspace("")  # unknown workspace: deliver rather than strand it
    unsharded = DiscordAdapter(Settings(discord_token=TOKEN))
    assert unsharded.holds_workspace(OTHER_GUILD_ID)
