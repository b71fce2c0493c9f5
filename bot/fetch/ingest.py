"""Fetching sources into the store, one source at a time, recording each source's state.

A failing source never blocks the others: its error, failure count and next retry time are
recorded in `source_state`, and callers (the fetch loops, `paperbot fetch`) move on. A server
that asks for a long wait (429/503 with Retry-After beyond what a request waits) gets it: the
source's next fetch moves to then. Errors are stored and logged with URL credentials removed.
`source_reports` is what `paperbot status` and /healthz show: every configured source, from
its first failure on.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.core.clock import Clock
from bot.core.errors import SourceError, SourceRateLimited
from bot.core.redact import redact_urls
from bot.core.retry import backoff_delay
from bot.fetch.http import HttpClient
from bot.fetch.sources import Source
from bot.fetch.sources.parsers import parse_payload
from bot.store import IngestCounts, Store

log = logging.getLogger(__name__)

FIRST_FETCH_WINDOW = timedelta(days=2)
MAX_FAILURE_BACKOFF = timedelta(hours=6)


@dataclass(slots=True)
class FetchOutcome:
    """What fetching one source did."""

    name: str
    counts: IngestCounts = field(default_factory=IngestCounts)
    error: str = ""

    @property
    def ok(self) -> bool:
        """Whether the source was fetched and ingested."""
        return not self.error


def retry_delay(interval: float, failures: int) -> timedelta:
    """When to try a failing source again: 1, 2, 4... minutes, never later than its interval
    (and never beyond 6 h), so a flapping source recovers quickly and a dead one is not hammered."""
    delay = timedelta(seconds=backoff_delay(failures, base=60.0))
    return min(delay, timedelta(seconds=interval), MAX_FAILURE_BACKOFF)


async def fetch_source(
    source: Source, http: HttpClient, store: Store, clock: Clock, since: datetime | None = None
) -> FetchOutcome:
    """Fetch one source, ingest what it returned, and record its state. Never raises SourceError."""
    state = store.sources.get(source.name)
    started = clock()
    if since is None:
        since = state.last_success or (started - FIRST_FETCH_WINDOW)
    outcome = FetchOutcome(name=source.name)
    ingested = False
    try:
        papers = await source.fetch(http, since)
        # Seconds for a large listing on PostgreSQL: off the event loop there (see Store.run_blocking).
        outcome.counts = await store.run_blocking(store.papers.ingest, papers, clock())
        ingested = True
    except SourceError as exc:
        outcome.error = redact_urls(str(exc))
        state.last_failure = clock()
        state.last_error = outcome.error[:500]
        state.consecutive_failures += 1
        delay = retry_delay(source.interval, state.consecutive_failures)
        if isinstance(exc, SourceRateLimited):
            # The server said when; asking earlier would only be refused again.
            delay = min(max(delay, timedelta(seconds=exc.retry_after)), MAX_FAILURE_BACKOFF)
        state.next_fetch_at = state.last_failure + delay
        log.warning(
            "source %s failed (%d in a row): %s; next attempt in %.0f s",
            redact_urls(source.name), state.consecutive_failures, outcome.error, delay.total_seconds(),
        )
    finally:
        # Validators of a body that never reached the store would turn its papers into 304s.
        http.settle_validators(source.name, keep=ingested)
    if ingested:
        state.last_success = clock()
        state.consecutive_failures = 0
        state.last_error = ""
        state.last_counts = outcome.counts.as_dict()
        state.next_fetch_at = started + timedelta(seconds=source.interval)
        log.info("source %s: %s", redact_urls(source.name), outcome.counts.as_dict())
    store.sources.save(state)
    return outcome


def ingest_payload(store: Store, kind: str, data: bytes, now: datetime) -> IngestCounts:
    """Parse a saved payload of `kind` (see bot.fetch.sources.parsers) and ingest it.

    A payload byte-identical to one already ingested whole is not parsed again: ingesting it
    could change nothing, so its items are counted as skipped. Raises SourceError (ParseError)
    when the payload cannot be parsed; the store is then unchanged.
    """
    digest = hashlib.sha256(data).hexdigest()
    seen = store.sources.payload_items(kind, digest)
    if seen is not None:
        return IngestCounts(skipped=seen)
    papers = parse_payload(kind, data, now)
    counts = store.papers.ingest(papers, now)
    store.sources.record_payload(kind, digest, len(papers), now)
    return counts


def due_sources(sources: list[Source], store: Store, now: datetime) -> list[Source]:
    """The sources whose next fetch time has come (never-fetched sources are due)."""
    due = []
    for source in sources:
        state = store.sources.get(source.name)
        if state.next_fetch_at is None or state.next_fetch_at <= now:
            due.append(source)
    return due


@dataclass(frozen=True, slots=True)
class SourceReport:
    """What `paperbot status` and /healthz say about one source (credentials removed)."""

    name: str
    configured: bool  # False: it has a recorded state but the settings no longer name it
    last_success: datetime | None = None
    last_failure: datetime | None = None
    last_error: str = ""  # the reason of the last failure while the source is failing
    consecutive_failures: int = 0
    next_fetch_at: datetime | None = None  # None: due now (never fetched yet)


def source_reports(configured: Sequence[str], store: Store) -> list[SourceReport]:
    """Every configured source in order, fetched yet or not, then any source that has a
    recorded state but is no longer configured."""
    states = {state.name: state for state in store.sources.all()}
    names = list(dict.fromkeys(configured))
    reports = []
    for name in names + [n for n in states if n not in names]:
        state = states.get(name)
        if state is None:
            reports.append(SourceReport(redact_urls(name), configured=True))
            continue
        reports.append(
            SourceReport(
                redact_urls(name),
                configured=name in names,
                last_success=state.last_success,
                last_failure=state.last_failure,
                last_error=redact_urls(state.last_error) if state.failing else "",
                consecutive_failures=state.consecutive_failures,
                next_fetch_at=state.next_fetch_at,
            )
        )
    return reports
