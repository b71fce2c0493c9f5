"""The outbox under faults: repeated crashes in the same part, stops during a send, and what
`Delivery.failures` counts. (tests/unit/test_delivery.py has the single-crash cases.)"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.core.clock import FakeClock
from bot.core.errors import PermanentDeliveryError, RetryAfter, TransientDeliveryError
from bot.delivery.outbox import MAX_UNANSWERED_SENDS, UNCONFIRMED, Delivery, enqueue
from bot.ports import Part
from bot.store import Store
from tests.support.factories import T0
from tests.support.memory import InMemoryAdapter
from tests.unit.delivery.test_delivery import SimulatedCrash, digest_reply, titles_arrived

KEY = "digest:memory:C1:2026-03-02"


class CrashesInPart(InMemoryAdapter):
    """Every send of part `index` (the index-th distinct text) kills the process before its
    answer is recorded, up to `times` times: after the platform received it, or with
    `before_platform` before it did."""

    def __init__(self, index: int, times: int = 1, *, before_platform: bool = False) -> None:
        super().__init__()
        self.index = index
        self.times = times
        self.before_platform = before_platform
        self.crashes = 0
        self.texts_seen: list[str] = []

    async def send(self, destination: str, part: Part) -> str:
        if part["text"] not in self.texts_seen:
            self.texts_seen.append(part["text"])
        if self.texts_seen.index(part["text"]) == self.index and self.crashes < self.times:
            self.crashes += 1
            if not self.before_platform:
                await super().send(destination, part)
            raise SimulatedCrash()
        return await super().send(destination, part)


async def crash_and_restart(path: Path, adapter: InMemoryAdapter) -> Store:
    """Deliver, reopening the store as a restarted process would after each crash, until a
    pass ends without one (at most 10). Returns the last store, open."""
    for _ in range(10):
        store = Store.open(str(path))
        try:
            await Delivery(store, {"memory": adapter}, FakeClock(T0)).deliver()
        except SimulatedCrash:
            store.close()
            continue
        return store
    raise AssertionError("delivery never finished")


@pytest.mark.parametrize("crashes", [1, 2, 5])
async def test_repeated_crashes_in_one_part_send_it_at_most_twice(tmp_path: Path, crashes: int) -> None:
    path = tmp_path / "p.db"
    store = Store.open(str(path))
    enqueue(store, KEY, "digest", "memory", "C1", digest_reply(60), T0)
    store.close()
    adapter = CrashesInPart(3, times=crashes)
    store = await crash_and_restart(path, adapter)
    texts = adapter.texts()
    copies = {text: texts.count(text) for text in texts}
    assert len(copies) == 7  # every part arrived ...
    assert max(copies.values()) == 2  # ... and the one interrupted, at most twice however often
    assert sum(copies.values()) == 8
    assert adapter.crashes == min(crashes, MAX_UNANSWERED_SENDS)  # no third send to crash in
    row = store.outbox.get(KEY)
    assert row is not None and row.state == "sent" and row.parts_sent == 7
    # Two interruptions or more: the second copy's answer was never recorded either.
    assert (row.delivery_ids[3] == UNCONFIRMED) == (crashes >= MAX_UNANSWERED_SENDS)
    assert all(n >= 1 for n in titles_arrived(adapter, "Title", 60))
    store.close()


async def test_every_part_interrupted_once_is_duplicated_at_most_once(tmp_path: Path) -> None:
    """A crash in each part in turn (the 'kill -9 at random moments' pattern): each part at
    most twice, nothing missing."""
    path = tmp_path / "p.db"
    store = Store.open(str(path))
    enqueue(store, KEY, "digest", "memory", "C1", digest_reply(60), T0)
    store.close()
    adapter = InMemoryAdapter()
    texts_seen: list[str] = []
    for index in range(7):
        crashing = CrashesInPart(index)
        crashing.sent = adapter.sent  # one platform across the restarts
        crashing.texts_seen = texts_seen
        store = Store.open(str(path))
        with pytest.raises(SimulatedCrash):
            await Delivery(store, {"memory": crashing}, FakeClock(T0)).deliver()
        store.close()
    store = Store.open(str(path))
    await Delivery(store, {"memory": adapter}, FakeClock(T0)).deliver()
    texts = adapter.texts()
    assert sorted({texts.count(t) for t in texts}) == [2]  # each part: the interrupted send and one more
    assert len(set(texts)) == 7 and store.outbox.get(KEY).state == "sent"  # type: ignore[union-attr]
    store.close()


async def test_a_part_interrupted_twice_before_reaching_the_platform_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The one case where a part can be missing (see the module docstring of bot.delivery.outbox)."""
    path = tmp_path / "p.db"
    store = Store.open(str(path))
    enqueue(store, KEY, "digest", "memory", "C1", digest_reply(60), T0)
    store.close()
    adapter = CrashesInPart(2, times=2, before_platform=True)
    with caplog.at_level(logging.WARNING, logger="bot.delivery.outbox"):
        store = await crash_and_restart(path, adapter)
    assert len(adapter.texts()) == 6 and store.outbox.get(KEY).state == "sent"  # type: ignore[union-attr]
    assert "taking it as delivered" in caplog.text
    store.close()


class GatedPlatform(InMemoryAdapter):
    """Each send waits for a permit (`permits.release()`); `waiting` counts sends under way."""

    def __init__(self) -> None:
        super().__init__()
        self.permits = asyncio.Semaphore(0)
        self.waiting = 0

    async def send(self, destination: str, part: Part) -> str:
        self.waiting += 1
        await self.permits.acquire()
        self.waiting -= 1
        return await super().send(destination, part)


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never became true")


async def test_stopping_starts_no_new_part_and_records_the_one_in_flight() -> None:
    store = Store.open(":memory:")
    for channel in ("C1", "C2"):
        enqueue(store, f"digest:memory:{channel}:2026-03-02", "digest", "memory", channel, digest_reply(60), T0)
    adapter = GatedPlatform()
    stopping = asyncio.Event()
    delivery = Delivery(store, {"memory": adapter}, FakeClock(T0), stopping=stopping)
    task = asyncio.create_task(delivery.deliver())
    for _ in range(3):
        adapter.permits.release()
    await until(lambda: len(adapter.sent) == 3 and adapter.waiting == 1)
    stopping.set()  # SIGTERM while part 4 is in flight
    adapter.permits.release()  # ... and the platform answers it
    assert await asyncio.wait_for(task, 5) == 0
    assert len(adapter.sent) == 4 and adapter.waiting == 0  # no fifth part was started
    first = store.outbox.get("digest:memory:C1:2026-03-02")
    assert first is not None and (first.state, first.parts_sent, first.unanswered_part) == ("sending", 4, None)
    assert store.outbox.get("digest:memory:C2:2026-03-02").parts_sent == 0  # type: ignore[union-attr]
    # The next start resumes at part 5 with nothing repeated.
    resumed = InMemoryAdapter()
    assert await Delivery(store, {"memory": resumed}, FakeClock(T0)).deliver() == 2
    sent = [(destination, part["text"]) for destination, part in adapter.sent + resumed.sent]
    assert len(sent) == len(set(sent)) == 14


async def test_answered_failures_do_not_use_up_the_resend() -> None:
    """A 5xx is an answer (not posted): the part may be tried again and again until it lands."""
    store = Store.open(":memory:")
    enqueue(store, KEY, "digest", "memory", "C1", digest_reply(5), T0)
    adapter = InMemoryAdapter()
    clock = FakeClock(T0)
    delivery = Delivery(store, {"memory": adapter}, clock)
    adapter.fail_next(TransientDeliveryError("502"), times=3)
    for _ in range(4):
        await delivery.deliver(clock())
        clock.advance(hours=1)
    row = store.outbox.get(KEY)
    assert row is not None and row.state == "sent" and UNCONFIRMED not in row.delivery_ids
    assert titles_arrived(adapter, "Title", 5) == [1] * 5
    assert delivery.failures == 3


async def test_failures_count_transient_and_permanent_but_not_rate_limits() -> None:
    store = Store.open(":memory:")
    for channel in ("C1", "C2", "C3"):
        enqueue(store, f"k:{channel}", "digest", "memory", channel, digest_reply(1), T0)
    adapter = InMemoryAdapter()
    delivery = Delivery(store, {"memory": adapter}, FakeClock(T0))
    adapter.fail_next(RetryAfter(5))
    await delivery.deliver()
    assert delivery.failures == 0
    adapter.fail_next(TransientDeliveryError("503"))
    adapter.fail_next(PermanentDeliveryError("channel_not_found"))
    await delivery.deliver(T0.replace(hour=23))
    assert delivery.failures == 2
