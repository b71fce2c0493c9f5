"""Replicas on PostgreSQL under load: N `paperbot run` processes, 1,000 channels, 10,000
subscriptions, the fake Slack and the fake Discord. Prints one JSON object.

What runs (each scenario on a fresh database of one throwaway PostgreSQL server,
tests/support/postgres.py):

1. The bench process seeds the store through paperbot's own Store: `--papers` real arXiv
   papers (bench/corpus.py, ~1,000 a day, the newest an hour old) with their topics, and
   `--subscriptions` alert subscriptions (three per user, as bench_alerts_digests writes them;
   users alternate between Slack and Discord). The alert scan watermark is set to now, so
   alerts come only from papers that arrive during the run.
2. It starts the fake Slack (Web API, HTTP mode) and the fake Discord (REST and gateway) on
   127.0.0.1, both recording the arrival time of every message, then `--replicas` `paperbot
   run` subprocesses on the one database (each its own data dir and web port), on the real
   clock, scheduler tick 1 s, no live sources.
3. Once they run, it adds `--channels` channels (half Slack, half Discord, 0-3 topics, 5-20
   papers, the quiet-day note on so that every channel posts once) whose digest slots are whole
   UTC minutes spread over `--spread` minutes, starting at the second minute boundary from now.
   At the first slot it ingests `--new-papers` new papers (a day's announcement, as a fetching
   replica would; holding the alert step's lock meanwhile, see `ingest_guarded`), which the
   alert matchers then match against every subscription.
4. With a kill, replica 0 gets SIGKILL once half the channels have their digest at the fakes;
   with one replica it is started again at once under a new replica id (nothing else would
   deliver), with several the survivors carry on: they take over its claimed messages once its
   lease expires (`--lease`, else paperbot's OUTBOX_LEASE_SECONDS).
5. It waits until every channel has its digest, a replica has scanned the new papers for
   alerts and put every match in a DM, and the outbox has nothing pending or being sent (or
   `--timeout`), then SIGTERMs the replicas.

Reported per scenario, counted at the fakes:
- `digest_latency_s`: per channel, from its slot to the arrival of its digest's last part
  (p50, p99, max), and how many channels got no digest (`missing_digests`);
- `alert_latency_s`: per user DM'd, from the new papers' ingest to the DM's first part;
- `parts_per_s`: message parts over the span from the first to the last arrival (all parts,
  and digest parts alone); per destination, parts the outbox rendered vs parts that arrived:
  `duplicates` (arrived beyond what was rendered: a part sent twice) and `missing_parts`, per
  platform too, with `identical_copies` (byte-identical bodies) beside;
- `cpu_s` of every replica (user + system, from /proc, sampled until it exits), of the
  PostgreSQL server (every backend) and of this process (the fakes), beside wall time: the
  machine may be shared, so compare CPU seconds first;
- each replica's share of the digest building (`digest_slots_built`: the slots it claimed and
  handled, from its log; a paperbot before slot claims logs none), exit code, tracebacks with the commonest exception lines (`--logs DIR`
  keeps the whole logs) and, when it refused to start, what it said (before several replicas
  can share one database, a second `paperbot run` is refused by the store's writer lock).

    .venv/bin/python -m bench.bench_replicas [--replicas 3] [--channels 1000] [--subscriptions 10000]
        [--papers 20000] [--new-papers 500] [--spread 3] [--kill-halfway | --no-kill] [--quick]
        [--lease SECONDS] [--timeout 900] [--logs DIR]

Without `--kill-halfway` or `--no-kill` both scenarios run, the plain one first. `--quick`:
100 channels, 1,000 subscriptions, 3,000 papers, 100 new papers, slots over one minute.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import os
import random
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.bench_alerts_digests import TOPIC_IDS, make_subscriptions
from bench.corpus import corpus_topics, synthetic_papers
from bot.alerts.alerts import SCAN_WATERMARK
from bot.alerts.matcher import AlertMatcher
from bot.core.clock import system_clock
from bot.core.models import ChannelSettings, Paper
from bot.store import Store
from bot.store.db import transaction
from bot.store.lock import AdvisoryLocks
from tests.support.discord_api import APP_ID, GUILD_ID, TOKEN, FakeDiscord
from tests.support.postgres import PostgresServer
from tests.support.processes import REPO, RunningBot, child_env
from tests.support.slack_api import FakeSlack

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SLACK_TOKEN = "xoxb-loadbench"
DISCORD_CHANNEL_BASE = 1_300_000_000_000_000_000
DISCORD_USER_BASE = 1_400_000_000_000_000_000


# --- the fakes, timing each arrival ---------------------------------------------------------


class TimedDiscord(FakeDiscord):
    """The fake Discord, also noting the wall time at which each channel message arrived
    (`arrived_at[i]` is the time of `messages[i]`)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.arrived_at: list[float] = []

    def _answer(self, seen: Any) -> Any:
        before = len(self.messages)
        answer = super()._answer(seen)
        self.arrived_at.extend([time.time()] * (len(self.messages) - before))
        return answer


@dataclass
class Arrival:
    """One message part as it arrived at a fake."""

    platform: str
    destination: str  # the channel id posted to (a DM: the DM channel)
    body: str  # the request body as canonical JSON: identical for a resent part
    at: float  # wall-clock seconds (time.time())


def slack_arrivals(fake: FakeSlack, monotonic_to_wall: float) -> list[Arrival]:
    """Every chat.postMessage the fake Slack accepted."""
    return [
        Arrival("slack", str(call.body.get("channel")), json.dumps(call.body, sort_keys=True), call.at + monotonic_to_wall)
        for call in fake.calls_to("chat.postMessage")
        if call.ok
    ]


def discord_arrivals(fake: TimedDiscord) -> list[Arrival]:
    """Every channel message the fake Discord accepted."""
    return [
        Arrival("discord", channel, json.dumps(body, sort_keys=True), at)
        for (channel, body), at in zip(fake.messages, fake.arrived_at, strict=False)
    ]


# --- CPU seconds from /proc ---------------------------------------------------------------------


def cpu_seconds(pid: int, *, children: bool = False) -> float | None:
    """User + system CPU seconds of a live process (with `children`, also of its children
    that it has waited for); None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    # Fields after the name: state is [0]; utime, stime, cutime, cstime are [11..14].
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def postgres_cpu_seconds(server: PostgresServer) -> float:
    """CPU seconds of the whole PostgreSQL server: the postmaster, the backends it has reaped
    and those still running."""
    pid_file = server.root / "data" / "postmaster.pid"
    try:
        postmaster = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    total = cpu_seconds(postmaster, children=True) or 0.0
    try:
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    except OSError:
        children = []
    return total + sum(cpu_seconds(int(child)) or 0.0 for child in children)


# --- the store ----------------------------------------------------------------------------------


def seed_history(store: Store, count: int, now: datetime) -> int:
    """`count` papers, about 1,000 per announcement day, ingested day by day, the newest an
    hour before `now`, with their topics; returns how many were stored."""
    day: list[Paper] = []
    years = max(count / 365_000, 0.003)
    for paper in synthetic_papers(count, seed=5, end=now - timedelta(hours=1), years=years):
        if day and paper.published and day[-1].published and paper.published.date() != day[-1].published.date():
            ingest_with_topics(store, day, min(now, max(p.published for p in day if p.published) + timedelta(minutes=5)))
            day = []
        day.append(paper)
    if day:
        ingest_with_topics(store, day, now - timedelta(minutes=30))
    return store.papers.count()


def ingest_with_topics(store: Store, papers: Sequence[Paper], when: datetime) -> None:
    """Ingest papers as first seen at `when`, with the topics their text suggests."""
    store.papers.ingest(papers, when)
    with transaction(store.conn):
        for paper in papers:
            store.papers.set_topics(paper.id, corpus_topics(paper))


def ingest_guarded(database: str, store: Store, papers: Sequence[Paper]) -> None:
    """Ingest the run's new papers while holding the alert step's work lock. The alert scan's
    watermark is a time: a scan that ran during the ingest would move it past these papers
    before they were committed, and no replica would ever alert on them (paperbot's race, not
    the load's: it left main's 3-replica runs without a single alert DM, half the parts)."""
    locks = AdvisoryLocks(database, application_name="bench_replicas ingest")
    try:
        while not locks.try_lock("scheduler:alerts"):  # a scan in progress ends first
            time.sleep(0.05)
        ingest_with_topics(store, papers, system_clock())
    finally:
        locks.close()


def new_papers(count: int, now: datetime) -> list[Paper]:
    """The papers that arrive during the run: a different seed, a month later than the history
    so their arXiv-style ids differ, announced at `now`."""
    later = now + timedelta(days=35)
    papers = list(synthetic_papers(count, seed=77, end=later, years=0.001))
    return [dataclasses.replace(paper, published=now, updated=now) for paper in papers]


def user_of(number: int) -> tuple[str, str]:
    """User `number` of the subscriptions: even ones on Slack, odd ones on Discord."""
    if number % 2 == 0:
        return "slack", f"U{number:06d}"
    return "discord", str(DISCORD_USER_BASE + number)


def seed_subscriptions(store: Store, count: int, now: datetime) -> int:
    """`count` subscriptions, three per user (bench_alerts_digests' mix of queries and topics)."""
    rows = []
    for sub in make_subscriptions(count):
        platform, user_id = user_of(int(sub.user_id[1:]))
        rows.append((platform, user_id, sub.query, sub.topics))
    store.subscriptions.add_many(rows, now - timedelta(days=30))
    return len(rows)


def make_channels(count: int, first_slot: datetime, spread_minutes: int, seed: int = 9) -> list[tuple[ChannelSettings, datetime]]:
    """Channels with their digest slot: Slack and Discord alternately, 0-3 topics, 5-20 papers,
    every day, the quiet-day note on (so every channel posts once), slots spread evenly over
    `spread_minutes` whole minutes from `first_slot`."""
    rng = random.Random(seed)
    channels = []
    for i in range(count):
        slot = first_slot + timedelta(minutes=i % max(1, spread_minutes))
        if i % 2:
            platform, channel_id = "slack", f"C{i:06d}"
        else:
            platform, channel_id = "discord", str(DISCORD_CHANNEL_BASE + i)
        settings = ChannelSettings(
            platform=platform,
            channel_id=channel_id,
            time_of_day=slot.time().replace(second=0, microsecond=0),
            timezone="UTC",
            days=(0, 1, 2, 3, 4, 5, 6),
            topics=tuple(rng.sample(TOPIC_IDS, rng.randint(0, 3))),
            max_items=rng.choice((5, 10, 10, 20)),
            quiet_note=True,
            created_by=f"U{i:06d}" if platform == "slack" else str(DISCORD_USER_BASE + i),
        )
        channels.append((settings, slot))
    return channels


@dataclass
class OutboxSummary:
    """What the outbox holds at the end, read through the store."""

    rows_by_kind_and_state: dict[str, int]
    # Parts rendered per (platform, destination, is a DM): a DM's destination is the user.
    parts: dict[tuple[str, str, bool], int]
    waiting: int

    def parts_by_platform(self) -> Counter[str]:
        """Parts rendered per platform."""
        totals: Counter[str] = Counter()
        for (platform, _, _), count in self.parts.items():
            totals[platform] += count
        return totals


def outbox_summary(store: Store) -> OutboxSummary:
    """Rows per kind and state, and the parts rendered per destination (rows that rendered)."""
    rows = store.outbox.rows(limit=10**7)
    by_kind = Counter(f"{row.kind}:{row.state}" for row in rows)
    parts: Counter[tuple[str, str, bool]] = Counter()
    for row in rows:
        parts[(row.platform, row.destination, row.is_dm)] += len(row.parts or [])
    waiting = sum(1 for row in rows if row.state in ("pending", "sending"))
    return OutboxSummary(dict(sorted(by_kind.items())), dict(parts), waiting)


def outbox_waiting(store: Store) -> int:
    """Rows pending or being sent."""
    counts = store.outbox.counts()
    return counts.get("pending", 0) + counts.get("sending", 0)


def alerts_settled(store: Store, ingested: datetime) -> bool:
    """Whether a replica has scanned for alerts since the new papers were ingested (by
    `ingested`) and every user with matches has had an alert DM (matches queued after it wait
    for the user's ALERT_INTERVAL, beyond the run)."""
    scanned = store.alert_queue.watermark(SCAN_WATERMARK)
    if scanned is None or scanned < ingested:
        return False
    return all(store.users.get(platform, user).last_alert_at is not None for platform, user in store.alert_queue.waiting_users())


async def alert_accounting(store: Store, batch: Sequence[Paper], dm_users: set[tuple[str, str]]) -> dict[str, Any]:
    """Which users the new papers should have alerted, matched afresh in this process against
    every subscription (the replicas' own matcher code, one pass) with the topics the papers
    were ingested with (`ingest_with_topics`; the replicas' summaries retag them afterwards, and
    the scans ran on the first tags), against the users whose DM arrived at the fakes; for each
    user missed, where their matches stand in the store: queued and still waiting, consumed into
    an outbox row (and that row's state), or never queued."""
    matcher = AlertMatcher()
    await matcher.refresh(store, system_clock())
    stored = store.papers.get_many([paper.id for paper in batch])
    topics = {paper.id: tuple(corpus_topics(paper)) for paper in batch}
    found = matcher.match(stored, topics, since=system_clock() - timedelta(days=365), keep_per_user=10)
    expected = {(platform, user) for platform, user, _, _ in found.rows()}
    missing = sorted(expected - dm_users)
    states: Counter[str] = Counter()
    examples: list[str] = []
    for platform, user in missing:
        rows = store.conn.execute(
            "SELECT outbox_key FROM alert_queue WHERE platform = ? AND user_id = ?", (platform, user)
        ).fetchall()
        if not rows:
            state = "never queued"
        elif any(row[0] is None for row in rows):
            state = "queued, waiting"
        else:
            keys = {row[0] for row in rows}
            outbox = [store.outbox.get(key) for key in keys]
            state = "consumed into outbox rows " + ",".join(sorted(f"{r.kind}:{r.state}" if r else "absent" for r in outbox))
        states[state] += 1
        if len(examples) < 5:
            examples.append(f"{platform}:{user}: {state}")
    return {
        "users_matched": len(expected),
        "users_dmd": len(dm_users),
        "users_dmd_not_matched": len(dm_users - expected),
        "users_missing": len(missing),
        "missing_by_state": dict(states),
        "missing_examples": examples,
    }


# --- the replicas ---------------------------------------------------------------------------


@dataclass
class Replica:
    """One `paperbot run` subprocess and what was measured of it."""

    name: str
    env: dict[str, str]
    bot: RunningBot | None = None
    reader: asyncio.Task[None] | None = None
    cpu_s: float = 0.0  # of earlier processes under this name (a killed and restarted one)
    last_cpu: float = 0.0
    exit_codes: list[int] = field(default_factory=list)
    killed: bool = False
    restarted: bool = False
    said: str = ""  # its log's last line when it exited by itself
    tracebacks: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # each traceback's exception line
    digest_slots_built: int = 0  # from its "built N of M due digest slots" log lines
    log_dir: Path | None = None  # where to keep each process's log (`--logs`)

    async def start(self) -> None:
        """Start `python -m bot run` with its log collected."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run",
            cwd=REPO, env=self.env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        self.bot = RunningBot(process)
        self.reader = asyncio.create_task(self.bot._read_log())
        self.last_cpu = 0.0

    @property
    def alive(self) -> bool:
        return self.bot is not None and self.bot.process.returncode is None

    def sample_cpu(self) -> None:
        """Keep the latest CPU reading of the live process (it vanishes with the process)."""
        if self.bot is not None:
            seconds = cpu_seconds(self.bot.process.pid)
            if seconds is not None:
                self.last_cpu = seconds

    async def ended(self) -> None:
        """Record how the current process ended (after it has exited)."""
        assert self.bot is not None and self.reader is not None
        code = await self.bot.process.wait()
        await asyncio.wait_for(self.reader, 30)
        self.exit_codes.append(code)
        self.cpu_s += self.last_cpu
        self.tracebacks += self.bot.log.count("Traceback")
        self.errors.update(exception_lines(self.bot.log))
        self.digest_slots_built += sum(int(n) for n in BUILT.findall(self.bot.log))
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            (self.log_dir / f"{self.name}-{len(self.exit_codes)}.log").write_text(self.bot.log)
        lines = [line for line in self.bot.log.strip().splitlines() if line.strip()]
        if code not in (0, -signal.SIGKILL) and lines:
            self.said = lines[-1][-300:]

    async def kill(self) -> None:
        """kill -9, as a crash or an OOM kill would."""
        assert self.bot is not None
        self.sample_cpu()
        self.bot.process.send_signal(signal.SIGKILL)
        self.killed = True
        await self.ended()

    async def stop(self) -> None:
        """SIGTERM and wait for the exit."""
        assert self.bot is not None
        self.sample_cpu()
        if self.alive:
            self.bot.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.bot.process.wait(), 60)
        except TimeoutError:
            self.bot.process.kill()
        await self.ended()


BUILT = re.compile(r"built (\d+) of \d+ due digest slots")


def exception_lines(log: str) -> list[str]:
    """The exception line ending each traceback of a log (`KeyError: 'x'`), cut to 160
    characters: what went wrong, countable."""
    found, inside = [], False
    for line in log.splitlines():
        if line.startswith("Traceback"):
            inside = True
        elif inside and line and not line[0].isspace():
            found.append(line[:160])
            inside = False
    return found


def replica_env(
    name: str, data_dir: Path, database: str, slack: FakeSlack, discord: TimedDiscord, lease: float | None
) -> dict[str, str]:
    """`paperbot run` in Slack HTTP mode and on Discord, both fakes, on the one database."""
    return child_env(
        data_dir,
        PAPERBOT_DB=database,
        SLACK_BOT_TOKEN=SLACK_TOKEN,
        SLACK_SIGNING_SECRET="loadbench-signing-secret",
        SLACK_API_URL=slack.api_url,
        DISCORD_TOKEN=TOKEN,
        DISCORD_APPLICATION_ID=APP_ID,
        DISCORD_API_URL=discord.api_url,
        DISCORD_GATEWAY_URL=discord.gateway_url,
        DISCORD_GUILD_IDS=GUILD_ID,
        HTTP_HOST="127.0.0.1",
        HTTP_PORT="0",
        SCHEDULER_TICK="1",
        PAPERBOT_REPLICA_ID=name,  # ignored by a paperbot that does not know replicas
        **({"OUTBOX_LEASE_SECONDS": str(lease)} if lease is not None else {}),
    )


# --- one scenario ---------------------------------------------------------------------------------


def percentiles(values: Sequence[float]) -> dict[str, float | int | None]:
    """p50, p99 and max (nearest rank), rounded, with the count."""
    if not values:
        return {"count": 0, "p50": None, "p99": None, "max": None}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))]

    return {"count": len(ordered), "p50": round(rank(0.50), 2), "p99": round(rank(0.99), 2), "max": round(ordered[-1], 2)}


def next_minute(moment: datetime, at_least: timedelta) -> datetime:
    """The first whole minute at least `at_least` after `moment`."""
    earliest = moment + at_least
    return earliest.replace(second=0, microsecond=0) + (timedelta(minutes=1) if earliest.second or earliest.microsecond else timedelta())


@dataclass
class Seeded:
    """The seeded database every scenario starts from (as a template), and what it holds."""

    name: str
    papers: int
    subscriptions: int
    figures: dict[str, float]


def seed_template(server: PostgresServer, args: argparse.Namespace) -> Seeded:
    """A database with the history and the subscriptions, migrated by paperbot; scenarios copy
    it (CREATE DATABASE ... TEMPLATE: a file copy) instead of seeding again."""
    url = server.new_database("loadbench_seed")
    name = url.split("/")[3].split("?")[0]
    figures: dict[str, float] = {}
    store = Store.open(url)
    try:
        now = system_clock()
        with Timer(figures, "papers"):
            papers = seed_history(store, args.papers, now)
        with Timer(figures, "subscriptions"):
            subscriptions = seed_subscriptions(store, args.subscriptions, now)
        # Alerts only for papers that arrive during the run.
        store.alert_queue.set_watermark(SCAN_WATERMARK, system_clock())
    finally:
        store.close()
    return Seeded(name, papers, subscriptions, figures)


def copy_database(server: PostgresServer, template: str, name: str) -> str:
    """A new database `name` copied from `template`; returns its URL."""
    import psycopg

    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return server.url(name)


class Timer:
    """Wall and CPU seconds of a block, stored as `<name>_s` and `<name>_cpu_s` in `figures`."""

    def __init__(self, figures: dict[str, float], name: str) -> None:
        self.figures, self.name = figures, name

    def __enter__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def __exit__(self, *exc: object) -> None:
        self.figures[f"{self.name}_s"] = round(time.perf_counter() - self.wall, 1)
        self.figures[f"{self.name}_cpu_s"] = round(time.process_time() - self.cpu, 1)


async def run_scenario(
    server: PostgresServer, seeded: Seeded, args: argparse.Namespace, kill: bool, work: Path
) -> dict[str, Any]:
    """Copy the seeded database, run the replicas through every digest slot, count at the fakes."""
    database = copy_database(server, seeded.name, f"loadbench_{'kill' if kill else 'plain'}")
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    pg_cpu_before = postgres_cpu_seconds(server)
    store = Store.open(database)
    papers, subscriptions = seeded.papers, seeded.subscriptions

    slack, discord = FakeSlack(), TimedDiscord()
    await slack.start()
    await discord.start()
    monotonic_to_wall = time.time() - time.monotonic()
    replicas = [
        Replica(
            f"replica-{n}", replica_env(f"replica-{n}", work / f"replica-{n}", database, slack, discord, args.lease),
            log_dir=Path(args.logs) / ("kill" if kill else "plain") if args.logs else None,
        )
        for n in range(args.replicas)
    ]
    result: dict[str, Any] = {"killed_halfway": kill}
    try:
        starting = time.perf_counter()
        for replica in replicas:
            await replica.start()

        async def running_or_exited(replica: Replica) -> None:
            assert replica.bot is not None
            running = asyncio.create_task(replica.bot.running.wait())
            exited = asyncio.create_task(replica.bot.process.wait())
            await asyncio.wait({running, exited}, return_when=asyncio.FIRST_COMPLETED, timeout=300)
            running.cancel()
            exited.cancel()

        await asyncio.gather(*(running_or_exited(r) for r in replicas))
        for replica in replicas:
            if not replica.alive:
                await replica.ended()
        startup_s = time.perf_counter() - starting
        if not any(r.alive for r in replicas):
            raise RuntimeError("no replica started: " + "; ".join(r.said for r in replicas))

        # Channels now, with their slots ahead: a slot earlier than a channel's creation never counts.
        first_slot = next_minute(system_clock(), timedelta(seconds=args.lead))
        channels = make_channels(args.channels, first_slot, args.spread)
        created = system_clock()
        for settings, _ in channels:
            store.channels.save(settings, created)
        slots = {settings.channel_id: slot.timestamp() for settings, slot in channels}
        last_slot = max(slots.values())

        async def sample_cpu() -> None:
            while True:
                for replica in replicas:
                    if replica.alive:
                        replica.sample_cpu()
                await asyncio.sleep(0.5)

        sampler = asyncio.create_task(sample_cpu())
        digested: set[str] = set()

        def refresh_digested() -> None:
            digested.update(a.destination for a in slack_arrivals(slack, monotonic_to_wall) if a.destination in slots)
            digested.update(channel for channel, _ in discord.messages if channel in slots)

        await asyncio.sleep(max(0.0, first_slot.timestamp() - time.time()))
        arrivals_ingested = time.time()
        batch = new_papers(args.new_papers, system_clock())
        await asyncio.to_thread(ingest_guarded, database, store, batch)
        # A scan from here on sees them.
        ingested = system_clock()

        killed_at: float | None = None
        deadline = time.monotonic() + args.timeout
        settled_since: float | None = None
        while time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            refresh_digested()
            if kill and killed_at is None and len(digested) >= len(slots) / 2:
                victim = next(r for r in replicas if r.alive)
                await victim.kill()
                killed_at = time.time()
                if not any(r.alive for r in replicas):
                    victim.restarted = True
                    victim.env = victim.env | {"PAPERBOT_REPLICA_ID": f"{victim.name}-restarted"}
                    await victim.start()
            if not any(r.alive for r in replicas):
                break
            done = time.time() > last_slot and len(digested) == len(slots)
            # Alerts too: digests alone may be done before any replica has scanned the new papers.
            done = done and await asyncio.to_thread(alerts_settled, store, ingested)
            done = done and await asyncio.to_thread(outbox_waiting, store) == 0
            if done:
                settled_since = settled_since or time.monotonic()
                if time.monotonic() - settled_since >= 3.0:  # a late duplicate would arrive by now
                    break
            else:
                settled_since = None
        timed_out = time.monotonic() >= deadline
        sampler.cancel()
        for replica in replicas:
            if replica.alive:
                await replica.stop()
        run_s = time.perf_counter() - starting

        arrivals = slack_arrivals(slack, monotonic_to_wall) + discord_arrivals(discord)
        summary = await asyncio.to_thread(outbox_summary, store)
        # Where each user's DMs land at the fakes: Slack's DM channel is D<user>, Discord's
        # the channel its fake opened for that user.
        dm_channels = {("slack", user): f"D{user}" for platform, user, is_dm in summary.parts if is_dm and platform == "slack"}
        dm_channels |= {("discord", user): channel for user, channel in discord.dm_channels.items()}
        result |= measure(arrivals, slots, summary, dm_channels, arrivals_ingested, killed_at)
        arrived_at = {(a.platform, a.destination) for a in arrivals if a.destination not in slots}
        dm_users = {user for user, channel in dm_channels.items() if (user[0], channel) in arrived_at}
        result["alerts"] = await alert_accounting(store, batch, dm_users)
        result |= {
            "timed_out": timed_out,
            "papers_in_store": papers + len(batch),
            "new_papers": len(batch),
            "subscriptions": subscriptions,
            "channels": len(slots),
            "slots": f"{len(set(slots.values()))} whole minutes from {first_slot.isoformat()}",
            "outbox": summary.rows_by_kind_and_state,
            "replicas_start_s": round(startup_s, 1),
            "run_wall_s": round(run_s, 1),
            "replicas": [
                {
                    "name": r.name, "cpu_s": round(r.cpu_s, 2), "exit_codes": r.exit_codes, "killed": r.killed,
                    "restarted": r.restarted, "digest_slots_built": r.digest_slots_built, "tracebacks": r.tracebacks,
                    **({"errors": dict(r.errors.most_common(5))} if r.errors else {}),
                    **({"said": r.said} if r.said else {}),
                }
                for r in replicas
            ],
            "postgres_cpu_s": round(postgres_cpu_seconds(server) - pg_cpu_before, 2),
            "bench_process_cpu_s": round(time.process_time() - started_cpu, 2),
            "bench_process_wall_s": round(time.perf_counter() - started_wall, 1),
        }
    finally:
        for replica in replicas:
            if replica.alive:
                assert replica.bot is not None
                replica.bot.process.kill()
                await replica.bot.process.wait()
        await slack.close()
        await discord.close()
        store.close()
    return result


def measure(
    arrivals: Sequence[Arrival],
    slots: dict[str, float],
    summary: OutboxSummary,
    dm_channels: dict[tuple[str, str], str],
    ingested: float,
    killed_at: float | None,
) -> dict[str, Any]:
    """Latencies, throughput, duplicates and missing digests from what arrived at the fakes."""
    last_digest_part: dict[str, float] = {}
    first_dm_part: dict[str, float] = {}
    for arrival in arrivals:
        if arrival.destination in slots:
            last_digest_part[arrival.destination] = max(arrival.at, last_digest_part.get(arrival.destination, 0.0))
        else:
            first_dm_part[arrival.destination] = min(arrival.at, first_dm_part.get(arrival.destination, math.inf))
    digest_latency = [at - slots[channel] for channel, at in last_digest_part.items()]
    times = sorted(a.at for a in arrivals)
    digest_times = sorted(a.at for a in arrivals if a.destination in slots)

    def rate(moments: Sequence[float]) -> float | None:
        span = moments[-1] - moments[0] if len(moments) > 1 else 0.0
        return round(len(moments) / span, 1) if span > 0 else None

    # Per destination as the fakes saw it: parts expected (rendered in the outbox) vs arrived.
    expected: Counter[tuple[str, str]] = Counter()
    for (platform, destination, is_dm), count in summary.parts.items():
        expected[(platform, dm_channels.get((platform, destination), destination) if is_dm else destination)] += count
    received = Counter((a.platform, a.destination) for a in arrivals)
    per_platform: dict[str, dict[str, Any]] = {}
    for platform in ("slack", "discord"):
        bodies = Counter((a.destination, a.body) for a in arrivals if a.platform == platform)
        places = {key for key in expected.keys() | received.keys() if key[0] == platform}
        extra = {key: received[key] - expected[key] for key in places if received[key] > expected[key]}
        per_platform[platform] = {
            "parts_in_outbox": summary.parts_by_platform().get(platform, 0),
            "parts_received": sum(received[key] for key in places),
            # A destination that got more parts than its rows rendered: a part sent twice (its
            # second copy may differ in bytes, e.g. a re-rendered part), or a message not ours.
            "duplicates": sum(extra.values()),
            "identical_copies": sum(bodies.values()) - len(bodies),
            "missing_parts": sum(max(0, expected[key] - received[key]) for key in places),
            "destinations_with_extra_parts": sorted(f"{dest}: +{n}" for (_, dest), n in extra.items())[:5],
        }
    figures: dict[str, Any] = {
        "digest_latency_s": percentiles(digest_latency),
        "missing_digests": len(slots) - len(last_digest_part),
        "alert_latency_s": percentiles([at - ingested for at in first_dm_part.values()]),
        "alert_dms": len(first_dm_part),
        "parts_per_s": {"all": rate(times), "digests": rate(digest_times), "parts": len(times)},
        "duplicates": sum(p["duplicates"] for p in per_platform.values()),
        "missing_parts": sum(p["missing_parts"] for p in per_platform.values()),
        "outbox_left_waiting": summary.waiting,
        "by_platform": per_platform,
    }
    if killed_at is not None:
        after = [at - killed_at for at in last_digest_part.values() if at > killed_at]
        figures["after_kill"] = {
            "digests_completed_after_kill": len(after),
            "last_digest_s_after_kill": round(max(after), 2) if after else None,
        }
    return figures


# --- main ---------------------------------------------------------------------------------------------


def deadlocks(server_log: str) -> dict[str, Any]:
    """The deadlocks the server detected and the statements involved: the server logs
    `ERROR: deadlock detected` with a DETAIL naming each process's statement, and (with the
    throwaway server's log_lock_waits) every lock wait longer than deadlock_timeout."""
    reports: list[str] = []
    lines = server_log.splitlines()
    for n, line in enumerate(lines):
        if "deadlock detected" in line and "ERROR" in line:
            block = [line]
            for follow in lines[n + 1 : n + 30]:
                if not follow.startswith(("\t", " ")) and not any(
                    tag in follow for tag in ("DETAIL:", "HINT:", "CONTEXT:", "STATEMENT:")
                ):
                    break
                block.append(follow)
            reports.append("\n".join(block))
    waits = sum("still waiting for" in line for line in lines)
    return {"detected": len(reports), "lock_waits_logged": waits, "reports": reports[:5]}


def includes(args: argparse.Namespace) -> str:
    """What the run measures, in one sentence (the JSON says it too)."""
    return (
        f"{args.replicas} `paperbot run` replica(s) on one PostgreSQL database, {args.channels} channels "
        f"(Slack and Discord fakes), {args.subscriptions} subscriptions, {args.papers} seeded + "
        f"{args.new_papers} new papers; digests built and posted by the replicas (offline summaries), alert "
        "DMs for the new papers; latencies and counts measured at the fakes"
    )


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    """Start PostgreSQL, run the chosen scenarios, stop it."""
    import tempfile

    scenarios = [False, True]
    if args.kill_halfway:
        scenarios = [True]
    elif args.no_kill:
        scenarios = [False]
    server = PostgresServer.start()
    try:
        seeded = await asyncio.to_thread(seed_template, server, args)
        results: dict[str, Any] = {"seed": seeded.figures}
        for kill in scenarios:
            with tempfile.TemporaryDirectory(prefix="loadbench-") as work:
                results["killed_halfway" if kill else "no_kill"] = await run_scenario(server, seeded, args, kill, Path(work))
    finally:
        log = server.log_text()
        if args.logs:
            Path(args.logs).mkdir(parents=True, exist_ok=True)
            (Path(args.logs) / "postgres.log").write_text(log)
        server.stop()
    results["deadlocks"] = deadlocks(log)
    refused = sorted(
        {
            replica["name"]
            for scenario in results.values() if isinstance(scenario, dict) and "replicas" in scenario
            for replica in scenario["replicas"]
            if 1 in replica["exit_codes"] and "another paperbot" in replica.get("said", "")
        }
    )
    note = (
        f"{', '.join(refused)} refused to start (the store's single-writer lock): the figures are one replica's"
        if refused else f"every one of the {args.replicas} replica(s) ran"
    )
    return {
        "bench": "replicas",
        "includes": includes(args),
        "note": note,
        "paperbot_commit": _commit(),
        "replicas": args.replicas,
        "load_average_at_end": [round(x, 1) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        **results,
    }


def _commit() -> str:
    head = REPO / ".git"
    try:
        if head.is_file():  # a worktree: "gitdir: <path>"
            head = Path(head.read_text().split(":", 1)[1].strip())
        ref = (head / "HEAD").read_text().strip()
        if ref.startswith("ref: "):
            name = ref[5:]
            for root in (head, head.parent.parent):
                candidate = root / name
                if candidate.exists():
                    return candidate.read_text().strip()[:12]
            packed = (head.parent.parent / "packed-refs").read_text()
            found = re.search(rf"^([0-9a-f]+) {re.escape(name)}$", packed, re.M)
            return found.group(1)[:12] if found else name
        return ref[:12]
    except OSError:
        return "unknown"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--channels", type=int, default=1_000)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--papers", type=int, default=20_000)
    parser.add_argument("--new-papers", type=int, default=500)
    parser.add_argument("--spread", type=int, default=3, help="minutes the digest slots are spread over")
    parser.add_argument("--lead", type=float, default=40.0, help="least seconds from adding the channels to the first slot")
    kill = parser.add_mutually_exclusive_group()
    kill.add_argument("--kill-halfway", action="store_true", help="run only the scenario with a replica killed")
    kill.add_argument("--no-kill", action="store_true", help="run only the scenario without a kill")
    parser.add_argument("--quick", action="store_true", help="100 channels, 1,000 subscriptions, 3,000 papers, 1 minute")
    parser.add_argument("--lease", type=float, default=None, help="OUTBOX_LEASE_SECONDS of the replicas (default: paperbot's)")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up on a scenario after this many seconds")
    parser.add_argument("--logs", default="", help="keep every replica's log in this directory (<scenario>/<replica>-<n>.log)")
    args = parser.parse_args(argv)
    if args.quick:
        args.channels, args.subscriptions, args.papers, args.new_papers, args.spread = 100, 1_000, 3_000, 100, 1
    return args


def main() -> None:
    """Run and print the JSON."""
    print(json.dumps(asyncio.run(main_async(parse_args())), indent=1))


if __name__ == "__main__":
    main()
