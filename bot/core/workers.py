"""A small, bounded pool of worker threads for the blocking work of the event loop's process.

Why not asyncio's default executor: it starts up to min(32, cores + 4) threads, and a burst of
commands and a digest run then keep several Python threads busy at once. They all share the
GIL with the event loop's thread, which has to parse, verify and ack every request: each time
the loop waits on its sockets it hands the GIL over, and then waits for one of them to give it
back. `WorkerThreads(threads=2)` keeps that to two (SQLite and tantivy work with the GIL
released, so two threads still overlap their waits), and bounds the work admitted:

- at most `threads` jobs run, and at most `queued` more wait in the pool's queue; the caller of
  the next one waits (asynchronously: the event loop is not held) until one of those finishes;
- a job's exception is raised to its caller, and its context variables (the log context) are
  the caller's, as with `asyncio.to_thread`;
- work for somebody waiting on an answer (a command, a button: run inside `interactive()`,
  which the chat service and the adapters enter) goes to a lane of its own, `interactive`
  threads more with their own queue, so an answer's search and writes never queue behind a
  digest run's batches (each holds a thread for up to a second);
- while answers' jobs run, a background job waits (up to BACKGROUND_YIELD_SECONDS) before it
  starts: threads of one process share the GIL, so a digest batch started beside a burst of
  searches takes a third of the CPU the searches need to answer in time;
- `close()` cancels the jobs not started yet (their callers' awaits raise CancelledError, as do
  those of callers still waiting to be admitted), waits for the running ones, and stops the
  threads; a later `run` raises CancelledError at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_THREADS = 2
DEFAULT_QUEUED = 16
DEFAULT_INTERACTIVE = 2
BACKGROUND_YIELD_SECONDS = 0.5  # the longest a background job waits for answers' jobs to end
_YIELD_POLL_SECONDS = 0.005

# Set while work for somebody waiting on an answer runs (see `interactive`); copied into the
# tasks that work starts, as context variables are.
_INTERACTIVE: contextvars.ContextVar[bool] = contextvars.ContextVar("paperbot_interactive", default=False)


@contextlib.contextmanager
def interactive() -> Iterator[None]:
    """Mark the blocking work started inside the block (and in tasks it creates) as somebody's
    answer: WorkerThreads run it in their interactive lane (see the module)."""
    token = _INTERACTIVE.set(True)
    try:
        yield
    finally:
        _INTERACTIVE.reset(token)


class _Lane:
    """One executor and its admission bound (per event loop)."""

    def __init__(self, threads: int, queued: int, name: str) -> None:
        self.threads = threads
        self.queued = queued
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
        # One semaphore per event loop: asyncio's belong to one loop, and a one-shot command or
        # a benchmark may run several loops in turn over the same store.
        self.turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()

    def turn(self, loop: asyncio.AbstractEventLoop) -> asyncio.Semaphore:
        """This loop's admission semaphore."""
        turns = self.turns.get(loop)
        if turns is None:
            turns = self.turns[loop] = asyncio.Semaphore(self.threads + self.queued)
        return turns


class WorkerThreads:
    """`threads` worker threads with room for `queued` waiting jobs, and an interactive lane of
    `interactive` threads more (see the module)."""

    def __init__(
        self,
        threads: int = DEFAULT_THREADS,
        *,
        queued: int = DEFAULT_QUEUED,
        interactive: int = DEFAULT_INTERACTIVE,
        name: str = "paperbot-worker",
    ) -> None:
        if threads < 1:
            raise ValueError("WorkerThreads needs at least one thread")
        self.threads = threads
        self.queued = max(0, queued)
        self._background = _Lane(threads, self.queued, name)
        # 0: answers share the background lane.
        self._interactive = _Lane(interactive, self.queued, f"{name}-interactive") if interactive > 0 else None
        self._closed = False
        self.running = 0  # jobs admitted and not finished (running or waiting in the queue)
        self.answering = 0  # of those, the jobs in the interactive lane

    @property
    def closed(self) -> bool:
        """Whether `close()` was called."""
        return self._closed

    async def run(self, work: Callable[..., T], /, *args: Any) -> T:
        """`work(*args)` in one of the threads, once admitted (see the module)."""
        if self._closed:
            raise asyncio.CancelledError("the worker threads are closed")
        answer = self._interactive is not None and _INTERACTIVE.get()
        lane = self._interactive if answer and self._interactive is not None else self._background
        if not answer:
            await self._after_answers()
        async with lane.turn(asyncio.get_running_loop()):
            if self._closed:
                raise asyncio.CancelledError("the worker threads are closed")
            call = functools.partial(contextvars.copy_context().run, work, *args)
            self.running += 1
            self.answering += answer
            try:
                return await asyncio.wrap_future(lane.executor.submit(call))
            except RuntimeError:
                if self._closed:  # submitted while close() was shutting the executor down
                    raise asyncio.CancelledError("the worker threads are closed") from None
                raise
            finally:
                self.running -= 1
                self.answering -= answer

    async def _after_answers(self) -> None:
        """Wait while answers' jobs run, at most BACKGROUND_YIELD_SECONDS (see the module)."""
        for _ in range(int(BACKGROUND_YIELD_SECONDS / _YIELD_POLL_SECONDS)):
            if not self.answering or self._closed:
                return
            await asyncio.sleep(_YIELD_POLL_SECONDS)

    def close(self) -> None:
        """Cancel the jobs not started, wait for the running ones, stop the threads."""
        self._closed = True
        for lane in (self._background, self._interactive):
            if lane is not None:
                lane.executor.shutdown(wait=True, cancel_futures=True)
