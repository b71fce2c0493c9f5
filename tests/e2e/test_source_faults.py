"""Sources are independent: beside a feed that never answers and one that answers 429 with
Retry-After 120, all three on one host, a healthy feed keeps its interval; the rate-limited one
is asked again only when the server said; status and /healthz list every source from its first
failure on, with credentials removed.

The real Runtime runs in-process (its fetch loops, store and HTTP client) against the fake feed
host in tests/support/feeds.py; intervals are one second, so nothing waits long.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app.runtime import Runtime
from bot.cli.status import print_status
from bot.core.clock import from_iso, system_clock
from bot.settings import Settings
from tests.support.feeds import FakeFeeds, fake_feeds
from tests.support.processes import child_env, paperbot
from tests.support.slack_api import fake_slack

HEALTHY, HANGING, LIMITED = "/lab.xml", "/slow.xml", "/busy.xml"
SECRET = "s3cr3t-Key"
FIGURES: dict[str, Any] = {}


def settings_for(feeds: FakeFeeds, tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        database=str(tmp_path / "paperbot.db"),
        arxiv_enabled=False, hf_enabled=False, reddit_enabled=False, summarize_background=False,
        feeds=(
            feeds.url(HEALTHY),
            feeds.url(HANGING).replace("http://", f"http://reader:{SECRET}@"),
            feeds.url(LIMITED) + f"?apikey={SECRET}",
        ),
        feed_interval=1, scheduler_tick=3600, **extra,
    )


@pytest.fixture
async def feeds() -> AsyncIterator[FakeFeeds]:
    async with fake_feeds() as started:
        started.healthy(HEALTHY)
        started.hanging(HANGING)
        started.limited(LIMITED, retry_after=120)
        yield started


def per_minute(times: list[float]) -> float:
    return 60 * (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


@pytest.mark.slow
async def test_a_healthy_feed_keeps_its_interval_beside_a_hanging_and_a_rate_limited_one(
    feeds: FakeFeeds, tmp_path: Path
) -> None:
    # Requests may take 20 s: the hanging feed stays unanswered for the whole test.
    runtime = await Runtime.initialize(settings_for(feeds, tmp_path, http_timeout=20.0), clock=system_clock)
    try:
        await runtime.start([])
        started = time.monotonic()
        with contextlib.suppress(TimeoutError):  # the figures below tell how far it got
            await feeds.wait_for(lambda: feeds.hits(HEALTHY) >= 6, timeout=30)
        FIGURES["healthy_fetches"] = feeds.hits(HEALTHY)
        FIGURES["in_seconds"] = round(time.monotonic() - started, 1)
        FIGURES["healthy_fetches_per_minute"] = round(per_minute(feeds.seen(HEALTHY)), 1)
        FIGURES["rate_limited_feed_requests"] = feeds.hits(LIMITED)
        print("\nsource faults:", FIGURES)
        assert feeds.hits(HEALTHY) >= 6
        # All of that happened while the hanging feed's first request was still open ...
        assert feeds.hits(HANGING) == 1 and feeds.still_open(HANGING)
        # ... and the rate-limited feed was asked once: Retry-After 120 moved its next fetch.
        assert feeds.hits(LIMITED) == 1
        states = {state.name: state for state in runtime.store.sources.all()}
        limited = next(state for name, state in states.items() if "busy" in name)
        assert limited.failing and "HTTP 429" in limited.last_error and "asking to wait 120 s" in limited.last_error
        assert limited.next_fetch_at is not None and limited.last_failure is not None
        assert 119 <= (limited.next_fetch_at - limited.last_failure).total_seconds() <= 121
        health = runtime.health()["sources"]
        assert len(health) == 3  # the hanging feed is listed although it never finished
        hanging = next(entry for name, entry in health.items() if "slow" in name)
        assert hanging["last_success"] is None and hanging["last_failure"] is None
        assert SECRET not in repr(health) and "reader" not in repr(health)
        stopping = time.monotonic()
        await runtime.stop()
        FIGURES["stop_seconds_with_a_request_hanging"] = round(time.monotonic() - stopping, 2)
    finally:
        await runtime.shutdown()
    print("\nsource faults:", FIGURES)


async def test_a_hanging_feed_fails_within_the_deadline_and_status_shows_it(
    feeds: FakeFeeds, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(feeds, tmp_path, http_timeout=0.4, http_retries=5, http_request_deadline=1.0)
    runtime = await Runtime.initialize(settings, clock=system_clock)
    try:
        with caplog.at_level(logging.DEBUG):
            outcomes = {o.name: o for o in await runtime.fetch_due()}
    finally:
        await runtime.shutdown()
    # Log lines of bot.fetch.http and bot.fetch.ingest name the feeds without their credentials.
    assert "slow.xml" in caplog.text and "busy.xml" in caplog.text
    assert SECRET not in caplog.text and "reader:" not in caplog.text
    hanging = next(outcome for name, outcome in outcomes.items() if "slow" in name)
    assert not hanging.ok and "no complete answer within 1 s, retries included" in hanging.error
    assert SECRET not in hanging.error and "reader" not in hanging.error
    out = io.StringIO()
    assert print_status(settings, out) == 0
    status = out.getvalue()
    assert SECRET not in status and "reader:" not in status
    lines = {line.split(": last")[0].strip(): line for line in status.splitlines() if ": last" in line}
    slow = next(line for name, line in lines.items() if "slow" in name)
    busy = next(line for name, line in lines.items() if "busy" in name)
    assert "last success never, last failure 20" in slow and "next attempt 20" in slow
    assert "HTTP 429" in busy and "asking to wait 120 s" in busy and "apikey=***" in busy
    healthy = next(line for name, line in lines.items() if "lab" in name)
    assert "last failure never" in healthy and "last success 20" in healthy
    next_attempt = from_iso(busy.rsplit("next attempt ", 1)[1].strip())
    assert next_attempt is not None and next_attempt > system_clock()


@pytest.mark.slow
async def test_credentials_in_feed_urls_appear_nowhere(tmp_path: Path) -> None:
    """FEEDS with `user:pass@` and `?apikey=`: not in the logs (debug level), not in /healthz,
    not in `paperbot status`, not in the errors stored for the failing feed."""
    async with fake_feeds() as feeds, fake_slack() as fake:
        feeds.healthy("/private.xml")
        feeds.limited("/keyed.xml", retry_after=600, status=503)
        urls = (
            feeds.url("/private.xml").replace("http://", f"http://reader:{SECRET}@"),
            feeds.url("/keyed.xml") + f"?apikey={SECRET}-2&lang=en",
        )
        env = child_env(
            tmp_path / "data", FEEDS=",".join(urls), FEED_INTERVAL="1", HTTP_RETRIES="0", LOG_LEVEL="debug",
            SLACK_BOT_TOKEN="xoxb-creds", SLACK_SIGNING_SECRET="creds-signing", SLACK_API_URL=fake.api_url,
            HTTP_HOST="127.0.0.1", HTTP_PORT="0",
        )
        async with paperbot(["run"], cwd=tmp_path, env=env) as bot:
            await asyncio.wait_for(bot.running.wait(), 60)
            await feeds.wait_for(lambda: feeds.hits("/keyed.xml") >= 1 and feeds.hits("/private.xml") >= 2, 60)
            port = int(re.search(r"web site at http://127\.0\.0\.1:(\d+)", bot.log).group(1))  # type: ignore[union-attr]
            async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/healthz") as answer:
                health = await answer.text()
        status = subprocess.run(
            [sys.executable, "-m", "bot", "status"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
    assert status.returncode == 0, status.stderr
    sources = json.loads(health)["sources"]
    assert len(sources) == 2 and any("keyed.xml?apikey=***&lang=en" in name for name in sources)
    keyed = next(entry for name, entry in sources.items() if "keyed" in name)
    assert keyed["failing"] and "HTTP 503" in keyed["last_error"]
    assert "keyed.xml?apikey=***&lang=en" in status.stdout and "HTTP 503" in status.stdout
    for shown, what in ((bot.log, "log"), (health, "/healthz"), (status.stdout + status.stderr, "status")):
        assert SECRET not in shown and "reader:" not in shown, what
    assert "keyed.xml" in bot.log and "private.xml" in bot.log  # the lines are there, redacted
