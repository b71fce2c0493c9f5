"""The runtime's per-source fetch loops: a failure the store could not even record does not
turn into a tight retry loop, and stop() cancels the loops at once."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

import bot.app.runtime as runtime_module
from bot.app.runtime import Runtime
from bot.core.clock import system_clock
from bot.core.errors import StoreFull
from bot.core.models import Paper, SourceKind
from bot.enrich.summarize import OFFLINE_KEY
from bot.fetch.http import HttpClient
from bot.search.query import SearchQuery
from bot.settings import Settings
from bot.store.lock import ProcessLocks
from tests.support.factories import make_paper


class DiskFullSource:
    """A source whose papers cannot be stored: the disk is full."""

    name = "feed:full.example"
    kind = SourceKind.FEED
    interval = 3600.0

    def __init__(self) -> None:
        self.calls = 0

    async def fetch(self, http: HttpClient, since: datetime | None) -> list[Paper]:
        self.calls += 1
        raise StoreFull("disk full: cannot write to the database /x/paperbot.db")


async def test_a_fetch_the_store_cannot_record_is_not_repeated_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime_module, "FETCH_POLL_SECONDS", 0.01)
    settings = Settings(
        database=str(tmp_path / "paperbot.db"), arxiv_enabled=False, hf_enabled=False,
        reddit_enabled=False, summarize_background=False,
    )
    runtime = await Runtime.initialize(settings, clock=system_clock)
    source = DiskFullSource()
    runtime.sources = [source]
    try:
        await runtime.start([])
        for _ in range(500):
            if source.calls:
                break
            await asyncio.sleep(0.01)
        for _ in range(30):  # thirty polls of the loop later ...
            await asyncio.sleep(0.01)
        assert source.calls == 1  # ... it waits a minute, as for any first failure
        await asyncio.wait_for(runtime.stop(), 5)
        assert not runtime._tasks
    finally:
        await runtime.shutdown()


async def test_shutdown_stops_the_search_helper_threads(tmp_path: Path) -> None:
    """A free-text search starts the meaning side's helper threads; shutdown leaves none."""
    settings = Settings(
        database=str(tmp_path / "paperbot.db"), arxiv_enabled=False, hf_enabled=False,
        reddit_enabled=False, summarize_background=False,
    )
    runtime = await Runtime.initialize(settings, clock=system_clock)
    try:
        runtime.search.search(SearchQuery(text="speculative decoding"), system_clock())
        assert any(t.name.startswith("search-meaning") for t in threading.enumerate())
    finally:
        await runtime.shutdown()
    assert not any(t.name.startswith("search-meaning") and t.is_alive() for t in threading.enumerate())


class OtherReplicaSummarizes(ProcessLocks):
    """The work locks of a replica beside one that holds the "summarizer" lock."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def try_lock(self, name: str) -> bool:
        self.asked.append(name)
        return name != "summarizer"


async def test_one_replica_at_a_time_summarizes_the_backlog(tmp_path: Path) -> None:
    """Replicas sharing a store would each summarize the same papers: the background pass runs
    under the "summarizer" work lock, and a replica that does not get it makes nothing."""
    settings = Settings(
        database=str(tmp_path / "paperbot.db"), arxiv_enabled=False, hf_enabled=False,
        reddit_enabled=False, summarize_background=False, summarize_workers=0,
    )
    runtime = await Runtime.initialize(settings, clock=system_clock)
    try:
        runtime.store.papers.ingest([make_paper(1, published=system_clock())], system_clock())
        held, runtime.locks = runtime.locks, OtherReplicaSummarizes()
        assert await runtime.summarize_backlog() == 0
        assert runtime.locks.asked == ["summarizer"]
        assert runtime.store.summaries.missing([OFFLINE_KEY], 10, since=system_clock() - timedelta(days=1))
        runtime.locks = held  # this replica's turn
        assert await runtime.summarize_backlog() == 1
        assert not runtime.store.summaries.missing([OFFLINE_KEY], 10, since=system_clock() - timedelta(days=1))
    finally:
        await runtime.shutdown()


async def test_a_backlog_is_summarized_in_wake_ups_close_together_then_at_the_usual_pace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a bulk import (or an upgrade of the summarizer), wake-ups that find more than
    they can make follow each other SUMMARIZE_BACKLOG_PAUSE apart, not SUMMARIZE_EVERY_SECONDS;
    once the backlog is gone the usual pace is back."""
    monkeypatch.setattr(runtime_module, "SUMMARIZE_PASSES_IN_A_ROW", 1)
    monkeypatch.setattr(runtime_module, "SUMMARIZE_BACKLOG_PAUSE", 0.01)
    monkeypatch.setattr(runtime_module, "SUMMARIZE_EVERY_SECONDS", 3600.0)
    settings = Settings(
        database=str(tmp_path / "paperbot.db"), arxiv_enabled=False, hf_enabled=False,
        reddit_enabled=False, summarize_workers=0, summarize_batch=2, web_enabled=False,
    )
    runtime = await Runtime.initialize(settings, clock=system_clock)
    now = system_clock()
    runtime.store.papers.ingest([make_paper(i, published=now - timedelta(days=30 * i)) for i in range(1, 8)], now)
    wake_ups: list[int] = []
    summarize_backlog = runtime.summarize_backlog

    async def counted() -> int:
        made = await summarize_backlog()
        wake_ups.append(made)
        return made

    runtime.summarize_backlog = counted  # type: ignore[method-assign]
    try:
        await runtime.start([])
        for _ in range(500):
            if runtime.store.summaries.count() == 7 and len(wake_ups) >= 4:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # ... and no wake-up after the one that found less than a batch
        assert wake_ups == [2, 2, 2, 1]  # within a second, not 3,600 s apart
        assert runtime.store.summaries.count() == 7
        await asyncio.wait_for(runtime.stop(), 5)
    finally:
        await runtime.shutdown()
