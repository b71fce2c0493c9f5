"""`/papers paper <id>` for a paper paperbot has not stored, through Slack, in front of the real
core, its real arXiv API source and HTTP layer, with arXiv faked on 127.0.0.1 (issue #15, part 4):
the interim "Looking up … on arXiv…" arrives first through the response_url, and the final
answer replaces it (replace_original) — the paper, or a clear failure when arXiv does not
answer within the look-up's time. Nothing is timed: the fake arXiv holds its answer until the
interim has been seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from adapters.slack import SlackAdapter
from bot.app.runtime import Runtime, build_runtime
from bot.app.samples import SAMPLE_NOW
from bot.core.clock import ScaledClock
from tests.e2e.test_slack_adapter import Sleeps, slack_settings
from tests.support.slack_api import FakeSlack, fake_slack, slash_command, visible_text

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "real"
KNOWN = "1605.08386"  # arxiv_api_id_1605.08386.xml: "Heat-bath random walks with Markov bases"
SILENT = "2512.00001"  # arXiv never answers about this one


class FakeArxiv:
    """The arXiv API: the real answer for KNOWN once `release` is set; nothing, ever, for SILENT."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.asked: list[str] = []
        self._forever = asyncio.Event()
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def _query(self, request: web.Request) -> web.Response:
        ids = request.query.get("id_list", "")
        self.asked.append(ids)
        if SILENT in ids:
            await self._forever.wait()
        await self.release.wait()
        return web.Response(body=(FIXTURES / f"arxiv_api_id_{KNOWN}.xml").read_bytes(), content_type="application/atom+xml")

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/api/query", self._query)
        self.runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/api/query"
        return self.url

    async def close(self) -> None:
        self._forever.set()
        self.release.set()
        if self.runner is not None:
            await self.runner.cleanup()


@dataclass
class Bot:
    fake: FakeSlack
    arxiv: FakeArxiv
    runtime: Runtime
    adapter: SlackAdapter

    async def command(self, text: str, *, name: str) -> None:
        payload = slash_command(text, response_url=self.fake.response_url(name))
        await self.fake.wait_for_ack(await self.fake.send_envelope("slash_commands", payload, accepts_response_payload=True))

    async def answers(self, name: str, count: int) -> list[dict[str, Any]]:
        await self.fake.wait_for(lambda: len(self.fake.responses_to(name)) >= count)
        return self.fake.responses_to(name)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    arxiv = FakeArxiv()
    await arxiv.start()
    async with fake_slack() as fake:
        settings = slack_settings(
            fake, tmp_path, arxiv_api_url=arxiv.url, arxiv_enabled=False, hf_enabled=False, reddit_enabled=False,
            arxiv_min_delay=0.01, http_retries=0,
        )
        runtime = await build_runtime(settings, clock=ScaledClock(SAMPLE_NOW))  # not offline: lookups go to arXiv
        adapter = SlackAdapter(settings, health=runtime.health, sleep=Sleeps())
        await adapter.start(runtime.service)
        try:
            yield Bot(fake, arxiv, runtime, adapter)
        finally:
            await adapter.stop()
            await runtime.close()
            await arxiv.close()


async def test_an_unknown_paper_shows_the_interim_then_the_paper_in_its_place(bot: Bot) -> None:
    await bot.command(f"paper {KNOWN}", name="p")
    (interim,) = await bot.answers("p", 1)  # while arXiv has not answered yet
    assert visible_text(interim) == f"Looking up {KNOWN} on arXiv…"
    assert interim["response_type"] == "ephemeral" and interim["replace_original"] is False
    for _ in range(500):  # bounded: until the look-up reaches the fake arXiv
        if bot.arxiv.asked:
            break
        await asyncio.sleep(0.01)
    assert bot.arxiv.asked == [KNOWN] and len(bot.fake.responses_to("p")) == 1  # the answer waits for arXiv
    bot.arxiv.release.set()
    _, final = await bot.answers("p", 2)
    assert final["replace_original"] is True and final["response_type"] == "ephemeral"
    assert "Heat-bath random walks with Markov bases" in visible_text(final)
    assert bot.runtime.store.papers.get(KNOWN) is not None  # stored: the next view needs no look-up
    await bot.command(f"paper {KNOWN}", name="again")
    (second,) = await bot.answers("again", 1)
    assert "Heat-bath" in visible_text(second) and bot.arxiv.asked == [KNOWN]


async def test_an_arxiv_that_never_answers_ends_in_a_clear_failure(bot: Bot) -> None:
    bot.runtime.service.lookup_seconds = 0.5  # 12 s in production (within the 15 s promise)
    await bot.command(f"paper {SILENT}", name="s")
    interim, final = await bot.answers("s", 2)
    assert visible_text(interim) == f"Looking up {SILENT} on arXiv…"
    assert final["replace_original"] is True and final["response_type"] == "ephemeral"
    assert visible_text(final) == f":warning: arXiv did not answer about {SILENT} within 0.5 seconds; please try again in a minute"
