"""Helpers for the end-to-end fault tests: a store seeded with multi-part digests and DM
alerts, `paperbot run` started and stopped (or killed) as a subprocess against the fake Slack,
and what arrived at the fake counted per part."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bot.core.models import ItemGroup, PaperItem, Reply
from bot.core.outbox import OutboxKind, alert_batch_key, digest_key
from bot.delivery.outbox import enqueue
from bot.store import Store
from tests.support.factories import T0, make_paper
from tests.support.processes import REPO, RunningBot, RunQueueWait, child_env
from tests.support.slack_api import FakeSlack

PartKey = tuple[str, str]  # (Slack channel, the part's blocks as JSON)

# Every bot start_bot() started, so a failing test can still kill what it left running.
STARTED: list[RunningBot] = []


def _reply(prefix: str, count: int) -> Reply:
    items = tuple(
        PaperItem(paper=make_paper(i, title=f"{prefix} paper {i:03d}"), source_line="arXiv cs.LG · 1h ago")
        for i in range(count)
    )
    return Reply(header=f"{prefix}: {count} papers", groups=(ItemGroup("LLM", items),), footer=f"{prefix} footer", private=False)


def seed_outbox(database: Path, *, channels: int, items: int, dms: int, batch: int = 0) -> None:
    """Digests of `items` papers for `channels` Slack channels and one alert DM for each of
    `dms` users, all due now; each `batch` has keys and texts of its own."""
    store = Store.open(str(database))
    day = f"2026-11-{23 + batch:02d}"
    try:
        for c in range(channels):
            reply = _reply(f"Digest {c} of {day}", items)
            enqueue(store, digest_key(f"slack:CDIGEST{c}", day), OutboxKind.DIGEST, "slack", f"CDIGEST{c}", reply, T0)
        for u in range(dms):
            reply = _reply(f"Alert {u} of {day}", 2)
            papers = [f"batch {batch} of {day}"]  # a batch key names the queued papers it consumes
            enqueue(store, alert_batch_key("slack", f"UALERT{u}", papers), OutboxKind.ALERT, "slack", f"UALERT{u}", reply, T0)
    finally:
        store.close()


def slack_env(fake: FakeSlack, data_dir: Path, database: Path, **settings: str) -> dict[str, str]:
    """`paperbot run` in Slack HTTP mode (no websocket needed) against the fake, on `database`."""
    return child_env(
        data_dir,
        SLACK_BOT_TOKEN="xoxb-faults",
        SLACK_SIGNING_SECRET="faults-signing-secret",
        SLACK_API_URL=fake.api_url,
        HTTP_HOST="127.0.0.1",
        HTTP_PORT="0",
        PAPERBOT_DB=str(database),
        SCHEDULER_TICK="0.5",
        **settings,
    )


async def start_bot(env: dict[str, str], *args: str) -> RunningBot:
    """Start `python -m bot run <args>` with its stderr collected."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", *args,
        cwd=REPO, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    bot = RunningBot(process)
    bot.reader = asyncio.create_task(bot._read_log())  # type: ignore[attr-defined]
    STARTED.append(bot)
    return bot


async def kill_leftovers() -> None:
    """Kill every bot start_bot() started that is still running (after a failed test)."""
    while STARTED:
        bot = STARTED.pop()
        if bot.process.returncode is None:
            bot.process.kill()
            await bot.process.wait()


async def finish(bot: RunningBot, timeout: float = 60) -> int:
    """Wait for the process to end and its log to be read; returns its exit status."""
    code = await asyncio.wait_for(bot.process.wait(), timeout)
    await asyncio.wait_for(bot.reader, timeout)  # type: ignore[attr-defined]
    return code


@dataclass
class Stopped:
    """How a stop went: the exit status, and the seconds from the signal to the exit."""

    code: int
    seconds: float  # on the wall clock
    waiting_for_cpu: float  # of those, the time the bot stood runnable while other processes ran

    @property
    def own_seconds(self) -> float:
        """The shutdown's own time: the wall time less the wait for a CPU (what a machine
        that is not shared with dozens of busy processes would show)."""
        return self.seconds - self.waiting_for_cpu


async def stop(bot: RunningBot, signum: int = signal.SIGTERM) -> Stopped:
    """Send `signum`, wait for the exit; the exit status and how long the shutdown took."""
    cpu_wait = RunQueueWait(bot.process.pid)
    sent = time.monotonic()
    bot.process.send_signal(signum)
    exited = asyncio.create_task(bot.process.wait())
    while not exited.done():
        cpu_wait.sample()
        await asyncio.wait({exited}, timeout=0.02)
    code = await finish(bot)
    return Stopped(code, time.monotonic() - sent, cpu_wait.seconds)


def outbox_counts(database: Path) -> dict[str, int]:
    """Rows per state, read with a connection of our own (the bot may be running)."""
    with sqlite3.connect(database, timeout=30) as conn:
        return dict(conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())


def unsent(database: Path) -> int:
    """Outbox rows not sent yet."""
    return sum(n for state, n in outbox_counts(database).items() if state != "sent")


def all_sent(database: Path) -> bool:
    """Whether every outbox row is sent."""
    counts = outbox_counts(database)
    return bool(counts) and set(counts) == {"sent"}


async def wait_until(condition: object, timeout: float) -> None:
    """Poll `condition()` every 50 ms (the timeout only stops a hang)."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition never held")
        await asyncio.sleep(0.05)


def _part_key(channel: str, part: dict[str, object]) -> PartKey:
    return channel, json.dumps(part.get("blocks"), sort_keys=True)


def expected_parts(database: Path) -> list[PartKey]:
    """Every part the outbox rendered, keyed as it arrives at Slack (DMs go to D<user>)."""
    with sqlite3.connect(database, timeout=30) as conn:
        rows = conn.execute("SELECT kind, destination, parts FROM outbox ORDER BY id").fetchall()
    keys = []
    for kind, destination, parts in rows:
        channel = f"D{destination}" if OutboxKind(kind).is_dm else destination
        keys.extend(_part_key(channel, part) for part in json.loads(parts or "[]"))
    return keys


def arrived(fake: FakeSlack) -> Counter[PartKey]:
    """How many times each part reached the fake Slack (posted on arrival, answered or not)."""
    return Counter(
        _part_key(str(call.body.get("channel")), call.body)
        for call in fake.calls_to("chat.postMessage")
        if call.ok
    )


@dataclass
class Tally:
    """Parts expected vs. what arrived."""

    parts: int
    messages: int
    missing: int
    duplicates: int  # copies beyond the first, over all parts
    worst: int  # most copies of one part


def tally(database: Path, fake: FakeSlack) -> Tally:
    """Compare the outbox's parts with the fake's messages."""
    expected = expected_parts(database)
    counts = arrived(fake)
    return Tally(
        parts=len(expected),
        messages=sum(counts.values()),
        missing=sum(1 for key in expected if counts[key] == 0),
        duplicates=sum(max(0, counts[key] - 1) for key in set(expected)),
        worst=max((counts[key] for key in expected), default=0),
    )
