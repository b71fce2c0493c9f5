"""Subscriptions and alerts: tokenizing, matching, the inverted index against a brute-force
reference (10,000 subscriptions x a day of papers), and the subscription commands."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

import bot.chat.grammar as cmd
from bot.alerts.alerts import SubscriptionCommands, match_batch
from bot.core.clock import FakeClock
from bot.core.errors import UserInputError
from bot.core.models import Actor, Place, Subscription
from bot.enrich.tagger import tag
from bot.enrich.taxonomy import TAXONOMY
from bot.search.matching import (
    Matcher,
    SubscriptionIndex,
    match_brute_force,
    paper_doc,
    query_terms,
)
from tests.support.factories import T0, app_settings, hours, ingest, make_paper, new_store

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus" / "hf_trending_abstracts.jsonl"


def test_query_terms_follow_the_search_grammar_plus_plural_folding() -> None:
    assert query_terms('"Gaussian splatting" for self-supervised robots AND the LLMs') == (
        ("gaussian", "splatting"), ("self", "supervised"), ("robot",), ("llm",),
    )
    assert query_terms("the of and") == ()
    assert query_terms('"unclosed phrase here') == (("unclosed",), ("phrase",))  # as search reads it
    assert query_terms("GPT-4o 扩散模型") == (("gpt", "4o"), ("扩散模型",))
    assert query_terms("diffusion diffusion") == (("diffusion",),)


def doc(title: str, abstract: str = "", topics: tuple[str, ...] = ()) -> object:
    return paper_doc(make_paper(1, title=title, abstract=abstract), topics)


def test_matcher_requires_every_term_phrases_in_order_and_one_topic() -> None:
    d = doc("Gaussian splatting for dynamic scenes", "We render robots.", ("cv",))
    assert Matcher.compile('"gaussian splatting" robots').matches(d)
    assert not Matcher.compile('"splatting gaussian"').matches(d)
    assert not Matcher.compile("gaussian diffusion").matches(d)
    assert Matcher.compile("", ("rl", "cv")).matches(d)
    assert not Matcher.compile("gaussian", ("rl",)).matches(d)
    assert Matcher.compile("gaussian", ("cv",)).matches(d)
    assert not Matcher.compile("", ()).matches(d)


# --- the inverted index against brute force ----------------------------------------------------


def corpus() -> list[dict[str, str]]:
    assert CORPUS.is_file(), f"shared corpus missing: {CORPUS}"
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def random_subscriptions(count: int, rng: random.Random, texts: list[str], users: int = 3000) -> list[Subscription]:
    """Queries drawn from the corpus's own words and phrases, topics from the taxonomy."""
    vocabulary = sorted({w for t in texts for w in t.lower().split() if w.isalpha() and len(w) > 3})
    topic_list = [t.id for t in TAXONOMY]
    subs = []
    for i in range(count):
        kind = rng.random()
        query, topics = "", ()
        if kind < 0.35:
            query = rng.choice(vocabulary)
        elif kind < 0.6:
            query = " ".join(rng.sample(vocabulary, 2))
        elif kind < 0.75:
            words = rng.choice(texts).split()
            start = rng.randrange(max(1, len(words) - 2))
            query = '"' + " ".join(words[start : start + 2]) + '"'
        elif kind < 0.9:
            topics = tuple(rng.sample(topic_list, rng.randint(1, 2)))
        else:
            query, topics = rng.choice(vocabulary), (rng.choice(topic_list),)
        subs.append(Subscription(id=i + 1, platform="slack", user_id=f"U{i % users}", query=query, topics=topics))
    return subs


def test_index_matches_exactly_what_brute_force_matches_for_10000_subscriptions() -> None:
    rows = corpus()
    rng = random.Random(7)
    day = [
        make_paper(i, title=row["title"], abstract=row["abstract"]) for i, row in enumerate(rows[:300])
    ]
    docs = [paper_doc(p, tag(p.title, p.abstract, p.categories)) for p in day]
    subs = random_subscriptions(10_000, rng, [r["title"] + " " + r["abstract"] for r in rows])
    index = SubscriptionIndex(subs)
    # A few random phrases are only stopwords ("of the"): nothing to match, not indexed.
    assert index.size == sum(not Matcher.compile(s.query, s.topics).empty for s in subs) > 9_500
    reference = match_brute_force(subs, docs)
    total = 0
    for d in docs:
        fast = [s.id for s in index.match(d)]
        assert fast == [s.id for s in reference[d.paper_id]], d.paper_id
        total += len(fast)
    assert total > 5_000  # the comparison is not vacuous
    assert sum(1 for s in subs if s.query.startswith('"')) > 1000


def test_match_batch_per_user_equals_brute_force_with_top_k_and_counts() -> None:
    rows = corpus()
    rng = random.Random(11)
    papers = [
        replace(make_paper(i, title=row["title"], abstract=row["abstract"], hf_upvotes=rng.randrange(50)),
                first_seen=T0 + timedelta(minutes=i))
        for i, row in enumerate(rows[:120])
    ]
    topics = {p.id: tag(p.title, p.abstract, p.categories) for p in papers}
    subs = random_subscriptions(2_000, rng, [r["title"] + " " + r["abstract"] for r in rows], users=400)
    # Some subscriptions were made while the batch was arriving: they get only later papers.
    subs = [replace(s, created_at=T0 + timedelta(minutes=60)) if s.id % 7 == 0 else s for s in subs]
    docs = {p.id: paper_doc(p, topics[p.id]) for p in papers}
    reference: dict[tuple[str, str], dict[str, set[int]]] = {}
    for sub in subs:
        matcher = Matcher.compile(sub.query, sub.topics)
        for paper in papers:
            if matcher.matches(docs[paper.id]) and (sub.created_at is None or paper.first_seen >= sub.created_at):
                reference.setdefault((sub.platform, sub.user_id), {}).setdefault(paper.id, set()).add(sub.id)
    rank = {p.id: (p.popularity, p.first_seen.isoformat(), p.id) for p in papers}

    everything = match_batch(subs, papers, topics, since=T0, keep_per_user=10_000)
    assert everything.overflow == {}
    assert {user: {pid: set(ids) for pid, ids in kept} for user, kept in everything.kept.items()} == reference

    top = match_batch(subs, papers, topics, since=T0, keep_per_user=3)
    assert set(top.kept) == set(reference)
    for user, matched in reference.items():
        expected = sorted(matched, key=rank.__getitem__, reverse=True)[:3]
        assert [pid for pid, _ in top.kept[user]] == expected
        assert top.overflow.get(user, 0) == len(matched) - len(expected)
    assert top.total == sum(len(m) for m in reference.values()) > 1_000


# --- commands --------------------------------------------------------------------------------

USER = Actor(platform="slack", user_id="U1")
WHERE = Place(platform="slack", channel_id="C1")


def subscription_commands(store=None, clock=None) -> SubscriptionCommands:
    return SubscriptionCommands(store=store or new_store(), settings=app_settings(), clock=clock or FakeClock(T0))


async def test_subscribe_reports_matches_of_the_last_7_days() -> None:
    store = new_store()
    ingest(store, [make_paper(1, title="Diffusion models for video"), make_paper(2, title="Video diffusion at scale"),
                   make_paper(3, title="Unrelated")], T0 - hours(48))
    ingest(store, [make_paper(4, title="Ancient diffusion")], T0 - hours(24 * 9))
    slice_ = subscription_commands(store)
    reply = await slice_.handle(cmd.parse_command("subscribe diffusion"), USER, WHERE)
    assert reply.private
    assert reply.text.splitlines() == [
        "Subscribed (#1): “diffusion”.",
        "2 papers of the last 7 days would have matched.",
        "New matches come by DM, at most one message every hour. Stop with /papers unsubscribe 1.",
    ]
    reply = await slice_.handle(cmd.parse_command("subscribe video topic:cv"), USER, WHERE)
    assert reply.text.startswith("Subscribed (#2): “video” · topics: Computer Vision.")


async def test_subscribe_duplicates_empty_queries_and_limits() -> None:
    store = new_store()
    slice_ = subscription_commands(store)
    await slice_.handle(cmd.parse_command("subscribe Diffusion"), USER, WHERE)
    again = await slice_.handle(cmd.parse_command("subscribe diffusion"), USER, WHERE)
    assert again.text == "You already have this subscription (#1: “Diffusion”)."
    with pytest.raises(UserInputError, match="no words to match"):
        await slice_.handle(cmd.SubscribeCommand(query="the of"), USER, WHERE)
    for i in range(24):
        await slice_.handle(cmd.SubscribeCommand(query=f"topic{i}"), USER, WHERE)
    with pytest.raises(UserInputError, match="the most allowed"):
        await slice_.handle(cmd.SubscribeCommand(query="one more"), USER, WHERE)


async def test_subscriptions_list_numbers_and_shows_paused_reason() -> None:
    store = new_store()
    slice_ = subscription_commands(store)
    assert "no subscriptions" in (await slice_.handle(cmd.ListSubscriptionsCommand(), USER, WHERE)).text
    await slice_.handle(cmd.parse_command("subscribe diffusion"), USER, WHERE)
    await slice_.handle(cmd.parse_command("subscribe topic:rl"), USER, WHERE)
    store.subscriptions.pause_for_user("slack", "U1", "you do not accept direct messages from paperbot")
    reply = await slice_.handle(cmd.ListSubscriptionsCommand(), USER, WHERE)
    assert reply.text.splitlines() == [
        "1. “diffusion” (paused: you do not accept direct messages from paperbot)",
        "2. topics: Reinforcement Learning (paused: you do not accept direct messages from paperbot)",
    ]
    assert "unsubscribe all" in reply.footer
    # Subscribing again resumes the paused ones.
    reply = await slice_.handle(cmd.parse_command("subscribe agents"), USER, WHERE)
    assert "Your 2 paused subscriptions resumed too." in reply.text
    assert all(not s.paused_reason for s in store.subscriptions.list_for_user("slack", "U1"))


async def test_unsubscribe_by_number_query_and_all() -> None:
    store = new_store()
    slice_ = subscription_commands(store)
    for text in ("subscribe diffusion", 'subscribe "gaussian splatting"', "subscribe topic:rl", "subscribe agents"):
        await slice_.handle(cmd.parse_command(text), USER, WHERE)
    reply = await slice_.handle(cmd.parse_command("unsubscribe 2"), USER, WHERE)
    assert reply.text == "Removed \"gaussian splatting\". 3 subscriptions left."
    with pytest.raises(UserInputError, match="no subscription #9; you have 3"):
        await slice_.handle(cmd.parse_command("unsubscribe 9"), USER, WHERE)
    assert "Removed “diffusion”" in (await slice_.handle(cmd.parse_command("unsubscribe Diffusion"), USER, WHERE)).text
    with pytest.raises(UserInputError, match="none of your subscriptions"):
        await slice_.handle(cmd.parse_command("unsubscribe quantum"), USER, WHERE)
    reply = await slice_.handle(cmd.parse_command("unsubscribe all"), USER, WHERE)
    assert reply.text == "Removed all 2 subscriptions; no more alerts."
    assert (await slice_.handle(cmd.parse_command("unsubscribe all"), USER, WHERE)).text == "You have no subscriptions."


async def test_unsubscribe_ambiguous_query_asks_for_a_number() -> None:
    store = new_store()
    slice_ = subscription_commands(store)
    await slice_.handle(cmd.parse_command("subscribe video diffusion"), USER, WHERE)
    await slice_.handle(cmd.parse_command("subscribe image diffusion"), USER, WHERE)
    with pytest.raises(UserInputError, match=r"more than one subscription matches 'diffusion' \(#1, #2\)"):
        await slice_.handle(cmd.parse_command("unsubscribe diffusion"), USER, WHERE)


async def test_subscriptions_are_per_platform_and_user() -> None:
    store = new_store()
    slice_ = subscription_commands(store)
    await slice_.handle(cmd.parse_command("subscribe diffusion"), USER, WHERE)
    other = Actor(platform="discord", user_id="U1")
    assert "no subscriptions" in (await slice_.handle(cmd.ListSubscriptionsCommand(), other, WHERE)).text
    assert len(store.subscriptions.list_for_user("slack", "U1")) == 1


def test_describe_keeps_a_quoted_query_as_typed() -> None:
    from bot.chat.present import describe_subscription as describe

    assert describe("diffusion", ("cv",)) == "“diffusion” · topics: Computer Vision"
    assert describe('"language model"', ()) == '"language model"'
    assert describe("", ("rl",)) == "topics: Reinforcement Learning"
