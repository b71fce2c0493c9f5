"""/metrics from a running app: real fetches (a fake feed host), real commands through the
service adapters get, real deliveries (and a failing one) through the outbox, the background
summarizer, and the store-backed gauges; the scrape is parsed with prometheus_client's parser
and every family is checked to be present and to move."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app.runtime import Runtime
from bot.core.clock import FakeClock
from bot.core.errors import TransientDeliveryError
from bot.core.models import Actor, Place, Reply
from bot.core.outbox import OutboxKind
from bot.delivery.outbox import enqueue
from bot.settings import Settings
from tests.support.feeds import FakeFeeds, fake_feeds
from tests.support.memory import InMemoryAdapter

NOW = datetime(2026, 6, 11, 13, 0, tzinfo=UTC)
WHO = Actor(platform="memory", user_id="U1", name="Ada")
WHERE = Place(platform="memory", channel_id="C1")

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> tuple[set[str], Samples]:
    """The family names and every sample (name, sorted labels) -> value of one scrape."""
    families, samples = set(), {}
    for family in text_string_to_metric_families(text):
        families.add(family.name)
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return families, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (0 when absent: a labelled counter appears on its first increment)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(runtime: Runtime) -> tuple[set[str], Samples]:
    assert runtime.web is not None
    async with aiohttp.ClientSession() as session, session.get(f"{runtime.web.url}metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse(await response.text())


@pytest.fixture
async def feeds() -> AsyncIterator[FakeFeeds]:
    async with fake_feeds() as host:
        host.healthy("/lab.xml")  # /gone.xml has no route: a 404, so a failed fetch
        yield host


async def running(tmp_path: Path, feeds: FakeFeeds, clock: FakeClock, **extra: object) -> tuple[Runtime, InMemoryAdapter]:
    settings = Settings(
        data_dir=str(tmp_path), http_port=0, scheduler_tick=3600, arxiv_enabled=False, hf_enabled=False,
        reddit_enabled=False, feeds=f"{feeds.url('/lab.xml')},{feeds.url('/gone.xml')}", http_retries=0,
        **extra,  # type: ignore[arg-type]
    )
    runtime = await Runtime.initialize(settings, clock=clock)
    await runtime.fetch_due()  # both feeds once; the loops started below find neither due
    adapter = InMemoryAdapter()
    await runtime.start([adapter])
    return runtime, adapter


async def test_every_family_is_served_and_moves_with_real_work(tmp_path: Path, feeds: FakeFeeds) -> None:
    clock = FakeClock(NOW)
    runtime, adapter = await running(tmp_path, feeds, clock, summarize_background=True)
    try:
        families, before = await scrape(runtime)
        assert {
            "paperbot_commands", "paperbot_command_duration_seconds", "paperbot_ack_seconds",
            "paperbot_messages_sent", "paperbot_messages_failed", "paperbot_messages_retried",
            "paperbot_fetches", "paperbot_papers_ingested", "paperbot_summaries_made",
            "paperbot_outbox_depth", "paperbot_outbox_oldest_pending_seconds", "paperbot_source_lag_seconds",
            "paperbot_llm_tokens_today", "paperbot_embedding_tokens_today", "paperbot_summaries_stored",
        } <= families
        lab, gone = (source.name for source in runtime.sources)
        assert value(before, "paperbot_fetches_total", source=lab, outcome="ok") == 1
        assert value(before, "paperbot_fetches_total", source=gone, outcome="error") == 1
        assert value(before, "paperbot_papers_ingested_total", source=lab) == 3
        assert value(before, "paperbot_source_lag_seconds", source=lab) == 0
        assert ("paperbot_source_lag_seconds", (("source", gone),)) not in before  # never fetched

        # Commands, through the service the adapter was given.
        assert adapter.service is not None
        await adapter.service.handle_command("topics", WHO, WHERE)
        await adapter.service.handle_command("search post", WHO, WHERE)
        await adapter.service.handle_command("subscribe", WHO, WHERE)  # needs a query: an error reply
        # Deliveries: a row for a platform nobody runs, written ten minutes ago (it waits: the
        # outbox depth and its age), then one part accepted and one attempt failing (retried later).
        enqueue(runtime.store, "n:0", OutboxKind.NOTICE, "slack", "C9", Reply(text="zero", private=False), NOW - timedelta(minutes=10))
        enqueue(runtime.store, "n:1", OutboxKind.NOTICE, "memory", "C1", Reply(text="one", private=False), NOW)
        await runtime.delivery.deliver(NOW)
        adapter.fail_next(TransientDeliveryError("503"))
        enqueue(runtime.store, "n:2", OutboxKind.NOTICE, "memory", "C1", Reply(text="two", private=False), NOW)
        await runtime.delivery.deliver(NOW)
        # Tokens the summarizer and the embeddings client would have recorded.
        runtime.store.summaries.record_usage(
            now=NOW, provider="openai", model="m", paper_id="x", prompt_tokens=120, completion_tokens=30, ok=True
        )
        runtime.store.vectors.record_embedding_usage(NOW, "e", 42, True)
        for _ in range(500):  # the background summarizer runs right after start, in its task
            if (runtime.metrics.registry.get_sample_value("paperbot_summaries_made_total") or 0) > 0:
                break
            await asyncio.sleep(0.01)
        # Less than n:2's 30 s back-off: the scheduler's first tick (a task of its own, which on a
        # slow machine may reach its delivery step only now) must still find n:2 not due.
        clock.advance(seconds=20)

        _, after = await scrape(runtime)
        assert value(after, "paperbot_commands_total", platform="memory", kind="topics", outcome="ok") == 1
        assert value(after, "paperbot_commands_total", platform="memory", kind="search", outcome="ok") == 1
        assert value(after, "paperbot_commands_total", platform="memory", kind="invalid", outcome="error") == 1
        assert value(after, "paperbot_command_duration_seconds_count", kind="search") == 1
        assert value(after, "paperbot_command_duration_seconds_sum", kind="search") > 0
        assert value(after, "paperbot_messages_sent_total", platform="memory") == 1
        assert value(after, "paperbot_messages_failed_total", platform="memory") == 1
        assert value(after, "paperbot_messages_retried_total", platform="memory") == 1
        assert value(after, "paperbot_outbox_depth") == 2  # n:0 with no adapter, n:2 backing off
        assert value(after, "paperbot_outbox_oldest_pending_seconds") == 620  # n:0: 10 min + 20 s
        assert value(after, "paperbot_source_lag_seconds", source=lab) == 20
        assert value(after, "paperbot_llm_tokens_today") == 150
        assert value(after, "paperbot_embedding_tokens_today") == 42
        assert value(after, "paperbot_summaries_made_total") >= 1
        assert value(after, "paperbot_summaries_stored") >= value(after, "paperbot_summaries_made_total")
    finally:
        await runtime.stop()
        await runtime.shutdown()


async def test_each_runtime_has_its_own_registry(tmp_path: Path, feeds: FakeFeeds) -> None:
    first, _ = await running(tmp_path / "a", feeds, FakeClock(NOW), summarize_background=False)
    second, _ = await running(tmp_path / "b", feeds, FakeClock(NOW), summarize_background=False)
    try:
        assert first.metrics.registry is not second.metrics.registry
        first.metrics.summaries_made.inc(5)
        _, samples = await scrape(second)
        assert value(samples, "paperbot_summaries_made_total") == 0
    finally:
        for runtime in (first, second):
            await runtime.stop()
            await runtime.shutdown()


async def test_metrics_disabled_is_not_served_and_metrics_need_no_site_token(tmp_path: Path, feeds: FakeFeeds) -> None:
    guarded, _ = await running(tmp_path / "a", feeds, FakeClock(NOW), summarize_background=False, web_access_token="site-token-123")
    off, _ = await running(tmp_path / "b", feeds, FakeClock(NOW), summarize_background=False, metrics_enabled=False)
    try:
        assert guarded.web is not None and off.web is not None
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{guarded.web.url}metrics") as response:
                assert response.status == 200  # open, like /healthz (see bot.web.server)
            async with session.get(f"{guarded.web.url}") as response:
                assert response.status == 401
            async with session.get(f"{off.web.url}metrics") as response:
                assert response.status == 404
    finally:
        for runtime in (guarded, off):
            await runtime.stop()
            await runtime.shutdown()


async def test_summaries_made_for_an_answer_are_counted_not_only_the_background_pass(
    tmp_path: Path, feeds: FakeFeeds
) -> None:
    clock = FakeClock(NOW)
    runtime, adapter = await running(tmp_path, feeds, clock, summarize_background=False)
    try:
        _, before = await scrape(runtime)
        assert value(before, "paperbot_summaries_stored") == 0
        assert adapter.service is not None
        # A search's answer summarizes its hits now (offline); digests and alerts go through the
        # same Summaries, so they are counted the same way.
        await adapter.service.handle_command("search post", WHO, WHERE)
        # An answer's new summaries are stored (and counted) a moment later, with those of the
        # answers given meanwhile (ANSWER_SAVE_DELAY): what that delayed save does, now.
        await runtime.summaries.save_answered()
        _, after_search = await scrape(runtime)
        made = value(after_search, "paperbot_summaries_made_total")
        assert made >= 1
        assert made == value(after_search, "paperbot_summaries_stored")  # one count per summary stored
    finally:
        await runtime.stop()
        await runtime.shutdown()
