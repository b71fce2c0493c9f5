"""The running bot: one store, one aiohttp session, the core services, and their lifecycle.

    runtime = await Runtime.initialize(settings, clock=clock)   # store, session, services
    await runtime.start(adapters)   # adapters connected, background loops running
    await runtime.wait_until_done() # SIGINT/SIGTERM, or an adapter that finished (console EOF)
    await runtime.stop()            # nothing new starts; a send in flight gets its answer; adapters stop
    await runtime.shutdown()        # summarizer processes stopped, session and store closed

Background work is one set of tracked tasks (`spawn`): one fetch loop per source (each on its
own schedule, so a slow, hanging or rate-limited source delays only itself), the scheduler tick
(due digests, alert batches, the outbox), the summarizer's background pass and the workers of
the LLM queue (LLM_BACKGROUND_CONCURRENCY of them). Answers (commands, the site) never wait for
the LLM: they are given `summaries.for_answers()`, which answers from the cache or with the
offline summary and queues the LLM work (bot.enrich.summarize.cache).

Stopping (SIGTERM/SIGINT) sets `stopping`, which the outbox checks before every part: no new
send starts. Fetch loops and the summarizer are cancelled at once (nothing half-written: each
ingest is one transaction), and so are the LLM queue's workers and every LLM call in flight
(`Summaries.stop`, quietly: an answer already given kept its offline summary). A send already in flight gets SHUTDOWN_GRACE seconds (default 5)
for the platform's answer to be recorded; whatever has not finished then is cancelled (such a
send is repeated at most once, see bot.delivery.outbox). The adapters then get
ADAPTER_STOP_TIMEOUT seconds to close, so the process exits within about 10 s with everything
else left pending for the next start.

`start` also serves the web site, feeds, /healthz and /readyz (bot.web, WEB_ENABLED) on
HTTP_HOST:HTTP_PORT, with the routes adapters contribute (`bot.ports.HttpRoutes`), before the
adapters connect; `stop` closes it last. With METRICS_ENABLED it also serves /metrics from the
runtime's own `bot.core.metrics.Metrics` (one registry per runtime): commands (adapters get
the service wrapped by bot.app.instrumented), deliveries, fetches and summaries are counted as
they happen; the outbox, source lag and token gauges are read from the store at scrape time.

Replicas (PostgreSQL): any number of runtimes on one database run every loop; none is in
charge. Each has a replica id (PAPERBOT_REPLICA_ID, else `<hostname>-<pid>-<random>`) under
which its delivery claims outbox rows for OUTBOX_LEASE_SECONDS at a time (bot.delivery.outbox);
each source is fetched, and each scheduler step (digests, alert batches, personal digests,
pruning) run, by one replica at a time under a work lock (bot.store.lock.AdvisoryLocks), which
the server releases if its holder dies; every replica's search index follows the store's search
sequence. On SQLite the process is alone (the writer lock): its id is `solo` and every work
lock is granted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import aiohttp

from bot.alerts.alerts import SubscriptionCommands
from bot.app.instrumented import InstrumentedService
from bot.app.samples import offline_sources
from bot.app.scheduler import Scheduler
from bot.chat.feedback import FeedbackCommands
from bot.chat.service import BotService
from bot.core.clock import Clock, ensure_utc, system_monotonic, to_iso
from bot.core.errors import StoreError
from bot.core.metrics import Metrics, OperationalState
from bot.core.models import Paper
from bot.core.workers import WorkerThreads
from bot.delivery.outbox import BATCH, SOLO_HOLDER, Delivery
from bot.digests.channels_file import load_channels_file
from bot.digests.commands import DigestCommands
from bot.digests.email import EmailDigests
from bot.digests.job import DigestJob, default_settings
from bot.digests.personal import PersonalDigests
from bot.enrich.summarize import Summaries, build_summaries
from bot.fetch.http import HttpClient
from bot.fetch.ingest import FetchOutcome, due_sources, fetch_source, retry_delay, source_reports
from bot.fetch.sources import Source, build_sources
from bot.fetch.sources.arxiv_api import ArxivAPISource
from bot.ports import ChatAdapter, Health, adapter_routes
from bot.rank.embeddings import EmbeddingClient, Embeddings
from bot.rank.ranking import Ranker
from bot.search.engine import SearchEngine
from bot.settings import Settings
from bot.store import Store
from bot.store.lock import ProcessLocks, WorkLocks, holding, work_locks
from bot.web.pages import Site
from bot.web.server import WebServer, build_app

log = logging.getLogger(__name__)

# Longest a source's loop sleeps before reading its state again (another process, such as
# `paperbot fetch`, may have fetched it meanwhile; an accelerated clock moves faster).
FETCH_POLL_SECONDS = 5.0
SUMMARIZE_EVERY_SECONDS = 120.0
SUMMARIZE_PASSES_IN_A_ROW = 40  # at most this many SUMMARIZE_BATCH passes per wake-up
# After an offline wake-up that found a backlog bigger than it could make, the next one comes
# this soon instead of SUMMARIZE_EVERY_SECONDS later: a bulk import or an upgrade of the
# summarizer is summarized in minutes (about 2,000 papers every few seconds), not at 2,000
# papers per 2 minutes (100,000 papers took 1.7 hours, with answers summarizing meanwhile);
# the pause leaves the CPU to answers between wake-ups.
SUMMARIZE_BACKLOG_PAUSE = 1.0
# Outbox rows a replica claims at a time (PostgreSQL): a few, so that the rest stay free for the
# other replicas instead of waiting behind one replica's sends.
REPLICA_CLAIM_BATCH = 10
ADAPTER_STOP_TIMEOUT = 3.0


def replica_id(settings: Settings) -> str:
    """This process's name in outbox claims: PAPERBOT_REPLICA_ID, else one that is new at every
    start on PostgreSQL (a restarted replica must not pass for the one that died), and `solo`
    on SQLite, whose one process takes its own claims back at once after a restart."""
    if settings.database_url.scheme != "postgresql":
        return SOLO_HOLDER
    return settings.replica_id or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


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
    ranker: Ranker | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    link_secret: str = ""  # signs unsubscribe links (EMAIL_LINK_SECRET, else one kept in the store)
    email: EmailDigests | None = None  # /papers email, when SMTP_HOST is set
    web: WebServer | None = None
    ready: bool = False  # /readyz: the background loops are running
    metrics: Metrics = field(default_factory=Metrics)
    locks: WorkLocks = field(default_factory=ProcessLocks)  # one replica at a time (see the module)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    # Tasks that stop() cancels at once instead of letting them finish their step.
    _interruptible: set[asyncio.Task[None]] = field(default_factory=set)

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
        store.workers = WorkerThreads(settings.worker_threads, queued=settings.worker_queue)
        session = session or aiohttp.ClientSession()
        http = HttpClient(
            session,
            user_agent=settings.user_agent,
            timeout=settings.http_timeout,
            retries=settings.http_retries,
            deadline=settings.http_request_deadline,
            max_retry_after=settings.http_max_retry_wait,
            max_bytes=settings.http_max_bytes,
            concurrency=settings.http_concurrency,
            host_min_interval=arxiv_hosts(settings),
            validators=store.sources,
            wall_clock=clock,
        )
        sources = offline_sources(clock) if offline else build_sources(settings, clock)
        summaries = build_summaries(settings, store, session, clock)
        search = SearchEngine.for_data_dir(store, settings.data_dir)
        stopping = asyncio.Event()
        metrics = Metrics()
        locks = work_locks(settings.database_url, lease_seconds=settings.outbox_lease_seconds)
        replicated = settings.database_url.scheme == "postgresql"
        delivery = Delivery(
            store, {}, clock, stopping=stopping, metrics=metrics, holder=replica_id(settings),
            lease=timedelta(seconds=settings.outbox_lease_seconds),
            batch=REPLICA_CLAIM_BATCH if replicated else BATCH,
        )
        # Loading the index reads the stored vectors; papers since are indexed by the "rank" loop.
        embeddings = None
        if settings.embeddings_enabled:
            embeddings = Embeddings(EmbeddingClient(session, settings, store, clock), store)
        ranker = Ranker(store, clock, embeddings=embeddings)
        search.meaning = ranker.search_meaning  # free-text /papers also by meaning (bot.search.fusion)
        # Replicas divide digest building slot by slot under the same work locks (bot.digests.claims).
        personal = PersonalDigests(store=store, ranker=ranker, summaries=summaries, clock=clock, locks=locks)
        digest_job = DigestJob(store=store, settings=settings, summaries=summaries, ranker=ranker, locks=locks)
        email = EmailDigests(store=store, settings=settings, clock=clock) if settings.email_enabled else None
        digests = DigestCommands(
            store=store, settings=settings, clock=clock, job=digest_job, delivery=delivery, email=email,
            personal=personal,
        )
        subscriptions = SubscriptionCommands(store=store, settings=settings, clock=clock)
        scheduler = Scheduler(
            digests=digest_job, store=store, settings=settings, summaries=summaries, delivery=delivery, clock=clock,
            ranker=ranker, personal=personal, locks=locks,
        )
        api = None if offline else ArxivAPISource(settings, clock=clock)

        async def lookup(paper_id: str) -> Paper | None:
            if api is None:
                return None
            found = await api.fetch_ids(http, [paper_id])
            return found[0] if found else None

        answers = summaries.for_answers()  # commands never wait for the LLM
        service = BotService(
            store=store,
            summaries=answers,
            search=search,
            clock=clock,
            digests=digests,
            subscriptions=subscriptions,
            notices=store.notices,
            lookup_paper=lookup,
            command_name=settings.slack_command,
            new_digest=lambda where: default_settings(where.platform, where.channel_id, settings),
            feedback=FeedbackCommands(
                store=store, ranker=ranker, summaries=answers, clock=clock, lookup_paper=lookup
            ),
        )
        if settings.channels_file:
            load_channels_file(settings.channels_file, store, clock())
        link_secret = settings.email_link_secret.get_secret_value() or store.emails.stored_secret(
            "links", lambda: secrets.token_hex(32)
        )
        runtime = cls(
            settings, clock, store, session, http, sources, summaries, search, service, delivery, scheduler,
            link_secret=link_secret, email=email, ranker=ranker,
            stopping=stopping, metrics=metrics, locks=locks,
        )
        metrics.read_state_with(runtime.operational_state)
        summaries.on_made = metrics.summaries_made.inc  # every summary made, whoever asked for it
        return runtime

    def attach(self, adapters: Sequence[ChatAdapter]) -> None:
        """Register adapters with the runtime and the outbox (before they are started)."""
        self.adapters.update({adapter.platform: adapter for adapter in adapters})
        self.delivery.adapters.update(self.adapters)

    async def start(self, adapters: Sequence[ChatAdapter] = ()) -> None:
        """Serve the web site (with the adapters' routes), attach and connect the adapters,
        then start the background loops."""
        self.attach(adapters)
        # The summarizer's processes get ready (about a second) while the adapters connect.
        self.summaries.start_workers()
        if self.settings.web_enabled:
            await self.start_web(list(self.adapters.values()))
        measured = InstrumentedService(self.service, self.metrics)
        for adapter in adapters:
            if self.stopping.is_set():
                return
            await adapter.start(measured)
        settings = self.settings
        for source in self.sources:
            self.spawn(self._source_loop(source), f"fetch {source.name}", interruptible=True)
        if self.ranker is not None:
            # New papers get their vectors soon after they arrive (CPU work runs in a thread).
            self.spawn(self._every(FETCH_POLL_SECONDS, self.ranker.refresh, "rank"), "rank", interruptible=True)
        self.spawn(self._every(settings.scheduler_tick, lambda: self.scheduler.tick(self.clock()), "scheduler"), "scheduler")
        # The work locks are leases (bot.store.lock): renewed from the event loop, so a replica
        # whose loop hangs stops renewing them and the others take its work over.
        self.spawn(
            self._every(settings.outbox_lease_seconds / 3, lambda: asyncio.to_thread(self.locks.keep_alive), "work locks"),
            "work locks", interruptible=True,
        )
        if settings.summarize_background:
            self.spawn(self._summarize_forever(), "summarizer", interruptible=True)
        if self.summaries.llm is not None:
            for number in range(settings.llm_background_concurrency):
                self.spawn(self.summaries.work_queue(), f"llm queue {number + 1}", interruptible=True)
        self.ready = True
        log.info(
            "paperbot running: adapters %s, %d sources, replica %s", ", ".join(self.adapters), len(self.sources),
            self.delivery.holder,
        )

    async def _summarize_forever(self) -> None:
        """The background summarizer's loop: a wake-up every SUMMARIZE_EVERY_SECONDS, or
        SUMMARIZE_BACKLOG_PAUSE after one that left a backlog; a failing wake-up is logged."""
        while not self.stopping.is_set():
            made = 0
            try:
                made = await self.summarize_backlog()
            except Exception:
                log.exception("summarizer failed; will try again")
            backlog = self.summaries.llm is None and made >= self.settings.summarize_batch * SUMMARIZE_PASSES_IN_A_ROW
            await self._pause(SUMMARIZE_BACKLOG_PAUSE if backlog else SUMMARIZE_EVERY_SECONDS)

    async def summarize_backlog(self) -> int:
        """One wake-up of the background summarizer: papers without a summary get one (see
        `Summaries.background_pass`); how many were made. One replica at a time (the
        "summarizer" work lock): replicas sharing a store would otherwise each summarize the
        same papers, and every pass of each would write them again. 0 when another has it."""
        with holding(self.locks, "summarizer") as mine:
            if not mine:
                return 0
            # Offline passes in a row while each finds a full batch (a new day's listing), so
            # papers are summarized as they arrive rather than SUMMARIZE_BATCH per wake-up;
            # bounded, so one wake-up never runs for long. LLM passes keep their pace (one batch
            # per wake-up): its calls cost money and rate limits.
            batch = self.settings.summarize_batch
            passes = SUMMARIZE_PASSES_IN_A_ROW if self.summaries.llm is None else 1
            made = 0
            for _ in range(passes):
                found = await self.summaries.background_pass(self.clock(), batch)  # counted as saved
                made += found
                if found < batch or self.stopping.is_set():
                    break
        # Index the new summary texts and tags now, not in a search (in a worker thread).
        await self.store.run_blocking(self.search.catch_up)
        return made

    async def start_web(self, adapters: Sequence[ChatAdapter]) -> None:
        """Serve the site, feeds, /healthz, /readyz and the adapters' routes; logs its URL once.
        A taken port is logged, not fatal: chat and email delivery go on without the site."""
        site = Site(
            store=self.store, search=self.search, summaries=self.summaries.for_answers(), clock=self.clock,
            settings=self.settings, refresh_every=min((s.interval for s in self.sources), default=3600.0),
            link_secret=self.link_secret, email=self.email,
        )
        app = build_app(
            site, health=self.health, ready=lambda: self.ready, extra_routes=adapter_routes(adapters),
            metrics=self.metrics if self.settings.metrics_enabled else None,
        )
        server = WebServer(app, self.settings.http_host, self.settings.http_port)
        try:
            url = await server.start()
        except OSError as exc:
            log.error("web site off: cannot listen on %s:%s (%s)", self.settings.http_host, self.settings.http_port, exc)
            return
        self.web = server
        public = f" (public address {self.settings.public_base_url})" if self.settings.public_base_url else ""
        log.info("web site at %s%s", url, public)

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
        """Start nothing new; give a send in flight SHUTDOWN_GRACE seconds to record its answer
        (cancel what is still running then); then stop the adapters (see the module)."""
        self.stopping.set()
        self.ready = False  # /readyz: load balancers stop sending new work
        for task in list(self._interruptible):
            task.cancel()
        waiting: set[asyncio.Task[None]] = set(self._tasks - self._interruptible)
        # `digest now` delivers outside the scheduler's task; its pass holds the outbox lock.
        waiting.add(asyncio.create_task(self.delivery.idle(), name="delivery idle"))
        _, pending = await asyncio.wait(waiting, timeout=self.settings.shutdown_grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, *self._interruptible, return_exceptions=True)
        await self.summaries.stop()  # LLM calls the cancelled work left running
        if any(task.get_name() != "delivery idle" for task in pending):
            log.warning(
                "stopping: work still running after %.0f s was cancelled; a message send it had in "
                "flight is repeated at most once at the next start",
                self.settings.shutdown_grace,
            )
        await self._stop_adapters()
        if self.web is not None:
            await self.web.stop()
            self.web = None

    async def _stop_adapters(self) -> None:
        async def stop_one(adapter: ChatAdapter) -> None:
            try:
                await adapter.stop()
            except Exception:
                log.warning("adapter %s did not stop cleanly", adapter.platform, exc_info=True)

        stops = [asyncio.create_task(stop_one(adapter)) for adapter in self.adapters.values()]
        if not stops:
            return
        _, late = await asyncio.wait(stops, timeout=ADAPTER_STOP_TIMEOUT)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        if late:
            log.warning("an adapter took longer than %.0f s to stop; it was cancelled", ADAPTER_STOP_TIMEOUT)

    async def shutdown(self) -> None:
        """Stop the summarizer's worker processes, the store's worker threads and the search's
        helper threads, close the HTTP session and the store (after `stop`)."""
        await asyncio.to_thread(self.summaries.close)
        if self.store.workers is not None:
            await asyncio.to_thread(self.store.workers.close)  # waits for a job still running
        await asyncio.to_thread(self.search.close)  # the meaning side's helper threads
        await self.session.close()
        self.locks.close()
        self.store.close()

    # Kept for callers that only ever built the core (CLI one-shots, tests).
    close = shutdown

    def spawn(self, work: Coroutine[object, object, None], name: str, *, interruptible: bool = False) -> asyncio.Task[None]:
        """Run `work` as a tracked background task: `stop` gives it the shutdown grace to
        finish its step, or cancels it at once when it is `interruptible`."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if interruptible:
            self._interruptible.add(task)
            task.add_done_callback(self._interruptible.discard)
        return task

    # --- work -----------------------------------------------------------------------------

    async def fetch_due(self, sources: Sequence[Source] | None = None) -> list[FetchOutcome]:
        """Fetch every due source (or the given ones) concurrently, never raising, and return
        when all are done (one-shot runs: the first fetch, `run --once`). Each request is
        bounded by HTTP_REQUEST_DEADLINE; the running bot uses one loop per source instead.

        Concurrency is safe: the HttpClient spaces requests per host (arXiv stays at one
        request per 3 s), and each ingest is one synchronous transaction."""
        todo = list(sources) if sources is not None else due_sources(self.sources, self.store, self.clock())
        fetched = await asyncio.gather(*(self._fetch_one(s) for s in todo))
        outcomes = [outcome for outcome in fetched if outcome is not None]
        if todo:
            self.search.catch_up()  # index what was ingested now, so that no search pays for it
        return outcomes

    async def _fetch_one(self, source: Source, *, only_if_due: bool = False) -> FetchOutcome | None:
        """Fetch one source into the store (never raising for a fetch failure), counted; None
        when another replica is fetching it (or, `only_if_due`, fetched it meanwhile)."""
        with holding(self.locks, f"source:{source.name}") as mine:
            if not mine or (only_if_due and self._seconds_until_due(source) > 0):
                return None
            return await self._fetch_counted(source)

    async def _fetch_counted(self, source: Source) -> FetchOutcome:
        outcome = await fetch_source(source, self.http, self.store, self.clock)
        self.metrics.fetches.labels(source=source.name, outcome="ok" if outcome.ok else "error").inc()
        changed = outcome.counts.new + outcome.counts.updated
        if changed:
            self.metrics.papers_ingested.labels(source=source.name).inc(changed)
        return outcome

    def _seconds_until_due(self, source: Source) -> float:
        next_fetch = self.store.sources.get(source.name).next_fetch_at
        return 0.0 if next_fetch is None else (next_fetch - self.clock()).total_seconds()

    async def _source_loop(self, source: Source) -> None:
        """Fetch one source whenever it is due, until stopping: its own schedule, so nothing
        another source does (hang, 429, time out) delays it."""
        not_before = 0.0  # monotonic seconds; set after a failure that could not be recorded
        while not self.stopping.is_set():
            try:
                wait = max(self._seconds_until_due(source), not_before - system_monotonic())
                if wait <= 0:
                    if await self._fetch_one(source, only_if_due=True) is not None:
                        continue
                    wait = FETCH_POLL_SECONDS  # another replica fetches it: look again soon
            except Exception as exc:
                # The source's state may not have been saved, so it would look due at once.
                wait = retry_delay(source.interval, 1).total_seconds()
                not_before = system_monotonic() + wait
                if isinstance(exc, StoreError):
                    log.error("source %s could not be stored: %s; next attempt in %.0f s", source.name, exc, wait)
                else:
                    log.exception("fetching source %s failed unexpectedly; next attempt in %.0f s", source.name, wait)
            await self._pause(min(wait, FETCH_POLL_SECONDS))

    async def _pause(self, seconds: float) -> None:
        """Sleep `seconds`, or less when stopping is set meanwhile."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)

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
            await self._pause(seconds)

    async def _prepare_alerts(self) -> None:
        """Load the scheduler's alert matcher; on failure the first tick loads it instead."""
        try:
            await self.scheduler.prepare_alerts(self.clock())
        except Exception:
            log.exception("loading subscriptions into the alert matcher failed; the next tick tries again")

    def operational_state(self) -> OperationalState:
        """What /metrics reads from the store on each scrape: a few indexed reads and sums."""
        now = ensure_utc(self.clock())
        # Only the rows that wait, through an index: a count of the whole history grew with it.
        depth, oldest = self.store.outbox.waiting()
        lag = {
            report.name: max(0.0, (now - report.last_success).total_seconds())
            for report in source_reports([source.name for source in self.sources], self.store)
            if report.configured and report.last_success is not None
        }
        return OperationalState(
            outbox_depth=depth,
            oldest_pending_seconds=max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0,
            source_lag_seconds=lag,
            llm_tokens_today=self.store.summaries.tokens_on(now),
            embedding_tokens_today=self.store.vectors.embedding_tokens_on(now),
            summaries_stored=self.store.summaries.count(),
        )

    def health(self) -> Health:
        """Store access, adapters connected and every configured source, fetched yet or not,
        with its last success, last failure and reason, and next attempt (served at /healthz;
        the same list as `paperbot status`, credentials removed)."""
        return {
            "ok": self.store.healthy(),
            "store": "ok" if self.store.healthy() else "unavailable",
            "adapters": {name: adapter.connected for name, adapter in self.adapters.items()},
            "sources": {
                report.name: {
                    "configured": report.configured,
                    "failing": report.consecutive_failures > 0,
                    "consecutive_failures": report.consecutive_failures,
                    "last_success": to_iso(report.last_success),
                    "last_failure": to_iso(report.last_failure),
                    "last_error": report.last_error,
                    "next_fetch_at": to_iso(report.next_fetch_at),
                }
                for report in source_reports([source.name for source in self.sources], self.store)
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
