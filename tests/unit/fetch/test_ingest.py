"""Fetching sources into the store: counts, per-source state, and failures that stay contained."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.core.clock import FakeClock
from bot.core.errors import FetchError, ParseError
from bot.core.models import Paper, SourceKind
from bot.fetch.http import HttpClient
from bot.fetch.ingest import due_sources, fetch_source, ingest_payload, retry_delay
from bot.fetch.sources.parsers import parse_payload
from bot.store import Store
from tests.support.factories import make_paper

REAL = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "real"

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class FakeSource:
    """A source returning queued results (a list of papers or an exception)."""

    def __init__(self, name: str, results: list[object], interval: float = 3600) -> None:
        self.name = name
        self.kind = SourceKind.ARXIV
        self.interval = interval
        self.results = results
        self.since_seen: list[datetime | None] = []

    async def fetch(self, http: HttpClient, since: datetime | None) -> list[Paper]:
        self.since_seen.append(since)
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result  # type: ignore[return-value]


def paper(pid: str) -> Paper:
    return replace(make_paper(0), id=pid, title=f"Paper {pid}", url=f"https://arxiv.org/abs/{pid}")


@pytest.fixture
async def http():  # type: ignore[no-untyped-def]
    async with aiohttp.ClientSession() as session:
        yield HttpClient(session, user_agent="t")


async def test_success_records_counts_and_next_fetch(http, store_location: str) -> None:  # type: ignore[no-untyped-def]
    store = Store.open(store_location)  # on SQLite, then PostgreSQL
    clock = FakeClock(NOW)
    source = FakeSource("arxiv", [[paper("2601.00001"), paper("2601.00002")], [paper("2601.00001")]])
    outcome = await fetch_source(source, http, store, clock)
    assert outcome.ok and outcome.counts.new == 2
    state = store.sources.get("arxiv")
    assert state.last_success == NOW and state.next_fetch_at == NOW.replace(hour=10)
    assert state.last_counts == {"new": 2, "updated": 0, "merged": 0, "skipped": 0}
    assert due_sources([source], store, NOW) == []
    clock.advance(hours=1)
    assert due_sources([source], store, clock()) == [source]
    second = await fetch_source(source, http, store, clock)
    assert second.counts.skipped == 1
    # The second fetch asks only for what came after the last success.
    assert source.since_seen[1] == NOW
    store.close()


@pytest.mark.postgres
async def test_on_postgres_ingest_runs_off_the_event_loop(http, postgres_url: str) -> None:  # type: ignore[no-untyped-def]
    store = Store.open(postgres_url)
    ingest, threads = store.papers.ingest, []

    def recording_ingest(*args, **kwargs):  # type: ignore[no-untyped-def]
        threads.append(threading.get_ident())
        return ingest(*args, **kwargs)

    store.papers.ingest = recording_ingest  # type: ignore[method-assign]
    outcome = await fetch_source(FakeSource("arxiv", [[paper("2601.00001")]]), http, store, FakeClock(NOW))
    assert outcome.ok and outcome.counts.new == 1 and store.papers.count() == 1
    assert threads and threads[0] != threading.get_ident()  # a worker thread, not the loop's
    store.close()


async def test_failure_is_recorded_and_contained(http, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = Store.open(str(tmp_path / "p.db"))
    clock = FakeClock(NOW)
    bad = FakeSource("hf", [FetchError("connection refused", source="hf"), ParseError("HTML instead of a feed", source="hf")])
    good = FakeSource("arxiv", [[paper("2601.00003")]])
    first = await fetch_source(bad, http, store, clock)
    assert not first.ok and "connection refused" in first.error
    assert (await fetch_source(good, http, store, clock)).ok
    state = store.sources.get("hf")
    assert state.failing and state.consecutive_failures == 1 and state.next_fetch_at == NOW + retry_delay(3600, 1)
    await fetch_source(bad, http, store, clock)
    state = store.sources.get("hf")
    assert state.consecutive_failures == 2 and "HTML" in state.last_error
    assert store.papers.count() == 1


def test_retry_delay_grows_but_never_exceeds_the_interval() -> None:
    delays = [retry_delay(1800, n).total_seconds() for n in range(1, 10)]
    assert delays[:4] == [60, 120, 240, 480]
    assert max(delays) == 1800


class FeedSource:
    """A source that fetches one URL through the real HttpClient; the body `bad` fails to parse."""

    kind = SourceKind.FEED
    interval = 3600.0

    def __init__(self, url: str) -> None:
        self.name = "blog"
        self.url = url

    async def fetch(self, http: HttpClient, since: datetime | None) -> list[Paper]:
        response = await http.get(self.url, source=self.name)
        if response.not_modified:
            return []
        if response.body == b"bad":
            raise ParseError("got an HTML page instead of a feed", source=self.name)
        return [paper(response.body.decode())]


async def test_a_body_that_failed_is_fetched_whole_next_time(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bodies = [b"bad", b"2601.00009", b"2601.00009"]
    seen_etags: list[str | None] = []

    async def handle(request: web.Request) -> web.Response:
        seen_etags.append(request.headers.get("If-None-Match"))
        body = bodies.pop(0)
        # This server ignores If-None-Match and always answers 200 with the same ETag.
        return web.Response(body=body, headers={"ETag": '"same"'})

    app = web.Application()
    app.router.add_get("/feed", handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    store = Store.open(str(tmp_path / "p.db"))
    clock = FakeClock(NOW)
    try:
        async with aiohttp.ClientSession() as session:
            http = HttpClient(session, user_agent="t", validators=store.sources)
            source = FeedSource(str(server.make_url("/feed")))
            assert not (await fetch_source(source, http, store, clock)).ok
            assert (await fetch_source(source, http, store, clock)).counts.new == 1
            third = await fetch_source(source, http, store, clock)
    finally:
        await server.close()
    # The failed body's ETag was never sent, so the second fetch got the papers; the third
    # sent it, and the identical body was recognised without parsing.
    assert seen_etags == [None, None, '"same"']
    assert third.ok and third.counts.as_dict() == {"new": 0, "updated": 0, "merged": 0, "skipped": 0}
    assert store.papers.count() == 1


def test_an_identical_payload_is_not_parsed_twice(tmp_path) -> None:  # type: ignore[no-untyped-def]
    payload = (REAL / "arxiv_rss_new_quant-ph_2025-04-28.xml").read_bytes()
    store = Store.open(str(tmp_path / "p.db"))
    first = ingest_payload(store, "arxiv-rss", payload, NOW)
    assert first.new > 10
    stored = store.papers.count()
    second = ingest_payload(store, "arxiv-rss", payload, NOW)
    assert second.as_dict() == {"new": 0, "updated": 0, "merged": 0, "skipped": len(parse_payload("arxiv-rss", payload, NOW))}
    # The same bytes read as another kind are not the same payload.
    with pytest.raises(ParseError):
        ingest_payload(store, "hf-daily", payload, NOW)
    assert store.sources.payload_items("hf-daily", hashlib.sha256(payload).hexdigest()) is None
    assert store.papers.count() == stored
