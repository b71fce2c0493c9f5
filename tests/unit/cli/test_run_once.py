"""`paperbot run --once` exits non-zero when any part of its work failed: every source, a
digest that could not be written, or a delivery attempt; 0 when all went through."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app.runtime import Runtime
from bot.cli.run import _run_once
from bot.core.clock import system_clock
from bot.core.errors import PermanentDeliveryError, RetryAfter, TransientDeliveryError
from bot.core.models import ChannelSettings
from bot.delivery.outbox import enqueue
from bot.settings import Settings
from tests.support.memory import InMemoryAdapter
from tests.unit.delivery.test_delivery import digest_reply


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings(
        database=str(tmp_path / "paperbot.db"), arxiv_enabled=False, hf_enabled=False,
        reddit_enabled=False, summarize_background=False,
    )
    started = await Runtime.initialize(settings, clock=system_clock, offline=True)
    yield started
    await started.shutdown()


def queue_message(runtime: Runtime, key: str = "digest:memory:C1:2026-03-02") -> None:
    enqueue(runtime.store, key, "digest", "memory", "C1", digest_reply(3), system_clock())


async def test_all_delivered_is_exit_0(runtime: Runtime) -> None:
    queue_message(runtime)
    adapter = InMemoryAdapter()
    assert await _run_once(runtime, [adapter]) == 0
    assert len(adapter.sent) == 2 and runtime.store.outbox.counts()["sent"] == 1  # header + items


@pytest.mark.parametrize("error", [TransientDeliveryError("502 from the platform"), PermanentDeliveryError("channel_not_found")])
async def test_a_failed_delivery_is_exit_1(runtime: Runtime, error: Exception) -> None:
    queue_message(runtime)
    adapter = InMemoryAdapter()
    adapter.fail_next(error)  # type: ignore[arg-type]
    assert await _run_once(runtime, [adapter]) == 1


async def test_a_rate_limited_delivery_is_not_a_failure(runtime: Runtime) -> None:
    queue_message(runtime)
    adapter = InMemoryAdapter()
    adapter.fail_next(RetryAfter(30))
    assert await _run_once(runtime, [adapter]) == 0
    assert runtime.store.outbox.counts()["pending"] == 1  # it waits for the next run


async def test_a_digest_that_cannot_be_scheduled_is_exit_1(runtime: Runtime) -> None:
    broken = ChannelSettings(platform="memory", channel_id="C9", timezone="Mars/Olympus_Mons")
    runtime.store.channels.save(broken, system_clock())
    assert await _run_once(runtime, [InMemoryAdapter()]) == 1
