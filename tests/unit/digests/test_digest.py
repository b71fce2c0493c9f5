"""The digest builder (what goes in a channel's digest) and the `digest` commands."""

from __future__ import annotations

from dataclasses import replace
from datetime import time, timedelta

import pytest

import bot.chat.grammar as cmd
from bot.core.clock import FakeClock
from bot.core.errors import PermissionDenied, UserInputError
from bot.core.models import Actor, ChannelSettings, Place, SourceKind
from bot.delivery.outbox import Delivery
from bot.digests.commands import DigestCommands
from bot.digests.compose import build_digest, quiet_reply, source_label
from bot.store.sources import SourceState
from tests.support.factories import (
    T0,
    FakeSummaries,
    app_settings,
    hours,
    ingest,
    make_paper,
    new_store,
)
from tests.support.memory import InMemoryAdapter
from tests.support.wiring import make_digest_commands

MONDAY = "2026-03-02"


def channel(**overrides: object) -> ChannelSettings:
    return replace(ChannelSettings(platform="slack", channel_id="C1"), **overrides)  # type: ignore[arg-type]


def seeded_store():
    """Five papers seen an hour before T0 with topics; one older paper outside the window."""
    store = new_store()
    papers = [
        make_paper(1, title="Scaling laws for language models", hf_upvotes=150),
        make_paper(2, title="Policy gradients revisited", abstract="A reinforcement learning study."),
        make_paper(3, title="Language agents that plan", reddit_score=40),
        make_paper(4, title="Diffusion for images", source=SourceKind.HF, hf_upvotes=5),
        make_paper(5, title="Old replaced paper", version=3, announce_type="replace"),
    ]
    ingest(store, papers, T0 - hours(1), {
        "2603.00001": ["llm"], "2603.00002": ["rl"], "2603.00003": ["llm", "agents", "rl"],
        "2603.00004": ["cv", "gen"], "2603.00005": ["llm"],
    })
    ingest(store, [make_paper(9, title="Yesterday's news")], T0 - hours(30), {"2603.00009": ["llm"]})
    return store


async def build(store, settings: ChannelSettings, now=T0):
    return await build_digest(store, settings, FakeSummaries(store), now, MONDAY)


async def test_first_digest_covers_the_last_24h_grouped_by_topic_with_counts() -> None:
    store = seeded_store()
    digest = await build(store, channel())
    ids = set(digest.paper_ids)
    assert ids == {"2603.00001", "2603.00002", "2603.00003", "2603.00004"}  # not 9 (30 h), not 5 (replaced)
    reply = digest.reply
    assert reply.header.startswith("Mon 02 Mar 2026 · 4 papers in ")
    assert reply.header.endswith("· from 5 announced")
    assert not reply.private
    assert [g.title for g in reply.groups][0] == "Large Language Models"
    item = reply.items[0]
    assert item.summary is not None and item.summary.tldr.startswith("TLDR of ")
    assert item.source_line and item.paper.url


async def test_topics_filter_and_rank_by_topic_match_then_popularity() -> None:
    store = seeded_store()
    digest = await build(store, channel(topics=("llm", "rl")))
    order = [item.paper.id for item in digest.reply.items]
    assert set(order) == {"2603.00001", "2603.00002", "2603.00003"}
    assert digest.reply.header.startswith("Mon 02 Mar 2026 · 3 papers in LLM, RL")
    # 3 matches two channel topics; it ranks first and is grouped under the first listed topic.
    assert digest.paper_ids[0] == "2603.00003"
    assert digest.reply.groups[0].items[0].why == "topic: Large Language Models"


async def test_query_sources_min_score_and_max_items() -> None:
    store = seeded_store()
    # Both match the query in the title; the more popular one ranks first.
    assert (await build(store, channel(query="language"))).paper_ids == ("2603.00001", "2603.00003")
    assert set((await build(store, channel(sources=(SourceKind.HF,)))).paper_ids) == {"2603.00004"}
    assert set((await build(store, channel(min_score=30))).paper_ids) == {"2603.00001", "2603.00003"}
    assert len((await build(store, channel(max_items=2))).paper_ids) == 2
    assert await build(store, channel(query='"quantum gravity"')) is None


async def test_updated_versions_only_when_asked_and_never_a_repeat() -> None:
    store = seeded_store()
    shown = await build(store, channel(show_updated=True))
    assert "2603.00005" in shown.paper_ids
    store.outbox.record_delivered("slack:C1", [("2603.00001", 1), ("2603.00005", 3)], MONDAY)
    again = await build(store, channel(show_updated=True))
    assert "2603.00001" not in again.paper_ids and "2603.00005" not in again.paper_ids
    # A newer version of a delivered paper comes back only with show_updated.
    ingest(store, [make_paper(1, title="Scaling laws for language models", version=2)], T0 - hours(0.5))
    assert "2603.00001" in (await build(store, channel(show_updated=True))).paper_ids
    assert "2603.00001" not in (await build(store, channel())).paper_ids


async def test_window_starts_at_the_previous_digest() -> None:
    store = seeded_store()
    assert await build(store, channel(last_digest_at=T0 - hours(0.5))) is None
    ingest(store, [make_paper(20, title="Fresh")], T0 - hours(0.1))
    digest = await build(store, channel(last_digest_at=T0 - hours(0.5)))
    assert digest.paper_ids == ("2603.00020",)
    assert digest.reply.header.endswith("from 1 announced")


async def test_footer_names_failing_sources_the_channel_reads() -> None:
    store = seeded_store()
    store.sources.save(SourceState(name="arxiv", consecutive_failures=2, last_error="HTTP 503"))
    store.sources.save(SourceState(name="reddit:LocalLLaMA", consecutive_failures=0))
    digest = await build(store, channel())
    assert digest.reply.footer == "arXiv listing unavailable, will retry"
    hf_only = await build(store, channel(sources=(SourceKind.HF,)))
    assert hf_only.reply.footer == ""
    assert source_label("reddit:LocalLLaMA") == "r/LocalLLaMA"


async def test_quiet_note_mentions_arxiv_holiday_for_arxiv_only_channels() -> None:
    store = new_store()
    settings = channel(sources=(SourceKind.ARXIV,), quiet_note=True)
    # 2026-01-19 (MLK day) evening: no announcement; Tuesday morning's note says so.
    now = T0.replace(month=1, day=20, hour=9)
    reply = quiet_reply(store, settings, "2026-01-20", now - timedelta(days=1), now)
    assert reply.text == (
        "No new papers for this channel on Tue 20 Jan 2026 "
        "(arXiv did not announce new papers: weekend or arXiv holiday)."
    )
    regular = quiet_reply(store, settings, "2026-01-21", now, now + timedelta(days=1))
    assert regular.text == "No new papers for this channel on Wed 21 Jan 2026."


async def test_hostile_titles_are_carried_as_plain_text() -> None:
    store = new_store()
    ingest(store, [make_paper(1, title="@everyone <!channel> <@U123> **bold**")], T0 - hours(1))
    digest = await build(store, channel())
    assert digest.reply.items[0].paper.title == "@everyone <!channel> <@U123> **bold**"  # adapters escape


# --- commands --------------------------------------------------------------------------------

ADMIN = Actor(platform="slack", user_id="U-admin", can_manage=True)
MEMBER = Actor(platform="slack", user_id="U-member", can_manage=False)
HERE = Place(platform="slack", channel_id="C1", workspace_id="T1")
DM = Place(platform="slack", channel_id="D1", is_dm=True)


def commands(store, clock=None, delivery=None, **settings: object) -> DigestCommands:
    return make_digest_commands(
        store=store,
        settings=app_settings(digest_default_time="08:15", digest_default_tz="Europe/Berlin", **settings),
        clock=clock or FakeClock(T0),
        summaries=FakeSummaries(store),
        delivery=delivery,
    )


async def test_digest_on_needs_manage_permission_except_in_dms() -> None:
    store = new_store()
    slice_ = commands(store)
    with pytest.raises(PermissionDenied, match="only members who can manage this channel can change its digest"):
        await slice_.handle(cmd.DigestOnCommand(), MEMBER, HERE)
    with pytest.raises(PermissionDenied):
        await slice_.handle(cmd.DigestOffCommand(), MEMBER, HERE)
    reply = await slice_.handle(cmd.DigestOnCommand(), MEMBER, DM)
    assert "your DMs" in reply.text
    assert store.channels.get("slack:D1").created_by == "U-member"


async def test_digest_on_uses_deployment_defaults_and_records_who_and_where() -> None:
    store = new_store()
    reply = await commands(store).handle(cmd.parse_command("digest on topics:llm,rl max:5"), ADMIN, HERE)
    settings = store.channels.get("slack:C1")
    assert settings.time_of_day == time(8, 15) and settings.timezone == "Europe/Berlin"
    assert settings.topics == ("llm", "rl") and settings.max_items == 5
    assert settings.created_by == "U-admin" and settings.workspace_id == "T1"
    assert settings.days == (0, 1, 2, 3, 4)
    assert "Next digest: Tue 03 Mar 2026 08:15 CET" in reply.text  # Monday 13:00 CET now


async def test_digest_on_changes_only_what_is_given_and_resumes_a_paused_digest() -> None:
    store = new_store()
    slice_ = commands(store)
    await slice_.handle(cmd.parse_command("digest on 07:00 tz:America/New_York topics:cv"), ADMIN, HERE)
    store.channels.pause("slack:C1", "paperbot is no longer in the channel")
    await slice_.handle(cmd.parse_command("digest on max:3"), ADMIN, HERE)
    settings = store.channels.get("slack:C1")
    assert (settings.time_of_day, settings.timezone, settings.topics, settings.max_items) == (
        time(7, 0), "America/New_York", ("cv",), 3,
    )
    assert settings.paused_reason == "" and settings.enabled


async def test_invalid_time_zone_is_a_clear_error() -> None:
    with pytest.raises(UserInputError, match="is not a time zone; use an IANA name"):
        cmd.parse_command("digest on tz:Mars/Olympus")
    with pytest.raises(UserInputError, match="is not a time zone"):
        await commands(new_store()).handle(cmd.DigestOnCommand(timezone="Moon/Base"), ADMIN, HERE)


async def test_digest_show_prints_settings_and_next_due_in_the_channel_zone() -> None:
    store = new_store()
    slice_ = commands(store)
    assert "no digest" in (await slice_.handle(cmd.DigestShowCommand(), MEMBER, HERE)).text
    await slice_.handle(cmd.parse_command("digest on 09:30 tz:Pacific/Kiritimati days:daily"), ADMIN, HERE)
    text = (await slice_.handle(cmd.DigestShowCommand(), MEMBER, HERE)).text
    assert "Digest: on" in text
    assert "Time: 09:30 Pacific/Kiritimati · Days: every day" in text
    # T0 = Mon 12:00 UTC = Tue 02:00 in Kiritimati: next is Tue 09:30 +14.
    assert "Next digest: Tue 03 Mar 2026 09:30 +14" in text
    store.channels.pause("slack:C1", "the channel is archived")
    assert "paused (the channel is archived)" in (await slice_.handle(cmd.DigestShowCommand(), MEMBER, HERE)).text


async def test_digest_off() -> None:
    store = new_store()
    slice_ = commands(store)
    assert "no digest" in (await slice_.handle(cmd.DigestOffCommand(), ADMIN, HERE)).text
    await slice_.handle(cmd.DigestOnCommand(), ADMIN, HERE)
    assert "off" in (await slice_.handle(cmd.DigestOffCommand(), ADMIN, HERE)).text
    assert store.channels.active() == []


async def test_digest_now_posts_through_the_outbox_and_again_later() -> None:
    store = seeded_store()
    clock = FakeClock(T0)
    adapter = InMemoryAdapter(platform="slack")
    delivery = Delivery(store, {"slack": adapter}, clock)
    slice_ = commands(store, clock, delivery)
    reply = await slice_.handle(cmd.DigestNowCommand(), ADMIN, HERE)
    assert reply.text == "Posting a digest of 4 papers here now."
    await slice_.wait_idle()
    assert adapter.sent and all(dest == "C1" for dest, _ in adapter.sent)
    rows = store.outbox.rows(kind="digest-now")
    assert len(rows) == 1 and rows[0].key == "digest-now:slack:C1:2026-03-02T12:00:00+00:00" and rows[0].state == "sent"
    assert set(store.outbox.delivered_versions("slack:C1", ["2603.00001", "2603.00004"])) == {"2603.00001", "2603.00004"}
    # Nothing new: nothing posted. New papers later: a second `now` posts again.
    assert (await slice_.handle(cmd.DigestNowCommand(), ADMIN, HERE)).text.startswith("Nothing new")
    clock.advance(minutes=5)
    ingest(store, [make_paper(30, title="Brand new")], clock())
    clock.advance(minutes=1)
    assert "1 paper" in (await slice_.handle(cmd.DigestNowCommand(), ADMIN, HERE)).text
    await slice_.wait_idle()
    assert len(store.outbox.rows(kind="digest-now")) == 2
    assert sum(t.count("Brand new <https") for t in adapter.texts()) == 1


async def test_digest_now_requires_permission() -> None:
    with pytest.raises(PermissionDenied):
        await commands(seeded_store()).handle(cmd.DigestNowCommand(), MEMBER, HERE)
