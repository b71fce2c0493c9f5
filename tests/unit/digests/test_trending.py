"""rank:trending: digests ranked by the HF upvotes and Reddit points gained in their window,
recency-weighted; the default of email digests without topics; stored (migration 6), parsed,
shown; and the web links a digest's footer carries when PUBLIC_BASE_URL is set."""

from __future__ import annotations

from dataclasses import replace
from datetime import time

import pytest

import bot.chat.grammar as cmd
from bot.core.clock import FakeClock
from bot.core.errors import UserInputError
from bot.core.models import Actor, ChannelSettings, Place
from bot.digests.channels_file import load_channels_file
from bot.digests.compose import build_digest
from bot.digests.selection import TRENDING, effective_rank, select, trending_score, window_start
from bot.store.db import migrate
from bot.store.schema import MIGRATIONS
from tests.support.factories import (
    T0,
    FakeSummaries,
    app_settings,
    hours,
    ingest,
    make_paper,
    new_store,
)
from tests.support.wiring import make_digest_commands


def channel(**overrides: object) -> ChannelSettings:
    return replace(ChannelSettings(platform="slack", channel_id="C1"), **overrides)  # type: ignore[arg-type]


def test_gain_counts_only_signals_that_appeared_in_the_window_and_outweighs_recency() -> None:
    since = T0 - hours(24)
    fresh_quiet = make_paper(1, published=T0 - hours(1))
    old_hot = make_paper(2, published=T0 - hours(20), hf_upvotes=30)
    seen_before = make_paper(3, published=T0 - hours(30), hf_upvotes=500)  # its signal predates the window
    gained, score = trending_score(old_hot, since, T0)
    assert gained == 30
    assert trending_score(fresh_quiet, since, T0)[0] == 0
    assert trending_score(seen_before, since, T0)[0] == 0
    # One upvote gained outweighs any freshness; among equal gains, the newer paper wins.
    assert score > trending_score(fresh_quiet, since, T0)[1]
    one_vote = make_paper(4, published=T0 - hours(23), hf_upvotes=1)
    assert trending_score(one_vote, since, T0)[1] > trending_score(fresh_quiet, since, T0)[1]
    newer = make_paper(5, published=T0 - hours(2), hf_upvotes=30)
    assert trending_score(newer, since, T0)[1] > score


def test_reddit_points_count_and_hf_plus_reddit_add_up() -> None:
    since = T0 - hours(24)
    both = make_paper(1, published=T0 - hours(3), hf_upvotes=10, reddit_score=15)
    assert trending_score(both, since, T0)[0] == 25


def test_select_ranks_by_trending_in_one_group_and_still_filters_by_topic() -> None:
    papers = [
        make_paper(1, title="Quiet but matching the topic", published=T0 - hours(1)),
        make_paper(2, title="Popular", published=T0 - hours(10), hf_upvotes=80),
        make_paper(3, title="Most popular", published=T0 - hours(12), hf_upvotes=40, reddit_score=90),
    ]
    topics = {"2603.00001": ("llm",), "2603.00002": ("cv",), "2603.00003": ("llm",)}
    ranked = select(channel(rank="trending"), papers, topics, {}, T0)
    assert [r.paper.id for r in ranked] == ["2603.00003", "2603.00002", "2603.00001"]
    assert {r.group for r in ranked} == {TRENDING}
    assert ranked[0].why == "trending: +130 upvotes and points"
    by_topic = select(channel(rank="trending", topics=("llm",)), papers, topics, {}, T0)
    assert [r.paper.id for r in by_topic] == ["2603.00003", "2603.00001"]
    # The same papers ranked by topic match (the chat default) group by topic.
    assert {r.group for r in select(channel(), papers, topics, {}, T0)} == {"llm", "cv"}


def test_trending_is_the_default_of_email_digests_without_topics() -> None:
    assert effective_rank(channel()) == "topic"
    assert effective_rank(ChannelSettings(platform="email", channel_id="a@b.org")) == "trending"
    assert effective_rank(ChannelSettings(platform="email", channel_id="a@b.org", topics=("llm",))) == "topic"
    assert effective_rank(ChannelSettings(platform="email", channel_id="a@b.org", rank="topic")) == "topic"
    assert effective_rank(channel(rank="trending")) == "trending"


def test_the_grammar_and_the_commands_set_and_show_rank() -> None:
    assert cmd.parse_command("digest on 09:00 rank:trending").rank == "trending"  # type: ignore[union-attr]
    assert cmd.parse_command("digest on rank:TOPIC").rank == "topic"  # type: ignore[union-attr]
    with pytest.raises(UserInputError, match="rank:topic or rank:trending"):
        cmd.parse_command("digest on rank:hot")
    store = new_store()
    clock = FakeClock(T0)
    commands = make_digest_commands(store=store, settings=app_settings(), clock=clock, summaries=FakeSummaries(store))
    reply = commands.turn_on(cmd.DigestOnCommand(at=time(9, 0), rank="trending"), Actor("slack", "U1"), Place("slack", "C1"))
    assert "Ranked by: what is trending" in reply.text
    saved = store.channels.get("slack:C1")
    assert saved is not None and saved.rank == "trending"
    # Changing something else keeps the rank; saving the same settings again changes nothing.
    commands.turn_on(cmd.DigestOnCommand(max_items=5), Actor("slack", "U1"), Place("slack", "C1"))
    saved = store.channels.get("slack:C1")
    assert saved is not None and saved.rank == "trending" and saved.max_items == 5
    assert not store.channels.save(saved, T0 + hours(1))


def test_migration_6_adds_rank_to_existing_channels() -> None:
    store = new_store()
    store.channels.save(channel(), T0)
    assert store.channels.get("slack:C1").rank == ""  # type: ignore[union-attr]
    assert migrate(store.conn) == len(MIGRATIONS)  # applied once, idempotent on a migrated store
    assert store.emails.get("nope") is None


def test_the_channels_file_takes_rank_and_email_destinations(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = new_store()
    path = tmp_path / "channels.json"
    path.write_text('[{"channel": "email:Ada@Example.ORG", "created_by": "slack:U0ADMIN"}, {"channel": "slack:C9", "rank": "trending"}]')
    assert load_channels_file(path, store, T0) == 2
    email = store.channels.get("email:Ada@example.org")
    assert email is not None and email.created_by == "slack:U0ADMIN" and effective_rank(email) == "trending"
    assert store.channels.get("slack:C9").rank == "trending"  # type: ignore[union-attr]
    path.write_text('[{"channel": "email:not-an-address"}]')
    with pytest.raises(Exception, match="not an email address"):
        load_channels_file(path, store, T0)


async def test_a_digest_links_to_its_page_and_the_day_only_with_a_public_address() -> None:
    store = new_store()
    ingest(store, [make_paper(1, hf_upvotes=5), make_paper(2)], T0 - hours(1), {"2603.00001": ["llm"]})
    settings = channel()
    plain = await build_digest(store, settings, FakeSummaries(store), T0, "2026-03-02")
    assert plain is not None and "http" not in plain.reply.footer
    linked = await build_digest(store, settings, FakeSummaries(store), T0, "2026-03-02", site_url="https://p.example.org")
    assert linked is not None
    assert "All 2 papers announced today: https://p.example.org/day/2026-03-02" in linked.reply.footer
    assert "This digest on the web: https://p.example.org/digest/slack:C1/2026-03-02" in linked.reply.footer
    # An email digest links to the day only: the site never names a person's address.
    email = ChannelSettings(platform="email", channel_id="ada@example.org")
    mailed = await build_digest(store, email, FakeSummaries(store), T0, "2026-03-02", site_url="https://p.example.org")
    assert mailed is not None and "/day/2026-03-02" in mailed.reply.footer and "/digest/" not in mailed.reply.footer
    assert window_start(settings, T0) == T0 - hours(24)
