"""End to end: `paperbot run` as a subprocess, configured only through DISCORD_* environment
variables pointing at the fake Discord, with the real core behind the adapter (offline samples).

Covers: login, command sync, a real INTERACTION_CREATE answered by the real BotService (deferred,
then follow-ups), `digest now` posted to the channel through the real outbox, and a clean exit on
SIGTERM.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.discord_api import (
    CHANNEL_ID,
    EPHEMERAL,
    GUILD_ID,
    MANAGER_PERMISSIONS,
    FakeDiscord,
    assert_discord_limits,
)
from tests.support.discord_harness import run_env
from tests.support.processes import paperbot


async def test_paperbot_run_serves_discord(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        async with paperbot(["run", "--offline"], cwd=tmp_path, env=run_env(fake, tmp_path / "data", DISCORD_GUILD_IDS=GUILD_ID)) as bot:
            proc = bot.process
            await fake.wait_for(
                lambda: proc.returncode is not None or (fake.identifies and fake.synced.get(GUILD_ID)),
                timeout=90, what="paperbot run to log in, sync and identify",
            )
            assert proc.returncode is None, bot.log[-3000:]
            assert fake.synced[GUILD_ID][0]["name"] == "papers"

            search = await fake.interact(fake.slash(["search"], {"query": "diffusion"}))
            await fake.wait_for(lambda: fake.followups_for(search), timeout=60, what="search follow-ups")
            assert fake.callbacks_for(search) == [{"type": 5, "data": {"flags": EPHEMERAL}}]
            for body in fake.followups_for(search):
                assert_discord_limits(body)
                assert body["flags"] & EPHEMERAL

            # The offline samples were ingested just now, so a first digest always has papers.
            now = await fake.interact(fake.slash(["digest", "now"], permissions=MANAGER_PERMISSIONS))
            await fake.wait_for(lambda: fake.followups_for(now), timeout=60, what="digest now answer")
            answer = fake.followups_for(now)[0]["content"]
            assert "Posting a digest" in answer, answer
            await fake.wait_for(
                lambda: [b for c, b in fake.messages if c == CHANNEL_ID], timeout=60, what="the digest post"
            )
            for channel, body in fake.messages:
                assert channel == CHANNEL_ID
                assert_discord_limits(body)
            # Commands are answered as soon as the gateway delivers them, even before start()
            # returns; SIGTERM is handled once `paperbot run` has installed its handlers, right
            # after logging "paperbot running" (no await in between). An answer given after that
            # line proves the handlers are in place.
            await asyncio.wait_for(bot.running.wait(), timeout=60)
            help_ = await fake.interact(fake.slash(["help"]))
            await fake.wait_for(lambda: fake.callbacks_for(help_), timeout=60, what="the help answer")
            assert "paperbot commands" in fake.callbacks_for(help_)[0]["data"]["content"]
        assert proc.returncode == 0, bot.log[-3000:]
        assert "paperbot stopped" in bot.log
        assert "Traceback" not in bot.log, bot.log[-3000:]
