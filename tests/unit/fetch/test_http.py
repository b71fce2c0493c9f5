"""The polite HTTP layer against a local aiohttp server: intervals, Retry-After, 304, caps, retries."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer

from bot.core.errors import FetchError, HTTPStatusError, ResponseTooLarge
from bot.core.retry import parse_retry_after
from bot.fetch.http import HttpClient
from bot.store import Store


class FakeTime:
    """A monotonic clock that only moves when the client sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Upstream:
    """A fake upstream with queued responses; records request headers."""

    def __init__(self) -> None:
        self.queue: list[web.Response] = []
        self.requests: list[dict[str, str]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(dict(request.headers))
        if self.queue:
            return self.queue.pop(0)
        return web.Response(body=b"ok", headers={"ETag": '"v1"'})


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Upstream, str]]:
    fake = Upstream()
    app = web.Application()
    app.router.add_get("/{tail:.*}", fake.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    yield fake, str(server.make_url("/feed"))
    await server.close()



def client(session: aiohttp.ClientSession, clock: FakeTime, **kw: object) -> HttpClient:
    options: dict[str, object] = dict(user_agent="paperbot-test/1", sleep=clock.sleep, monotonic=clock.monotonic, backoff_base=0.5)
    options.update(kw)
    return HttpClient(session, **options)  # type: ignore[arg-type]


async def test_user_agent_and_min_interval_per_host(upstream, session) -> None:  # type: ignore[no-untyped-def]
    fake, url = upstream
    clock = FakeTime()
    http = client(session, clock, host_min_interval={"127.0.0.1": 3.0})
    for _ in range(3):
        await http.get(url, conditional=False)
    assert all(r["User-Agent"] == "paperbot-test/1" for r in fake.requests)
    # Requests 2 and 3 each waited for the 3-second spacing.
    assert len(clock.sleeps) == 2 and all(abs(s - 3.0) < 0.01 for s in clock.sleeps)


async def test_retry_after_is_honoured_then_success(upstream, session) -> None:  # type: ignore[no-untyped-def]
    fake, url = upstream
    clock = FakeTime()
    fake.queue = [web.Response(status=429, headers={"Retry-After": "7"}), web.Response(status=503, headers={"Retry-After": "2"})]
    response = await client(session, clock).get(url, conditional=False)
    assert response.status == 200 and response.body == b"ok"
    assert clock.sleeps == [7.0, 2.0]


async def test_retries_are_bounded(upstream, session) -> None:  # type: ignore[no-untyped-def]
    fake, url = upstream
    clock = FakeTime()
    fake.queue = [web.Response(status=500) for _ in range(10)]
    with pytest.raises(HTTPStatusError) as info:
        await client(session, clock, retries=2).get(url, conditional=False, source="arxiv")
    assert info.value.status == 500 and "arxiv" in str(info.value)
    assert len(fake.requests) == 3  # one try plus two retries
    assert len(clock.sleeps) == 2 and clock.sleeps[1] > clock.sleeps[0] * 0.9  # backoff grows


async def test_client_errors_are_not_retried(upstream, session) -> None:  # type: ignore[no-untyped-def]
    fake, url = upstream
    fake.queue = [web.Response(status=404)]
    with pytest.raises(HTTPStatusError):
        await client(session, FakeTime()).get(url, conditional=False)
    assert len(fake.requests) == 1


async def test_conditional_get_uses_stored_validators(upstream, session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fake, url = upstream
    store = Store.open(str(tmp_path / "p.db"))
    http = client(session, FakeTime(), validators=store.sources, wall_clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    fake.queue = [web.Response(body=b"feed", headers={"ETag": '"abc"', "Last-Modified": "Mon, 28 Apr 2025 04:00:00 GMT"})]
    first = await http.get(url)
    assert first.body == b"feed" and "If-None-Match" not in fake.requests[0]
    store.close()
    # A restart: a new store object on the same file still sends the validators.
    reopened = Store.open(str(tmp_path / "p.db"))
    http = client(session, FakeTime(), validators=reopened.sources)
    fake.queue = [web.Response(status=304)]
    second = await http.get(url)
    assert second.not_modified and second.body == b""
    assert fake.requests[1]["If-None-Match"] == '"abc"'
    assert fake.requests[1]["If-Modified-Since"] == "Mon, 28 Apr 2025 04:00:00 GMT"
    reopened.close()


async def test_oversize_responses_are_rejected(upstream, session) -> None:  # type: ignore[no-untyped-def]
    fake, url = upstream
    fake.queue = [web.Response(body=b"x" * 5000)]
    with pytest.raises(ResponseTooLarge, match="cap"):
        await client(session, FakeTime(), max_bytes=1000).get(url, conditional=False)


async def test_oversize_streamed_response_without_length(session) -> None:  # type: ignore[no-untyped-def]
    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(10):
            await response.write(b"y" * 1000)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/big", chunked)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        with pytest.raises(ResponseTooLarge):
            await client(session, FakeTime(), max_bytes=2500).get(str(server.make_url("/big")), conditional=False)
    finally:
        await server.close()


async def test_connection_errors_retry_then_fail_clearly(session) -> None:  # type: ignore[no-untyped-def]
    clock = FakeTime()
    # Port 9 on loopback: nothing listens, so every attempt is refused.
    with pytest.raises(FetchError, match="127.0.0.1"):
        await client(session, clock, retries=2).get("http://127.0.0.1:9/feed", conditional=False, source="feed")
    assert len(clock.sleeps) == 2


def test_parse_retry_after() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("garbage") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("inf") is None and parse_retry_after("nan") is None
    assert parse_retry_after("-5") == 0.0
    when = datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC).timestamp()
    assert parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now=when) == pytest.approx(30.0)


async def test_a_body_identical_to_the_last_one_counts_as_not_modified(upstream, session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fake, url = upstream
    store = Store.open(str(tmp_path / "p.db"))
    http = client(session, FakeTime(), validators=store.sources)
    # A server without ETag or Last-Modified: only the body tells that nothing changed.
    fake.queue = [web.Response(body=b"same feed"), web.Response(body=b"same feed"), web.Response(body=b"new feed")]
    assert (await http.get(url)).body == b"same feed"
    again = await http.get(url)
    assert again.not_modified and again.body == b""
    assert (await http.get(url)).body == b"new feed"
    store.close()


async def test_validators_for_a_named_source_wait_until_it_is_settled(upstream, session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fake, url = upstream
    store = Store.open(str(tmp_path / "p.db"))
    http = client(session, FakeTime(), validators=store.sources)
    fake.queue = [web.Response(body=b"v1", headers={"ETag": '"v1"'})]
    await http.get(url, source="hf")
    assert store.sources.get_validators(url) is None
    http.settle_validators("hf", keep=False)  # the body did not make it into the store
    assert store.sources.get_validators(url) is None
    fake.queue = [web.Response(body=b"v1", headers={"ETag": '"v1"'})]
    second = await http.get(url, source="hf")
    assert second.body == b"v1" and "If-None-Match" not in fake.requests[1]
    http.settle_validators("hf", keep=True)
    kept = store.sources.get_validators(url)
    assert kept is not None and kept.etag == '"v1"' and kept.body_sha256
    store.close()


class _NoDNS(AbstractResolver):
    """A resolver for which no host exists (no real DNS lookup in tests)."""

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        raise OSError(socket.EAI_NONAME, "Name or service not known")

    async def close(self) -> None:
        pass


async def test_a_host_that_does_not_resolve_fails_at_once() -> None:
    clock = FakeTime()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=_NoDNS())) as no_dns:
        with pytest.raises(FetchError, match="example.invalid"):
            await client(no_dns, clock, retries=3).get("http://example.invalid/feed", conditional=False)
    assert clock.sleeps == []  # no backoff: the source's own schedule tries again later
