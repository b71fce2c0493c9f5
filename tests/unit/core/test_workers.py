"""WorkerThreads (bot.core.workers): few threads, a bounded queue, callers that wait.

- at most `threads` jobs run and `queued` more wait; the next caller waits for a turn;
- a job's exception reaches its caller, and the caller's context variables reach the job;
- close() cancels the jobs not started (their callers get CancelledError), lets the running one
  finish, and refuses later work.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

import bot.core.workers as workers_module
from bot.core.workers import WorkerThreads, interactive

WAIT = 30.0  # generous bounds on waits for threads; nothing is timed

REQUEST = contextvars.ContextVar("request", default="")


class Gate:
    """Jobs that block in their thread until released, noting that they started."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release = threading.Event()
        self._lock = threading.Lock()

    def job(self, name: str) -> str:
        with self._lock:
            self.started.append(name)
        assert self.release.wait(WAIT)
        return name


async def until(condition: object, what: str) -> None:
    """Yield to the loop until `condition()` holds (threads move on their own time)."""
    for _ in range(int(WAIT / 0.01)):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never: {what}")


async def test_the_job_after_the_threads_and_the_queue_waits_for_a_turn() -> None:
    workers = WorkerThreads(1, queued=1)
    gate = Gate()
    first = asyncio.ensure_future(workers.run(gate.job, "first"))
    second = asyncio.ensure_future(workers.run(gate.job, "second"))  # in the queue
    third = asyncio.ensure_future(workers.run(gate.job, "third"))  # waits to be admitted
    await until(lambda: gate.started == ["first"], "the first job runs")
    await asyncio.sleep(0.05)
    assert workers.running == 2  # the first running, the second queued; the third not admitted
    assert not third.done() and gate.started == ["first"]
    gate.release.set()
    assert await asyncio.gather(first, second, third) == ["first", "second", "third"]
    assert gate.started == ["first", "second", "third"] and workers.running == 0
    workers.close()


async def test_a_failing_job_is_reported_to_its_caller_and_the_threads_go_on() -> None:
    workers = WorkerThreads(2, queued=0)

    def fail() -> None:
        raise ValueError("broken row")

    with pytest.raises(ValueError, match="broken row"):
        await workers.run(fail)
    assert await workers.run(lambda a, b: a + b, 2, 3) == 5
    assert workers.running == 0
    workers.close()


async def test_a_job_sees_its_callers_context_variables() -> None:
    workers = WorkerThreads(1)
    REQUEST.set("command 42")
    assert await workers.run(REQUEST.get) == "command 42"
    workers.close()


async def test_close_cancels_the_waiting_work_and_lets_the_running_job_finish() -> None:
    workers = WorkerThreads(1, queued=1)
    gate = Gate()
    running = asyncio.ensure_future(workers.run(gate.job, "running"))
    queued = asyncio.ensure_future(workers.run(gate.job, "queued"))
    admitting = asyncio.ensure_future(workers.run(gate.job, "admitting"))
    await until(lambda: gate.started == ["running"], "the first job runs")
    closing = asyncio.ensure_future(asyncio.to_thread(workers.close))
    await until(lambda: workers.closed, "close() started")
    gate.release.set()
    await closing
    assert await running == "running"
    with pytest.raises(asyncio.CancelledError):
        await queued
    with pytest.raises(asyncio.CancelledError):
        await admitting
    assert gate.started == ["running"]  # nothing that waited ever ran
    with pytest.raises(asyncio.CancelledError):
        await workers.run(gate.job, "later")


def test_at_least_one_thread() -> None:
    with pytest.raises(ValueError):
        WorkerThreads(0)


async def test_an_answers_job_does_not_queue_behind_background_work() -> None:
    workers = WorkerThreads(1, queued=1, interactive=1)
    gate = Gate()
    busy = [asyncio.ensure_future(workers.run(gate.job, name)) for name in ("digest 1", "digest 2", "digest 3")]
    await until(lambda: gate.started == ["digest 1"], "the background lane is busy")
    with interactive():
        answer = await asyncio.wait_for(workers.run(lambda: "search"), WAIT)
    assert answer == "search" and gate.started == ["digest 1"]  # the digests still wait
    gate.release.set()
    assert await asyncio.gather(*busy) == ["digest 1", "digest 2", "digest 3"]
    workers.close()


async def test_background_work_waits_while_answers_run_but_not_for_ever(monkeypatch: pytest.MonkeyPatch) -> None:
    """Threads share the GIL: a background job does not start beside an answer's job, and
    starts anyway after BACKGROUND_YIELD_SECONDS."""
    workers = WorkerThreads(2, queued=1, interactive=1)
    answers = Gate()
    with interactive():
        search = asyncio.ensure_future(workers.run(answers.job, "search"))
    await until(lambda: answers.started == ["search"], "the answer's job runs")
    digest = asyncio.ensure_future(workers.run(lambda: "digest"))
    await asyncio.sleep(0.1)
    assert not digest.done() and workers.answering == 1  # a background thread is free, yet it waits
    answers.release.set()
    assert await search == "search" and await asyncio.wait_for(digest, WAIT) == "digest"
    assert workers.answering == 0
    # An answer that runs too long lets background work start after the bound.
    monkeypatch.setattr(workers_module, "BACKGROUND_YIELD_SECONDS", 0.05)
    slow = Gate()
    with interactive():
        stuck = asyncio.ensure_future(workers.run(slow.job, "long answer"))
    await until(lambda: slow.started == ["long answer"], "the long answer runs")
    assert await asyncio.wait_for(workers.run(lambda: "digest"), WAIT) == "digest"
    assert not stuck.done()
    slow.release.set()
    await stuck
    workers.close()


async def test_without_an_interactive_lane_answers_share_the_threads() -> None:
    workers = WorkerThreads(1, interactive=0)
    with interactive():
        assert await workers.run(threading.current_thread) is not threading.current_thread()
    workers.close()
