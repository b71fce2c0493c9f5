"""A person's home (bot.chat.home through BotService.home) over the real core and the bundled
sample papers: what each section lists, that every action is a command doing what it says, that
nobody sees another person's, and that one failing section leaves the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, time
from pathlib import Path

import pytest

from bot.app.runtime import Runtime, build_runtime, fetch_due
from bot.app.samples import SAMPLE_NOW
from bot.chat.grammar import DigestMeCommand, parse_command
from bot.chat.home import (
    HOME_SECTIONS,
    MAX_SEARCHES,
    NEW_PAPERS_SHOWN,
    NEW_PAPERS_WINDOW,
    SAVED_ON_HOME,
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
    assert [s.key for s in home.sections] == ["papers", "subscriptions", "quiet", "personal-digest", "saved", "digests"]
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
    assert len(HOME_SECTIONS) == 6


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


def stored_ids(runtime: Runtime, count: int) -> list[str]:
    """Ids of `count` stored sample papers."""
    papers = runtime.store.papers.changed(since=SAMPLE_NOW.replace(year=2000), limit=count)
    assert len(papers) == count
    return [p.id for p in papers]


async def test_saved_papers_show_the_latest_with_details_and_unsave_and_how_many_more(runtime: Runtime) -> None:
    ids = stored_ids(runtime, SAVED_ON_HOME + 2)
    for paper_id in ids:
        await run(runtime, f"save {paper_id}")
        runtime.clock.advance(seconds=60)  # type: ignore[attr-defined]
    saved = (await runtime.service.home(ADA)).section("saved")
    assert saved is not None
    latest = list(reversed(ids))[:SAVED_ON_HOME]
    assert [e.detail.split(" · ")[0] for e in saved.entries] == [f"arXiv:{i}" for i in latest]
    titles = {p.id: " ".join(p.title.split()) for p in runtime.store.papers.get_many(latest)}
    assert [e.text for e in saved.entries] == [titles[i] for i in latest]
    for entry, paper_id in zip(saved.entries, latest, strict=True):
        details, unsave = entry.actions
        assert (details.label, details.kind, details.paper_id) == ("Details", HomeActionKind.PAPER, paper_id)
        assert (unsave.label, unsave.kind, unsave.command, unsave.danger) == ("Unsave", HomeActionKind.RUN, f"unsave {paper_id}", True)
    assert saved.note == "…and 2 more: /papers saved" and saved.see_all == "/papers saved"
    # Bob saved nothing.
    bobs = (await runtime.service.home(BOB)).section("saved")
    assert bobs is not None and not bobs.entries and "/papers save" in bobs.empty


async def test_unsave_removes_the_save_and_keeps_a_like(runtime: Runtime) -> None:
    (paper_id,) = stored_ids(runtime, 1)
    await run(runtime, f"like {paper_id}")
    await run(runtime, f"save {paper_id}")
    unsave = (await runtime.service.home(ADA)).section("saved").entries[0].actions[1]  # type: ignore[union-attr]
    assert "Removed" in await run(runtime, unsave.command, where=Place("slack", "", is_dm=True))
    assert runtime.store.feedback.saved("slack", ADA.user_id) == []
    assert runtime.store.feedback.choice("slack", ADA.user_id, paper_id) is not None  # the like stays
    assert "was not in your saved papers" in await run(runtime, unsave.command)
    assert not (await runtime.service.home(ADA)).section("saved").entries  # type: ignore[union-attr]
    # `unlike` still takes back everything.
    await run(runtime, f"save {paper_id}")
    await run(runtime, f"unlike {paper_id}")
    assert runtime.store.feedback.saved("slack", ADA.user_id) == []
    assert runtime.store.feedback.choice("slack", ADA.user_id, paper_id) is None


async def test_the_personal_digest_shows_its_settings_with_change_and_turn_off(runtime: Runtime) -> None:
    none = (await runtime.service.home(ADA)).section("personal-digest")
    assert none is not None and not none.entries and "/papers digest me on" in none.empty
    await run(runtime, "digest me on 07:30 tz:America/New_York max:3 threshold:0.6")
    section = (await runtime.service.home(ADA)).section("personal-digest")
    assert section is not None and section.title == "Your daily digest"
    (entry,) = section.entries
    assert entry.text == "on · 07:30 America/New York · up to 3 papers"
    assert "only papers at least 0.6 relevant" in entry.detail
    change, off = entry.actions
    assert (change.label, change.kind) == ("Change", HomeActionKind.EDIT_PERSONAL_DIGEST)
    # Change carries the command that keeps the settings: the form starts from them.
    assert parse_command(change.command) == DigestMeCommand(
        action="on", at=time(7, 30), timezone="America/New_York", max_items=3, threshold=0.6
    )
    assert (off.label, off.command, off.danger) == ("Turn off", "digest me off", True)
    await run(runtime, off.command)
    (entry,) = (await runtime.service.home(ADA)).section("personal-digest").entries  # type: ignore[union-attr]
    assert entry.text.startswith("off · 07:30") and [a.label for a in entry.actions] == ["Change", "Turn on"]
    await run(runtime, entry.actions[1].command)
    digest = runtime.store.feedback.personal_digest("slack", ADA.user_id)
    assert digest is not None and digest.enabled and digest.time_of_day == time(7, 30) and digest.max_items == 3


async def test_new_papers_come_from_the_persons_model_once_they_gave_feedback(runtime: Runtime) -> None:
    await run(runtime, "subscribe diffusion")
    before = (await runtime.service.home(ADA)).section("papers")
    assert before is not None and all(i.why.startswith("matches your subscription") for i in before.items)
    liked = before.items[0].paper.id
    await run(runtime, f"like {liked}")
    after = (await runtime.service.home(ADA)).section("papers")
    assert after is not None and len(after.items) == NEW_PAPERS_SHOWN
    ranker = runtime.service.feedback.ranker  # type: ignore[union-attr]
    expected = await ranker.for_you("slack", ADA.user_id, runtime.clock() - NEW_PAPERS_WINDOW, NEW_PAPERS_SHOWN)
    assert [i.paper.id for i in after.items] == [r.paper.id for r in expected]
    assert [i.why for i in after.items] == [r.why for r in expected]
    assert liked not in {i.paper.id for i in after.items}  # judged papers are left out, as in foryou
    assert "/papers foryou" in after.note
    # Without a ranker (a paperbot without feedback) the subscriptions still choose.
    plain = await new_papers_section(HomeContext(ADA, runtime.clock(), runtime.store, runtime.search, runtime.summaries))
    assert all(i.why.startswith("matches your subscription") for i in plain.items)


async def test_seeds_alone_are_enough_for_the_model(runtime: Runtime) -> None:
    (seed,) = stored_ids(runtime, 1)
    await run(runtime, f"seed {seed}")
    papers = (await runtime.service.home(ADA)).section("papers")
    assert papers is not None and papers.items and not any(i.why.startswith("matches your subscription") for i in papers.items)
