"""Replicas divide digest building (bot/digests/claims.py): builders on one PostgreSQL database
claim each batch of due slots, so two builders at the same tick build different channels, every
channel gets exactly one digest, and the slots a dead builder held are built by the other.

Each builder here is what one `paperbot run` replica has: its own Store (its own connection
pool) and its own work locks (`AdvisoryLocks`, one session of its own), on one database.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from bot.alerts.alerts import SCAN_WATERMARK
from bot.app.scheduler import Scheduler
from bot.core.clock import FakeClock
from bot.core.models import ChannelSettings, Paper, Summary
from bot.delivery.outbox import Delivery
from bot.digests.claims import SlotClaims, claim_name
from bot.digests.job import DigestJob
from bot.digests.personal import PersonalDigests, schedule_of
from bot.digests.schedule import Slot, latest_slot
from bot.rank.ranking import Ranker
from bot.store import Store
from bot.store.feedback import PersonalDigest
from bot.store.lock import AdvisoryLocks, ProcessLocks
from tests.support.factories import T0, FakeSummaries, app_settings, make_paper

CHANNELS = 200
TOPICS = ("llm", "rl", "cv", "agents")
DAY = T0.date().isoformat()


def seed(store: Store) -> None:
    """Papers of the last hours and CHANNELS channels whose digest is due at T0, on time."""
    rng = random.Random(7)
    papers = [
        make_paper(n, title=f"Study {n} of {rng.choice(TOPICS)}", published=T0 - timedelta(hours=1, minutes=n))
        for n in range(1, 61)
    ]
    store.papers.ingest(papers, T0 - timedelta(minutes=30))
    for paper in papers:
        store.papers.set_topics(paper.id, rng.sample(TOPICS, rng.randint(0, 2)))
    for i in range(CHANNELS):
        store.channels.save(
            ChannelSettings(
                platform="slack",
                channel_id=f"C{i:04d}",
                topics=tuple(rng.sample(TOPICS, rng.randint(0, 1))),
                max_items=rng.choice((3, 5)),
                quiet_note=True,  # every channel posts something: a digest or the quiet note
                days=tuple(range(7)),
                time_of_day=T0.time(),
            ),
            T0 - timedelta(days=5),
        )


class Meeting:
    """Makes each builder wait, in its first summaries call (with its first batch claimed),
    until the other builder has claimed a batch too: both are then building at once."""

    def __init__(self, builders: int) -> None:
        self.builders = builders
        self.arrived: set[str] = set()
        self.everyone = asyncio.Event()


class MeetingSummaries(FakeSummaries):
    """FakeSummaries that meet (see Meeting) before their first answer."""

    def __init__(self, store: Store, name: str, meeting: Meeting) -> None:
        super().__init__(store)
        self.name, self.meeting = name, meeting

    async def get_many(self, papers: Sequence[Paper]) -> dict[str, Summary]:
        self.meeting.arrived.add(self.name)
        if len(self.meeting.arrived) == self.meeting.builders:
            self.meeting.everyone.set()
        try:
            await asyncio.wait_for(self.meeting.everyone.wait(), 120)
        except TimeoutError:
            raise AssertionError(f"{self.name} holds a batch but no other builder got one") from None
        return await super().get_many(papers)


class HeldSummaries(FakeSummaries):
    """FakeSummaries whose first call stops (its builder holding its claimed batch) until let go."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.holding = asyncio.Event()
        self.let_go = asyncio.Event()

    async def get_many(self, papers: Sequence[Paper]) -> dict[str, Summary]:
        self.holding.set()
        await self.let_go.wait()
        return await super().get_many(papers)


class RecordingJob(DigestJob):
    """The digest job, noting the channels of every batch it builds."""

    def __init__(self, **arguments: Any) -> None:
        super().__init__(**arguments)
        self.built: list[str] = []

    async def _handle_batch(self, due: list[tuple[ChannelSettings, Slot]], *args: Any) -> int:
        self.built += [settings.key for settings, _ in due]
        return await super()._handle_batch(due, *args)


@pytest.fixture
def stores(postgres_url: str) -> Iterator[tuple[Store, Store]]:
    """Two replicas' stores on the one seeded database."""
    first, second = Store.open(postgres_url), Store.open(postgres_url)
    seed(first)
    yield first, second
    first.close()
    second.close()


def written(store: Store) -> tuple[dict[str, int], dict[str, int], int]:
    """Runs per channel, outbox rows per destination, and delivered-paper rows counted twice
    for one channel (a digest written twice would record its papers again)."""
    runs: dict[str, int] = {}
    for key, count in store.conn.execute("SELECT channel_key, COUNT(*) FROM digest_runs GROUP BY channel_key"):
        runs[key] = int(count)
    rows: dict[str, int] = {}
    for destination, count in store.conn.execute("SELECT destination, COUNT(*) FROM outbox GROUP BY destination"):
        rows[destination] = int(count)
    twice = store.conn.execute(
        "SELECT COUNT(*) FROM (SELECT channel_key, paper_id FROM delivered_papers "
        "GROUP BY channel_key, paper_id HAVING COUNT(*) > 1) AS repeated"
    ).fetchone()[0]
    return runs, rows, int(twice)


async def session_gone(postgres_url: str, application_name: str) -> None:
    """Wait until the server has ended the sessions of `application_name` (a closed or
    terminated connection's backend exits, releasing its locks, a moment later)."""
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        for _ in range(600):
            # Its backend gone, and no advisory lock left to a backend that is gone.
            left = admin.execute(
                """SELECT (SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = %s)
                   + (SELECT COUNT(*) FROM pg_locks AS l WHERE l.locktype = 'advisory'
                      AND NOT EXISTS (SELECT 1 FROM pg_stat_activity AS a WHERE a.pid = l.pid))""",
                (application_name,),
            ).fetchone()
            if left is not None and left[0] == 0:
                return
            await asyncio.sleep(0.05)
    raise AssertionError(f"the sessions of {application_name!r} never ended")


def every_channel_once(store: Store) -> None:
    runs, rows, twice = written(store)
    assert sorted(runs) == [f"slack:C{i:04d}" for i in range(CHANNELS)]
    assert set(runs.values()) == {1}
    assert sorted(rows) == [f"C{i:04d}" for i in range(CHANNELS)] and set(rows.values()) == {1}
    assert twice == 0


@pytest.mark.postgres
async def test_two_builders_at_one_tick_build_different_channels_and_every_channel_once(
    stores: tuple[Store, Store], postgres_url: str
) -> None:
    meeting = Meeting(2)
    locks = [AdvisoryLocks(postgres_url), AdvisoryLocks(postgres_url)]
    jobs = [
        RecordingJob(
            store=store, settings=app_settings(), summaries=MeetingSummaries(store, name, meeting), locks=lock
        )
        for store, name, lock in zip(stores, ("a", "b"), locks, strict=True)
    ]
    try:
        counts = await asyncio.gather(*(job.run_due(T0) for job in jobs))
    finally:
        for lock in locks:
            lock.close()
    # Both built (each met the other holding a batch of its own), never the same channel, and
    # together every channel once.
    assert meeting.arrived == {"a", "b"}
    assert all(count > 0 for count in counts), counts
    assert sum(counts) == CHANNELS
    first, second = (job.built for job in jobs)
    assert first and second and not set(first) & set(second)
    assert sorted(first + second) == [f"slack:C{i:04d}" for i in range(CHANNELS)]
    assert [job.failures for job in jobs] == [0, 0]
    every_channel_once(stores[0])
    # The next tick of either finds nothing left.
    assert await jobs[1].run_due(T0 + timedelta(seconds=1)) == 0


@pytest.mark.postgres
async def test_a_dead_builders_claimed_channels_are_built_by_the_other_and_never_twice(
    stores: tuple[Store, Store], postgres_url: str
) -> None:
    dying_store, survivor_store = stores
    dying_locks = AdvisoryLocks(postgres_url, application_name="digest builder about to die")
    survivor_locks = AdvisoryLocks(postgres_url)
    held = HeldSummaries(dying_store)
    dying = RecordingJob(store=dying_store, settings=app_settings(), summaries=held, locks=dying_locks)
    survivor = RecordingJob(
        store=survivor_store, settings=app_settings(), summaries=FakeSummaries(survivor_store), locks=survivor_locks
    )
    try:
        stalled = asyncio.create_task(dying.run_due(T0))
        await asyncio.wait_for(held.holding.wait(), 120)  # it holds its first batch, unwritten
        # While it lives, the survivor builds everything but what it holds.
        first = await survivor.run_due(T0)
        runs, _, _ = written(survivor_store)
        assert 0 < first < CHANNELS and len(runs) == first
        claimed = [f"slack:C{i:04d}" for i in range(CHANNELS) if f"slack:C{i:04d}" not in runs]
        assert sorted(survivor.built) == sorted(runs) and sorted(dying.built) == claimed
        assert not survivor_locks.try_lock_many([claim_name(key, DAY) for key in claimed])
        # It dies: the server ends its session (as when the process is killed), and its claims with it.
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                ("digest builder about to die",),
            )
        await session_gone(postgres_url, "digest builder about to die")
        # The survivor's next tick builds the dead builder's channels.
        second = await survivor.run_due(T0 + timedelta(seconds=1))
        assert first + second == CHANNELS and second == len(claimed)
        assert sorted(survivor.built) == [f"slack:C{i:04d}" for i in range(CHANNELS)]
        every_channel_once(survivor_store)
        # A builder that was only stalled, not dead, and wakes up now writes nothing twice.
        held.let_go.set()
        assert await asyncio.wait_for(stalled, 120) == 0
        assert sorted(dying.built) == claimed  # it built only its own batch, and wrote none of it
        every_channel_once(survivor_store)
    finally:
        held.let_go.set()
        dying_locks.close()
        survivor_locks.close()


@pytest.mark.postgres
def test_claims_skip_slots_another_builder_holds_or_handled(stores: tuple[Store, Store], postgres_url: str) -> None:
    store, other_store = stores
    mine, theirs = AdvisoryLocks(postgres_url), AdvisoryLocks(postgres_url)
    try:
        due = DigestJob(store=store, settings=app_settings(), summaries=FakeSummaries(store)).due_channels(T0)
        assert len(due) == CHANNELS
        # Another builder holds the first 30 slots and has written the digest of slot 40.
        theirs.try_lock_many([claim_name(s.key, slot.key) for s, slot in due[:30]])
        other_store.channels.record_run(due[40][0].key, DAY, "empty", None, 0, T0)
        claims = SlotClaims(store, mine)
        batch, rest = claims.take(due, 50)
        # The 50 next free and unhandled ones, in order; the rest untried.
        expected = [entry for entry in due[30:81] if entry is not due[40]]
        assert [s.key for s, _ in batch] == [s.key for s, _ in expected]
        assert [s.key for s, _ in rest] == [s.key for s, _ in due[81:]]
        # Claimed slots are this builder's until it lets go; the handled one was let go at once.
        assert not theirs.try_lock_many([claim_name(s.key, slot.key) for s, slot in batch])
        assert theirs.try_lock(claim_name(due[40][0].key, DAY))
        claims.release(batch)
        assert len(theirs.try_lock_many([claim_name(s.key, slot.key) for s, slot in batch])) == 50
    finally:
        mine.close()
        theirs.close()


@pytest.mark.postgres
async def test_personal_digests_are_divided_by_the_same_claims(stores: tuple[Store, Store], postgres_url: str) -> None:
    store, other_store = stores
    clock = FakeClock(T0)
    people = [f"U{n:03d}" for n in range(6)]
    for user in people:
        store.feedback.save_personal_digest(PersonalDigest("slack", user, time_of_day=T0.time()), T0 - timedelta(days=2))
    holder = AdvisoryLocks(postgres_url, application_name="personal digest holder")
    locks = AdvisoryLocks(postgres_url)
    try:
        held_person = "slack:@U002"
        settings = next(s for s in (_schedule(store, user) for user in people) if s.key == held_person)
        slot = latest_slot(settings, T0, not_before=T0 - timedelta(days=2))
        assert slot is not None and holder.try_lock(claim_name(held_person, slot.key))
        ranker = Ranker(other_store, clock)
        job = PersonalDigests(store=other_store, ranker=ranker, summaries=FakeSummaries(other_store), clock=clock, locks=locks)
        await job.run_due(T0)
        handled = {key for (key,) in store.conn.execute("SELECT channel_key FROM digest_runs")}
        assert handled == {f"slack:@{user}" for user in people} - {held_person}
        holder.close()  # the holder is gone: the next tick writes that person's digest too
        await session_gone(postgres_url, "personal digest holder")
        await job.run_due(T0 + timedelta(seconds=1))
        runs, _, _ = written(store)
        assert sorted(runs) == sorted(f"slack:@{user}" for user in people) and set(runs.values()) == {1}
    finally:
        holder.close()
        locks.close()


def _schedule(store: Store, user: str) -> ChannelSettings:
    digest = store.feedback.personal_digest("slack", user)
    assert digest is not None
    return schedule_of(digest)


def test_on_sqlite_every_claim_is_granted_in_order() -> None:
    store = Store.open(":memory:")
    try:
        seed(store)
        due = DigestJob(store=store, settings=app_settings(), summaries=FakeSummaries(store)).due_channels(T0)
        claims = SlotClaims(store, ProcessLocks())
        batch, rest = claims.take(due, 100)
        assert batch == due[:100] and rest == due[100:]
    finally:
        store.close()


class RefusingLocks(ProcessLocks):
    """Work locks of one process that another holds some of (`refused`), noting what is held."""

    def __init__(self, refused: set[str]) -> None:
        self.refused = refused
        self.held: set[str] = set()

    def try_lock_many(self, names: Sequence[str]) -> list[str]:
        granted = [name for name in dict.fromkeys(names) if name not in self.refused]
        self.held.update(granted)
        return granted

    def unlock_many(self, names: Sequence[str]) -> None:
        self.held.difference_update(names)


def test_a_claim_that_fails_halfway_lets_go_of_what_it_took(monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store.open(":memory:")
    try:
        seed(store)
        due = DigestJob(store=store, settings=app_settings(), summaries=FakeSummaries(store)).due_channels(T0)
        locks = RefusingLocks({claim_name(s.key, slot.key) for s, slot in due[:20]})
        claims = SlotClaims(store, locks)
        reads = 0
        handled_slots = store.channels.handled_slots

        def failing_second_time(slots: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
            nonlocal reads
            reads += 1
            if reads == 2:
                raise RuntimeError("the database went away")
            return handled_slots(slots)

        monkeypatch.setattr(store.channels, "handled_slots", failing_second_time)
        with pytest.raises(RuntimeError):
            claims.take(due, 150)  # 130 of the first 150, then the next 20 fail
        assert reads == 2 and locks.held == set()
        monkeypatch.setattr(store.channels, "handled_slots", handled_slots)
        batch, _ = claims.take(due, 150)
        assert len(batch) == 150 and len(locks.held) == 150
    finally:
        store.close()


@pytest.mark.postgres
async def test_the_scheduler_builds_digests_while_another_replica_holds_the_step_locks(
    stores: tuple[Store, Store], postgres_url: str
) -> None:
    """The digest step runs on every replica (no step-wide lock any more: the slots are
    claimed); the alert step still runs on one replica at a time."""
    store, _ = stores
    other = AdvisoryLocks(postgres_url, application_name="the other replica's locks")
    mine = AdvisoryLocks(postgres_url)
    try:
        assert other.try_lock_many(["scheduler:digests", "scheduler:personal digests", "scheduler:alerts"])
        clock = FakeClock(T0)
        summaries = FakeSummaries(store)
        job = DigestJob(store=store, settings=app_settings(), summaries=summaries, locks=mine)
        scheduler = Scheduler(
            digests=job, store=store, settings=app_settings(), summaries=summaries,
            delivery=Delivery(store, {}, clock), clock=clock, locks=mine,
        )
        result = await scheduler.tick(T0)
        assert result["digests"] == CHANNELS and result["failed"] == 0
        assert store.alert_queue.watermark(SCAN_WATERMARK) is None  # the alert step was the other's
        other.close()
        await session_gone(postgres_url, "the other replica's locks")
        await scheduler.tick(T0 + timedelta(seconds=1))
        assert store.alert_queue.watermark(SCAN_WATERMARK) is not None
    finally:
        other.close()
        mine.close()
