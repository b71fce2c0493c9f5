"""The long-lived alert matcher (bot.alerts.matcher): it loads subscriptions once and then
follows the store's change feed (subscribe, unsubscribe, pause, resume, another process's
writes); what it queues is exactly what testing every subscription against every paper and
reducing per user gives; its anchors change nothing but speed; and the subscribe preview is
bounded."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import bot.alerts.alerts as alerts
import bot.alerts.matcher as matcher_module
import bot.chat.grammar as cmd
from bot.alerts.alerts import SubscriptionCommands, scan_new_papers
from bot.alerts.matcher import AlertMatcher, BatchMatches, paper_rank
from bot.core.clock import FakeClock
from bot.core.models import Actor, Paper, Place, Subscription
from bot.core.text import fold
from bot.delivery.outbox import Delivery
from bot.search.matching import (
    Matcher,
    QueryIndex,
    has_word,
    key_frequency,
    match_brute_force,
    paper_doc,
    tagged_topics,
    topics_for,
    word_head,
)
from bot.store import Store
from bot.store.subscriptions import SubscriptionChanges, SubscriptionStore
from tests.support.factories import T0, FakeSummaries, app_settings, hours, make_paper
from tests.support.memory import InMemoryAdapter
from tests.support.wiring import make_scheduler
from tests.unit.alerts.test_alerts import corpus, random_subscriptions

UserKey = tuple[str, str]
WHERE = Place(platform="slack", channel_id="C1")


# --- the reference: every subscription against every paper, reduced per user ---------------------


def reference(
    subscriptions: Sequence[Subscription],
    papers: Sequence[Paper],
    topics: Mapping[str, Sequence[str]],
    since: datetime,
    keep: int,
) -> BatchMatches:
    """What the alert scan must queue, worked out the slow, obvious way: `match_brute_force`
    for every pair, a subscription created after `since` keeping only papers first seen after
    it, then per user the `keep` most popular papers listed and the rest counted."""
    docs = [paper_doc(p, topics.get(p.id, ())) for p in papers]
    first_seen = {p.id: p.first_seen for p in papers}
    per_user: dict[UserKey, dict[str, list[int]]] = {}
    for paper_id, subs in match_brute_force(subscriptions, docs).items():
        for sub in subs:
            seen = first_seen[paper_id]
            late = sub.created_at is not None and sub.created_at > since
            if late and seen is not None and sub.created_at is not None and seen < sub.created_at:
                continue
            per_user.setdefault((sub.platform, sub.user_id), {}).setdefault(paper_id, []).append(sub.id)
    rank = {p.id: paper_rank(p) for p in papers}
    kept, overflow, total = {}, {}, 0
    for user, hits in per_user.items():
        ordered = sorted(hits, key=rank.__getitem__, reverse=True)
        kept[user] = [(pid, tuple(sorted(hits[pid]))) for pid in ordered[:keep]]
        if len(ordered) > keep:
            overflow[user] = len(ordered) - keep
        total += len(ordered)
    return BatchMatches(kept, overflow, total)


def corpus_texts() -> list[str]:
    """Title and abstract of every corpus row: the text random subscriptions are drawn from."""
    return [r["title"] + " " + r["abstract"] for r in corpus()]


def topics_of(papers: Sequence[Paper]) -> dict[str, list[str]]:
    """Each paper's topics as the tagger gives them (what the reference matcher is given)."""
    return {p.id: tagged_topics(p.title, p.abstract, p.categories) for p in papers}


def corpus_papers(count: int, rng: random.Random, start: datetime) -> list[Paper]:
    """Real titles and abstracts with random popularity, first seen a minute apart."""
    return [
        replace(
            make_paper(i, title=row["title"], abstract=row["abstract"], hf_upvotes=rng.choice([None, *range(40)])),
            first_seen=start + timedelta(minutes=i),
        )
        for i, row in enumerate(corpus()[:count])
    ]


class FeedReads:
    """Counts full-load pages and change-feed reads of every subscription store (the matcher
    loads through a read-only connection of its own when the store is a file)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.pages = 0
        self.change_reads = 0
        real_page, real_changes = SubscriptionStore.active_page, SubscriptionStore.changes_since

        def active_page(this: SubscriptionStore, after_id: int, limit: int) -> list[Subscription]:
            self.pages += 1
            return real_page(this, after_id, limit)

        def changes_since(this: SubscriptionStore, seq: int) -> SubscriptionChanges:
            self.change_reads += 1
            return real_changes(this, seq)

        monkeypatch.setattr(SubscriptionStore, "active_page", active_page)
        monkeypatch.setattr(SubscriptionStore, "changes_since", changes_since)


# --- exactness -------------------------------------------------------------------------------------


async def test_scan_queues_exactly_what_brute_force_gives_per_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The production path (store, long-lived matcher, chunked queue writes) against the
    reference, on real abstracts and 3,000 generated subscriptions: shared queries, phrases,
    topics, keyword + topic, some made while the batch arrived, some paused."""
    monkeypatch.setattr(alerts, "QUEUE_CHUNK", 250)  # many chunks, each 2 statements of 100 rows and 50 more
    rng = random.Random(5)
    texts = corpus_texts()
    since = T0 - hours(3)
    papers = corpus_papers(150, rng, since)
    store = Store.open(str(tmp_path / "exact.db"))
    store.papers.ingest(papers, since)
    for paper in papers[::2]:  # half tagged in the store, half left to the offline tagger
        store.papers.set_topics(paper.id, tagged_topics(paper.title, paper.abstract, paper.categories))
    generated = random_subscriptions(3_000, rng, texts, users=500)
    for sub in generated:
        # One in eight was made while the batch was arriving: it gets only later papers.
        created = since + timedelta(minutes=rng.randrange(150)) if rng.random() < 0.125 else since - hours(48)
        store.subscriptions.add(sub.platform, sub.user_id, sub.query, sub.topics, created)
    for user in ("U7", "U8", "U9"):
        store.subscriptions.pause_for_user("slack", user, "blocked")
    now = since + hours(3)
    store.alert_queue.set_watermark(alerts.SCAN_WATERMARK, since)
    # Anchors are sampled from the store's recent papers, more than the batch: they must not matter.
    store.papers.ingest(corpus_papers(300, rng, since - hours(100))[150:], since - hours(100))

    matcher = AlertMatcher()
    queued = await scan_new_papers(store, now, keep_per_user=4, matcher=matcher)

    stored = store.papers.get_many([p.id for p in papers])
    expected = reference(store.subscriptions.active(), stored, topics_for(store, stored), since, keep=4)
    users = {(s.platform, s.user_id) for s in generated}
    got_kept = {}
    for platform, user_id in users:
        waiting = store.alert_queue.waiting(platform, user_id)
        if waiting:
            got_kept[(platform, user_id)] = {(q.paper_id, q.subscription_ids) for q in waiting}
    assert got_kept == {user: set(listed) for user, listed in expected.kept.items()}
    got_overflow = {u: store.alert_queue.overflow(*u) for u in users if store.alert_queue.overflow(*u)}
    assert got_overflow == expected.overflow
    assert queued == sum(len(v) for v in expected.kept.values())
    # Not vacuous: many users, some over their limit, papers matched by several subscriptions
    # of one user, late and paused subscriptions in play.
    assert len(expected.kept) > 300 and len(expected.overflow) > 100 and expected.total > 2_000
    assert sum(len(ids) > 1 for listed in expected.kept.values() for _, ids in listed) > 20
    assert matcher.anchor_sample_size > 100 and len(matcher.queries.frequency) > 100
    store.close()


def test_match_batch_and_any_anchors_give_the_reference() -> None:
    """The same subscriptions with anchors from no frequency, the batch's own, and a random
    one, and after reanchoring in place: always the reference's answer."""
    rng = random.Random(17)
    texts = corpus_texts()
    papers = corpus_papers(100, rng, T0)
    topics = topics_of(papers)
    subs = random_subscriptions(2_000, rng, texts, users=300)
    subs += [replace(s, id=s.id + 10_000, user_id="U-dup") for s in subs[:50]]  # shared queries
    expected = reference(subs, papers, topics, T0, keep=3)
    assert alerts.match_batch(subs, papers, topics, since=T0, keep_per_user=3) == expected

    batch_frequency = key_frequency(paper_doc(p, ()) for p in papers)
    noise = {key: rng.randrange(100) for key in batch_frequency}
    for frequency in ({}, batch_frequency, noise):
        matcher = AlertMatcher(frequency)
        matcher.add_many(subs)
        assert matcher.match(papers, topics, since=T0, keep_per_user=3).to_batch() == expected
        matcher.queries.reanchor({key: 100 - n for key, n in noise.items()})
        assert matcher.match(papers, topics, since=T0, keep_per_user=3).to_batch() == expected
    assert len(matcher.queries) < len(subs)  # distinct queries are filed once


def test_query_index_files_a_shared_query_once_and_forgets_it_with_its_last_member() -> None:
    index = QueryIndex()
    diffusion = Matcher.compile("diffusion")
    first = index.add(diffusion, 1)
    assert index.add(Matcher.compile("Diffusions"), 2) == first  # the same query, folded
    assert index.add(Matcher.compile('"video diffusion"', ("cv",)), 3) != first
    doc = paper_doc(make_paper(1, title="Video diffusion at scale"), ("cv",))
    assert sorted(index.matching(doc)) == sorted([first, index.add(Matcher.compile('"video diffusion"', ("cv",)), 4)])
    index.discard(first, 1)
    assert list(index.members(first)) == [2] and first in index.matching(doc)
    index.discard(first, 2)
    assert first not in index.matching(doc) and len(index) == 1
    assert index.add(Matcher.compile("", ("rl",)), 5) in index.topic_only
    with pytest.raises(ValueError):
        index.add(Matcher.compile("the of"), 6)


def test_phrase_queries_are_filed_under_a_word_pair_and_match_as_the_reference() -> None:
    """A phrase query is looked up by one of its adjacent word pairs (far rarer than its words),
    so a paper is checked against it only when it has that pair; longer phrases, extra words
    and topics are still verified."""
    rng = random.Random(23)
    papers = corpus_papers(120, rng, T0)
    topics = topics_of(papers)
    queries = ['"language model"', '"large language model"', 'diffusion "video generation"', '"reinforcement learning"',
               '"graph neural network" node', '"language model" "reinforcement learning"', '"self-supervised"',
               '"the of"', '"neural networks"']
    for paper in papers[:40]:  # phrases of 2 to 4 words that occur in the papers
        words = paper.title.split()
        start = rng.randrange(max(1, len(words) - 3))
        queries.append('"' + " ".join(words[start : start + rng.randint(2, 4)]) + '"')
    subs = [Subscription(id=n + 1, platform="slack", user_id=f"U{n}", query=q, topics=t)
            for n, (q, t) in enumerate((q, t) for q in queries for t in ((), ("llm",), ("cv", "rl")))]
    index = QueryIndex(key_frequency(paper_doc(p, ()) for p in papers))
    slots = {sub.id: index.add(Matcher.compile(sub.query, sub.topics), sub.id) for sub in subs if not Matcher.compile(sub.query, sub.topics).empty}
    assert any(" " in bucket for bucket in index._buckets)  # filed under pairs
    for paper in papers:
        doc = paper_doc(paper, topics[paper.id])
        expected = {slots[sub.id] for sub in subs if sub.id in slots and Matcher.compile(sub.query, sub.topics).matches(doc)}
        assert set(index.matching(doc)) == expected - index.topic_only.keys()  # those are the caller's
    hits = sum(bool(index.matching(paper_doc(p, topics[p.id]))) for p in papers)
    assert hits > 40  # not vacuous
    for slot in set(slots.values()):  # forgetting every query empties the index
        for member in list(index.members(slot)):
            index.discard(slot, member)
    assert len(index) == 0 and not index._buckets and not index._pair_seconds


# --- incremental updates ---------------------------------------------------------------------------


async def test_matcher_loads_once_then_follows_subscribe_unsubscribe_pause_resume_and_another_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matcher_module, "LOAD_PAGE", 50)
    rng = random.Random(3)
    texts = corpus_texts()
    path = str(tmp_path / "feed.db")
    store = Store.open(path)
    counting = FeedReads(monkeypatch)
    papers = corpus_papers(80, rng, T0 - hours(2))
    store.papers.ingest(papers, T0 - hours(2))
    topics = topics_for(store, papers)
    for sub in random_subscriptions(400, rng, texts, users=80):
        store.subscriptions.add(sub.platform, sub.user_id, sub.query, sub.topics, T0 - hours(48))
    clock = FakeClock(T0)
    commands = SubscriptionCommands(store=store, settings=app_settings(), clock=clock)
    matcher = AlertMatcher()

    async def check() -> BatchMatches:
        await matcher.refresh(store, clock())
        got = matcher.match(papers, topics, since=T0 - hours(3), keep_per_user=5).to_batch()
        assert got == reference(store.subscriptions.active(), papers, topics, T0 - hours(3), keep=5)
        assert matcher.seq == store.subscriptions.change_seq()
        return got

    await check()
    loaded_pages = counting.pages
    assert loaded_pages == 9  # 400 subscriptions in pages of 50, and the empty page that ends it

    alice, bob = Actor("slack", "alice"), Actor("slack", "bob")
    await commands.handle(cmd.parse_command("subscribe language model"), alice, WHERE)
    await commands.handle(cmd.parse_command('subscribe "reinforcement learning" topic:rl'), alice, WHERE)
    await commands.handle(cmd.parse_command("subscribe topic:cv"), bob, WHERE)
    await check()
    assert matcher.size == store.subscriptions.count() - sum(Matcher.compile(s.query, s.topics).empty for s in store.subscriptions.active())

    await commands.handle(cmd.parse_command("unsubscribe 1"), alice, WHERE)
    await check()
    store.subscriptions.pause_for_user("slack", "bob", "you do not accept direct messages from paperbot")
    store.subscriptions.pause_for_user("slack", "U5", "blocked")
    await check()
    assert not any(user == ("slack", "bob") for user in matcher.match(papers, topics, since=T0, keep_per_user=5).to_batch().kept)
    await commands.handle(cmd.parse_command("subscribe topic:cv"), bob, WHERE)  # subscribing again resumes
    store.subscriptions.resume_for_user("slack", "U5")
    await check()

    other = Store.open(path)  # another process sharing the database
    other.subscriptions.add("slack", "carol", "diffusion", (), T0 - hours(4))
    other.subscriptions.remove_all("slack", "U6")
    other.subscriptions.add_many([("discord", f"D{i}", q, ()) for i, q in enumerate(["agents", "vision", "the of"])], T0)
    assert ("slack", "carol") in (await check()).kept
    other.close()

    assert counting.pages == loaded_pages  # never loaded again: only the change feed was read
    assert counting.change_reads == 5  # one per refresh after the load
    store.close()


async def test_the_scheduler_owns_one_matcher_and_sees_a_subscription_made_by_another_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "bot.db")
    store = Store.open(path)
    counting = FeedReads(monkeypatch)
    clock = FakeClock(T0)
    adapter = InMemoryAdapter(platform="slack")
    delivery = Delivery(store, {"slack": adapter}, clock)
    scheduler = make_scheduler(store=store, settings=app_settings(), clock=clock, summaries=FakeSummaries(store), delivery=delivery)
    store.subscriptions.add("slack", "U1", "diffusion", (), T0 - hours(1))
    await scheduler.prepare_alerts(T0)
    pages = counting.pages
    assert pages == 2  # the one subscription, and the empty page that ends the load

    store.papers.ingest([make_paper(1, title="Video diffusion models")], clock())
    clock.advance(minutes=1)
    await scheduler.tick(clock())
    other = Store.open(path)
    other.subscriptions.add("slack", "U2", "quantum", (), clock())
    other.close()
    clock.advance(minutes=1)
    store.papers.ingest([make_paper(2, title="Quantum error correction")], clock())
    clock.advance(minutes=1)
    await scheduler.tick(clock())

    dms = [who for who, part in adapter.dms if part.get("text", "").endswith("for your subscriptions")]
    assert dms == ["U1", "U2"]
    assert counting.pages == pages  # the ticks read only the change feed
    assert scheduler.alert_matcher.seq == store.subscriptions.change_seq()
    store.close()


async def test_the_first_load_of_a_file_store_reads_in_a_worker_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A million subscriptions take seconds to read: the event loop's thread never does it."""
    store = Store.open(str(tmp_path / "load.db"))
    store.subscriptions.add_many([("slack", f"U{i}", "diffusion", ()) for i in range(30)], T0)
    readers: list[str] = []
    real_page = SubscriptionStore.active_page

    def active_page(this: SubscriptionStore, after_id: int, limit: int) -> list[Subscription]:
        readers.append(threading.current_thread().name)
        return real_page(this, after_id, limit)

    monkeypatch.setattr(SubscriptionStore, "active_page", active_page)
    matcher = AlertMatcher()
    await matcher.refresh(store, T0)
    assert matcher.size == 30 and readers and threading.main_thread().name not in readers
    store.close()


async def test_a_cancelled_first_load_stops_its_thread_and_the_next_refresh_loads_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop signal during a long first load does not wait for the whole read."""
    monkeypatch.setattr(matcher_module, "LOAD_PAGE", 10)
    store = Store.open(str(tmp_path / "cancel.db"))
    store.subscriptions.add_many([("slack", f"U{i}", "diffusion", ()) for i in range(100)], T0)
    pages: list[int] = []
    first_page_read, go_on = threading.Event(), threading.Event()
    real_page = SubscriptionStore.active_page

    def active_page(this: SubscriptionStore, after_id: int, limit: int) -> list[Subscription]:
        pages.append(after_id)
        if len(pages) == 1:
            first_page_read.set()
            go_on.wait(10)
        return real_page(this, after_id, limit)

    monkeypatch.setattr(SubscriptionStore, "active_page", active_page)
    matcher = AlertMatcher()
    loading = asyncio.ensure_future(matcher.refresh(store, T0))
    await asyncio.to_thread(first_page_read.wait, 10)
    loading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loading
    go_on.set()
    await asyncio.sleep(0.5)
    assert pages == [0] and matcher.size == 0 and matcher.seq is None  # the page read was dropped, no other read
    await matcher.refresh(store, T0)
    assert matcher.size == 100 and matcher.seq == store.subscriptions.change_seq()
    store.close()


async def test_removal_records_are_pruned_a_day_later_and_a_matcher_behind_them_reloads(tmp_path: Path) -> None:
    """Pruning never costs an alert: a matcher that missed pruned removals loads again."""
    path = str(tmp_path / "prune.db")
    store = Store.open(path)
    papers = [make_paper(1, title="Video diffusion models"), make_paper(2, title="Quantum agents")]
    topics: dict[str, tuple[str, ...]] = {p.id: () for p in papers}
    store.subscriptions.add_many([("slack", f"U{i}", q, ()) for i in range(20) for q in ("diffusion", "quantum")], T0)
    live, behind = AlertMatcher(), AlertMatcher()
    await live.refresh(store, T0)
    await behind.refresh(store, T0)
    store.subscriptions.remove_all("slack", "U1")
    await live.refresh(store, T0 + hours(1))
    removals = "SELECT COUNT(*) FROM subscription_removals"
    assert store.conn.execute(removals).fetchone()[0] == 2  # the day is not over
    store.subscriptions.remove_all("slack", "U2")
    await live.refresh(store, T0 + hours(25))  # prunes what it had applied a day ago: nothing yet
    await live.refresh(store, T0 + hours(50))  # prunes U1's and U2's records
    assert store.conn.execute(removals).fetchone()[0] == 0

    await behind.refresh(store, T0 + hours(51))  # its last refresh was before both removals
    for matcher in (live, behind):
        got = matcher.match(papers, topics, since=T0, keep_per_user=5).to_batch()
        assert got == reference(store.subscriptions.active(), papers, topics, T0, keep=5)
        assert ("slack", "U1") not in got.kept and ("slack", "U2") not in got.kept and len(got.kept) == 18
    store.close()


def test_the_user_table_shrinks_when_users_leave() -> None:
    rng = random.Random(8)
    texts = corpus_texts()
    papers = corpus_papers(60, rng, T0)
    topics = topics_of(papers)
    subs = random_subscriptions(3_000, rng, texts, users=1_500)
    matcher = AlertMatcher()
    matcher.add_many(subs)
    users_before = matcher.user_count
    gone = {s.user_id for s in subs if int(s.user_id.lstrip("U") or 0) % 3}
    for sub in subs:
        if sub.user_id in gone:
            matcher.remove(sub.id)
    matcher.compact_users()
    left = [s for s in subs if s.user_id not in gone]
    assert matcher.user_count == len({s.user_id for s in left if not Matcher.compile(s.query, s.topics).empty}) < users_before / 2
    assert matcher.match(papers, topics, since=T0, keep_per_user=3).to_batch() == reference(left, papers, topics, T0, keep=3)
    again = replace(subs[0], id=99_999, user_id="U-new")  # a user added after the shrink
    matcher.add(again)
    got = matcher.match(papers, topics, since=T0, keep_per_user=3).to_batch()
    assert got == reference([*left, again], papers, topics, T0, keep=3)


# --- the subscribe preview is bounded ------------------------------------------------------------------


def preview_store(tmp_path: Path, count: int) -> Store:
    """`count` papers about diffusion over the last 3 days (newest last) and two on quantum."""
    store = Store.open(str(tmp_path / "preview.db"))
    for i in range(count):
        at = T0 - hours(72) + timedelta(minutes=(72 * 60 - 10) * i / max(1, count - 1))
        store.papers.ingest([make_paper(i + 1, title=f"Diffusion study {i}", hf_upvotes=i % 7)], at)
        store.papers.set_topics(f"2603.{i + 1:05d}", ["gen"] if i % 2 else ["cv"])
    store.papers.ingest([make_paper(900, title="Quantum codes"), make_paper(901, title="More quantum codes")], T0 - hours(100))
    return store


async def test_subscribe_preview_stops_at_its_bounds_and_says_at_least(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alerts, "PREVIEW_MAX_CHECKED", 5)
    tokenized: list[str] = []

    def counting_text_doc(paper_id: str, *args: object) -> object:
        tokenized.append(paper_id)
        return real_text_doc(paper_id, *args)  # type: ignore[arg-type]

    real_text_doc = alerts.text_doc
    monkeypatch.setattr(alerts, "text_doc", counting_text_doc)
    store = preview_store(tmp_path, 40)
    commands = SubscriptionCommands(store=store, settings=app_settings(), clock=FakeClock(T0))

    # Words only: looked up in the folded text, nothing tokenized, however many match.
    broad = await commands.handle(cmd.parse_command("subscribe diffusion"), Actor("slack", "U1"), WHERE)
    assert broad.text.splitlines()[1].startswith("40 papers of the last 7 days would have matched; the ")
    rare = await commands.handle(cmd.parse_command("subscribe quantum"), Actor("slack", "U2"), WHERE)
    assert rare.text.splitlines()[1] == "2 papers of the last 7 days would have matched."
    topical = await commands.handle(cmd.parse_command("subscribe topic:gen"), Actor("slack", "U3"), WHERE)
    assert topical.text.splitlines()[1].startswith("20 papers of the last 7 days would have matched;")
    assert tokenized == []

    # A phrase needs tokenizing: 40 papers have both words, only the newest 5 are checked. They
    # are all from the last 24 hours, so that day was not checked whole either.
    phrase = await commands.handle(cmd.parse_command('subscribe "diffusion study"'), Actor("slack", "U4"), WHERE)
    assert phrase.text.splitlines()[1] == (
        "At least 5 papers of the last 24 hours alone would have matched (counting stopped there); "
        "they come in your first DM."
    )
    assert len(tokenized) == 5

    monkeypatch.setattr(alerts, "PREVIEW_MAX_PAPERS", 30)  # a window fuller than is read
    windowed = await commands.handle(cmd.parse_command("subscribe study topic:cv"), Actor("slack", "U5"), WHERE)
    assert windowed.text.splitlines()[1].startswith("At least 15 papers of the last 7 days would have matched")
    store.close()


async def test_subscribe_preview_with_room_to_spare_counts_exactly(tmp_path: Path) -> None:
    store = preview_store(tmp_path, 40)
    commands = SubscriptionCommands(store=store, settings=app_settings(), clock=FakeClock(T0))
    reply = await commands.handle(cmd.parse_command("subscribe diffusion topic:cv"), Actor("slack", "U1"), WHERE)
    day = sum(1 for i in range(0, 40, 2) if T0 - hours(72) + timedelta(minutes=(72 * 60 - 10) * i / 39) >= T0 - hours(24))
    assert reply.text.splitlines()[1] == f"20 papers of the last 7 days would have matched; the {day} from the last 24 hours come in your first DM."
    assert len(store.alert_queue.waiting("slack", "U1")) == min(day, 10) > 0
    assert store.alert_queue.overflow("slack", "U1") == max(0, day - 10)
    store.close()


# Plurals of every kind a plural folding may handle: -s, -ies, -es, -yses/-eses, Latin and Greek.
WORDS = ["diffusion", "transformers", "studies", "study", "policy", "policies", "gnns", "loss", "analysis",
         "analyses", "hypotheses", "patches", "boxes", "classes", "indices", "matrices", "vertices",
         "corpora", "criteria", "phenomena", "caches", "movies", "biases", "lenses", "news", "series",
         "GPT-4o", "self-supervised", "Schrödinger", "naïve", "ﬁne", "x" * 45, "LLMs", "bus", "ties", "注意力"]


@given(st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=6)), min_size=1, max_size=12),
       st.lists(st.sampled_from(WORDS), min_size=1, max_size=3))
def test_words_found_in_the_folded_text_are_the_words_of_the_tokenized_paper(paper_words: list[str], query_words: list[str]) -> None:
    """`Matcher.words_in` (no tokenizing) says exactly what the tokenized paper says."""
    title = " ".join(paper_words)
    doc = paper_doc(make_paper(1, title=title, abstract="Abstract."), ())
    for query in (" ".join(query_words), f'"{" ".join(query_words)}"'):
        matcher = Matcher.compile(query)
        assert matcher.words_in(fold(f"{title}\nAbstract.")) == (matcher.words <= doc.words)


def test_has_word_finds_whole_words_after_plural_folding() -> None:
    folded = fold("Nondiffusion models; Studies of GNNs_and x-Transformers " + "y" * 50)
    assert not has_word(folded, "diffusion")  # inside another word
    assert has_word(folded, "study") and has_word(folded, "gnn") and has_word(folded, "transformer")
    assert has_word(folded, "model") and not has_word(folded, "mode")
    assert has_word(folded, "y" * 40) and not has_word(folded, "y" * 41)  # words are cut to 40


def test_every_corpus_word_starts_with_the_head_of_its_plural_folding() -> None:
    """What `Matcher.words_in` relies on, for every word of the shared abstracts and the
    plurals above, whatever `fold_plural` does to them."""
    from bot.core.text import fold_plural, folded_words

    words = {w for row in corpus() for w in folded_words(row["title"] + " " + row["abstract"])}
    words |= {w for text in WORDS for w in folded_words(text)}
    assert len(words) > 5_000
    assert [w for w in sorted(words) if not w.startswith(word_head(fold_plural(w)))] == []
