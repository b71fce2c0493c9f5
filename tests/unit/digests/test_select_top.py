"""`select_top` (the walk over the shared pool that stops once a channel's best are certain)
chooses exactly what `select` chooses over every candidate: same papers, same order, same
scores, groups and reasons, for channels with different topics, queries, sources, minimum
scores, sizes, windows, shown updates and what the never-repeat ledger already holds."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

import pytest

from bot.core.clock import to_iso
from bot.core.models import ChannelSettings, Paper, SourceKind
from bot.digests.selection import Pool, is_recent, select, select_top
from tests.support.factories import T0, make_paper

NOW = T0 + timedelta(days=3)
TOPICS = ("llm", "cv", "rl", "gen", "agents")
# A small vocabulary, so queries match many papers and titles often hold the query word.
WORDS = ("diffusion", "agent", "reward", "token", "image", "policy", "vision", "language", "graph", "robot")


def make_pool(seed: int, count: int = 400) -> Pool:
    """Papers with shared publication times and vote counts (so base scores tie and the id
    decides), updated versions, several sources, some old news, and 0-3 topics each."""
    rng = random.Random(seed)
    papers: list[Paper] = []
    changed_at: dict[str, str] = {}
    topics: dict[str, tuple[str, ...]] = {}
    for number in range(count):
        source = rng.choice((SourceKind.ARXIV, SourceKind.ARXIV, SourceKind.HF, SourceKind.REDDIT))
        published = NOW - timedelta(hours=rng.choice((1, 5, 20, 30, 50, 24 * 40)))
        paper = make_paper(
            number,
            title=" ".join(rng.sample(WORDS, 2)) + f" study {number % 7}",
            abstract=" ".join(rng.choices(WORDS, k=12)) + ".",
            source=source,
            version=rng.choice((1, 1, 2, 3)),
            published=published,
            hf_upvotes=rng.choice((None, None, 0, 3, 40, 500)),
            reddit_score=rng.choice((None, None, None, 10)),
        )
        paper = dataclasses.replace(
            paper,
            is_updated=rng.random() < 0.2,
            sources=tuple(rng.sample((SourceKind.ARXIV, SourceKind.HF, SourceKind.REDDIT), rng.randint(0, 2))),
            first_seen=published,
        )
        papers.append(paper)
        changed_at[paper.id] = to_iso(NOW - timedelta(hours=rng.uniform(0, 60))) or ""
        topics[paper.id] = tuple(rng.sample(TOPICS, rng.randint(0, 3)))
    return Pool(NOW - timedelta(hours=72), papers, changed_at, topics, NOW)


def make_channel(rng: random.Random, number: int) -> ChannelSettings:
    """A channel with random topics, query, sources, minimum score, size and window."""
    query = rng.choice(("", "", "", "diffusion", "agent reward", '"image vision"', "the", "robot-policy"))
    last = rng.choice((None, NOW - timedelta(hours=24), NOW - timedelta(hours=10), NOW - timedelta(hours=70)))
    return ChannelSettings(
        platform=rng.choice(("slack", "discord")),
        channel_id=f"C{number}",
        topics=tuple(rng.sample(TOPICS, rng.randint(0, 3))),
        query=query,
        sources=tuple(rng.sample((SourceKind.ARXIV, SourceKind.HF, SourceKind.REDDIT), rng.choice((0, 0, 1, 2)))),
        min_score=rng.choice((0, 0, 0, 3, 40)),
        max_items=rng.choice((1, 3, 5, 10, 20)),
        show_updated=rng.random() < 0.3,
        threshold=rng.choice((None, 0.5)),
        last_digest_at=last,
    )


def reference(settings: ChannelSettings, pool: Pool, ledger: dict[str, int]) -> list:
    """What a digest chose before `select_top`: `select` over every candidate of the window."""
    from bot.digests.selection import window_start

    since = window_start(settings, pool.now)
    candidates = [p for p in pool.window(since) if is_recent(p, since)]
    delivered = {p.id: ledger[p.id] for p in candidates if p.id in ledger}
    return select(settings, candidates, pool.topics, delivered, pool.now, pool.doc, pool.facts)


@pytest.mark.parametrize("indexed", [False, True], ids=["words scanned", "words indexed"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_select_top_chooses_what_select_chooses(seed: int, indexed: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Channels of one pool, many sharing their topics (one replayed walk per topic set, read
    to different lengths), with query words found by scanning the pool's text or, once many
    words were asked for, from its index of every word."""
    from bot.digests import selection
    from bot.digests.selection import window_start

    monkeypatch.setattr(selection, "INDEX_AFTER_WORDS", 0 if indexed else 10_000)
    pool = make_pool(seed)
    rng = random.Random(seed * 100)
    compared = nonempty = 0
    for number in range(120):
        settings = make_channel(rng, number)
        # The never-repeat ledger: some papers already posted here, at this or an older version.
        ledger = {p.id: max(0, p.version - rng.randint(0, 1)) for p in pool.papers if rng.random() < 0.25}
        asked: list[str] = []

        def delivered_of(ids: list[str], ledger: dict[str, int] = ledger, asked: list[str] = asked) -> dict[str, int]:
            asked.extend(ids)
            return {pid: ledger[pid] for pid in ids if pid in ledger}

        since = window_start(settings, pool.now)
        got = select_top(settings, pool, since, delivered_of)
        expected = reference(settings, pool, ledger)
        assert got == expected, settings
        assert len(asked) == len(set(asked))  # each walked paper is looked up once
        compared += 1
        nonempty += bool(expected)
    assert compared == 120 and nonempty > 60  # the comparison is not one of empty digests


def test_select_top_walks_less_than_the_pool_for_a_small_digest() -> None:
    """A channel showing 3 papers looks up far fewer than the pool's papers in the ledger."""
    pool = make_pool(7, count=2000)
    settings = ChannelSettings(platform="slack", channel_id="C1", max_items=3)
    asked: list[str] = []

    def delivered_of(ids: list[str]) -> dict[str, int]:
        asked.extend(ids)
        return {}

    since = NOW - timedelta(hours=24)
    got = select_top(settings, pool, since, delivered_of)
    assert got == reference(settings, pool, {})
    assert len(got) == 3
    assert len(asked) < len(pool.papers) / 4


def test_trending_channels_are_chosen_like_select() -> None:
    """An email digest with no topics ranks by what is trending: the same answer as `select`."""
    pool = make_pool(11)
    settings = ChannelSettings(platform="email", channel_id="someone@example.org", max_items=5)
    ledger = {pool.papers[0].id: pool.papers[0].version}
    since = NOW - timedelta(hours=24)
    got = select_top(settings, pool, since, lambda ids: {pid: ledger[pid] for pid in ids if pid in ledger})
    assert got == reference(settings, pool, ledger)
    assert got and all(r.group == "_trending" for r in got)


def test_candidate_count_is_the_windows_news() -> None:
    pool = make_pool(5)
    since = NOW - timedelta(hours=10)
    assert pool.candidate_count(since) == len([p for p in pool.window(since) if is_recent(p, since)])


def test_channels_with_feedback_are_the_ones_a_model_may_rerank() -> None:
    """Feedback rows or a stored channel model trained on feedback put a channel in the set;
    a model of weak interests alone (feedback_count 0) does not."""
    from bot.store.feedback import Choice, StoredModel
    from tests.support.factories import new_store

    store = new_store()
    assert store.feedback.channels_with_feedback() == set()
    store.feedback.record("slack", "U1", "2603.00001", Choice.RELEVANT, T0, channel_key="slack:C1")
    store.feedback.save_model(StoredModel("channel", "slack:C2", "r", b"x", 3, T0))
    store.feedback.save_model(StoredModel("channel", "slack:C3", "r", b"x", 0, T0))
    store.feedback.save_model(StoredModel("person", "slack:U9", "r", b"x", 5, T0))
    assert store.feedback.channels_with_feedback() == {"slack:C1", "slack:C2"}


@pytest.mark.parametrize("indexed", [False, True], ids=["scanned", "indexed"])
@pytest.mark.parametrize("word", ["diffusion", "agent", "study", "token", "graph", "xyz", "imag", "robot"])
def test_with_word_finds_the_papers_whose_words_hold_it(word: str, indexed: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool's word lists are what tokenizing every paper would give (plurals folded,
    words cut at a paper's end, in the pool's order), whether the word is found by scanning
    the pool's text or in its index of every word."""
    from bot.digests import selection

    monkeypatch.setattr(selection, "INDEX_AFTER_WORDS", 0 if indexed else 10_000)
    pool = make_pool(4)
    pool.papers.append(dataclasses.replace(pool.papers[0], id="2603.99999", title="Agents", abstract="robots"))
    pool.papers.append(dataclasses.replace(pool.papers[0], id="2603.99998", title="x", abstract="diffusions"))
    expected = [p for p in pool.ordered() if word in pool.doc(p).words]
    assert pool.with_word(word) == expected
    assert (pool._word_index is not None) == indexed


def test_the_word_index_answers_every_word_as_the_scan_does() -> None:
    """Every word of every paper (and some that are in none): the index's papers are the
    scan's, in the same order."""
    scanned, indexed = make_pool(6), make_pool(6)
    words = sorted({word for paper in scanned.papers for word in scanned.doc(paper).words} | {"zeppelin", "ab"})
    index = indexed._index_words()
    assert len(words) > 15
    for word in words:
        assert index.get(word, []) == scanned._find_word(word), word


def test_channels_with_the_same_topics_share_one_walk_read_to_different_lengths() -> None:
    """A channel reading the shared walk further than the one before it extends it; one
    reading less stops early; each gets `select`'s answer."""
    pool = make_pool(8, count=1000)
    since = NOW - timedelta(hours=24)  # as `reference` has it: a first digest's window
    for max_items in (2, 20, 1, 20, 5):
        settings = ChannelSettings(platform="slack", channel_id=f"C{max_items}", topics=("cv", "llm"), max_items=max_items)
        assert select_top(settings, pool, since, lambda ids: {}) == reference(settings, pool, {})
    settings = ChannelSettings(platform="slack", channel_id="C9", topics=("llm", "cv"), max_items=3)
    assert select_top(settings, pool, since, lambda ids: {}) == reference(settings, pool, {})
    assert [key[0] for key in pool._topic_walks] == [("cv", "llm")]  # their order makes no other walk


async def test_a_digest_run_lets_other_tasks_run_between_channels() -> None:
    """A run over many channels is not one stretch of the event loop: a task that only counts
    its turns gets turns while the run is under way."""
    import asyncio
    from datetime import time as clock_time

    from bot.digests.job import DigestJob
    from tests.support.factories import FakeSummaries, app_settings, hours, ingest, new_store

    store = new_store()
    ingest(store, [make_paper(n, title=f"Language models {n}") for n in range(1, 6)], T0 - hours(1), {})
    for number in range(8):
        settings = ChannelSettings(
            platform="slack", channel_id=f"C{number}", days=tuple(range(7)), time_of_day=clock_time(9, 0)
        )
        store.channels.save(settings, T0 - timedelta(days=2))
    job = DigestJob(store=store, settings=app_settings(), summaries=FakeSummaries(store))
    turns_during_run: list[int] = []
    turns = 0
    running = True

    async def count_turns() -> None:
        nonlocal turns
        while running:
            turns += 1
            await asyncio.sleep(0)

    counter = asyncio.create_task(count_turns())
    run = asyncio.create_task(job.run_due(T0))
    while not run.done():
        turns_during_run.append(turns)
        await asyncio.sleep(0)
    running = False
    await counter
    assert await run == 8
    assert turns_during_run[-1] >= 8  # at least a turn per channel while the run went on


async def test_the_pool_read_off_the_loop_is_the_pool_read_here(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A file store's pool is read in a worker thread by a connection of its own: the same
    papers, change times and topics (stored tags, and the tagger's for untagged papers)."""
    from bot.digests.selection import load_pool, load_pool_off_loop
    from bot.store import Store
    from tests.support.factories import hours, ingest

    store = Store.open(str(tmp_path / "pool.db"))
    papers = [make_paper(n, title=f"Diffusion policies for robots {n}", hf_upvotes=n) for n in range(1, 30)]
    ingest(store, papers[:20], T0 - hours(2), {p.id: ["rl"] for p in papers[:10]})
    ingest(store, papers[20:], T0 - hours(40), {})
    since = T0 - hours(24)
    here = load_pool(store, since, T0)
    there = await load_pool_off_loop(store, since, T0)
    assert [p.id for p in there.papers] == [p.id for p in here.papers] and len(here.papers) == 20
    assert there.papers == here.papers
    assert there.changed_at == here.changed_at and there.topics == here.topics
    store.close()


def test_digests_of_a_run_share_items_equal_to_the_ones_made_alone() -> None:
    """Digests composed with the run's pool show its shared items (one object per paper and
    reason, whatever channel shows it): each reply equals the one composed without the pool,
    and its outbox JSON too."""
    from bot.core.models import Summary
    from bot.delivery.outbox import reply_to_json
    from bot.digests.compose import digest_reply
    from bot.digests.selection import window_start

    pool = make_pool(12)
    summaries = {  # half the papers summarized
        p.id: Summary(tldr=f"TL;DR {p.id} ✓", key_points=("One.", "Two."), topics=("cv",)) for p in pool.papers[::2]
    }
    rng = random.Random(12)
    shown: dict[tuple[str, str], object] = {}
    replies = slots = 0
    for number in range(60):
        settings = make_channel(rng, number)
        since = window_start(settings, pool.now)
        ranked = select_top(settings, pool, since, lambda ids: {})
        shared = digest_reply(settings, ranked, summaries, 40, "2026-03-08", pool.now, pool=pool)
        alone = digest_reply(settings, ranked, summaries, 40, "2026-03-08", pool.now)
        assert shared == alone and reply_to_json(shared) == reply_to_json(alone)
        for item in shared.items:
            assert shown.setdefault((item.paper.id, item.why), item) is item
        replies += bool(ranked)
        slots += len(shared.items)
    assert replies > 30 and len(shown) < slots / 2  # most items were shown by several channels
