"""Fetching sources into the store, one source at a time, recording each source's state.

A failing source never blocks the others: its error, failure count and next retry time are
recorded in `source_state`, and callers (the fetch loop, `paperbot fetch`) move on.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.core.clock import Clock
from bot.core.errors import SourceError
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
        outcome.counts = store.papers.ingest(papers, clock())
        ingested = True
    except SourceError as exc:
        outcome.error = str(exc)
        state.last_failure = clock()
        state.last_error = str(exc)[:500]
        state.consecutive_failures += 1
        state.next_fetch_at = state.last_failure + retry_delay(source.interval, state.consecutive_failures)
        log.warning("source %s failed (%d in a row): %s", source.name, state.consecutive_failures, exc)
    finally:
        # Validators of a body that never reached the store would turn its papers into 304s.
        http.settle_validators(source.name, keep=ingested)
    if ingested:
        state.last_success = clock()
        state.consecutive_failures = 0
        state.last_error = ""
        state.last_counts = outcome.counts.as_dict()
        state.next_fetch_at = started + timedelta(seconds=source.interval)
        log.info("source %s: %s", source.name, outcome.counts.as_dict())
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
