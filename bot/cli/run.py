"""`paperbot run`: the long-running bot (or `--once`: fetch, run what is due, deliver, exit).

Both deliver from the outbox, so on SQLite both first take the store's writer lock
(bot.store.lock): a second `paperbot run` on the same store refuses to start, naming the process
that runs, and a `run --once` (from cron, say) waits up to STORE_LOCK_WAIT seconds for it, then
gives up having sent nothing. On PostgreSQL there is no writer lock: any number of processes
run as replicas that divide the work (bot.app.runtime).
"""

from __future__ import annotations

import contextlib
import logging

from bot.app.runtime import Runtime, install_signal_handlers, unless_stopped
from bot.app.samples import SAMPLE_DAYS, SAMPLE_NOW
from bot.app.wiring import build_adapters
from bot.core.clock import Clock, scaled_or_system_clock
from bot.fetch.http import any_host_resolves
from bot.ports import ChatAdapter
from bot.settings import Settings, make_clock
from bot.store.lock import writer_lock

log = logging.getLogger(__name__)


async def run_bot(settings: Settings, *, console: bool = False, offline: bool = False, once: bool = False) -> int:
    """Run paperbot until SIGINT/SIGTERM or the end of console input; returns the exit status."""
    lock = writer_lock(settings.database_url)
    lock.acquire("paperbot run --once" if once else "paperbot run", wait=settings.store_lock_wait if once else 0.0)
    try:
        return await _run_locked(settings, console=console, offline=offline, once=once)
    finally:
        lock.release()


async def _run_locked(settings: Settings, *, console: bool, offline: bool, once: bool) -> int:
    if not offline and not await _network_reachable(settings):
        log.warning(
            "no network: the source hosts do not resolve, so paperbot runs on its bundled samples "
            "(real arXiv announcements of %s to %s)", SAMPLE_DAYS[0], SAMPLE_DAYS[-1],
        )
        offline = True
    runtime = await Runtime.initialize(settings, clock=_clock(settings, offline), offline=offline)
    adapters = build_adapters(
        settings, console=console, health=runtime.health, link_secret=runtime.link_secret,
        store=runtime.store, clock=runtime.clock, metrics=runtime.metrics,
    )
    try:
        if once:
            return await _run_once(runtime, adapters)
        # Handlers first: a SIGTERM during the first fetch or while an adapter is still
        # connecting must stop cleanly too.
        install_signal_handlers(runtime.stopping)
        if offline or runtime.store.papers.count() == 0:
            runtime.attach(adapters)
            log.info("fetching papers for the first time from %d sources", len(runtime.sources))
            await unless_stopped(runtime.first_fetch(offline), runtime.stopping)
        await runtime.start(adapters)
        await runtime.wait_until_done()
        await runtime.stop()
        log.info("paperbot stopped")
        return 0
    finally:
        await runtime.shutdown()


def _clock(settings: Settings, offline: bool) -> Clock:
    """The run's one clock: offline, it starts on the samples' announcement day (unless
    PAPERBOT_CLOCK_START says otherwise), so "since:7d" and "9h ago" read as they did then."""
    if offline and not settings.clock_start:
        return scaled_or_system_clock(SAMPLE_NOW, settings.clock_speed)
    return make_clock(settings)


async def _network_reachable(settings: Settings) -> bool:
    """Whether any enabled source's host resolves (a first run without network then uses the
    samples instead of failing every fetch)."""
    urls = [settings.arxiv_rss_url] if settings.arxiv_enabled else []
    urls += [settings.hf_api_url] if settings.hf_enabled else []
    urls += [settings.reddit_base_url] if settings.reddit_enabled else []
    urls += list(settings.feeds)
    return not urls or await any_host_resolves(urls)


async def _run_once(runtime: Runtime, adapters: list[ChatAdapter]) -> int:
    """Fetch every source, run one scheduler tick with the platform adapters connected, exit;
    1 when any part of that failed: every source, a digest that could not be written, a step of
    the tick, or a delivery attempt (what failed stays in the outbox for the next run). The
    console prints what it is sent without being started."""
    runtime.attach(adapters)
    outcomes = await runtime.fetch_due(runtime.sources)
    platforms = [adapter for adapter in adapters if adapter.platform != "console"]
    for adapter in platforms:
        await adapter.start(runtime.service)
    try:
        result = await runtime.scheduler.tick(runtime.clock())
    finally:
        for adapter in platforms:
            with contextlib.suppress(Exception):
                await adapter.stop()
    if outcomes and all(not o.ok for o in outcomes):
        log.error("run --once: every source failed")
        return 1
    if result["failed"]:
        log.error("run --once: %d failure(s) in digests or delivery (logged above); they are retried next run", result["failed"])
        return 1
    return 0
