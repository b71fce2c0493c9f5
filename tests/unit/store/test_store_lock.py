"""The store's writer lock (SQLite): one holder at a time, named in the refusal, released by the
kernel when the holder dies (kill -9 included), waited for with a bound. PostgreSQL has none
(replicas); its work locks go to one process at a time and die with their holder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.core.errors import StoreLocked, StoreReadOnly
from bot.store.db import DatabaseURL
from bot.store.lock import (
    AdvisoryLocks,
    ProcessLocks,
    ReplicaStore,
    SharedStore,
    StoreFileLock,
    advisory_key,
    holding,
    work_locks,
    writer_lock,
)
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


# --- PostgreSQL: replicas, and work locks (session advisory locks) -------------------------------

HOLD_PG = """
import sys, time
from bot.store.lock import AdvisoryLocks
locks = AdvisoryLocks(sys.argv[1])
assert locks.try_lock("source:arxiv")
print("locked", flush=True)
time.sleep(60)
"""


@pytest.mark.postgres
def test_postgres_has_no_writer_lock_and_its_work_locks_go_to_one_process_at_a_time(postgres_url: str) -> None:
    url = DatabaseURL("postgresql", postgres_url)
    first, second = writer_lock(url), writer_lock(url)
    assert isinstance(first, ReplicaStore)
    first.acquire("paperbot run")
    second.acquire("paperbot run")  # a second replica starts beside the first
    first.release()
    second.release()
    mine, theirs = work_locks(url), work_locks(url)
    assert isinstance(mine, AdvisoryLocks)
    try:
        assert mine.try_lock("scheduler:digests")
        assert mine.try_lock("scheduler:digests")  # held already: still ours
        assert not theirs.try_lock("scheduler:digests")
        assert theirs.try_lock("scheduler:alerts")  # another name is another lock
        with holding(theirs, "scheduler:digests") as got:
            assert not got
        mine.unlock("scheduler:digests")
        with holding(theirs, "scheduler:digests") as got:
            assert got and not mine.try_lock("scheduler:digests")
        assert mine.try_lock("scheduler:digests")  # released after the block
    finally:
        mine.close()
        theirs.close()
    assert advisory_key("source:arxiv") == advisory_key("source:arxiv") != advisory_key("source:hf")


def test_sqlite_work_locks_are_always_granted(tmp_path: Path) -> None:
    locks = work_locks(DatabaseURL("sqlite", str(tmp_path / "paperbot.db")))
    assert isinstance(locks, ProcessLocks)
    assert locks.try_lock("scheduler:digests") and locks.try_lock("scheduler:digests")
    locks.unlock("scheduler:digests")
    locks.close()


@pytest.mark.postgres
def test_postgres_releases_the_work_lock_of_a_killed_process(postgres_url: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_PG, postgres_url], env={"PYTHONPATH": str(REPO), "PATH": os.environ["PATH"]},
        stdout=subprocess.PIPE, text=True,
    )
    locks = AdvisoryLocks(postgres_url)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        assert not locks.try_lock("source:arxiv")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        # The server notices the closed connection of the killed process: no stale lock.
        for _ in range(300):
            if locks.try_lock("source:arxiv"):
                break
            time.sleep(0.1)
        assert locks.try_lock("source:arxiv")
    finally:
        locks.close()
        if child.poll() is None:
            child.kill()
        child.wait(timeout=10)


@pytest.mark.postgres
def test_work_locks_survive_a_broken_connection(postgres_url: str) -> None:
    """A connection the server ended (a restart, an administrator) held nothing any more: the
    next try reconnects and takes the lock again."""
    import psycopg

    locks = AdvisoryLocks(postgres_url, application_name="paperbot locks under test")
    try:
        assert locks.try_lock("scheduler:alerts")
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                ("paperbot locks under test",),
            )
        locks.unlock("scheduler:alerts")  # the session is gone: nothing to release, no error
        assert locks.try_lock("scheduler:alerts")
        assert not AdvisoryLocks(postgres_url).try_lock("scheduler:alerts")
    finally:
        locks.close()


@pytest.mark.postgres
def test_many_work_locks_are_taken_in_one_call_and_each_is_released_by_one_unlock(postgres_url: str) -> None:
    mine, theirs = AdvisoryLocks(postgres_url), AdvisoryLocks(postgres_url)
    try:
        assert theirs.try_lock("digest:slack:C2:2026-03-02")
        names = [f"digest:slack:C{n}:2026-03-02" for n in range(5)]
        # The free ones, in the order asked, each once; the one another process holds is not.
        assert mine.try_lock_many([*names, names[0]]) == [names[0], names[1], names[3], names[4]]
        # Asking again for held ones does not stack them: one unlock each lets them go.
        assert mine.try_lock_many(names[:2]) == names[:2]
        assert mine.try_lock("digest:slack:C0:2026-03-02")
        mine.unlock_many([names[0], names[1], names[2]])  # C2 is theirs: left alone
        assert theirs.try_lock_many(names) == [names[0], names[1], names[2]]
        assert not mine.try_lock(names[2])
        mine.unlock_many([])
    finally:
        mine.close()
        theirs.close()
    assert ProcessLocks().try_lock_many(["a", "b", "a"]) == ["a", "b"]
