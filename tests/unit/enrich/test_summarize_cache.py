"""The Summaries facade: one cached summary per paper version and summarizer, reused everywhere."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from bot.core.clock import FakeClock
from bot.core.models import Paper, SourceKind, Summary
from bot.enrich.summarize import OFFLINE_KEY, OfflineSummarizer, Summaries
from bot.enrich.summarize.llm import (
    MAX_OUTPUT_TOKENS,
    SYSTEM_PROMPT,
    LLMSummarizer,
    OpenAIChatClient,
    build_user_prompt,
    estimate_tokens,
)
from bot.enrich.taxonomy import topic_name
from bot.store import Store
from bot.store.summaries import SummaryKey
from tests.support.factories import make_paper
from tests.support.llm_api import FakeLLMServer, Reply, summary_json

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _paper(number: int, version: int = 1) -> Paper:
    return make_paper(
        number,
        version=version,
        title=f"Sparse mixture routing for efficient transformers, part {number}",
        abstract=(
            "Large language models are expensive to serve. We propose a sparse routing scheme "
            "that activates two experts per token. It reduces inference cost by 40% while matching "
            "the dense baseline. This suggests sparse routing enables cheaper deployment."
        ),
        categories=("cs.LG", "cs.CL"),
        published=NOW - timedelta(hours=5),
    )


FEED_ITEM = make_paper(
    paper_id="feed:3f2a9c",
    title="How we cut our GPU bill with quantization",
    abstract="We quantized our serving models to INT8. Latency dropped by 30%. Quality held.",
    source=SourceKind.FEED,
    source_label="Example Lab blog",
)


class CountingOffline(OfflineSummarizer):
    """The offline summarizer, counting calls."""

    def __init__(self) -> None:
        self.calls = 0

    def summarize(self, paper: Paper) -> Summary:
        self.calls += 1
        return super().summarize(paper)




@pytest.fixture
async def server() -> AsyncIterator[FakeLLMServer]:
    fake = FakeLLMServer("openai", [Reply(summary_json())])
    await fake.start()
    yield fake
    await fake.close()


def _llm(server: FakeLLMServer, session: aiohttp.ClientSession, store: Store, clock: FakeClock, budget: int = 0) -> LLMSummarizer:
    client = OpenAIChatClient(session, base_url=server.url, api_key="k", model="test-model")
    return LLMSummarizer(client, store.summaries, clock, daily_budget=budget, concurrency=2)


# --- offline only ----------------------------------------------------------------------------------


async def test_answers_offline_summaries_are_stored_together_a_moment_later(store: Store) -> None:
    """An answer's new offline summaries are stored ANSWER_SAVE_DELAY later, with those of the
    answers given meanwhile (one write, one search index catch-up); until then they answer
    again from memory, and stop() stores what is left."""
    first, second, third = _paper(1), _paper(2), _paper(3)
    store.papers.ingest([first, second, third], NOW)
    offline = CountingOffline()
    summaries = Summaries(store, offline=offline, clock=FakeClock(NOW))
    answers = summaries.for_answers()
    shown = await answers.get_many([first, second])
    assert store.summaries.get(first.id, first.version, OFFLINE_KEY) is None  # not stored yet
    assert await answers.get_many([first]) == {first.id: shown[first.id]}  # answered from memory
    assert offline.calls == 2
    await summaries.save_answered()  # what the delayed save does
    assert store.summaries.get(first.id, first.version, OFFLINE_KEY) == shown[first.id]
    row = store.conn.execute("SELECT summary_text FROM papers WHERE id = ?", (second.id,)).fetchone()
    assert shown[second.id].tldr in row[0]  # indexed with the paper, as before
    later = await answers.get_many([third])
    assert summaries._saving is not None
    await summaries._saving  # the save scheduled (ANSWER_SAVE_DELAY later), on its own
    assert store.summaries.get(third.id, third.version, OFFLINE_KEY) == later[third.id]
    assert await summaries.get(first) == shown[first.id] and offline.calls == 3  # from the store now
    fourth = _paper(4)
    store.papers.ingest([fourth], NOW)
    last = await answers.get_many([fourth])
    await summaries.stop()  # stopping stores what answers left
    assert store.summaries.get(fourth.id, fourth.version, OFFLINE_KEY) == last[fourth.id]


async def test_after_an_upgrade_answers_show_the_older_summary_and_its_current_one_is_made_soon(store: Store) -> None:
    """Stale while revalidating: a paper whose summary predates the current prompt version is
    answered with it at once (no summarizing on the answer's path); its current summary is
    made in the background, with those of the answers given meanwhile, and replaces it."""
    first, second, unsummarized = _paper(1), _paper(2), _paper(3)
    store.papers.ingest([first, second, unsummarized], NOW)
    before_upgrade = replace(OFFLINE_KEY, prompt_version="offline-0")
    older = {paper.id: replace(OfflineSummarizer().summarize(paper), tldr=f"Older TL;DR {paper.id}.") for paper in (first, second)}
    for paper in (first, second):
        store.summaries.put(paper.id, paper.version, before_upgrade, older[paper.id], NOW - timedelta(days=30))
    offline = CountingOffline()
    summaries = Summaries(store, offline=offline, clock=FakeClock(NOW))
    answers = summaries.for_answers()
    shown = await answers.get_many([first, unsummarized])
    assert shown[first.id] == older[first.id]  # at once, the one it has
    assert offline.calls == 1  # only the paper with no summary at all is summarized now
    assert (await answers.get_many([second]))[second.id] == older[second.id]
    assert summaries._refreshing is not None
    await summaries._refreshing  # ANSWER_SAVE_DELAY later, both papers in one batch
    assert offline.calls == 3
    for paper in (first, second):
        current = store.summaries.get(paper.id, paper.version, OFFLINE_KEY)
        assert current is not None and current.tldr != older[paper.id].tldr
        assert store.summaries.get(paper.id, paper.version, before_upgrade) is None  # superseded
        assert (await answers.get_many([paper]))[paper.id] == current
        row = store.conn.execute("SELECT summary_text FROM papers WHERE id = ?", (paper.id,)).fetchone()
        assert current.tldr in row[0]  # the search index has the current text
    assert offline.calls == 3
    await summaries.stop()


async def test_digests_never_use_an_older_summary_nor_an_answer_another_versions(store: Store) -> None:
    paper, revised = _paper(1), _paper(2, version=1)
    store.papers.ingest([paper, revised], NOW)
    before_upgrade = replace(OFFLINE_KEY, prompt_version="offline-0")
    store.summaries.put(paper.id, 1, before_upgrade, Summary(tldr="Older.", key_points=()), NOW)
    store.summaries.put(revised.id, 1, OFFLINE_KEY, Summary(tldr="Of version 1.", key_points=()), NOW)
    offline = CountingOffline()
    summaries = Summaries(store, offline=offline, clock=FakeClock(NOW))
    made = await summaries.get_many([paper])  # a digest's ask: the current one, made now
    assert made[paper.id].tldr != "Older." and offline.calls == 1
    version_2 = replace(revised, version=2)
    answered = await summaries.for_answers().get_many([version_2])  # version 1's is not its summary
    assert answered[revised.id].tldr != "Of version 1." and offline.calls == 2
    assert summaries._refreshing is None
    await summaries.stop()


async def test_digest_summaries_are_stored_at_once(store: Store) -> None:
    paper = _paper(1)
    store.papers.ingest([paper], NOW)
    summaries = Summaries(store, offline=CountingOffline(), clock=FakeClock(NOW))
    made = await summaries.get_many([paper])  # a digest's (or the background pass's) ask
    assert store.summaries.get(paper.id, paper.version, OFFLINE_KEY) == made[paper.id]


async def test_offline_summaries_are_cached_tagged_and_indexed(store: Store) -> None:
    paper = _paper(1)
    store.papers.ingest([paper], NOW)
    offline = CountingOffline()
    summaries = Summaries(store, offline=offline, clock=FakeClock(NOW))
    first = await summaries.get(paper)
    again = await summaries.get(paper)
    assert first == again
    assert offline.calls == 1
    assert store.summaries.get(paper.id, paper.version, OFFLINE_KEY) == first
    assert store.papers.topics_of([paper.id])[paper.id] == first.topics != ()
    row = store.conn.execute("SELECT summary_text FROM papers WHERE id = ?", (paper.id,)).fetchone()
    # Ids are stored as tags; the indexed text holds the names, whose words find the paper.
    assert first.tldr in row[0] and topic_name(first.topics[0]) in row[0]
    hits = store.conn.execute(
        "SELECT rowid FROM papers_fts WHERE papers_fts MATCH ?", (f'summary_text:"{topic_name(first.topics[0])}"',)
    ).fetchall()
    assert len(hits) == 1
    # A second facade over the same store (e.g. after a restart) reuses the cached summary.
    offline2 = CountingOffline()
    assert await Summaries(store, offline=offline2, clock=FakeClock(NOW)).get(paper) == first
    assert offline2.calls == 0


async def test_a_new_version_gets_a_new_summary(store: Store) -> None:
    offline = CountingOffline()
    summaries = Summaries(store, offline=offline, clock=FakeClock(NOW))
    await summaries.get(_paper(1, version=1))
    await summaries.get(_paper(1, version=2))
    await summaries.get(_paper(1, version=2))
    assert offline.calls == 2


async def test_non_arxiv_item_with_version_zero(store: Store) -> None:
    store.papers.ingest([FEED_ITEM], NOW)
    summaries = Summaries(store, clock=FakeClock(NOW))
    summary = await summaries.get(FEED_ITEM)
    assert summary.tldr
    assert store.summaries.get(FEED_ITEM.id, 0, OFFLINE_KEY) == summary
    assert "efficient" in store.papers.topics_of([FEED_ITEM.id])[FEED_ITEM.id]


async def test_get_many_answers_every_paper_once(store: Store) -> None:
    papers = [_paper(i) for i in range(5)]
    summaries = Summaries(store, clock=FakeClock(NOW))
    result = await summaries.get_many(papers + papers[:2])
    assert set(result) == {paper.id for paper in papers}
    assert await summaries.get_many([]) == {}


async def test_an_unstored_paper_is_still_summarized(store: Store) -> None:
    # Papers that are not in the store (a paper just looked up on arXiv) still get a summary.
    summary = await Summaries(store, clock=FakeClock(NOW)).get(_paper(42))
    assert summary.tldr
    assert store.papers.get(_paper(42).id) is None


async def test_background_pass_fills_recent_papers_in_bounded_batches(store: Store) -> None:
    store.papers.ingest([_paper(i) for i in range(3)] + [FEED_ITEM], NOW)
    offline = CountingOffline()
    summaries = Summaries(store, offline=offline, clock=FakeClock(NOW))
    assert await summaries.background_pass(NOW, 3) == 3
    assert await summaries.background_pass(NOW, 3) == 1
    assert await summaries.background_pass(NOW, 3) == 0
    assert offline.calls == 4


async def test_then_older_papers_without_a_summary_are_backfilled_newest_first(store: Store) -> None:
    # Papers older than the background window with no current summary (a bulk import, or an
    # upgrade that changed the summarizer's prompt version): once the recent ones are done, a
    # cursor walks back through the store (most recently stored first), so answers find their
    # summaries stored.
    store.papers.ingest([_paper(i) for i in range(3)], NOW - timedelta(days=60))
    store.papers.ingest([_paper(10)], NOW - timedelta(days=30))
    store.papers.ingest([_paper(20)], NOW)
    offline = CountingOffline()
    summaries = Summaries(store, offline=offline, clock=FakeClock(NOW))

    def stored() -> set[str]:
        return {paper_id for paper_id in (_paper(n).id for n in (0, 1, 2, 10, 20))
                if store.summaries.get(paper_id, 1, OFFLINE_KEY) is not None}

    assert await summaries.background_pass(NOW, 2) == 1  # the window first
    assert stored() == {_paper(20).id}
    assert await summaries.background_pass(NOW, 2) == 2  # then back through the store, newest first
    assert _paper(10).id in stored() and len(stored()) == 3
    assert await summaries.background_pass(NOW, 2) == 2
    assert stored() == {_paper(n).id for n in (0, 1, 2, 10, 20)}
    assert await summaries.background_pass(NOW, 2) == 0
    assert offline.calls == 5
    # A finished walk does not scan the store again in this process; a restart walks it once more.
    store.papers.ingest([_paper(99)], NOW - timedelta(days=90))
    assert await summaries.background_pass(NOW, 10) == 0
    assert await Summaries(store, offline=offline, clock=FakeClock(NOW)).background_pass(NOW, 10) == 1


class FailingOnceOffline(OfflineSummarizer):
    """The offline summarizer, failing on its first call."""

    def __init__(self) -> None:
        self.failed = False

    def summarize(self, paper: Paper) -> Summary:
        if not self.failed:
            self.failed = True
            raise RuntimeError("summarizer crashed")
        return super().summarize(paper)


async def test_a_failed_backfill_pass_is_tried_again_not_skipped(store: Store) -> None:
    store.papers.ingest([_paper(1)], NOW - timedelta(days=60))
    summaries = Summaries(store, offline=FailingOnceOffline(), clock=FakeClock(NOW))
    with pytest.raises(RuntimeError):
        await summaries.background_pass(NOW, 5)
    assert await summaries.background_pass(NOW, 5) == 1
    assert store.summaries.get(_paper(1).id, 1, OFFLINE_KEY) is not None


# --- with the LLM ----------------------------------------------------------------------------------


async def test_llm_cache_hits_make_no_request(store: Store, session: aiohttp.ClientSession, server: FakeLLMServer) -> None:
    clock = FakeClock(NOW)
    papers = [_paper(i) for i in range(3)]
    store.papers.ingest(papers, NOW)
    summaries = Summaries(store, llm=_llm(server, session, store, clock), clock=clock)
    first = await summaries.get_many(papers)
    assert server.count == 3
    assert all(summary.summarizer == "llm" for summary in first.values())
    again = await summaries.get_many(papers)
    single = await summaries.get(papers[0])
    assert server.count == 3
    assert again == first and single == first[papers[0].id]
    # Every channel, query and alert shares the store: a new facade (restart) hits the cache too.
    restarted = Summaries(store, llm=_llm(server, session, store, clock), clock=clock)
    assert await restarted.get(papers[1]) == first[papers[1].id]
    assert server.count == 3
    # The LLM's tags are what search and topic filters see.
    assert store.papers.topics_of([papers[0].id])[papers[0].id] == ("efficient", "llm")
    # A new version is a new summary.
    await summaries.get(replace(papers[0], version=2))
    assert server.count == 4


async def test_concurrent_requests_for_one_paper_share_one_call(store: Store, session: aiohttp.ClientSession) -> None:
    slow = FakeLLMServer("openai", [Reply(summary_json(), delay=0.05)])
    await slow.start()
    clock = FakeClock(NOW)
    try:
        summaries = Summaries(store, llm=_llm(slow, session, store, clock), clock=clock)
        first, second = await asyncio.gather(summaries.get(_paper(1)), summaries.get(_paper(1)))
    finally:
        await slow.close()
    assert first == second
    assert slow.count == 1


async def test_version_zero_item_with_llm(store: Store, session: aiohttp.ClientSession, server: FakeLLMServer) -> None:
    clock = FakeClock(NOW)
    store.papers.ingest([FEED_ITEM], NOW)
    summaries = Summaries(store, llm=_llm(server, session, store, clock), clock=clock)
    assert (await summaries.get(FEED_ITEM)).summarizer == "llm"
    assert (await summaries.get(FEED_ITEM)).summarizer == "llm"
    assert server.count == 1


async def test_failed_paper_cools_down_before_the_llm_is_asked_again(store: Store, session: aiohttp.ClientSession) -> None:
    failing = FakeLLMServer("openai", [Reply(status=500)] * 4 + [Reply(summary_json())])
    await failing.start()
    clock = FakeClock(NOW)
    try:
        summaries = Summaries(store, llm=_llm(failing, session, store, clock), clock=clock)
        # 500 is retried (sleeping for real would slow the test: the client gets a fake sleep).
        summaries.llm.client.sleep = _no_sleep  # type: ignore[union-attr]
        first = await summaries.get(_paper(1))
        assert first.summarizer == "offline"
        requests_after_failure = failing.count
        assert (await summaries.get(_paper(1))).summarizer == "offline"
        assert failing.count == requests_after_failure  # in cool-down: no request
        clock.advance(hours=2)
        assert (await summaries.get(_paper(1))).summarizer == "llm"
    finally:
        await failing.close()


async def _no_sleep(_seconds: float) -> None:
    return None


async def test_fast_replies_can_skip_the_llm(store: Store, session: aiohttp.ClientSession, server: FakeLLMServer) -> None:
    clock = FakeClock(NOW)
    summaries = Summaries(store, llm=_llm(server, session, store, clock), clock=clock)
    summary = (await summaries.get_many([_paper(7)], use_llm=False))[_paper(7).id]
    assert summary.summarizer == "offline"
    assert server.count == 0
    # ...and the LLM summary replaces it when asked normally.
    assert (await summaries.get(_paper(7))).summarizer == "llm"


async def test_fast_replies_show_an_older_llm_summary_and_queue_the_current_one(
    store: Store, session: aiohttp.ClientSession, server: FakeLLMServer
) -> None:
    clock = FakeClock(NOW)
    paper = _paper(7)
    store.papers.ingest([paper], NOW)
    older = Summary(tldr="An older LLM TL;DR.", key_points=(), summarizer="llm", model="test-model", prompt_version="v0")
    store.summaries.put(paper.id, paper.version, SummaryKey("llm", "test-model", "v0"), older, NOW)
    summaries = Summaries(store, llm=_llm(server, session, store, clock), clock=clock)
    assert (await summaries.for_answers().get_many([paper]))[paper.id] == older
    assert server.count == 0 and summaries.queued == 1  # the LLM's current one, for a later view
    assert summaries._refreshing is not None
    await summaries._refreshing  # and the offline fallback of the current prompt
    assert store.summaries.get(paper.id, paper.version, OFFLINE_KEY) is not None
    await summaries.stop()


async def test_background_pass_uses_the_llm_and_respects_the_budget(
    store: Store, session: aiohttp.ClientSession, server: FakeLLMServer
) -> None:
    clock = FakeClock(NOW)
    store.papers.ingest([_paper(i) for i in range(4)], NOW)
    server.replies = [Reply(summary_json(), prompt_tokens=1000, completion_tokens=500)]
    # A call holds its prompt and the longest answer while it runs: the budget pays for two at once.
    held = max(estimate_tokens(SYSTEM_PROMPT) + estimate_tokens(build_user_prompt(_paper(i))) for i in range(4)) + MAX_OUTPUT_TOKENS
    budget = 2 * held
    summaries = Summaries(store, llm=_llm(server, session, store, clock, budget=budget), clock=clock)
    assert await summaries.background_pass(NOW, 2) == 2
    assert server.count == 2
    assert store.summaries.tokens_on(NOW) == 3000 <= budget
    # Now the budget is spent: the pass only fills in offline summaries, with no request.
    assert await summaries.background_pass(NOW, 5) == 2
    assert server.count == 2
    assert store.summaries.missing([summaries.key, OFFLINE_KEY], 10) == []
    assert await summaries.background_pass(NOW, 5) == 0
