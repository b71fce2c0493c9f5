"""Outbox claims with leases (bot/store/outbox.py `claim_due`), on SQLite and PostgreSQL.

Several replicas on one PostgreSQL database divide the outbox between them: each due row is
claimed by one replica until its lease ends; concurrent claims never hand out the same row; a
lease that is not renewed (its holder died) is taken over; and a holder whose lease was taken
over can no longer write the row (its `start_part`, `record_part`, `mark_sent`, `reschedule`
and `mark_failed` are refused), so it cannot record over the new holder.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.core.clock import FakeClock, from_iso
from bot.core.models import Reply
from bot.core.outbox import OutboxKind
from bot.delivery.outbox import Delivery, enqueue
from bot.ports import Part
from bot.store import Store
from bot.store.backend import is_postgres
from tests.support.factories import T0
from tests.support.memory import InMemoryAdapter

LEASE = timedelta(seconds=30)


def _lease_now(store: Store, injected: datetime) -> datetime:
    """What "now" is for leases: the database's clock on PostgreSQL, the injected one on SQLite."""
    if not is_postgres(store.conn):
        return injected
    [[value]] = store.conn.execute(
        "SELECT to_char(statement_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
    ).fetchall()
    found = from_iso(value)
    assert found is not None
    return found


def _lapse(store: Store, holder: str) -> None:
    """Make `holder`'s leases end in the past, as if it stopped renewing them long ago (on
    PostgreSQL the lease clock is the server's, which a test cannot move)."""
    store.conn.execute(
        "UPDATE outbox SET lease_until = '2000-01-01T00:00:00+00:00' WHERE claimed_by = ? AND lease_until IS NOT NULL",
        (holder,),
    )


def _fill(store: Store, rows: int, at: datetime = T0) -> None:
    for n in range(rows):
        store.outbox.enqueue(f"digest:slack:C{n}:2026-11-23", "digest", "slack", f"C{n}", "{}", at)


def test_a_claimed_row_is_not_claimed_by_another_replica_until_its_lease_ends(any_store: Store) -> None:
    _fill(any_store, 3)
    before = _lease_now(any_store, T0)
    first = any_store.outbox.claim_due("replica-a", T0, LEASE, 2, platforms=["slack"])
    after = _lease_now(any_store, T0)
    assert [row.key for row in first] == ["digest:slack:C0:2026-11-23", "digest:slack:C1:2026-11-23"]
    assert {row.claimed_by for row in first} == {"replica-a"}
    assert first[0].lease_until is not None and before + LEASE <= first[0].lease_until <= after + LEASE
    second = any_store.outbox.claim_due("replica-b", T0, LEASE, 10, platforms=["slack"])
    assert [row.key for row in second] == ["digest:slack:C2:2026-11-23"]
    assert any_store.outbox.claim_due("replica-c", T0 + LEASE, LEASE, 10, platforms=["slack"]) == []
    # Its holder claims its own rows again (a new pass), with a fresh lease.
    later = T0 + timedelta(seconds=5)
    before = _lease_now(any_store, later)
    again = any_store.outbox.claim_due("replica-a", later, LEASE, 10, platforms=["slack"])
    assert [row.id for row in again] == [row.id for row in first]
    assert again[0].lease_until is not None and again[0].lease_until >= before + LEASE
    assert first[0].lease_until < again[0].lease_until


def test_an_expired_lease_is_taken_over_and_the_old_holder_is_refused(any_store: Store) -> None:
    _fill(any_store, 1)
    [row] = any_store.outbox.claim_due("dead", T0, LEASE, 10, platforms=["slack"])
    outbox = any_store.outbox
    assert outbox.start_sending(row.id, [{"text": "one"}, {"text": "two"}], T0, holder="dead")
    assert outbox.start_part(row.id, 0, 1, T0, holder="dead")
    # "dead" stops renewing; once its lease has passed another replica takes the row over,
    # with the dead holder's bookkeeping: part 0 started, its answer never recorded.
    later = T0 + LEASE + timedelta(seconds=1)
    assert outbox.claim_due("alive", later, LEASE, 10, platforms=["slack"]) == [] or not is_postgres(any_store.conn)
    _lapse(any_store, "dead")
    [taken] = outbox.claim_due("alive", later, LEASE, 10, platforms=["slack"])
    assert (taken.id, taken.claimed_by, taken.unanswered_part, taken.unanswered_sends) == (row.id, "alive", 0, 1)
    # The old holder, late, can record nothing over the new holder.
    assert not outbox.record_part(row.id, 0, "late-answer", later, holder="dead")
    assert not outbox.start_part(row.id, 1, 1, later, holder="dead")
    assert not outbox.mark_sent(row.id, later, holder="dead")
    assert not outbox.mark_failed(row.id, "late", later, holder="dead")
    outbox.reschedule(row.id, later + timedelta(hours=1), "late", later, count_attempt=True, holder="dead")
    assert outbox.renew("dead", later, LEASE) == 0
    unchanged = outbox.get_by_id(row.id)
    assert unchanged is not None
    assert (unchanged.state, unchanged.parts_sent, unchanged.attempts, unchanged.claimed_by) == ("sending", 0, 0, "alive")
    # The new holder resends part 0 once and finishes the row.
    assert outbox.start_part(row.id, 0, 2, later, holder="alive")
    assert outbox.record_part(row.id, 0, "m1", later, holder="alive")
    assert outbox.record_part(row.id, 1, "m2", later, holder="alive")
    assert outbox.mark_sent(row.id, later, holder="alive")
    done = outbox.get_by_id(row.id)
    assert done is not None and (done.state, done.delivery_ids, done.lease_until) == ("sent", ["m1", "m2"], None)


def test_on_sqlite_leases_follow_the_injected_clock(tmp_path: Path) -> None:
    """One process writes a SQLite store, so its one clock decides when a lease ends."""
    store = Store.open(str(tmp_path / "leases.db"))
    _fill(store, 1)
    [row] = store.outbox.claim_due("a", T0, LEASE, 10, platforms=["slack"])
    assert row.lease_until == T0 + LEASE
    assert store.outbox.claim_due("b", T0 + LEASE, LEASE, 10, platforms=["slack"]) == []
    assert store.outbox.renew("a", T0 + timedelta(seconds=20), LEASE) == 1
    assert store.outbox.claim_due("b", T0 + LEASE + timedelta(seconds=1), LEASE, 10, platforms=["slack"]) == []
    [taken] = store.outbox.claim_due("b", T0 + timedelta(seconds=20) + LEASE + timedelta(seconds=1), LEASE, 10, platforms=["slack"])
    assert (taken.id, taken.claimed_by) == (row.id, "b")
    assert store.outbox.renew("a", T0 + timedelta(seconds=60), LEASE) == 0
    store.close()


@pytest.mark.postgres
def test_on_postgres_leases_follow_the_database_clock_not_the_replicas(postgres_url: str) -> None:
    """Replicas' clocks disagree (or `PAPERBOT_CLOCK_START` moved one): a replica whose clock
    runs ten minutes ahead does not take a live claim over, one whose clock runs behind still
    renews its own, and only a lease past on the server's clock is taken over."""
    store = Store.open(postgres_url)
    try:
        _fill(store, 2, at=T0 - timedelta(hours=1))  # due by either replica's clock
        ahead, behind = T0 + timedelta(minutes=10), T0 - timedelta(minutes=10)
        held = store.outbox.claim_due("behind", behind, LEASE, 1, platforms=["slack"])
        assert [row.key for row in held] == ["digest:slack:C0:2026-11-23"]
        # Due by both clocks, but held: the replica ahead gets only the other row.
        assert [row.key for row in store.outbox.claim_due("ahead", ahead, LEASE, 10, platforms=["slack"])] == [
            "digest:slack:C1:2026-11-23"
        ]
        assert store.outbox.claim_due("ahead", ahead + timedelta(hours=1), LEASE, 10, platforms=["slack"])[0].claimed_by == "ahead"
        assert store.outbox.renew("behind", behind, LEASE) == 1  # its lease has not lapsed on the server's clock
        assert store.outbox.renew("ahead", ahead + timedelta(days=1), LEASE) == 1
        assert [row.claimed_by for row in store.outbox.rows()] == ["behind", "ahead"]
        _lapse(store, "behind")
        assert store.outbox.renew("behind", behind, LEASE) == 0
        [taken] = store.outbox.claim_due("ahead", ahead, LEASE, 1, platforms=["slack"])
        assert (taken.key, taken.claimed_by) == ("digest:slack:C0:2026-11-23", "ahead")
    finally:
        store.close()


def test_renewing_keeps_the_claim_and_releasing_or_rescheduling_gives_it_up(any_store: Store) -> None:
    _fill(any_store, 2)
    first, second = any_store.outbox.claim_due("a", T0, LEASE, 10, platforms=["slack"])
    assert any_store.outbox.renew("a", T0 + timedelta(seconds=20), LEASE) == 2
    # Past the first lease, but renewed: nobody else may take them.
    assert any_store.outbox.claim_due("b", T0 + timedelta(seconds=40), LEASE, 10, platforms=["slack"]) == []
    any_store.outbox.reschedule(first.id, T0, "429", T0, count_attempt=False, holder="a")
    assert any_store.outbox.release("a", second.id) == 1
    taken = any_store.outbox.claim_due("b", T0 + timedelta(seconds=40), LEASE, 10, platforms=["slack"])
    assert [row.id for row in taken] == [first.id, second.id]
    assert any_store.outbox.release("b") == 2


def test_claims_follow_what_is_due_platforms_and_keys(any_store: Store) -> None:
    _fill(any_store, 2)
    any_store.outbox.enqueue("alert:discord:U1:x", "alert", "discord", "U1", "{}", T0)
    assert any_store.outbox.claim_due("a", T0, LEASE, 10, platforms=[]) == []
    assert [r.platform for r in any_store.outbox.claim_due("a", T0, LEASE, 10, platforms=["discord"])] == ["discord"]
    keyed = any_store.outbox.claim_due("a", T0, LEASE, 10, platforms=["slack"], keys=["digest:slack:C1:2026-11-23"])
    assert [r.key for r in keyed] == ["digest:slack:C1:2026-11-23"]
    assert any_store.outbox.claim_due("a", T0, LEASE, 10, platforms=["slack"], keys=[]) == []
    row = any_store.outbox.get("digest:slack:C0:2026-11-23")
    assert row is not None
    any_store.outbox.reschedule(row.id, T0 + timedelta(hours=1), "later", T0, count_attempt=True)
    assert any_store.outbox.claim_due("b", T0, LEASE, 10, platforms=["slack"]) == []  # C0 not due, C1 held


@pytest.mark.postgres
def test_concurrent_claims_on_postgres_never_get_the_same_row(postgres_url: str) -> None:
    """Eight connections (eight replicas) claim at the same moment, over and over, until the
    outbox is empty: every row is claimed, and sent, exactly once (FOR UPDATE SKIP LOCKED)."""
    setup = Store.open(postgres_url)
    _fill(setup, 400)
    setup.close()
    stores = [Store.open(postgres_url) for _ in range(8)]
    claimed: dict[str, list[int]] = {f"r{n}": [] for n in range(8)}
    start = threading.Barrier(len(stores))

    def claim(name: str, store: Store) -> None:
        start.wait(30)
        while rows := store.outbox.claim_due(name, T0, LEASE, 7, platforms=["slack"]):
            for row in rows:  # delivered: a holder would otherwise claim its own rows again
                assert store.outbox.mark_sent(row.id, T0, holder=name)
                claimed[name].append(row.id)

    threads = [threading.Thread(target=claim, args=(name, store)) for name, store in zip(claimed, stores, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    every = [row_id for ids in claimed.values() for row_id in ids]
    for store in stores:
        store.close()
    assert len(every) == 400 and len(set(every)) == 400
    assert sum(1 for ids in claimed.values() if ids) > 1  # the work was really divided


class HoldingAdapter(InMemoryAdapter):
    """Sends like InMemoryAdapter, but each send waits for `release` (after setting `sending`):
    a replica caught mid-send, its claim live."""

    def __init__(self) -> None:
        super().__init__(platform="slack")
        self.sending = asyncio.Event()
        self.release = asyncio.Event()

    async def send(self, destination: str, part: Part) -> str:
        self.sending.set()
        await self.release.wait()
        return await super().send(destination, part)


@pytest.mark.postgres
async def test_replicas_with_clocks_ten_minutes_apart_do_not_take_each_others_live_claims(postgres_url: str) -> None:
    """Two replicas' deliveries on one PostgreSQL store, the second's clock ten minutes ahead
    (more than the lease): while the first is sending a DM, the second takes nothing over;
    the DM is sent once. (With lease times from each replica's clock the second saw the
    first's lease as long expired and sent the DM too.)"""
    store_a, store_b = Store.open(postgres_url), Store.open(postgres_url)
    try:
        reply = Reply(header="2 new papers for your subscriptions", text="one and two", private=False)
        assert enqueue(store_a, "alert:slack:U1:skew", OutboxKind.ALERT, "slack", "U1", reply, T0 - timedelta(hours=1))
        slow, other = HoldingAdapter(), InMemoryAdapter(platform="slack")
        first = Delivery(store_a, {"slack": slow}, FakeClock(T0), holder="replica-a", lease=LEASE)
        second = Delivery(store_b, {"slack": other}, FakeClock(T0 + timedelta(minutes=10)), holder="replica-b", lease=LEASE)
        sending = asyncio.create_task(first.deliver())
        await asyncio.wait_for(slow.sending.wait(), 30)
        assert await second.deliver() == 0
        assert other.sent == [] and other.opened_dms == []
        slow.release.set()
        assert await asyncio.wait_for(sending, 30) == 1
        assert len(slow.sent) == 1
        row = store_b.outbox.get("alert:slack:U1:skew")
        assert row is not None and (row.state, row.claimed_by, len(row.delivery_ids)) == ("sent", "replica-a", 1)
    finally:
        store_a.close()
        store_b.close()
