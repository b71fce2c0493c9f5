"""`in_daemon_thread`, which runs the projection fit: the result or the error comes back to the
awaiting task, a cancelled await returns at once while the work runs on, and the thread is a
daemon (the interpreter does not wait for it at exit). The end-to-end promise, SIGTERM during
a fit, is tests/e2e/test_run_stop_during_fit.py."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bot.rank.index import in_daemon_thread


async def test_the_result_and_the_thread() -> None:
    seen: list[threading.Thread] = []

    def work() -> int:
        seen.append(threading.current_thread())
        return 42

    assert await in_daemon_thread(work, "fit projection") == 42
    assert seen[0] is not threading.main_thread() and seen[0].daemon and seen[0].name == "fit projection"


async def test_an_error_reaches_the_awaiting_task() -> None:
    def work() -> int:
        raise ValueError("no fit")

    with pytest.raises(ValueError, match="no fit"):
        await in_daemon_thread(work, "fit projection")


async def test_cancelling_returns_at_once_and_the_late_result_is_dropped() -> None:
    release, finished = threading.Event(), threading.Event()

    def work() -> int:
        release.wait(30)
        finished.set()
        return 1

    task = asyncio.create_task(in_daemon_thread(work, "fit projection"))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not finished.is_set()  # the await ended while the work still ran
    release.set()
    await asyncio.to_thread(finished.wait, 30)
    await asyncio.sleep(0.05)  # its result arrives at a future nobody waits for: no error
