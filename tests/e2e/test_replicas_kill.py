"""Three `paperbot run` replicas on one PostgreSQL database divide the work, and survive kill -9.

Three real processes share a throwaway PostgreSQL database (tests/support/postgres.py), the fake
Slack (HTTP mode; chat.postMessage answers 0.5 s after it posted) and the fake Discord. The store
holds 36 Slack and 10 Discord channels whose daily digest falls due as they start, and 28
people with alert subscriptions whose queued matches make an alert batch each, in six waves
(the next queued once the last is batched). While the replicas build digests, cut alert batches
and deliver them, a replica is killed with SIGKILL ten times (one holding claimed rows when
there is one, at a random moment), and restarted (under a new replica id, as a restarted
container would be) at once. The lease is 3 s.

Counted where the messages land, at the fakes:
- every channel got exactly one digest (one outbox row of that day, every part arrived);
- every alert batch (outbox row) arrived, every part of it;
- a part arrived twice at most, and only a part whose send a killed replica had started
  (`start_part` recorded) without recording its answer: read from the database at each kill;
- the rows a killed replica had claimed were all taken over by the others (its id is on no
  unfinished row afterwards); how long that took after the kill is printed with the figures.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.core.clock import system_clock
from bot.core.models import ChannelSettings
from bot.core.outbox import OutboxKind
from bot.store import Store
from tests.support.delivery_faults import finish, kill_leftovers, start_bot
from tests.support.discord_api import APP_ID, TOKEN, FakeDiscord
from tests.support.factories import make_paper
from tests.support.processes import RunningBot, child_env
from tests.support.slack_api import FakeSlack, fake_slack

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

# The replicas run on the machine's clock: processes started at different moments must agree
# on the time (an injected clock starts when its process does, seconds apart under load).
START = system_clock().replace(microsecond=0)
REPLICAS = 3
KILLS = 10
LEASE_SECONDS = 3.0
SLOW_POST = 0.5  # seconds the fake Slack takes to answer chat.postMessage
SLACK_CHANNELS = [f"CREPL{n:02d}" for n in range(36)]
DISCORD_CHANNELS = [str(1300000000000000100 + n) for n in range(10)]
SLACK_USERS = [f"UREPL{n:02d}" for n in range(20)]
DISCORD_USERS = [str(1400000000000000100 + n) for n in range(8)]
WAVES = 6
PAPERS_PER_WAVE = 12

PartKey = tuple[str, str]  # (where it arrived, what it said)


@pytest.fixture(autouse=True)
async def no_bot_left_running() -> AsyncIterator[None]:
    yield
    await kill_leftovers()


def seed(url: str) -> dict[tuple[str, str], int]:
    """Papers, channels with a digest due at 09:00, and one subscription per person; returns
    each person's subscription id."""
    store = Store.open(url)
    try:
        papers = [
            make_paper(n, title=f"Replica study {n:03d} of wave {n // PAPERS_PER_WAVE}", published=START - timedelta(hours=2, minutes=n))
            for n in range(WAVES * PAPERS_PER_WAVE)
        ]
        store.papers.ingest(papers, START - timedelta(hours=1))
        for platform, channels in (("slack", SLACK_CHANNELS), ("discord", DISCORD_CHANNELS)):
            for channel in channels:
                store.channels.save(
                    ChannelSettings(
                        platform=platform, channel_id=channel, days=tuple(range(7)), max_items=8,
                        time_of_day=time_of_day(START.hour, START.minute),  # due this minute
                    ),
                    START - timedelta(days=1),
                )
        subscriptions = {}
        for platform, users in (("slack", SLACK_USERS), ("discord", DISCORD_USERS)):
            for user in users:
                sub = store.subscriptions.add(platform, user, "nothing-ever-matches-this", (), START - timedelta(days=1))
                subscriptions[(platform, user)] = sub.id
        return subscriptions
    finally:
        store.close()


def queue_wave(url: str, subscriptions: dict[tuple[str, str], int], wave: int, now: datetime) -> None:
    """Queue three of the wave's papers for every person: one alert batch each, when due."""
    store = Store.open(url)
    try:
        ids = [make_paper(n).id for n in range(wave * PAPERS_PER_WAVE, (wave + 1) * PAPERS_PER_WAVE)]
        matches = [
            (platform, user, ids[(k + i) % len(ids)], [sub_id])
            for k, ((platform, user), sub_id) in enumerate(subscriptions.items())
            for i in range(3)
        ]
        store.alert_queue.add(matches, now)
    finally:
        store.close()


def query(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows read with a connection of the test's own (the replicas are running)."""
    with psycopg.connect(url, autocommit=True) as conn:
        return list(conn.execute(sql, params).fetchall())


@dataclass
class Replicas:
    """The three replica slots, each running one process at a time."""

    url: str
    slack: FakeSlack
    discord: FakeDiscord
    root: Path
    bots: list[RunningBot] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    generation: int = 0

    def env(self, slot: int, replica_id: str) -> dict[str, str]:
        return child_env(
            self.root / f"replica{slot}",
            PAPERBOT_DB=self.url,
            PAPERBOT_REPLICA_ID=replica_id,
            OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS),
            SCHEDULER_TICK="0.5",
            ALERT_INTERVAL="4",
            SLACK_BOT_TOKEN="xoxb-replicas",
            SLACK_SIGNING_SECRET="replicas-signing-secret",
            SLACK_API_URL=self.slack.api_url,
            DISCORD_TOKEN=TOKEN,
            DISCORD_APPLICATION_ID=APP_ID,
            DISCORD_API_URL=self.discord.api_url,
            DISCORD_GATEWAY_URL=self.discord.gateway_url,
            HTTP_HOST="127.0.0.1",
            HTTP_PORT="0",
        )

    async def start(self, slot: int) -> None:
        self.generation += 1
        replica_id = f"replica{slot}-start{self.generation}"
        bot = await start_bot(self.env(slot, replica_id))
        if slot < len(self.bots):
            self.bots[slot], self.ids[slot] = bot, replica_id
        else:
            self.bots.append(bot)
            self.ids.append(replica_id)

    async def kill(self, slot: int) -> str:
        bot = self.bots[slot]
        assert bot.process.returncode is None, bot.log[-3000:]
        bot.process.send_signal(signal.SIGKILL)
        await finish(bot)
        return self.ids[slot]

    async def all_running(self) -> None:
        """Wait until every replica runs (signals are handled from then on)."""
        deadline = time.monotonic() + 300
        while not all(bot.running.is_set() for bot in self.bots):
            assert time.monotonic() < deadline, [bot.log[-2000:] for bot in self.bots]
            for bot in self.bots:
                assert bot.process.returncode is None, bot.log[-3000:]
            await asyncio.sleep(0.05)

    async def stop_all(self) -> None:
        await self.all_running()
        for bot in self.bots:
            if bot.process.returncode is None:
                bot.process.send_signal(signal.SIGTERM)
        for bot in self.bots:
            assert await finish(bot) == 0, bot.log[-3000:]


def unfinished_claims(url: str, holder: str) -> list[tuple[int, int | None]]:
    """(row id, unanswered part) of the unfinished rows `holder` claims."""
    return [
        (int(row_id), part)
        for row_id, part in query(
            url,
            "SELECT id, unanswered_part FROM outbox WHERE claimed_by = %s AND state IN ('pending', 'sending')",
            (holder,),
        )
    ]


async def taken_over(url: str, holder: str, killed_at: float) -> float:
    """Seconds from the kill until no unfinished row is claimed by the dead replica any more
    (the wait has a bound only so that a hang fails the test)."""
    deadline = killed_at + 120
    while unfinished_claims(url, holder):
        assert time.monotonic() < deadline, f"the rows {holder} held were never taken over"
        await asyncio.sleep(0.1)
    return time.monotonic() - killed_at


def waiting_alerts(url: str) -> int:
    """Queued matches not in an alert batch yet."""
    return int(query(url, "SELECT COUNT(*) FROM alert_queue WHERE outbox_key IS NULL")[0][0])


async def pick_victim(replicas: Replicas, rng: random.Random) -> int:
    """The slot to kill, once every replica runs (so that two survive): one holding claimed
    rows (sending, or about to) when there is one within a few seconds, else any (building
    digests or batches, or idle)."""
    await replicas.all_running()
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        holding = [slot for slot in range(REPLICAS) if unfinished_claims(replicas.url, replicas.ids[slot])]
        if holding:
            return rng.choice(holding)
        await asyncio.sleep(0.05)
    return rng.randrange(REPLICAS)


def all_done(url: str, waves_queued: int) -> bool:
    """Every digest written and every queued alert batched, and every outbox row sent."""
    states = dict(query(url, "SELECT state, COUNT(*) FROM outbox GROUP BY state"))
    digests = query(url, "SELECT COUNT(*) FROM digest_runs")[0][0]
    waiting = query(url, "SELECT COUNT(*) FROM alert_queue WHERE outbox_key IS NULL")[0][0]
    channels = len(SLACK_CHANNELS) + len(DISCORD_CHANNELS)
    return waves_queued == WAVES and digests == channels and waiting == 0 and set(states) == {"sent"}


def _discord_key(channel: str, part: dict[str, Any]) -> PartKey:
    embeds = [(e.get("title"), e.get("description")) for e in part.get("embeds") or []]
    return channel, json.dumps([part.get("content") or "", embeds], sort_keys=True)


def _slack_key(channel: str, part: dict[str, Any]) -> PartKey:
    return channel, json.dumps(part.get("blocks"), sort_keys=True)


def expected_parts(url: str, discord: FakeDiscord) -> dict[PartKey, tuple[int, int]]:
    """Every part the outbox rendered, keyed as it arrives at its fake -> (row id, index)."""
    expected: dict[PartKey, tuple[int, int]] = {}
    for row_id, kind, platform, destination, parts in query(
        url, "SELECT id, kind, platform, destination, parts FROM outbox ORDER BY id"
    ):
        is_dm = OutboxKind(kind).is_dm
        for index, part in enumerate(json.loads(parts or "[]")):
            if platform == "slack":
                key = _slack_key(f"D{destination}" if is_dm else destination, part)
            else:
                key = _discord_key(discord.dm_channels.get(destination, "?") if is_dm else destination, part)
            assert key not in expected, key
            expected[key] = (int(row_id), index)
    return expected


def arrived(slack: FakeSlack, discord: FakeDiscord) -> Counter[PartKey]:
    """How many times each part reached a fake."""
    counts: Counter[PartKey] = Counter(
        _slack_key(str(call.body.get("channel")), call.body) for call in slack.calls_to("chat.postMessage") if call.ok
    )
    counts.update(_discord_key(channel, payload) for channel, payload in discord.messages)
    return counts


async def test_three_replicas_killed_ten_times_deliver_every_digest_and_alert_once(tmp_path: Path, postgres_url: str) -> None:
    rng = random.Random(19)
    subscriptions = seed(postgres_url)
    queue_wave(postgres_url, subscriptions, 0, START)
    async with fake_slack() as slack, FakeDiscord() as discord:
        slack.slow("chat.postMessage", SLOW_POST)
        replicas = Replicas(postgres_url, slack, discord, tmp_path)
        for slot in range(REPLICAS):
            await replicas.start(slot)
        interrupted: set[tuple[int, int]] = set()  # (row id, part) a killed replica left unanswered
        takeovers: list[asyncio.Task[float]] = []
        held_at_kills: list[int] = []
        waves = 1
        for _ in range(KILLS):
            slot = await pick_victim(replicas, rng)
            await asyncio.sleep(rng.uniform(0, SLOW_POST / 2))  # any moment: mid-send, between parts ...
            dead = await replicas.kill(slot)
            killed_at = time.monotonic()
            held = unfinished_claims(postgres_url, dead)
            held_at_kills.append(len(held))
            interrupted |= {(row_id, part) for row_id, part in held if part is not None}
            takeovers.append(asyncio.create_task(taken_over(postgres_url, dead, killed_at)))
            await replicas.start(slot)
            if waves < WAVES and not waiting_alerts(postgres_url):  # the next wave once the last is batched
                queue_wave(postgres_url, subscriptions, waves, system_clock())
                waves += 1
        seconds = await asyncio.gather(*takeovers)
        deadline = time.monotonic() + 180
        while waves < WAVES:  # the kills ended first (a fast machine): the last waves without kills
            assert time.monotonic() < deadline, "alerts were never batched"
            if not waiting_alerts(postgres_url):
                queue_wave(postgres_url, subscriptions, waves, system_clock())
                waves += 1
            await asyncio.sleep(0.2)
        deadline = time.monotonic() + 180
        while not all_done(postgres_url, waves):
            assert time.monotonic() < deadline, query(postgres_url, "SELECT state, COUNT(*) FROM outbox GROUP BY state")
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # a replica that wrongly resent something would still be posting
        await replicas.stop_all()
        expected = expected_parts(postgres_url, discord)
        counts = arrived(slack, discord)

    rows = query(postgres_url, "SELECT kind, platform, destination, claimed_by FROM outbox")
    digests = Counter((platform, destination) for kind, platform, destination, _ in rows if kind == OutboxKind.DIGEST.value)
    alerts = sum(1 for kind, *_ in rows if kind == OutboxKind.ALERT.value)
    duplicated = {expected[key]: counts[key] for key in expected if counts[key] > 1}
    missing = [expected[key] for key in expected if counts[key] == 0]
    unexpected = [key for key in counts if key not in expected]
    senders = Counter(str(holder).split("-", 1)[0] for *_, holder in rows)
    # A wave's matches of one person are queued in one statement and the next wave only once
    # the last is batched: each (person, wave) is exactly one DM, never split over several.
    batches_of: dict[tuple[str, str, int], set[str]] = {}
    for platform, user, paper_id, outbox_key in query(postgres_url, "SELECT platform, user_id, paper_id, outbox_key FROM alert_queue"):
        batches_of.setdefault((platform, user, int(paper_id.split(".")[1]) // PAPERS_PER_WAVE), set()).add(str(outbox_key))
    split = {who: keys for who, keys in batches_of.items() if len(keys) > 1}
    expected_batches = (len(SLACK_USERS) + len(DISCORD_USERS)) * WAVES
    figures = {
        "kills": KILLS, "parts": len(expected), "messages": sum(counts.values()), "digests": len(digests),
        "alert_batches": alerts, "duplicated_parts": len(duplicated), "interrupted_parts_at_kills": len(interrupted),
        "missing": len(missing), "rows_held_at_each_kill": held_at_kills,
        "takeover_seconds": [round(s, 2) for s in seconds], "lease_seconds": LEASE_SECONDS,
        "rows_sent_by_slot": dict(senders), "alert_batches_expected": expected_batches,
        "split_alert_batches": len(split),
    }
    print(f"\nreplicas: {json.dumps(figures)}")
    # Every channel exactly one digest of the day, every part of it and of every alert batch arrived.
    assert sorted(digests) == sorted([("slack", c) for c in SLACK_CHANNELS] + [("discord", c) for c in DISCORD_CHANNELS])
    assert set(digests.values()) == {1}
    assert split == {} and len(batches_of) == expected_batches, split
    assert alerts == expected_batches
    assert missing == [] and unexpected == []
    # A duplicate only where a killed replica had started a send without recording its answer.
    assert all(copies == 2 for copies in duplicated.values()), duplicated
    assert set(duplicated) <= interrupted, (duplicated, interrupted)
    # The work was divided: rows were sent by more than one replica slot.
    assert len(senders) > 1, senders
