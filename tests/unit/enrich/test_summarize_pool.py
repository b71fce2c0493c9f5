"""Offline summaries in worker processes: the same summaries as in this process, a call before
the processes are up answered all the same, answers' turns before background ones (Turns), and
no process left behind after close() or after the parent is killed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.clock import FakeClock
from bot.enrich.summarize import OFFLINE_KEY, Summaries
from bot.enrich.summarize.offline import OfflineSummarizer
from bot.enrich.summarize.pool import OfflinePool, Turns
from bot.store import Store
from tests.support.factories import make_paper

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[3]
ABSTRACTS = [
    "Large language models are expensive to serve. We propose a sparse routing scheme that activates "
    "two experts per token. It reduces inference cost by 40% while matching the dense baseline.",
    "We study diffusion models for image synthesis. Our sampler needs ten steps instead of a thousand. "
    "Experiments on ImageNet show no loss in sample quality.",
    "Reinforcement learning agents forget old tasks. We add a replay buffer of compressed states, which "
    "keeps performance on earlier tasks within 2% of training alone.",
]


def _papers(count: int) -> list:  # type: ignore[type-arg]
    return [
        make_paper(n, title=f"A study of method number {n}", abstract=ABSTRACTS[n % len(ABSTRACTS)])
        for n in range(1, count + 1)
    ]


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie left for a parent that does not reap counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _wait_gone(pids: list[int], seconds: float = 60.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    return [pid for pid in pids if _alive(pid)]


def test_processes_make_the_summaries_this_process_makes() -> None:
    papers = _papers(25)
    pool = OfflinePool(2)
    try:
        assert pool.wait_ready(120)
        assert pool.ready and len(pool.pids()) == 2
        made = asyncio.run(pool.summarize(papers))
    finally:
        pool.close()
    offline = OfflineSummarizer()
    assert made == [offline.summarize(paper) for paper in papers]


def test_a_call_before_the_processes_are_up_is_answered_all_the_same() -> None:
    papers = _papers(3)
    pool = OfflinePool(1)
    try:
        # Starts the process and waits for it (READY_WAIT), or answers in a thread after that.
        made = asyncio.run(pool.summarize(papers))
        assert made == [OfflineSummarizer().summarize(paper) for paper in papers]
    finally:
        pool.close()
    assert asyncio.run(pool.summarize(papers)) == made  # closed: threads again


def test_a_pool_of_no_workers_starts_no_process() -> None:
    pool = OfflinePool(0)
    assert asyncio.run(pool.summarize(_papers(2))) == [OfflineSummarizer().summarize(p) for p in _papers(2)]
    assert pool.pids() == [] and not pool.wait_ready(1)


def test_close_stops_every_process() -> None:
    pool = OfflinePool(2)
    assert pool.wait_ready(120)
    pids = pool.pids()
    assert pids and all(_alive(pid) for pid in pids)
    if hasattr(os, "getpriority"):  # background work: below the bot's own priority
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        # Both first calls may be answered by the first process while the second still imports
        # (its initializer, which lowers its priority, has not run yet): wait for each to start.
        deadline = time.monotonic() + 60
        while not all(os.getpriority(os.PRIO_PROCESS, pid) > mine for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(os.getpriority(os.PRIO_PROCESS, pid) > mine for pid in pids) or mine >= 19
    pool.close()
    assert _wait_gone(pids, 5) == []
    assert pool.pids() == []


def test_close_does_not_wait_for_a_busy_worker() -> None:
    # A worker busy for an hour (here: a sleep queued on each process) must not hold the bot's
    # exit: close() gives it a short grace, then stops it.
    pool = OfflinePool(2)
    assert pool.wait_ready(120)
    pids = pool.pids()
    executor = pool._executor
    assert executor is not None
    busy = [executor.submit(time.sleep, 3600) for _ in pids]
    deadline = time.monotonic() + 60
    while not all(future.running() for future in busy) and time.monotonic() < deadline:
        time.sleep(0.05)  # running in the workers, not merely queued (a close would cancel those)
    assert all(future.running() for future in busy)
    closing = threading.Thread(target=pool.close)
    closing.start()
    closing.join(60)  # a hang guard, not a speed check: before the fix close() waited an hour
    assert not closing.is_alive()
    assert _wait_gone(pids, 5) == []
    assert all(future.done() for future in busy)


def test_summaries_with_workers_store_what_threads_store(tmp_path: Path) -> None:
    papers = _papers(12)
    stored = []
    for workers in (0, 2):
        store = Store.open(str(tmp_path / f"w{workers}.db"))
        summaries = Summaries(store, clock=FakeClock(NOW), offline_workers=workers)
        try:
            if workers:
                assert summaries.pool.wait_ready(120)
            made = asyncio.run(summaries.get_many(papers))
            again = store.summaries.get_many([(p.id, p.version) for p in papers], OFFLINE_KEY)
            assert again == made
            stored.append(made)
        finally:
            summaries.close()
            store.close()
    assert stored[0] == stored[1]


def test_a_given_summarizer_keeps_the_threads() -> None:
    class Custom(OfflineSummarizer):
        pass

    summaries = Summaries(Store.open(":memory:"), offline=Custom(), clock=FakeClock(NOW), offline_workers=2)
    assert summaries.pool.workers == 0


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_workers_of_a_killed_parent_exit() -> None:
    # A parent killed with SIGKILL closes nothing: its workers' watchdogs must end them.
    script = (
        "import sys, time\n"
        "from bot.enrich.summarize.pool import OfflinePool\n"
        "pool = OfflinePool(2)\n"
        "assert pool.wait_ready(120)\n"
        "print(' '.join(map(str, pool.pids())), flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        pids = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(pid) for pid in pids)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(30)
        assert _wait_gone(pids) == []
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


class _Holders:
    """Callers of one Turns gate: each takes a turn, notes its name, and holds the turn until
    `release` is set."""

    def __init__(self, turns: Turns) -> None:
        self.turns = turns
        self.order: list[str] = []
        self.release = asyncio.Event()

    async def hold(self, name: str, urgent: bool) -> None:
        async with self.turns.turn(urgent=urgent):
            self.order.append(name)
            await self.release.wait()


def test_an_urgent_caller_gets_the_next_turn_before_waiting_background_ones() -> None:
    async def scenario() -> list[str]:
        holders = _Holders(Turns(1))
        first = asyncio.ensure_future(holders.hold("digest 1", False))
        await asyncio.sleep(0)
        waiting = [asyncio.ensure_future(holders.hold(name, False)) for name in ("digest 2", "digest 3")]
        await asyncio.sleep(0)
        answer = asyncio.ensure_future(holders.hold("answer", True))
        await asyncio.sleep(0)
        holders.release.set()
        await asyncio.gather(first, *waiting, answer)
        return holders.order

    assert asyncio.run(scenario()) == ["digest 1", "answer", "digest 2", "digest 3"]


def test_a_cancelled_waiter_gives_its_turn_on() -> None:
    async def scenario() -> list[str]:
        turns = Turns(1)
        holders = _Holders(turns)
        first = asyncio.ensure_future(holders.hold("first", False))
        await asyncio.sleep(0)
        gone = asyncio.ensure_future(holders.hold("gone", True))
        later = asyncio.ensure_future(holders.hold("later", False))
        await asyncio.sleep(0)
        gone.cancel()
        holders.release.set()
        await asyncio.gather(first, later)
        assert turns.free == 1
        return holders.order

    assert asyncio.run(scenario()) == ["first", "later"]
