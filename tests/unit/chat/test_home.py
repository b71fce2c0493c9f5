"""A person's home (bot.chat.home through BotService.home) over the real core and the bundled
sample papers: what each section lists, that every action is a command doing what it says, that
nobody sees another person's, and that one failing section leaves the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.app.runtime import Runtime, build_runtime, fetch_due
from bot.app.samples import SAMPLE_NOW
from bot.chat.home import (
    HOME_SECTIONS,
    MAX_SEARCHES,
    NEW_PAPERS_WINDOW,
    HomeContext,
    build_home,
    new_papers_section,
    subscriptions_section,
)
from bot.core.clock import FakeClock
from bot.core.home import HomeActionKind, HomeSection
from bot.core.models import Actor, Place
from bot.search.engine import SearchEngine, SearchResult
from bot.search.query import SearchQuery
from bot.settings import Settings

ADA = Actor("slack", "T1:UADA", name="ada")
BOB = Actor("slack", "T1:UBOB", name="bob")
GENERAL = Place("slack", "T1:CGENERAL", workspace_id="T1")
LAB = Place("slack", "T1:CLAB", workspace_id="T1")


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings(data_dir=str(tmp_path), summarize_background=False, digest_default_time="07:30")
    started = await build_runtime(settings, clock=FakeClock(SAMPLE_NOW), offline=True)
    await fetch_due(started)
    try:
        yield started
    finally:
        await started.close()


async def run(runtime: Runtime, text: str, who: Actor = ADA, where: Place = GENERAL) -> str:
    reply = await runtime.service.handle_command(text, who, where)
    assert not reply.is_error, reply.text
    return reply.text


async def test_a_new_person_sees_every_section_empty_with_what_to_type(runtime: Runtime) -> None:
    home = await runtime.service.home(ADA)
    assert [s.key for s in home.sections] == ["papers", "subscriptions", "quiet", "digests"]
    for section in home.sections:
        assert not section.entries and not section.items and "/papers" in section.empty


async def test_the_home_lists_subscriptions_quiet_hours_digests_and_three_new_papers(runtime: Runtime) -> None:
    await run(runtime, "subscribe diffusion")
    await run(runtime, "subscribe topic:rl")
    await run(runtime, "quiet 22:00-07:00 tz:Europe/Berlin")
    await run(runtime, "digest on 09:00 tz:Europe/Berlin topics:llm,cv")
    await run(runtime, "digest on 08:00", where=LAB)
    await run(runtime, "digest off", where=LAB)
    await run(runtime, "digest on", who=BOB, where=Place("slack", "T1:CBOB"))  # Bob's, not Ada's

    home = await runtime.service.home(ADA)

    papers = home.section("papers")
    assert papers is not None and len(papers.items) == 3
    assert len({item.paper.id for item in papers.items}) == 3
    assert all(item.why.startswith("matches your subscription #") for item in papers.items)
    for item in papers.items:  # new: within the last two days
        when = item.paper.published or item.paper.first_seen
        assert when is not None and when >= SAMPLE_NOW - NEW_PAPERS_WINDOW
    subs = home.section("subscriptions")
    assert subs is not None
    assert [e.text for e in subs.entries] == ["1. “diffusion”", "2. topics: Reinforcement Learning"]
    assert [[(a.label, a.command, a.danger) for a in e.actions] for e in subs.entries] == [
        [("Unsubscribe", "unsubscribe 1", True)], [("Unsubscribe", "unsubscribe 2", True)]
    ]
    quiet = home.section("quiet")
    assert quiet is not None and quiet.entries[0].text == "22:00–07:00 (Europe/Berlin), every day"
    assert [a.command for a in quiet.entries[0].actions] == ["quiet off"]
    digests = home.section("digests")
    assert digests is not None
    assert [(e.channel_id, e.text) for e in digests.entries] == [
        ("T1:CGENERAL", "on · 09:00 Europe/Berlin · Mon–Fri"),
        ("T1:CLAB", "off · 08:00 UTC · Mon–Fri"),
    ]
    assert digests.entries[0].detail == "Large Language Models, Computer Vision · up to 10 papers"
    general, lab = ([(a.label, a.kind, a.command, a.channel_id) for a in e.actions] for e in digests.entries)
    assert general == [
        ("Settings", HomeActionKind.EDIT_DIGEST, "", "T1:CGENERAL"),
        ("Turn off", HomeActionKind.RUN, "digest off", "T1:CGENERAL"),
    ]
    assert lab[1] == ("Turn on", HomeActionKind.RUN, "digest on", "T1:CLAB")


async def test_each_action_does_what_it_says(runtime: Runtime) -> None:
    await run(runtime, "subscribe diffusion")
    await run(runtime, "subscribe transformers")
    await run(runtime, "quiet 22:00-07:00")
    await run(runtime, "digest on 09:00")
    home = await runtime.service.home(ADA)
    for key in ("subscriptions", "quiet", "digests"):
        section = home.section(key)
        assert section is not None
        action = section.entries[0].actions[-1]
        where = Place("slack", action.channel_id, workspace_id="T1") if action.channel_id else Place("slack", "", is_dm=True)
        await run(runtime, action.command, where=where)
    after = await runtime.service.home(ADA)
    subs = after.section("subscriptions")
    assert subs is not None and [e.text for e in subs.entries] == ["1. “transformers”"]
    assert not after.section("quiet").entries  # type: ignore[union-attr]
    assert after.section("digests").entries[0].text.startswith("off")  # type: ignore[union-attr]


async def test_nobody_sees_another_persons_home(runtime: Runtime) -> None:
    await run(runtime, "subscribe diffusion")
    await run(runtime, "quiet 22:00-07:00")
    await run(runtime, "digest on 09:00")
    bob = await runtime.service.home(BOB)
    assert all(not s.entries and not s.items for s in bob.sections)
    # The same user id in another workspace is another person.
    other = await runtime.service.home(Actor("slack", "T2:UADA"))
    assert all(not s.entries and not s.items for s in other.sections)


async def test_a_failing_section_is_left_out(runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    await run(runtime, "subscribe diffusion")

    async def broken(ctx: HomeContext) -> HomeSection:
        raise RuntimeError("boom")

    ctx = HomeContext(ADA, runtime.clock(), runtime.store, runtime.search, runtime.summaries)
    home = await build_home(ctx, (broken, subscriptions_section))
    assert [s.key for s in home.sections] == ["subscriptions"]
    assert "home section broken failed" in caplog.text
    assert len(HOME_SECTIONS) == 4


class CountingSearch:
    """The real engine, counting the searches made through it."""

    def __init__(self, engine: SearchEngine) -> None:
        self.engine = engine
        self.queries: list[SearchQuery] = []

    def search(self, query: SearchQuery, now: datetime) -> SearchResult:
        self.queries.append(query)
        return self.engine.search(query, now)


async def test_searches_run_only_until_three_papers_are_found_and_never_more_than_the_cap(runtime: Runtime) -> None:
    for word in ("model", "learning", "diffusion", "transformer", "agents"):
        await run(runtime, f"subscribe {word}")
    counting = CountingSearch(runtime.search)
    ctx = HomeContext(ADA, runtime.clock(), runtime.store, counting, runtime.summaries)  # type: ignore[arg-type]
    papers = await new_papers_section(ctx)
    assert len(papers.items) == 3 and len(counting.queries) == 3  # each of the first three had a hit
    assert [q.text for q in counting.queries] == ["model", "learning", "diffusion"]
    # Nothing recent at all: at most MAX_SEARCHES searches, however many subscriptions.
    for number in range(20):  # (stored directly: the command's preview of each is slow)
        runtime.store.subscriptions.add("slack", BOB.user_id, f"zzzunmatched{number}", (), runtime.clock())
    counting.queries.clear()
    empty = await new_papers_section(HomeContext(BOB, runtime.clock(), runtime.store, counting, runtime.summaries))  # type: ignore[arg-type]
    assert empty.items == () and len(counting.queries) == MAX_SEARCHES
