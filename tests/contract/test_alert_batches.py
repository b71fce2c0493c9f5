"""Cutting alert batches is atomic and idempotent in the store, on SQLite and PostgreSQL.

The scheduler's step lock is not enough: a replica whose lock connection dropped mid-step, or
two ticks racing around a kill, may cut batches for the same users at the same moment. Each cut
claims the user's alert window (compare-and-set of `last_alert_at`) and the queued rows it read
(only rows still waiting) in the transaction that enqueues the DM, under a key named by those
rows (bot/alerts/alerts.py `_commit_batch`), so every queued match lands in exactly one DM.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from bot.alerts.alerts import cut_batches
from bot.core.models import Paper, Summary
from bot.store import Store
from bot.store.db import transaction
from tests.support.factories import T0, FakeSummaries, app_settings, make_paper

USERS = [f"U{n:02d}" for n in range(12)]
PAPERS_PER_USER = 5
WAIT = 60.0  # seconds: the bound on waiting for the other replica (never reached when all is well)


class MeetingSummaries(FakeSummaries):
    """Fixed summaries that make two replicas meet before either commits a user's batch: the
    cut of user X on one replica waits here until the other replica's cut of X has read the
    same state and queue, so both really race for every user."""

    def __init__(self, barriers: dict[str, threading.Barrier]) -> None:
        super().__init__()
        self.barriers = barriers

    async def get_many(self, papers: Sequence[Paper]) -> dict[str, Summary]:
        user = papers[0].title.split()[0]  # the fill below titles each user's papers "<user> ..."
        self.barriers[user].wait(WAIT)
        return await super().get_many(papers)


def _fill(store: Store) -> dict[str, set[str]]:
    """Each user has one subscription and PAPERS_PER_USER queued papers; returns them."""
    queued: dict[str, set[str]] = {}
    number = 0
    for user in USERS:
        sub = store.subscriptions.add("slack", user, user.lower(), (), T0 - timedelta(days=1))
        papers = []
        for _ in range(PAPERS_PER_USER):
            number += 1
            papers.append(make_paper(number, title=f"{user} paper {number}"))
        store.papers.ingest(papers, T0)
        store.alert_queue.add([("slack", user, p.id, [sub.id]) for p in papers], T0)
        queued[user] = {p.id for p in papers}
    return queued


def _cut_concurrently(location: str, clocks: Sequence[datetime]) -> list[int]:
    """Two replicas (their own connections, threads and event loops, clocks a second apart)
    cut the batches of every user at once; returns how many DMs each enqueued."""
    barriers = {user: threading.Barrier(len(clocks)) for user in USERS}
    stores = [Store.open(location) for _ in clocks]
    enqueued: list[int] = []
    errors: list[BaseException] = []

    def replica(store: Store, now: datetime) -> None:
        try:
            settings = app_settings(alert_interval=3600, alert_max_items=10)
            enqueued.append(asyncio.run(cut_batches(store, MeetingSummaries(barriers), settings, now)))
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
            for barrier in barriers.values():
                barrier.abort()

    threads = [threading.Thread(target=replica, args=pair) for pair in zip(stores, clocks, strict=True)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT * 2)
    finally:
        for store in stores:
            store.close()
    assert not errors, errors
    return enqueued


def test_two_replicas_cutting_at_once_put_every_match_in_exactly_one_dm(store_location: str) -> None:
    setup = Store.open(store_location)
    queued = _fill(setup)
    setup.close()

    enqueued = _cut_concurrently(store_location, [T0 + timedelta(hours=1), T0 + timedelta(hours=1, seconds=1)])

    store = Store.open(store_location)
    try:
        rows = store.outbox.rows(kind="alert")
        assert sum(enqueued) == len(rows) == len(USERS)
        assert Counter(row.destination for row in rows) == dict.fromkeys(USERS, 1)
        keys = {row.key for row in rows}
        for user in USERS:
            # Every queued paper is consumed, by the user's one DM.
            assert store.alert_queue.waiting("slack", user) == []
            [row] = [row for row in rows if row.destination == user]
            assert row.key in keys and row.key.startswith(f"alert:slack:{user}:")
            assert f'"{PAPERS_PER_USER} new papers for your subscriptions"' in row.payload
            for paper_id in queued[user]:
                assert paper_id in row.payload
        shown = store.feedback.last_shown("slack", USERS[0])
        assert shown is not None and set(shown.paper_ids) == queued[USERS[0]]
    finally:
        store.close()


def test_a_batch_is_not_cut_from_rows_or_a_window_another_replica_took(any_store: Store) -> None:
    """The store's two claims: `claim` takes only rows still waiting (all or the caller rolls
    back), `claim_alert_window` moves `last_alert_at` only from the value the cutter read."""
    queued = _fill(any_store)
    user, other = USERS[0], USERS[1]
    ids = sorted(queued[user])
    assert any_store.alert_queue.claim("slack", user, ids[:2], "alert:first")
    with pytest.raises(RuntimeError), transaction(any_store.conn):
        if not any_store.alert_queue.claim("slack", user, ids, "alert:second"):  # two were taken
            raise RuntimeError("rolled back, as a cutter does")
    assert any_store.alert_queue.claim("slack", user, ids[2:], "alert:third")
    assert any_store.alert_queue.waiting("slack", user) == []
    assert not any_store.alert_queue.claim("slack", other, [ids[0]], "alert:not-theirs")

    first, second = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    assert any_store.users.claim_alert_window("slack", user, None, first)
    assert not any_store.users.claim_alert_window("slack", user, None, second)  # read before the first
    assert any_store.users.claim_alert_window("slack", user, first, second)
    assert any_store.users.get("slack", user).last_alert_at == second
