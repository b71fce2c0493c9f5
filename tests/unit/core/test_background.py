"""bot.core.background: `in_daemon_thread`, which runs the projection fit (the result or the
error comes back to the awaiting task, a cancelled await returns at once while the work runs
on, the thread is a daemon), and `exit_status`, the exit that is safe while such a thread is
still in BLAS. The end-to-end promise, SIGTERM during a fit, is
tests/e2e/test_run_stop_during_fit.py."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.core.background import exit_status, in_daemon_thread, running_daemons, start_daemon

REPO = Path(__file__).resolve().parents[3]


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


def test_running_daemons_names_the_threads_until_they_end() -> None:
    release = threading.Event()
    thread = start_daemon(lambda: release.wait(30), "index build")
    assert thread.daemon and "index build" in running_daemons()
    release.set()
    thread.join(30)
    assert "index build" not in running_daemons()


# Multiplies matrices in a daemon thread, prints, and exits while the thread is inside dgemm.
# Exiting normally (`raise SystemExit(0)`) there crashed 7 of 20 runs with SIGSEGV in
# dgemm_kernel once OpenBLAS's destructor had run: the crash CI saw at the end of a console run.
BLAS_AT_EXIT = """
import time, numpy
from bot.core.background import exit_status, start_daemon
matrix = numpy.random.default_rng(0).random((1500, 1500))
def multiply():
    while True:
        matrix @ matrix
start_daemon(multiply, "fit projection")
time.sleep(0.3)
print("done")
raise SystemExit(exit_status(3))
"""


def test_exiting_while_a_daemon_is_in_blas_neither_crashes_nor_hangs() -> None:
    for _ in range(8):
        run = subprocess.run(
            [sys.executable, "-c", BLAS_AT_EXIT], cwd=REPO, capture_output=True, text=True, timeout=60
        )
        assert (run.returncode, run.stdout) == (3, "done\n"), run.stderr[-2000:]


def test_with_no_daemon_running_the_status_is_returned() -> None:
    assert not running_daemons() and exit_status(2) == 2
