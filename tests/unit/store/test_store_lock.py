"""The store's writer lock: one holder at a time, named in the refusal, released by the kernel
when the holder dies (kill -9 included), waited for with a bound."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.errors import StoreLocked, StoreReadOnly
from bot.store.db import DatabaseURL
from bot.store.lock import SharedStore, StoreAdvisoryLock, StoreFileLock, writer_lock
from tests.conftest import REPO
from tests.support.faults import read_only_file

HOLD = """
import sys, time
from pathlib import Path
from bot.store.lock import StoreFileLock
lock = StoreFileLock(Path(sys.argv[1]))
lock.acquire("paperbot run")
print("locked", flush=True)
time.sleep(60)
"""


def test_a_second_holder_is_refused_with_the_first_ones_pid(tmp_path: Path) -> None:
    database = tmp_path / "paperbot.db"
    first = StoreFileLock(database)
    first.acquire("paperbot run")
    try:
        assert first.path == tmp_path / "paperbot.db.lock"
        assert first.holder() == f"pid {os.getpid()} (paperbot run)"
        with pytest.raises(StoreLocked) as info:
            StoreFileLock(database).acquire("paperbot run")
        message = str(info.value)
        assert f"pid {os.getpid()} (paperbot run)" in message and str(database) in message
        assert "already running" in message and "\n" not in message
    finally:
        first.release()
    second = StoreFileLock(database)
    second.acquire("paperbot run")  # free again once released
    second.release()


def test_waiting_gives_up_after_the_bound_without_taking_it(tmp_path: Path) -> None:
    database = tmp_path / "paperbot.db"
    holder = StoreFileLock(database)
    holder.acquire("paperbot run")
    waited: list[float] = []
    now = [100.0]

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        now[0] += seconds

    try:
        with pytest.raises(StoreLocked, match=r"did not finish within 2 s; nothing was sent"):
            StoreFileLock(database, sleep=sleep, monotonic=lambda: now[0]).acquire("paperbot run --once", wait=2.0)
        assert 9 <= len(waited) <= 11  # polled every 0.2 s for 2 s
    finally:
        holder.release()


def test_a_waiter_gets_the_lock_as_soon_as_the_holder_lets_go(tmp_path: Path) -> None:
    database = tmp_path / "paperbot.db"
    holder = StoreFileLock(database)
    holder.acquire("paperbot run")
    polls = []

    def sleep(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 3:
            holder.release()

    waiter = StoreFileLock(database, sleep=sleep, monotonic=lambda: 0.0)
    waiter.acquire("paperbot run --once", wait=60.0)
    assert waiter.held and len(polls) == 3
    assert waiter.holder() == f"pid {os.getpid()} (paperbot run --once)"
    waiter.release()


def test_the_kernel_releases_the_lock_of_a_killed_process(tmp_path: Path) -> None:
    database = tmp_path / "paperbot.db"
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(database)], env={"PYTHONPATH": str(REPO), "PATH": os.environ["PATH"]},
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        with pytest.raises(StoreLocked, match=f"pid {child.pid} "):
            StoreFileLock(database).acquire("paperbot run")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        lock = StoreFileLock(database)
        lock.acquire("paperbot run")  # no stale lock left behind
        lock.release()
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=10)


def test_a_store_in_memory_shares_and_a_read_only_directory_is_named(tmp_path: Path) -> None:
    assert isinstance(writer_lock(DatabaseURL("sqlite", ":memory:")), SharedStore)
    folder = tmp_path / "ro"
    folder.mkdir()
    with read_only_file(folder), pytest.raises(StoreReadOnly, match="cannot create the lock file"):
        StoreFileLock(folder / "paperbot.db").acquire("paperbot run")


# --- PostgreSQL: a session advisory lock ---------------------------------------------------------

HOLD_PG = """
import sys, time
from bot.store.lock import StoreAdvisoryLock
lock = StoreAdvisoryLock(sys.argv[1])
lock.acquire("paperbot run")
print("locked", flush=True)
time.sleep(60)
"""


@pytest.mark.postgres
def test_postgres_a_second_holder_is_refused_naming_the_first_and_a_waiter_gets_it(postgres_url: str) -> None:
    lock = writer_lock(DatabaseURL("postgresql", postgres_url))
    assert isinstance(lock, StoreAdvisoryLock)
    lock.acquire("paperbot run")
    try:
        assert lock.held and lock.holder() == f"pid {os.getpid()} (paperbot run)"
        with pytest.raises(StoreLocked) as info:
            StoreAdvisoryLock(postgres_url).acquire("paperbot run")
        message = str(info.value)
        assert f"pid {os.getpid()} (paperbot run)" in message and "already running" in message
        assert "postgresql://paperbot@/" in message and "\n" not in message
        now = [0.0]

        def sleep(seconds: float) -> None:
            now[0] += seconds

        with pytest.raises(StoreLocked, match=r"did not finish within 1 s; nothing was sent"):
            StoreAdvisoryLock(postgres_url, sleep=sleep, monotonic=lambda: now[0]).acquire("paperbot run --once", wait=1.0)
        polls: list[float] = []

        def release_on_third(seconds: float) -> None:
            polls.append(seconds)
            if len(polls) == 3:
                lock.release()

        waiter = StoreAdvisoryLock(postgres_url, sleep=release_on_third, monotonic=lambda: 0.0)
        waiter.acquire("paperbot run --once", wait=60.0)
        assert waiter.held and len(polls) == 3
        assert waiter.holder() == f"pid {os.getpid()} (paperbot run --once)"
        waiter.release()
    finally:
        lock.release()


@pytest.mark.postgres
def test_postgres_releases_the_lock_of_a_killed_process(postgres_url: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_PG, postgres_url], env={"PYTHONPATH": str(REPO), "PATH": os.environ["PATH"]},
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        with pytest.raises(StoreLocked, match=f"pid {child.pid} "):
            StoreAdvisoryLock(postgres_url).acquire("paperbot run")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        # The server notices the closed connection of the killed process: no stale lock.
        lock = StoreAdvisoryLock(postgres_url, monotonic=lambda: 0.0)
        lock.acquire("paperbot run", wait=30.0)  # monotonic frozen: polls until granted
        assert lock.held
        lock.release()
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=10)
