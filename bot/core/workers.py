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
- `close()` cancels the jobs not started yet (their callers' awaits raise CancelledError, as do
  those of callers still waiting to be admitted), waits for the running ones, and stops the
  threads; a later `run` raises CancelledError at once.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_THREADS = 2
DEFAULT_QUEUED = 16


class WorkerThreads:
    """`threads` worker threads with room for `queued` waiting jobs (see the module)."""

    def __init__(self, threads: int = DEFAULT_THREADS, *, queued: int = DEFAULT_QUEUED, name: str = "paperbot-worker") -> None:
        if threads < 1:
            raise ValueError("WorkerThreads needs at least one thread")
        self.threads = threads
        self.queued = max(0, queued)
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
        self._closed = False
        self.running = 0  # jobs admitted and not finished (running or waiting in the queue)
        # One semaphore per event loop: asyncio's belong to one loop, and a one-shot command or
        # a benchmark may run several loops in turn over the same store.
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def closed(self) -> bool:
        """Whether `close()` was called."""
        return self._closed

    async def run(self, work: Callable[..., T], /, *args: Any) -> T:
        """`work(*args)` in one of the threads, once admitted (see the module)."""
        if self._closed:
            raise asyncio.CancelledError("the worker threads are closed")
        loop = asyncio.get_running_loop()
        turns = self._turns.get(loop)
        if turns is None:
            turns = self._turns[loop] = asyncio.Semaphore(self.threads + self.queued)
        async with turns:
            if self._closed:
                raise asyncio.CancelledError("the worker threads are closed")
            call = functools.partial(contextvars.copy_context().run, work, *args)
            self.running += 1
            try:
                return await asyncio.wrap_future(self._executor.submit(call))
            except RuntimeError:
                if self._closed:  # submitted while close() was shutting the executor down
                    raise asyncio.CancelledError("the worker threads are closed") from None
                raise
            finally:
                self.running -= 1

    def close(self) -> None:
        """Cancel the jobs not started, wait for the running ones, stop the threads."""
        self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)
