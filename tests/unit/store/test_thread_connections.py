"""A SQLite file store used from worker threads: each thread has its own connection, so a
transaction in one thread is never joined by another and work can run off the event loop."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.core.errors import StoreError
from bot.store import Store
from bot.store.db import ThreadConnections, transaction
from tests.support.factories import T0, make_paper

REPO = Path(__file__).resolve().parents[3]


def test_each_thread_has_its_own_connection(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "bot.db"))
    try:
        assert isinstance(store.conn, ThreadConnections) and store.threads_ok
        mine = store.conn.current()
        seen: list[object] = []
        worker = threading.Thread(target=lambda: seen.extend([store.conn.current(), store.conn.current()]))
        worker.start()
        worker.join()
        assert seen[0] is seen[1] and seen[0] is not mine
        assert store.conn.current() is mine
    finally:
        store.close()


def test_a_transaction_in_a_thread_is_not_joined_by_another(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "bot.db"))
    opened, release = threading.Event(), threading.Event()
    outcome: list[bool] = []

    def hold_a_transaction() -> None:
        with transaction(store.conn):
            store.papers.ingest([make_paper(1)], T0)
            opened.set()
            release.wait(30)
            outcome.append(store.conn.in_transaction)

    worker = threading.Thread(target=hold_a_transaction)
    worker.start()
    try:
        assert opened.wait(30)
        # This thread is outside the worker's transaction and does not see its paper yet.
        assert not store.conn.in_transaction
        assert store.papers.get("2603.00001") is None
        release.set()
        worker.join(30)
        assert outcome == [True]
        assert store.papers.get("2603.00001") is not None  # committed
    finally:
        release.set()
        store.close()


async def test_run_blocking_runs_file_stores_in_a_thread_and_memory_inline(tmp_path: Path) -> None:
    loop_thread = threading.get_ident()
    file_store, memory = Store.open(str(tmp_path / "bot.db")), Store.open(":memory:")
    try:
        assert await file_store.run_blocking(threading.get_ident) != loop_thread
        assert not memory.threads_ok
        assert await memory.run_blocking(threading.get_ident) == loop_thread
        file_store.papers.ingest([make_paper(2)], T0)
        assert await file_store.run_blocking(file_store.papers.count) == 1  # committed work is seen
    finally:
        file_store.close()
        memory.close()


def test_a_closed_store_refuses_new_threads(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "bot.db"))
    store.close()
    failure: list[BaseException] = []

    def use() -> None:
        try:
            store.papers.count()
        except BaseException as exc:  # noqa: BLE001 - the test records what the thread raised
            failure.append(exc)

    worker = threading.Thread(target=use)
    worker.start()
    worker.join()
    assert failure and isinstance(failure[0], StoreError)


def test_threads_connections_are_closed_with_the_store(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "bot.db"))
    connections = []
    worker = threading.Thread(target=lambda: connections.append(store.conn.current()))
    worker.start()
    worker.join()
    store.close()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        connections[0].execute("SELECT 1")


def test_a_live_threads_connection_is_closed_by_that_thread_on_its_next_use(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "bot.db"))
    opened, closed = threading.Event(), threading.Event()
    seen: list[object] = []

    def use_twice() -> None:
        seen.append(store.conn.current())
        opened.set()
        closed.wait(30)
        try:
            store.papers.count()
        except StoreError as exc:
            seen.append(exc)

    worker = threading.Thread(target=use_twice)
    worker.start()
    assert opened.wait(30)
    store.close()
    closed.set()
    worker.join(30)
    first, then = seen
    assert isinstance(then, StoreError) and "closed" in str(then)
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        first.execute("SELECT 1")  # type: ignore[attr-defined]


# A thread keeps querying while the main thread closes the store under it. Closing a SQLite
# connection during another thread's query crashed the process (SIGSEGV): a subprocess, so that
# a crash fails this test instead of the test run.
_CLOSE_DURING_A_QUERY = """
import sys, threading, time
from bot.core.errors import StoreError
from bot.store import Store

store = Store.open(sys.argv[1])
querying = threading.Event()
slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) SELECT count(*) FROM c"

def query() -> None:
    try:
        for _ in range(20):
            querying.set()
            store.conn.execute(slow).fetchall()
    except StoreError:
        print("the thread's next query was refused", flush=True)

worker = threading.Thread(target=query)
worker.start()
querying.wait(30)
time.sleep(0.05)
store.close()
worker.join(60)
print("exited cleanly", flush=True)
"""


def test_closing_the_store_during_another_threads_query_does_not_crash(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", _CLOSE_DURING_A_QUERY, str(tmp_path / "bot.db")],
        capture_output=True, text=True, timeout=120, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == ["the thread's next query was refused", "exited cleanly"]
