"""The running bot: wiring (one store, one aiohttp session, one service) and `paperbot run`.

`build_runtime` assembles the core; `run_bot` starts the adapters, the fetch loop (each source
on its own interval), the summarizer's background pass and the scheduler tick, and stops cleanly
on SIGINT/SIGTERM (or at the end of console input): no new work is started, the tick in progress
finishes (an unsent outbox row simply stays pending), sessions close, exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any, TextIO

import aiohttp

from bot.chat.service import BotService
from bot.core.clock import Clock, parse_since, to_iso
from bot.core.errors import ConfigError, UserInputError
from bot.core.models import Paper, SourceKind
from bot.digests.calendar import calendar_warning
from bot.fetch.http import HttpClient
from bot.fetch.ingest import FetchOutcome, due_sources, fetch_source
from bot.fetch.sources import Source, build_sources
from bot.ports import ChatAdapter
from bot.search.engine import SearchEngine
from bot.settings import Settings, make_clock
from bot.store import Store

log = logging.getLogger(__name__)

FETCH_POLL_SECONDS = 5.0
SUMMARIZE_EVERY_SECONDS = 120.0


@dataclass
class Runtime:
    """Everything one running paperbot holds."""

    settings: Settings
    clock: Clock
    store: Store
    session: aiohttp.ClientSession
    http: HttpClient
    sources: list[Source]
    summaries: Any
    search: SearchEngine
    service: BotService
    delivery: Any
    scheduler: Any
    adapters: dict[str, ChatAdapter] = field(default_factory=dict)

    async def close(self) -> None:
        """Close the HTTP session and the store."""
        await self.session.close()
        self.store.close()

    def health(self) -> dict[str, Any]:
        """Store access, adapters connected and source states (served at /healthz)."""
        return {
            "ok": self.store.healthy(),
            "store": "ok" if self.store.healthy() else "unavailable",
            "adapters": {name: bool(getattr(a, "connected", True)) for name, a in self.adapters.items()},
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


def arxiv_hosts(settings: Settings) -> dict[str, float]:
    """Per-host minimum intervals: arXiv asks for one request every 3 seconds."""
    return {"arxiv.org": settings.arxiv_min_delay}


async def build_runtime(
    settings: Settings,
    *,
    clock: Clock,
    offline: bool = False,
    session: aiohttp.ClientSession | None = None,
) -> Runtime:
    """Open the store and assemble the core (no adapters started)."""
    from bot.alerts.alerts import SubscriptionCommands
    from bot.app.scheduler import Scheduler
    from bot.delivery.outbox import Delivery
    from bot.digests.digest import DigestCommands, load_channels_file
    from bot.enrich.summarize import build_summaries
    from bot.fetch.sources.arxiv_api import ArxivAPISource

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
    search = SearchEngine(store)
    delivery = Delivery(store, {}, clock)
    digests = DigestCommands(store=store, settings=settings, clock=clock, summaries=summaries, delivery=delivery)
    subscriptions = SubscriptionCommands(store=store, settings=settings, clock=clock)
    scheduler = Scheduler(store=store, settings=settings, clock=clock, summaries=summaries, delivery=delivery)
    api = ArxivAPISource(settings, clock=clock) if not offline else None

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
    return Runtime(settings, clock, store, session, http, sources, summaries, search, service, delivery, scheduler)


# --- offline samples -------------------------------------------------------------------------


class SampleSource:
    """A source that 'fetches' a payload shipped inside the package (for --offline)."""

    interval = 365 * 86400.0

    def __init__(self, name: str, kind: SourceKind, payload_kind: str, filename: str, clock: Clock) -> None:
        self.name = name
        self.kind = kind
        self.payload_kind = payload_kind
        self.filename = filename
        self.clock = clock

    async def fetch(self, http: HttpClient, since: datetime | None) -> list[Paper]:
        """Parse the bundled payload through the same parser production uses."""
        from bot.fetch.sources.parsers import parse_payload

        data = resources.files("bot.fetch.samples").joinpath(self.filename).read_bytes()
        return parse_payload(self.payload_kind, data, self.clock())


def offline_sources(clock: Clock) -> list[Source]:
    """The bundled real payloads: an arXiv listing, an arXiv API page, HF daily papers, Reddit."""
    return [
        SampleSource("arxiv (sample)", SourceKind.ARXIV, "arxiv-rss", "arxiv_rss_quant-ph.xml", clock),
        SampleSource("arxiv-api (sample)", SourceKind.ARXIV, "arxiv-api", "arxiv_api_testing.xml", clock),
        SampleSource("hf (sample)", SourceKind.HF, "hf-daily", "hf_daily.json", clock),
        SampleSource("reddit (sample)", SourceKind.REDDIT, "reddit-json", "reddit_new.json", clock),
    ]


# --- the long-running bot ----------------------------------------------------------------------


def choose_adapters(settings: Settings, *, console: bool, runtime: Runtime) -> list[ChatAdapter]:
    """Slack and/or Discord when their tokens are set; the console when asked or when neither is."""
    chosen: list[ChatAdapter] = []
    if not console:
        if settings.slack_enabled:
            from adapters.slack import SlackAdapter

            chosen.append(SlackAdapter(settings, health=runtime.health))
        if settings.discord_enabled:
            from adapters.discord import DiscordAdapter

            chosen.append(DiscordAdapter(settings))
    if console or not chosen:
        from adapters.console import ConsoleAdapter

        chosen.append(ConsoleAdapter(user=settings.console_user))
    return chosen


async def fetch_due(runtime: Runtime, sources: Sequence[Source] | None = None) -> list[FetchOutcome]:
    """Fetch every due source (or the given ones) concurrently, never raising.

    Concurrency is safe: the HttpClient spaces requests per host (arXiv stays at one request per
    3 s), and each ingest is one synchronous transaction."""
    todo = list(sources) if sources is not None else due_sources(runtime.sources, runtime.store, runtime.clock())
    return list(await asyncio.gather(*(fetch_source(s, runtime.http, runtime.store, runtime.clock) for s in todo)))


async def _every(seconds: float, stopping: asyncio.Event, job: Callable[[], Awaitable[Any]], name: str) -> None:
    """Run `job` every `seconds` until `stopping` is set; a failing run is logged, not fatal."""
    while not stopping.is_set():
        try:
            await job()
        except Exception:
            log.exception("%s failed; will try again", name)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=seconds)


async def run_bot(settings: Settings, *, console: bool = False, offline: bool = False, once: bool = False) -> int:
    """`paperbot run`: returns the process exit status."""
    clock = make_clock(settings)
    runtime = await build_runtime(settings, clock=clock, offline=offline)
    adapters = choose_adapters(settings, console=console, runtime=runtime)
    runtime.adapters.update({adapter.platform: adapter for adapter in adapters})
    runtime.delivery.adapters.update(runtime.adapters)
    stopping = asyncio.Event()
    try:
        if once:
            return await _run_once(runtime, adapters)
        # Handlers first: a SIGTERM during the first fetch or while an adapter is still
        # connecting must stop cleanly too.
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stopping.set)
        # Ingest before taking commands so the first query already has papers to search.
        if offline or runtime.store.papers.count() == 0:
            log.info("fetching papers for the first time from %d sources", len(runtime.sources))
            await _unless_stopped(_first_fetch(runtime, offline), stopping)
        for adapter in adapters:
            if stopping.is_set():
                break
            await adapter.start(runtime.service)
        log.info("paperbot running: adapters %s, %d sources", ", ".join(runtime.adapters), len(runtime.sources))
        workers = [
            asyncio.create_task(_every(FETCH_POLL_SECONDS, stopping, lambda: fetch_due(runtime), "fetch")),
            asyncio.create_task(_every(settings.scheduler_tick, stopping, lambda: runtime.scheduler.tick(runtime.clock()), "scheduler")),
        ]
        if settings.summarize_background:
            workers.append(
                asyncio.create_task(
                    _every(
                        SUMMARIZE_EVERY_SECONDS,
                        stopping,
                        lambda: runtime.summaries.background_pass(runtime.clock(), settings.summarize_batch),
                        "summarizer",
                    )
                )
            )
        finished = [getattr(a, "finished", None) for a in adapters]
        waiters = [asyncio.create_task(stopping.wait())]
        waiters += [asyncio.create_task(event.wait()) for event in finished if event is not None]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        stopping.set()
        for waiter in waiters:
            waiter.cancel()
        # Workers notice `stopping` between runs; a tick in progress finishes its current send.
        await asyncio.wait(workers, timeout=30)
        for worker in workers:
            worker.cancel()
        for adapter in adapters:
            with contextlib.suppress(Exception):
                await adapter.stop()
        log.info("paperbot stopped")
        return 0
    finally:
        await runtime.close()


async def _first_fetch(runtime: Runtime, offline: bool) -> None:
    outcomes = await fetch_due(runtime)
    if not offline and outcomes and all(not o.ok for o in outcomes):
        # A first run without internet still shows the whole product, clearly labelled.
        log.warning("no source could be reached; loading the bundled sample papers instead")
        await fetch_due(runtime, offline_sources(runtime.clock))


async def _unless_stopped(work: Awaitable[None], stopping: asyncio.Event) -> None:
    """Run `work`, cancelling it if `stopping` is set first."""
    task = asyncio.ensure_future(work)
    stop = asyncio.create_task(stopping.wait())
    await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    stop.cancel()
    if not task.done():
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _run_once(runtime: Runtime, adapters: list[ChatAdapter]) -> int:
    outcomes = await fetch_due(runtime, runtime.sources)
    for adapter in adapters:
        if adapter.platform != "console":
            await adapter.start(runtime.service)
    try:
        await runtime.scheduler.tick(runtime.clock())
    finally:
        for adapter in adapters:
            if adapter.platform != "console":
                with contextlib.suppress(Exception):
                    await adapter.stop()
    return 1 if outcomes and all(not o.ok for o in outcomes) else 0


# --- one-shot commands used by the CLI ----------------------------------------------------------


def _select_sources(all_sources: list[Source], wanted: list[str], settings: Settings, clock: Clock) -> list[Source]:
    if not wanted:
        return all_sources
    from bot.fetch.sources.arxiv_api import ArxivAPISource

    chosen: list[Source] = []
    for name in wanted:
        if name == "arxiv-api":
            chosen.append(ArxivAPISource(settings, clock=clock))
            continue
        matches = [s for s in all_sources if s.name == name or s.name.split(":")[0] == name or s.kind.value == name]
        if not matches:
            known = ", ".join(sorted({s.name for s in all_sources} | {"arxiv-api"}))
            raise ValueError(f"no configured source {name!r}; configured: {known}")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


async def fetch_now(settings: Settings, wanted: list[str], since_text: str | None, out: TextIO) -> int:
    """`paperbot fetch`: fetch now, print per-source counts; exit 1 if every source failed."""
    runtime = await build_runtime(settings, clock=make_clock(settings))
    try:
        since = parse_since(since_text, runtime.clock()) if since_text else None
        sources = _select_sources(runtime.sources, wanted, settings, runtime.clock)
        if not sources:
            out.write("no sources are enabled (see ARXIV_ENABLED, HF_ENABLED, REDDIT_ENABLED, FEEDS)\n")
            return 0
        failures = 0
        for source in sources:
            progress = _progress_printer(out, source.name) if source.name == "arxiv-api" else None
            if progress is not None and hasattr(source, "progress"):
                source.progress = progress
            outcome = await fetch_source(source, runtime.http, runtime.store, runtime.clock, since)
            if outcome.ok:
                counts = ", ".join(f"{v} {k}" for k, v in outcome.counts.as_dict().items())
                out.write(f"{source.name}: {counts}\n")
            else:
                failures += 1
                out.write(f"{source.name}: FAILED: {outcome.error}\n")
        return 1 if failures == len(sources) else 0
    finally:
        await runtime.close()


def _progress_printer(out: TextIO, name: str) -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        total = max(total, done, 1)
        filled = int(30 * done / total)
        out.write(f"\r{name} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
        if done >= total:
            out.write("\n")
        out.flush()

    return show


def print_status(settings: Settings, out: TextIO) -> int:
    """`paperbot status`: sources with last success, last failure and next fetch; store counts; LLM usage."""
    clock = make_clock(settings)
    store = Store.open(settings.database_url)
    try:
        states = {state.name: state for state in store.sources.all()}
        names = [s.name for s in build_sources(settings, clock)]
        names += [n for n in states if n not in names]
        out.write("sources:\n")
        if not names:
            out.write("  (none enabled)\n")
        for name in names:
            state = states.get(name)
            if state is None:
                out.write(f"  {name}: never fetched\n")
                continue
            out.write(
                f"  {name}: last success {to_iso(state.last_success) or 'never'}, "
                f"last failure {to_iso(state.last_failure) or 'never'}"
                + (f" ({state.last_error})" if state.failing else "")
                + f", next fetch {to_iso(state.next_fetch_at) or 'now'}\n"
            )
        counts = {
            "papers": store.papers.count(),
            "summaries": store.conn.execute("SELECT COUNT(*) FROM summaries").fetchone()[0],
            "channels with digests": store.conn.execute("SELECT COUNT(*) FROM channel_settings WHERE enabled = 1").fetchone()[0],
            "subscriptions": store.conn.execute("SELECT COUNT(*) FROM subscriptions").fetchone()[0],
            "outbox pending": store.conn.execute("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')").fetchone()[0],
            "outbox failed": store.conn.execute("SELECT COUNT(*) FROM outbox WHERE state = 'failed'").fetchone()[0],
        }
        out.write("store:\n" + "".join(f"  {k}: {v}\n" for k, v in counts.items()))
        used, budget = store.summaries.tokens_on(clock()), settings.llm_daily_token_budget
        mode = f"{settings.llm_provider} {settings.llm_model}" if settings.llm_enabled else "offline summarizer"
        limit = f"of {budget:,}" if budget else "(no daily limit)"
        out.write(f"llm: {mode}; tokens today (UTC) {used:,} {limit}\n")
        warning = calendar_warning(clock().date())
        if warning:
            out.write(f"warning: {warning}\n")
    finally:
        store.close()
    return 0


def search_cli(settings: Settings, args: Any, out: TextIO) -> int:
    """`paperbot search`: ranked results as text, or JSON lines with id, title, url, score, topics, tldr."""
    from bot.chat.grammar import parse_topic, query_text
    from bot.enrich.summarize import build_summaries
    from bot.search.engine import SearchQuery

    if not 1 <= args.limit <= 100:
        raise ValueError("--limit must be from 1 to 100")
    # The same checks as /papers in chat; bad input is a usage error (exit 2), one line.
    try:
        text = query_text([args.query])
        topic = parse_topic(args.topic) if args.topic else None
    except UserInputError as exc:
        raise ValueError(str(exc)) from None
    clock = make_clock(settings)
    since = parse_since(args.since, clock()) if args.since else None
    if not (text.strip('" ') or topic or since):
        raise ValueError('that search is empty; give some words, --topic or --since, e.g. paperbot search "diffusion"')
    store = Store.open(settings.database_url)

    async def go() -> int:
        async with aiohttp.ClientSession() as session:
            query = SearchQuery(text=text, since=since, topic=topic, limit=args.limit)
            result = SearchEngine(store).search(query, clock())
            summaries = await build_summaries(settings, store, session, clock).get_many([h.paper for h in result.hits])
            for hit in result.hits:
                summary = summaries.get(hit.paper.id)
                if args.json:
                    record = {
                        "id": hit.paper.id, "title": hit.paper.title, "url": hit.paper.url,
                        "score": round(hit.score, 4), "topics": list(summary.topics) if summary else [],
                        "tldr": summary.tldr if summary else "",
                    }
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                else:
                    out.write(f"{hit.score:7.3f}  {hit.paper.id}  {hit.paper.title[:90]}\n")
                    if summary:
                        out.write(f"         {summary.tldr}\n")
            if not result.hits and not args.json:
                out.write((result.suggestion or "no papers matched") + "\n")
            return 0

    try:
        return asyncio.run(go())
    finally:
        store.close()


async def print_digest(settings: Settings, channel_key: str, date_text: str | None, out: TextIO) -> int:
    """`paperbot digest --print`: what a channel's digest would look like now, without sending it."""
    from bot.chat.plaintext import render_text

    if ":" not in channel_key:
        raise ValueError("--channel takes a channel key like slack:C0123 or console:console")
    runtime = await build_runtime(settings, clock=make_clock(settings))
    try:
        try:
            digest = await runtime.scheduler.preview_digest(channel_key, date_text, runtime.clock())
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        if digest is None:
            out.write(f"no new papers for {channel_key}'s digest right now\n")
        else:
            out.write(render_text(digest.reply) + "\n")
        return 0
    finally:
        await runtime.close()
