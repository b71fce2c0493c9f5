"""Offline summaries made in worker processes, so that summarizing a batch runs on every core
and never holds this process's GIL (the offline summarizer is pure Python: in a thread it would
slow the event loop down as much as running it there).

`OfflinePool(workers)` is started by the runtime at start (`start()`, which returns at once), or
else by the first `summarize` call. A call made while the processes are still getting ready (a
process imports paperbot's summarizer first: about a second of CPU) waits for them, at most
READY_WAIT seconds, and only then is answered in a worker thread: pure-Python summarizing in a
thread of the bot holds the GIL that the event loop needs for every ack (a burst of commands
arriving at start-up was acked seconds late that way). A pool of 0 workers, or one whose
processes died (`BrokenProcessPool`), answers in threads; a broken pool is started again on a
later call.

The summarizer is deterministic and pure, so a worker gets (title, abstract, categories) and
returns the `Summary` (`summarize_text`): the same summary a thread of this process makes.
Work in flight is bounded (`limit` chunks at once; callers wait for a turn), so a burst of
searches queues at most a few chunks per process. An `urgent` call (an answer somebody waits
for) takes the next free turn before any background one (a digest run's hundreds of papers), so
answers are not queued behind a digest run's chunks.

Workers run at a lower priority (nice 10) than the bot: on busy cores the event loop's acks
and answers come before background summarizing. Children never outlive the bot: `close()` (Runtime.shutdown, after SIGTERM/SIGINT) shuts the
executor down (terminating a worker that has not exited after a short grace), and every worker runs a watchdog thread that exits the process as soon as its
parent is gone (a parent killed with SIGKILL cannot close anything)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from bot.core.models import Paper, Summary
from bot.enrich.summarize.offline import summarize_text

log = logging.getLogger(__name__)

# Papers per process call: large enough that pickling and the pipe are a small share of the
# work (a paper is ~2-5 ms of CPU), small enough that a burst shares the processes fairly.
CHUNK = 10
PARENT_POLL_SECONDS = 0.5
READY_WAIT = 3.0  # how long a call waits for processes getting ready before using a thread
CLOSE_GRACE_SECONDS = 2.0  # what close() gives a worker to finish and exit before it is stopped
WORKER_NICENESS = 10  # background work: the bot's own process (the event loop) runs first

Job = tuple[str, str, tuple[str, ...]]


def summarize_jobs(jobs: Sequence[Job]) -> list[Summary]:
    """A worker's call: the offline summaries of (title, abstract, categories) jobs."""
    return [summarize_text(title, abstract, categories) for title, abstract, categories in jobs]


def _ready() -> int:
    """A worker's first call: proves the process has started and imported the summarizer."""
    return os.getpid()


def _start_worker(parent: int) -> None:
    """Worker initializer: run at a lower priority than the bot (acks and answers come first
    when the cores are busy), and exit as soon as the parent is gone (its parent id changes
    when the parent dies, however it died)."""
    with contextlib.suppress(OSError, AttributeError):  # no nice() on some platforms
        os.nice(WORKER_NICENESS)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _worker_processes(executor: ProcessPoolExecutor) -> list[multiprocessing.process.BaseProcess]:
    """The executor's worker processes. Python 3.11 has no public handle on them (3.14 adds
    terminate_workers), so this reads the executor's own table."""
    return list((getattr(executor, "_processes", None) or {}).values())


def job_of(paper: Paper) -> Job:
    """What a worker needs of a paper (what `OfflineSummarizer.summarize` reads)."""
    return (paper.title, paper.abstract, tuple(paper.categories))


class Turns:
    """At most `size` holders at once, like asyncio.Semaphore, but a waiting urgent caller is
    let in before every waiting background one (first come, first served within each)."""

    def __init__(self, size: int) -> None:
        self.free = size
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._background: deque[asyncio.Future[None]] = deque()

    @contextlib.asynccontextmanager
    async def turn(self, *, urgent: bool) -> AsyncIterator[None]:
        """Hold one turn for the duration of the block."""
        await self._acquire(urgent)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, urgent: bool) -> None:
        # Background work also queues behind urgent waiters, and urgent work behind nothing.
        if self.free > 0 and not self._urgent and (urgent or not self._background):
            self.free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._urgent if urgent else self._background
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed a turn just as it was cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    queue.remove(waiter)
            raise

    def _release(self) -> None:
        for queue in (self._urgent, self._background):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # the turn passes straight to the waiter
                    return
        self.free += 1


class OfflinePool:
    """Offline summaries in `workers` processes (see the module)."""

    def __init__(self, workers: int, *, limit: int | None = None) -> None:
        self.workers = max(0, workers)
        self._executor: ProcessPoolExecutor | None = None
        self._ready: list[Future[int]] = []
        self._closed = False
        # Chunks submitted at once: two per process keeps each busy while the next is pickled.
        self.limit = limit or max(1, 2 * self.workers)
        # One Turns gate per event loop (its waiters are futures of one loop; a one-shot command
        # or a benchmark may run several loops in turn over the same pool).
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Turns] = weakref.WeakKeyDictionary()

    @property
    def ready(self) -> bool:
        """Whether the processes are up (their first call answered)."""
        return bool(self._ready) and all(f.done() and f.exception() is None for f in self._ready)

    def start(self) -> None:
        """Start the processes (at once; they get ready in the background). Idempotent."""
        if self.workers == 0 or self._closed or self._executor is not None:
            return
        # spawn, not fork: the bot has threads (SQLite, tantivy, the loop's executor), and a
        # forked child can inherit a lock one of them held.
        self._executor = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker, initargs=(os.getpid(),),
        )
        # One first call per process: the executor starts a process for each call that finds
        # none idle, so every process is started (and its imports done) before real work.
        self._ready = [self._executor.submit(_ready) for _ in range(self.workers)]

    def wait_ready(self, timeout: float) -> bool:
        """Start the processes and wait until they answer (benchmarks, tests); False when they
        did not within `timeout` seconds or there are none."""
        self.start()
        if not self._ready:
            return False
        try:
            for started in list(self._ready):
                started.result(timeout=timeout)
        except Exception:
            return False
        return True

    def pids(self) -> list[int]:
        """The worker processes' ids (tests check that none is left behind)."""
        if self._executor is None:
            return []
        return [p.pid for p in _worker_processes(self._executor) if p.pid is not None]

    async def summarize(self, papers: Sequence[Paper], *, urgent: bool = False) -> list[Summary]:
        """The papers' offline summaries, in order: in the processes when they are up (waiting
        up to READY_WAIT for processes getting ready), else in one worker thread per chunk (see
        the module). `urgent`: an answer's, served before background work."""
        jobs = [job_of(paper) for paper in papers]
        if not jobs:
            return []
        self.start()
        chunks = [jobs[start : start + CHUNK] for start in range(0, len(jobs), CHUNK)]
        if not self.ready and not await self._wait_ready(READY_WAIT):
            made: list[Summary] = []
            for chunk in chunks:
                made += await asyncio.to_thread(summarize_jobs, chunk)
            return made
        parts = await asyncio.gather(*(self._in_process(chunk, urgent) for chunk in chunks))
        return [summary for part in parts for summary in part]

    async def _wait_ready(self, timeout: float) -> bool:
        """Wait (without holding the loop) for processes getting ready; whether they are."""
        starting = [asyncio.wrap_future(f) for f in self._ready]
        if not starting:
            return False
        await asyncio.wait(starting, timeout=timeout)
        return self.ready

    async def _in_process(self, chunk: list[Job], urgent: bool = False) -> list[Summary]:
        executor = self._executor
        if executor is None or self._closed:
            return await asyncio.to_thread(summarize_jobs, chunk)
        loop = asyncio.get_running_loop()
        turns = self._turns.get(loop)
        if turns is None:
            turns = self._turns[loop] = Turns(self.limit)
        async with turns.turn(urgent=urgent):  # a full pool holds the caller, not the event loop
            try:
                return await asyncio.wrap_future(executor.submit(summarize_jobs, chunk))
            except BrokenProcessPool:
                log.warning("the summarizer's worker processes died; summarizing in a thread and starting them again")
                self._discard(executor)
            except RuntimeError:  # submitted while close() was shutting the executor down
                pass
        return await asyncio.to_thread(summarize_jobs, chunk)

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        if self._executor is executor:
            self._executor, self._ready = None, []
            executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the processes: they get CLOSE_GRACE_SECONDS to finish their chunks and exit, then
        they are terminated; later calls summarize in threads. Bounded, because a worker may
        still be importing the summarizer or hold chunks queued before the close: at nice 10
        on busy cores that took a minute, and the bot's exit waited for it (a worker only
        computes, so nothing is lost by stopping it)."""
        self._closed = True
        executor, self._executor, self._ready = self._executor, None, []
        if executor is None:
            return
        processes = _worker_processes(executor)
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:  # the grace is shared: at most CLOSE_GRACE_SECONDS in all
            process.join(CLOSE_GRACE_SECONDS / len(processes))
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join(CLOSE_GRACE_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()
        executor.shutdown(wait=True)
