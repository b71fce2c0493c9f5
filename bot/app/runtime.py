"""The running bot: one store, one aiohttp session, the core services, and their lifecycle.

    runtime = await Runtime.initialize(settings, clock=clock)   # store, session, services
    await runtime.start(adapters)   # adapters connected, background loops running
    await runtime.wait_until_done() # SIGINT/SIGTERM, or an adapter that finished (console EOF)
    await runtime.stop()            # no new work; loops end after their current step; adapters stop
    await runtime.shutdown()        # session and store closed

Background work is one set of tracked tasks (`spawn`): the fetch loop (each source on its own
interval), the scheduler tick (due digests, alert batches, the outbox) and the summarizer's
background pass. Stopping lets the step in progress finish (an unsent outbox row simply stays
pending) and cancels what has not finished within `STOP_TIMEOUT`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field

import aiohttp

from bot.alerts.alerts import SubscriptionCommands
from bot.app.samples import offline_sources
from bot.app.scheduler import Scheduler
from bot.chat.service import BotService
from bot.core.clock import Clock, to_iso
from bot.core.models import Paper
from bot.delivery.outbox import Delivery
from bot.digests.channels_file import load_channels_file
from bot.digests.commands import DigestCommands
from bot.digests.job import DigestJob
from bot.enrich.summarize import Summaries, build_summaries
from bot.fetch.http import HttpClient
from bot.fetch.ingest import FetchOutcome, due_sources, fetch_source
from bot.fetch.sources import Source, build_sources
from bot.fetch.sources.arxiv_api import ArxivAPISource
from bot.ports import ChatAdapter, Health
from bot.search.engine import SearchEngine
from bot.settings import Settings
from bot.store import Store

log = logging.getLogger(__name__)

FETCH_POLL_SECONDS = 5.0
SUMMARIZE_EVERY_SECONDS = 120.0
STOP_TIMEOUT = 30.0


def arxiv_hosts(settings: Settings) -> dict[str, float]:
    """Per-host minimum intervals: arXiv asks for one request every 3 seconds."""
    return {"arxiv.org": settings.arxiv_min_delay}


@dataclass
class Runtime:
    """Everything one running paperbot holds, with an explicit lifecycle (see the module)."""

    settings: Settings
    clock: Clock
    store: Store
    session: aiohttp.ClientSession
    http: HttpClient
    sources: list[Source]
    summaries: Summaries
    search: SearchEngine
    service: BotService
    delivery: Delivery
    scheduler: Scheduler
    adapters: dict[str, ChatAdapter] = field(default_factory=dict)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    # --- lifecycle ------------------------------------------------------------------------

    @classmethod
    async def initialize(
        cls,
        settings: Settings,
        *,
        clock: Clock,
        offline: bool = False,
        session: aiohttp.ClientSession | None = None,
    ) -> Runtime:
        """Open the store (migrating it) and assemble the core; no adapter is built or started."""
        store = Store.open(settings.database_url)
        session = session or aiohttp.ClientSession()
        http = HttpClient(
            session,
            user_agent=settings.user_agent,
            timeout=settings.http_timeout,
            retries=settings.http_retries,
            max_bytes=settings.http_max_bytes,
            concurrency=settings.http_concurrency,
            host_min_interval=arxiv_hosts(settings),
            validators=store.sources,
            wall_clock=clock,
        )
        sources = offline_sources(clock) if offline else build_sources(settings, clock)
        summaries = build_summaries(settings, store, session, clock)
        search = SearchEngine.for_data_dir(store, settings.data_dir)
        delivery = Delivery(store, {}, clock)
        digest_job = DigestJob(store=store, settings=settings, summaries=summaries)
        digests = DigestCommands(store=store, settings=settings, clock=clock, job=digest_job, delivery=delivery)
        subscriptions = SubscriptionCommands(store=store, settings=settings, clock=clock)
        scheduler = Scheduler(
            digests=digest_job, store=store, settings=settings, summaries=summaries, delivery=delivery, clock=clock
        )
        api = None if offline else ArxivAPISource(settings, clock=clock)

        async def lookup(paper_id: str) -> Paper | None:
            if api is None:
                return None
            found = await api.fetch_ids(http, [paper_id])
            return found[0] if found else None

        service = BotService(
            store=store,
            summaries=summaries,
            search=search,
            clock=clock,
            digests=digests,
            subscriptions=subscriptions,
            notices=store.notices,
            lookup_paper=lookup,
            command_name=settings.slack_command,
        )
        if settings.channels_file:
            load_channels_file(settings.channels_file, store, clock())
        return cls(settings, clock, store, session, http, sources, summaries, search, service, delivery, scheduler)

    def attach(self, adapters: Sequence[ChatAdapter]) -> None:
        """Register adapters with the runtime and the outbox (before they are started)."""
        self.adapters.update({adapter.platform: adapter for adapter in adapters})
        self.delivery.adapters.update(self.adapters)

    async def start(self, adapters: Sequence[ChatAdapter] = ()) -> None:
        """Attach and connect the adapters, then start the background loops."""
        self.attach(adapters)
        for adapter in adapters:
            if self.stopping.is_set():
                return
            await adapter.start(self.service)
        settings = self.settings
        self.spawn(self._every(FETCH_POLL_SECONDS, self.fetch_due, "fetch"), "fetch")
        self.spawn(self._every(settings.scheduler_tick, lambda: self.scheduler.tick(self.clock()), "scheduler"), "scheduler")
        if settings.summarize_background:

            async def summarize() -> None:
                await self.summaries.background_pass(self.clock(), settings.summarize_batch)
                self.search.catch_up()  # index the new summary texts and tags now, not in a search

            self.spawn(self._every(SUMMARIZE_EVERY_SECONDS, summarize, "summarizer"), "summarizer")
        log.info("paperbot running: adapters %s, %d sources", ", ".join(self.adapters), len(self.sources))

    async def wait_until_done(self) -> None:
        """Return when `stopping` is set (signals) or any adapter has finished by itself."""
        waiters = [asyncio.create_task(self.stopping.wait())]
        waiters += [asyncio.create_task(adapter.finished.wait()) for adapter in self.adapters.values()]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def stop(self) -> None:
        """Start no new work; let each loop finish its current step (cancel after
        STOP_TIMEOUT); then stop the adapters."""
        self.stopping.set()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=STOP_TIMEOUT)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for adapter in self.adapters.values():
            with contextlib.suppress(Exception):
                await adapter.stop()

    async def shutdown(self) -> None:
        """Close the HTTP session and the store (after `stop`)."""
        await self.session.close()
        self.store.close()

    # Kept for callers that only ever built the core (CLI one-shots, tests).
    close = shutdown

    def spawn(self, work: Coroutine[object, object, None], name: str) -> asyncio.Task[None]:
        """Run `work` as a tracked background task (awaited or cancelled by `stop`)."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- work -----------------------------------------------------------------------------

    async def fetch_due(self, sources: Sequence[Source] | None = None) -> list[FetchOutcome]:
        """Fetch every due source (or the given ones) concurrently, never raising.

        Concurrency is safe: the HttpClient spaces requests per host (arXiv stays at one
        request per 3 s), and each ingest is one synchronous transaction."""
        todo = list(sources) if sources is not None else due_sources(self.sources, self.store, self.clock())
        outcomes = list(await asyncio.gather(*(fetch_source(s, self.http, self.store, self.clock) for s in todo)))
        if todo:
            self.search.catch_up()  # index what was ingested now, so that no search pays for it
        return outcomes

    async def first_fetch(self, offline: bool) -> None:
        """Ingest before taking commands, so the first query already has papers to search; a
        first run without internet falls back to the bundled samples, clearly labelled."""
        outcomes = await self.fetch_due()
        if not offline and outcomes and all(not o.ok for o in outcomes):
            log.warning("no source could be reached; loading the bundled sample papers instead")
            await self.fetch_due(offline_sources(self.clock))

    async def _every(self, seconds: float, job: Callable[[], Awaitable[object]], name: str) -> None:
        """Run `job` every `seconds` until stopping; a failing run is logged, not fatal."""
        while not self.stopping.is_set():
            try:
                await job()
            except Exception:
                log.exception("%s failed; will try again", name)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=seconds)

    def health(self) -> Health:
        """Store access, adapters connected and source states (served at /healthz)."""
        return {
            "ok": self.store.healthy(),
            "store": "ok" if self.store.healthy() else "unavailable",
            "adapters": {name: adapter.connected for name, adapter in self.adapters.items()},
            "sources": {
                state.name: {
                    "last_success": to_iso(state.last_success),
                    "last_failure": to_iso(state.last_failure),
                    "last_error": state.last_error,
                    "next_fetch_at": to_iso(state.next_fetch_at),
                }
                for state in self.store.sources.all()
            },
        }


async def build_runtime(
    settings: Settings, *, clock: Clock, offline: bool = False, session: aiohttp.ClientSession | None = None
) -> Runtime:
    """`Runtime.initialize` under the name the CLI one-shots and tests use."""
    return await Runtime.initialize(settings, clock=clock, offline=offline, session=session)


async def fetch_due(runtime: Runtime, sources: Sequence[Source] | None = None) -> list[FetchOutcome]:
    """`runtime.fetch_due(sources)`, as a function (tests, benchmarks)."""
    return await runtime.fetch_due(sources)


def install_signal_handlers(stopping: asyncio.Event) -> None:
    """SIGINT and SIGTERM set `stopping` (where the platform supports signal handlers)."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stopping.set)


async def unless_stopped(work: Awaitable[None], stopping: asyncio.Event) -> None:
    """Run `work`, cancelling it if `stopping` is set first."""
    task = asyncio.ensure_future(work)
    stop = asyncio.create_task(stopping.wait())
    await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    stop.cancel()
    if not task.done():
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
