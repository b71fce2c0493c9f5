"""The search sequence orders commits, and the alert scan reads papers in that order, on
SQLite and PostgreSQL.

Several replicas ingest and scan one store. The alert scan must not lose a paper whose ingest
started before a scan (so its `first_seen` is earlier than the scan's time) but committed after
it: that was possible while the scan moved a time watermark. It now reads the papers inserted
under search sequence numbers above its watermark, up to the sequence value it sees
(bot/store/papers.py `committed_seq`, `arrived`). That is only safe because a writer holds the
sequence row's lock from taking its number until it commits, so a reader that sees value S sees
every row written under numbers <= S; the first test checks that with real concurrent writers.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from bot.alerts.alerts import scan_new_papers
from bot.store import Store
from bot.store.backend import is_postgres
from bot.store.db import transaction
from tests.support.factories import T0, make_paper

WAIT = 30.0  # seconds: the bound on waiting for another thread (never reached when all is well)


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` until it holds (a bound, not a timing: the test fails only when it
    never holds)."""
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.01)


def _writers_waiting_for_a_lock(store: Store) -> int:
    """PostgreSQL backends of this database waiting for a lock (a writer blocked on the sequence row)."""
    row = store.conn.execute(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    ).fetchone()
    return int(row[0])


def test_a_reader_never_sees_a_sequence_number_while_a_lower_one_is_uncommitted(store_location: str) -> None:
    """Writer A takes a number and holds its transaction open; writer B, starting after, waits
    for A (the sequence row's lock) and takes the next number only once A committed; a reader
    in between sees neither, then A's alone, then both."""
    a, b, reader = (Store.open(store_location) for _ in range(3))
    b_numbered, release_b = threading.Event(), threading.Event()
    b_failed: list[BaseException] = []

    def writer_b() -> None:
        try:
            with transaction(b.conn):
                b.papers.ingest([make_paper(2, title="Written by B")], T0 + timedelta(minutes=1))
                b_numbered.set()
                assert release_b.wait(WAIT)
        except BaseException as exc:  # surfaced in the main thread
            b_failed.append(exc)
            b_numbered.set()

    try:
        assert reader.papers.committed_seq() == 0
        with transaction(a.conn):
            a.papers.ingest([make_paper(1, title="Written by A")], T0)
            thread = threading.Thread(target=writer_b)
            thread.start()
            if is_postgres(reader.conn):
                # B is blocked on the sequence row's lock (not merely not started yet).
                _wait_for(lambda: _writers_waiting_for_a_lock(reader) >= 1, "writer B to wait for A's lock")
            assert not b_numbered.is_set()
            assert reader.papers.committed_seq() == 0
            assert reader.papers.arrived(upto_seq=10, after_seq=0) == []
        # A committed; B takes the next number and holds its transaction open in turn.
        _wait_for(b_numbered.is_set, "writer B to take its number")
        assert not b_failed, b_failed
        seen = reader.papers.committed_seq()
        visible = reader.papers.arrived(upto_seq=seen, after_seq=0)
        assert (seen, [p.title for p in visible]) == (1, ["Written by A"])
        # Nothing above the committed value is visible, even when asked for it.
        assert [p.title for p in reader.papers.arrived(upto_seq=10, after_seq=0)] == ["Written by A"]
        release_b.set()
        thread.join(WAIT)
        assert not b_failed, b_failed
        seen = reader.papers.committed_seq()
        assert seen == 2
        assert [p.title for p in reader.papers.arrived(upto_seq=seen, after_seq=0)] == ["Written by A", "Written by B"]
        assert [p.title for p in reader.papers.arrived(upto_seq=seen, after_seq=1)] == ["Written by B"]
    finally:
        release_b.set()
        for store in (a, b, reader):
            store.close()


def test_a_paper_is_matched_once_and_later_changes_do_not_bring_it_back(any_store: Store) -> None:
    """`alert_seq` is stamped by the first insert only: a new version, a merge from another
    source, new topics or a summary move `index_seq` (the search index) but not `alert_seq`."""
    any_store.subscriptions.add("slack", "U1", "diffusion", (), T0 - timedelta(days=2))
    any_store.papers.ingest([make_paper(1, title="Diffusion one")], T0)
    assert asyncio.run(scan_new_papers(any_store, T0 + timedelta(minutes=1))) == 1
    any_store.papers.ingest([make_paper(1, title="Diffusion one", version=2)], T0 + timedelta(minutes=2))
    any_store.papers.set_topics("2603.00001", ["cv"])
    any_store.papers.set_summary_text("2603.00001", "a diffusion summary")
    any_store.papers.ingest([make_paper(2, title="Diffusion two")], T0 + timedelta(minutes=2))
    assert asyncio.run(scan_new_papers(any_store, T0 + timedelta(minutes=3))) == 1
    assert [q.paper_id for q in any_store.alert_queue.waiting("slack", "U1")] == ["2603.00001", "2603.00002"]
    assert asyncio.run(scan_new_papers(any_store, T0 + timedelta(minutes=4))) == 0


def test_the_first_scan_of_a_store_is_bounded_by_the_first_window(any_store: Store) -> None:
    any_store.subscriptions.add("slack", "U1", "diffusion", (), T0 - timedelta(days=5))
    any_store.papers.ingest([make_paper(1, title="Old diffusion")], T0 - timedelta(days=3))
    any_store.papers.ingest([make_paper(2, title="Fresh diffusion")], T0 - timedelta(hours=2))
    assert asyncio.run(scan_new_papers(any_store, T0)) == 1
    assert [q.paper_id for q in any_store.alert_queue.waiting("slack", "U1")] == ["2603.00002"]


def test_a_scan_that_crashed_before_its_watermark_repeats_without_duplicates(any_store: Store) -> None:
    """The queue rows are written before the watermark; a scan that stops in between (a crash)
    is repeated by the next one, which queues nothing twice."""
    any_store.subscriptions.add("slack", "U1", "diffusion", (), T0 - timedelta(days=2))
    asyncio.run(scan_new_papers(any_store, T0))
    any_store.papers.ingest([make_paper(1, title="Diffusion one")], T0 + timedelta(minutes=1))
    before = any_store.alert_queue.seq_watermark("alerts.scanned_seq")

    def crash(*_: object) -> bool:
        raise RuntimeError("killed before the watermark")

    watermarks = any_store.alert_queue
    real = watermarks.advance_seq_watermark
    watermarks.advance_seq_watermark = crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        asyncio.run(scan_new_papers(any_store, T0 + timedelta(minutes=2)))
    watermarks.advance_seq_watermark = real  # type: ignore[method-assign]
    assert any_store.alert_queue.seq_watermark("alerts.scanned_seq") == before
    assert [q.paper_id for q in any_store.alert_queue.waiting("slack", "U1")] == ["2603.00001"]
    assert asyncio.run(scan_new_papers(any_store, T0 + timedelta(minutes=3))) == 0
    assert [q.paper_id for q in any_store.alert_queue.waiting("slack", "U1")] == ["2603.00001"]
    assert any_store.alert_queue.seq_watermark("alerts.scanned_seq") == any_store.papers.committed_seq()


@pytest.mark.postgres
def test_a_paper_whose_ingest_commits_after_another_replicas_scan_is_alerted(postgres_url: str) -> None:
    """Replica A's ingest stamps `first_seen` and commits late; replica B scans in between (it
    cannot see the paper yet) and again after the commit: the second scan alerts the paper.
    With the time watermark the first scan moved it past `first_seen` and the paper was lost."""
    a, b = Store.open(postgres_url), Store.open(postgres_url)
    try:
        b.subscriptions.add("slack", "U1", "diffusion", (), T0 - timedelta(days=2))
        asyncio.run(scan_new_papers(b, T0))
        with transaction(a.conn):
            a.papers.ingest([make_paper(1, title="Late diffusion")], T0 + timedelta(minutes=1))
            # B's scan runs while A's transaction is open: it sees nothing new.
            assert asyncio.run(scan_new_papers(b, T0 + timedelta(minutes=2))) == 0
        queued = asyncio.run(scan_new_papers(b, T0 + timedelta(minutes=3)))
        assert queued == 1
        assert [q.paper_id for q in b.alert_queue.waiting("slack", "U1")] == ["2603.00001"]
    finally:
        a.close()
        b.close()


@pytest.mark.postgres
def test_two_replicas_scanning_the_same_papers_queue_and_count_each_match_once(postgres_url: str) -> None:
    """Both replicas read the same watermark (the step lock was lost): every match is queued
    once and the "+N more" count is added by the one that moved the watermark."""
    a, b = Store.open(postgres_url), Store.open(postgres_url)
    try:
        a.subscriptions.add("slack", "U1", "diffusion", (), T0 - timedelta(days=2))
        asyncio.run(scan_new_papers(a, T0))
        a.papers.ingest([make_paper(n, title=f"Diffusion {n}") for n in range(1, 6)], T0 + timedelta(minutes=1))
        start = threading.Barrier(2)
        counts: list[int] = []

        def scan(store: Store) -> None:
            start.wait(WAIT)
            counts.append(asyncio.run(scan_new_papers(store, T0 + timedelta(minutes=2), keep_per_user=2)))

        threads = [threading.Thread(target=scan, args=(store,)) for store in (a, b)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        assert len(counts) == 2 and sum(counts) == 2
        assert len(a.alert_queue.waiting("slack", "U1")) == 2
        assert a.alert_queue.overflow("slack", "U1") == 3
    finally:
        a.close()
        b.close()
