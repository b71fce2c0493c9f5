"""bench/bench_replicas.py's counting, on arrivals made up here (the benchmark itself runs
`paperbot run` replicas for minutes: `python -m bench.bench_replicas --quick`): digest latency
from each slot to its last part, duplicates and missing parts per destination (DMs mapped to
the fakes' DM channels), throughput over the span of arrivals."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from pathlib import Path

import psycopg

from bench.bench_replicas import (
    BUILT,
    Arrival,
    OutboxSummary,
    alert_accounting,
    deadlocks,
    exception_lines,
    measure,
    percentiles,
)
from bot.store import Store
from bot.store.db import transaction
from tests.support.factories import T0, make_paper
from tests.support.postgres import PostgresServer


def test_latency_duplicates_and_missing_parts_are_counted_per_destination() -> None:
    slots = {"C1": 1000.0, "42": 1000.0, "C3": 1060.0}
    summary = OutboxSummary(
        rows_by_kind_and_state={"digest:sent": 3, "alert:sent": 2},
        parts={
            ("slack", "C1", False): 2,
            ("discord", "42", False): 1,
            ("slack", "C3", False): 1,
            ("slack", "U1", True): 1,
            ("discord", "77", True): 1,
        },
        waiting=0,
    )
    arrivals = [
        Arrival("slack", "C1", "a", 1010.0),
        Arrival("slack", "C1", "b", 1030.0),
        Arrival("discord", "42", "x", 1005.0),
        Arrival("discord", "42", "x2", 1006.0),  # the same part again, re-rendered: other bytes
        Arrival("slack", "DU1", "dm", 1100.0),
        # C3's digest and the Discord DM to user 77 (DM channel 900) never arrive.
    ]
    figures = measure(
        arrivals, slots, summary, {("slack", "U1"): "DU1", ("discord", "77"): "900"}, 1000.0, None
    )
    # C1's last part 30 s after its slot, 42's (the duplicate) 6 s after.
    assert figures["digest_latency_s"] == {"count": 2, "p50": 6.0, "p99": 30.0, "max": 30.0}
    assert figures["missing_digests"] == 1
    assert figures["alert_latency_s"]["count"] == 1 and figures["alert_latency_s"]["max"] == 100.0
    assert figures["duplicates"] == 1 and figures["missing_parts"] == 2
    assert figures["by_platform"]["discord"]["destinations_with_extra_parts"] == ["42: +1"]
    assert figures["by_platform"]["discord"]["identical_copies"] == 0
    assert figures["by_platform"]["slack"] == {
        "parts_in_outbox": 4,
        "parts_received": 3,
        "duplicates": 0,
        "identical_copies": 0,
        "missing_parts": 1,
        "destinations_with_extra_parts": [],
    }
    # 5 parts from 1005 to 1100 s; the 4 digest parts from 1005 to 1030 s.
    assert figures["parts_per_s"] == {
        "all": round(5 / 95, 1),
        "digests": round(4 / 25, 1),
        "parts": 5,
    }


def test_percentiles_are_nearest_rank() -> None:
    assert percentiles([]) == {"count": 0, "p50": None, "p99": None, "max": None}
    values = [float(n) for n in range(1, 101)]
    assert percentiles(values) == {"count": 100, "p50": 50.0, "p99": 99.0, "max": 100.0}


def test_a_replicas_log_gives_its_exception_lines_and_its_share_of_the_digests() -> None:
    log = "\n".join(
        [
            "05:50:01 INFO bot.digests.job: built 100 of 333 due digest slots (100 messages into the outbox)",
            "05:50:02 ERROR bot.app.scheduler: scheduler step alerts failed; the next tick tries again",
            "Traceback (most recent call last):",
            '  File "bot/alerts/alerts.py", line 9, in scan',
            "    raise KeyError('x')",
            "KeyError: 'x'",
            "05:50:03 INFO bot.digests.job: built 33 of 133 due digest slots (33 messages into the outbox)",
            "Traceback (most recent call last):",
            '  File "bot/store/db.py", line 1, in execute',
            "psycopg.errors.DeadlockDetected: deadlock detected",
        ]
    )
    assert exception_lines(log) == [
        "KeyError: 'x'",
        "psycopg.errors.DeadlockDetected: deadlock detected",
    ]
    assert sum(int(n) for n in BUILT.findall(log)) == 133


def test_a_real_deadlock_is_reported_with_both_statements(postgres_server: PostgresServer) -> None:
    """The throwaway server logs a deadlock with each process's statement, and the bench's
    `deadlocks` finds it there: two transactions update two rows in opposite orders."""
    url = postgres_server.new_database("deadlock")
    with psycopg.connect(url, autocommit=True) as setup:
        setup.execute("CREATE TABLE lock_order (id int PRIMARY KEY, n int)")
        setup.execute("INSERT INTO lock_order VALUES (1, 0), (2, 0)")
    before = deadlocks(postgres_server.log_text())["detected"]
    first, second = psycopg.connect(url), psycopg.connect(url)
    first.execute("UPDATE lock_order SET n = n + 1 WHERE id = 1")
    second.execute("UPDATE lock_order SET n = n + 1 WHERE id = 2")
    failures: list[BaseException] = []

    def cross(conn: psycopg.Connection[tuple[object, ...]], row: int) -> None:
        try:
            conn.execute("UPDATE lock_order SET n = n + 10 WHERE id = %s", (row,))
            conn.commit()
        except psycopg.errors.DeadlockDetected as exc:
            failures.append(exc)
            conn.rollback()

    waiter = threading.Thread(target=cross, args=(first, 2))
    waiter.start()
    cross(second, 1)
    waiter.join(timeout=30)
    first.close()
    second.close()

    assert len(failures) == 1
    found = deadlocks(postgres_server.log_text())
    assert found["detected"] == before + 1
    [report] = [r for r in found["reports"] if "lock_order" in r]
    assert "waits for ShareLock on transaction" in report
    assert report.count("UPDATE lock_order SET n = n + 10 WHERE id = ") >= 2


def test_a_long_lock_wait_is_logged(postgres_server: PostgresServer) -> None:
    """A transaction queued on another's row for longer than deadlock_timeout (200 ms) shows
    in the log the bench reads: where replicas wait on each other before any deadlock."""
    url = postgres_server.new_database("lockwait")
    with psycopg.connect(url, autocommit=True) as setup:
        setup.execute("CREATE TABLE lock_wait (id int PRIMARY KEY, n int)")
        setup.execute("INSERT INTO lock_wait VALUES (1, 0)")
    before = deadlocks(postgres_server.log_text())["lock_waits_logged"]
    holder, waiter = psycopg.connect(url), psycopg.connect(url)
    holder.execute("UPDATE lock_wait SET n = 1 WHERE id = 1")
    queued = threading.Thread(
        target=lambda: (waiter.execute("UPDATE lock_wait SET n = 2 WHERE id = 1"), waiter.commit())
    )
    queued.start()
    try:
        # The holder keeps its lock until the wait is in the log, however slow the machine.
        for _ in range(300):
            if deadlocks(postgres_server.log_text())["lock_waits_logged"] > before:
                break
            threading.Event().wait(0.1)
    finally:
        holder.commit()
        queued.join(timeout=30)
        holder.close()
        waiter.close()
    assert deadlocks(postgres_server.log_text())["lock_waits_logged"] > before


def test_users_whose_matches_sent_no_dm_are_reported_with_where_their_matches_stand(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "paperbot.db"))
    try:
        for user in ("U1", "U2", "U3"):
            store.subscriptions.add("slack", user, "diffusion", [], T0)
        store.subscriptions.add("slack", "U4", "robotics", [], T0)
        batch = [
            make_paper(1, title="Diffusion models for video", abstract="We train diffusion models."),
            make_paper(2, title="Sparse attention", abstract="We prune attention heads."),
        ]
        store.papers.ingest(batch, T0 + timedelta(hours=1))
        with transaction(store.conn):  # U2's match was queued and is still waiting
            store.alert_queue.add([("slack", "U2", batch[0].id, (2,))], T0 + timedelta(hours=1))
        found = asyncio.run(alert_accounting(store, batch, {("slack", "U1")}))
    finally:
        store.close()
    assert found["users_matched"] == 3
    assert found["users_dmd"] == 1
    assert found["users_dmd_not_matched"] == 0
    assert found["users_missing"] == 2
    assert found["missing_by_state"] == {"queued, waiting": 1, "never queued": 1}
    assert found["missing_examples"] == ["slack:U2: queued, waiting", "slack:U3: never queued"]
