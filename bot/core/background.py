"""Background threads the process does not wait for, and the exit that is safe while they run.

Some work is not worth waiting for at a stop: the projection fit (a minute of BLAS on a large
store, its result useless once the bot stops) and the first search-index build (the next
process builds it again). It runs in daemon threads, so that a SIGTERM exits at once.

But a daemon thread still inside native code when the process exits normally is not safe.
`exit()` runs the shared libraries' destructors while the thread runs on: OpenBLAS's
`gotoblas_quit` frees the buffers a `dgemm` in that thread is using (SIGSEGV, seen in CI) or
joins a BLAS server thread that never returns (a hang), and CPython ends a daemon thread that
wakes during finalization with `pthread_exit`, which native code such as tantivy's cannot
unwind through. So every such thread is started here, and `exit_status` ends the process with
`os._exit` (after flushing the logs and the standard streams) when any of them still runs:
no destructor then runs beside it. Everything that must be closed is closed before, by the
runtime's shutdown; the store's commits are durable when they return.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["start_daemon", "in_daemon_thread", "running_daemons", "exit_status"]

T = TypeVar("T")

_running: set[threading.Thread] = set()
_running_lock = threading.Lock()


def start_daemon(target: Callable[[], object], name: str) -> threading.Thread:
    """Start `target()` in a daemon thread the process will not wait for at exit."""

    def run() -> None:
        try:
            target()
        finally:
            with _running_lock:
                _running.discard(thread)

    thread = threading.Thread(target=run, name=name, daemon=True)
    with _running_lock:
        _running.add(thread)
    try:
        thread.start()
    except BaseException:
        with _running_lock:
            _running.discard(thread)
        raise
    return thread


async def in_daemon_thread(work: Callable[[], T], name: str) -> T:
    """`work()` in a daemon thread of its own: cancelling the await returns at once (the thread
    runs on, its result dropped), and the process may exit while it still runs."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(error: BaseException | None, result: T | None) -> None:
        if done.done():  # cancelled meanwhile: nobody waits for the result
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        error: BaseException | None = None
        result: T | None = None
        try:
            result = work()
        except BaseException as exc:  # handed to the awaiting task, as asyncio.to_thread does
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop has closed: the process is stopping
            loop.call_soon_threadsafe(settle, error, result)

    start_daemon(run, name)
    return await done


def running_daemons() -> list[str]:
    """The names of the daemon threads started here that have not finished."""
    with _running_lock:
        return sorted(thread.name for thread in _running)


def exit_status(status: int) -> int:
    """`status`, for the caller to exit with normally, when no daemon thread started here is
    running; otherwise flush the logs and the standard streams and end the process now with
    `os._exit(status)` (see the module docstring: a normal exit could crash or hang)."""
    running = running_daemons()
    if not running:
        return status
    logging.getLogger(__name__).debug("exiting without waiting for %s", ", ".join(running))
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe must not turn the exit into a crash
            stream.flush()
    os._exit(status)
