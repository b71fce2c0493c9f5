"""`paperbot run`: the long-running bot (or `--once`: fetch, run what is due, deliver, exit)."""

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

log = logging.getLogger(__name__)


async def run_bot(settings: Settings, *, console: bool = False, offline: bool = False, once: bool = False) -> int:
    """Run paperbot until SIGINT/SIGTERM or the end of console input; returns the exit status."""
    if not offline and not await _network_reachable(settings):
        log.warning(
            "no network: the source hosts do not resolve, so paperbot runs on its bundled samples "
            "(real arXiv announcements of %s to %s)", SAMPLE_DAYS[0], SAMPLE_DAYS[-1],
        )
        offline = True
    runtime = await Runtime.initialize(settings, clock=_clock(settings, offline), offline=offline)
    adapters = build_adapters(
        settings, console=console, health=runtime.health, link_secret=runtime.link_secret,
        store=runtime.store, clock=runtime.clock,
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
    1 when every source failed. The console prints what it is sent without being started."""
    runtime.attach(adapters)
    outcomes = await runtime.fetch_due(runtime.sources)
    platforms = [adapter for adapter in adapters if adapter.platform != "console"]
    for adapter in platforms:
        await adapter.start(runtime.service)
    try:
        await runtime.scheduler.tick(runtime.clock())
    finally:
        for adapter in platforms:
            with contextlib.suppress(Exception):
                await adapter.stop()
    return 1 if outcomes and all(not o.ok for o in outcomes) else 0
