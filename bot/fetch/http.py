"""The one polite HTTP layer every source fetches through.

One shared aiohttp session; per-host minimum interval between requests (arXiv: 3 s) with one
connection at a time to such a host; a global concurrency limit; timeouts; retries with
exponential backoff and jitter on connection errors, 5xx and 429 (honouring Retry-After);
conditional GET with ETag / Last-Modified kept in the store; a response size cap; a
configurable User-Agent.

A slow or failing source delays only itself:
- hosts without a minimum interval are not serialized, so feeds on one host do not queue
  behind one that hangs;
- a request's total time (waiting for its host's turn, connect, headers, body, and every retry
  with its wait) is bounded by `deadline` (HTTP_REQUEST_DEADLINE); then it fails;
- a Retry-After longer than `max_retry_after` (HTTP_MAX_RETRY_WAIT), or than the deadline
  leaves, is not waited for: `SourceRateLimited` carries it to the caller, which moves that
  source's next fetch (bot.fetch.ingest).
URLs in errors and log lines go through `bot.core.redact` (FEEDS URLs may carry credentials).

Validators are only worth keeping for a response that was ingested: if a source's body fails
to parse or to store, a 304 next time would hide those papers for good. So a fetch made on
behalf of a named source holds its validators back until the caller settles them
(`settle_validators(source, keep=...)`, done by bot.fetch.ingest.fetch_source). The SHA-256 of each
kept body is stored too: a server without conditional GET that sends the same bytes again is
answered like a 304, and nothing is parsed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import urlencode, urlsplit

import aiohttp
from multidict import CIMultiDict

from bot.core.clock import Clock, system_clock, system_monotonic
from bot.core.errors import FetchError, HTTPStatusError, ResponseTooLarge, SourceRateLimited
from bot.core.redact import redact_url, redact_urls
from bot.core.retry import KeySpacer, backoff_delay, parse_retry_after
from bot.store.sources import CachedResponse

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# A host name that does not resolve will not resolve a second later either; the source's own
# retry schedule (bot.fetch.ingest.retry_delay: 1 minute, then doubling) tries again. Older aiohttp
# releases lack the class; then DNS failures are retried like other connection errors.
_DNS_ERROR: type[BaseException] = getattr(aiohttp, "ClientConnectorDNSError", type("_NeverRaised", (Exception,), {}))


class ValidatorStore(Protocol):
    """Where conditional-GET validators live (the store's SourceStateStore satisfies it)."""

    def get_validators(self, url: str) -> CachedResponse | None: ...

    def save_validators(self, url: str, cached: CachedResponse, now: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class Response:
    """A completed response. `not_modified` is True for a 304, or a body identical to the last
    one ingested from this URL; the body is then empty."""

    url: str
    status: int
    body: bytes
    headers: Mapping[str, str]
    not_modified: bool = False


async def any_host_resolves(urls: Sequence[str], timeout: float = 3.0) -> bool:
    """Whether the host of at least one URL resolves within `timeout` seconds (a cheap check
    for "is there any network at all" before a first run)."""
    loop = asyncio.get_running_loop()
    hosts = {urlsplit(url).hostname for url in urls} - {None, ""}

    async def resolves(host: str) -> bool:
        try:
            await asyncio.wait_for(loop.getaddrinfo(host, None), timeout)
        except (OSError, TimeoutError):
            return False
        return True

    results = await asyncio.gather(*(resolves(host) for host in hosts if host))
    return any(results)


class HttpClient:
    """Polite fetcher over one aiohttp session. Inject `session`, `sleep` and `monotonic` in tests."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        user_agent: str,
        timeout: float = 30.0,
        retries: int = 3,
        max_bytes: int = 25 * 1024 * 1024,
        concurrency: int = 4,
        host_min_interval: Mapping[str, float] | None = None,
        validators: ValidatorStore | None = None,
        backoff_base: float = 1.0,
        max_retry_after: float = 30.0,
        deadline: float = 90.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = system_monotonic,
        wall_clock: Clock = system_clock,
    ) -> None:
        self.session = session
        self.user_agent = user_agent
        self.timeout = timeout
        self.retries = retries
        self.max_bytes = max_bytes
        self.validators = validators
        self.backoff_base = backoff_base
        self.max_retry_after = max_retry_after
        self.deadline = deadline
        self._host_min_interval = dict(host_min_interval or {})
        self._sleep = sleep
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._global = asyncio.Semaphore(concurrency)
        self._spacer = KeySpacer(self.min_interval, sleep=sleep, monotonic=monotonic)
        self._unsettled: dict[str, list[tuple[str, CachedResponse]]] = {}

    def min_interval(self, host: str) -> float:
        """Minimum seconds between two requests to `host` (exact host or a parent domain)."""
        for suffix, interval in self._host_min_interval.items():
            if host == suffix or host.endswith("." + suffix):
                return interval
        return 0.0

    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        conditional: bool = True,
        source: str = "",
    ) -> Response:
        """GET with every politeness rule applied, finished or failed within `deadline`
        seconds. Raises FetchError subclasses on final failure (SourceRateLimited when the
        server asks for a wait longer than a request may take)."""
        full_url = f"{url}?{urlencode(params)}" if params else url
        request_headers = {"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"}
        request_headers.update(headers or {})
        cached = self.validators.get_validators(full_url) if conditional and self.validators else None
        if cached and cached.etag:
            request_headers["If-None-Match"] = cached.etag
        if cached and cached.last_modified:
            request_headers["If-Modified-Since"] = cached.last_modified
        limit = asyncio.timeout(self.deadline)
        try:
            async with limit:
                return await self._get_with_retries(full_url, request_headers, cached, conditional, source)
        except TimeoutError:
            if not limit.expired():
                raise
            raise FetchError(
                f"no complete answer within {self.deadline:g} s, retries included ({redact_url(full_url)})",
                source=source,
            ) from None

    async def _get_with_retries(
        self,
        full_url: str,
        request_headers: dict[str, str],
        cached: CachedResponse | None,
        conditional: bool,
        source: str,
    ) -> Response:
        shown = redact_url(full_url)
        ends_at = self._monotonic() + self.deadline
        attempt = 0
        while True:
            try:
                response = await self._get_once(full_url, request_headers, source, ends_at - self._monotonic())
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                reason = "timed out" if isinstance(exc, asyncio.TimeoutError) else redact_urls(str(exc)) or type(exc).__name__
                if attempt >= self.retries or isinstance(exc, _DNS_ERROR):
                    raise FetchError(f"{reason} ({shown})", source=source) from exc
                delay = self._backoff(attempt)
                if delay >= ends_at - self._monotonic():
                    raise FetchError(
                        f"{reason}, and no complete answer within {self.deadline:g} s, retries included ({shown})",
                        source=source,
                    ) from exc
                log.debug("fetch %s failed (%s); retry %d in %.1fs", shown, reason, attempt + 1, delay)
            else:
                waited = (
                    parse_retry_after(response.headers.get("Retry-After"), self._wall_clock().timestamp())
                    if response.status in RETRY_STATUSES
                    else None
                )
                if response.status in RETRY_STATUSES and attempt < self.retries:
                    if waited is not None and (
                        waited > self.max_retry_after or waited >= ends_at - self._monotonic()
                    ):
                        # Waiting here would hold this source's fetch (and a worker) for minutes;
                        # the caller moves the source's next fetch instead.
                        raise SourceRateLimited(response.status, full_url, waited, source=source)
                    delay = waited if waited is not None else self._backoff(attempt)
                    if delay >= ends_at - self._monotonic():
                        raise HTTPStatusError(response.status, full_url, source=source, body=response.body)
                    log.info("fetch %s got %d; retry %d in %.1fs", shown, response.status, attempt + 1, delay)
                elif response.status == 304:
                    return Response(full_url, 304, b"", response.headers, not_modified=True)
                elif 200 <= response.status < 300:
                    if not (conditional and self.validators is not None):
                        return response
                    digest = hashlib.sha256(response.body).hexdigest()
                    if cached and cached.body_sha256 == digest:
                        return Response(full_url, response.status, b"", response.headers, not_modified=True)
                    fresh = CachedResponse(
                        response.headers.get("ETag"), response.headers.get("Last-Modified"), digest
                    )
                    self._keep_validators(source, full_url, fresh)
                    return response
                elif waited is not None:
                    raise SourceRateLimited(response.status, full_url, waited, source=source)
                else:
                    raise HTTPStatusError(response.status, full_url, source=source, body=response.body)
            attempt += 1
            await self._sleep(delay)

    def settle_validators(self, source: str, *, keep: bool) -> None:
        """Store (keep=True) or drop the validators of the responses fetched for `source` since
        it was last settled. Call with keep=True only once their bodies have been ingested."""
        pending = self._unsettled.pop(source, [])
        if keep and self.validators is not None:
            for url, cached in pending:
                self.validators.save_validators(url, cached, self._wall_clock())

    def _keep_validators(self, source: str, url: str, cached: CachedResponse) -> None:
        if source:
            self._unsettled.setdefault(source, []).append((url, cached))
        elif self.validators is not None:
            self.validators.save_validators(url, cached, self._wall_clock())

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(attempt + 1, base=self.backoff_base, jitter=random.random)

    async def _get_once(self, url: str, headers: Mapping[str, str], source: str, time_left: float) -> Response:
        host = urlsplit(url).hostname or ""
        # A host that asks for spacing (arXiv) gets one connection at a time, spaced by its
        # interval; other hosts only share the global limit, so one hanging feed never holds
        # up the other feeds on its host.
        spaced = self._spacer.turn(host) if self.min_interval(host) > 0 else contextlib.nullcontext()
        async with spaced, self._global:
            timeout = aiohttp.ClientTimeout(total=max(0.001, min(self.timeout, time_left)))
            async with self.session.get(url, headers=headers, timeout=timeout, allow_redirects=True) as resp:
                declared = resp.content_length
                if declared is not None and declared > self.max_bytes:
                    raise ResponseTooLarge(
                        f"response of {declared} bytes exceeds the {self.max_bytes}-byte cap ({redact_url(url)})",
                        source=source,
                    )
                body = await self._read_capped(resp, url, source)
                # CIMultiDict keeps header lookups case-insensitive (servers send Etag, ETag, etag).
                return Response(url, resp.status, body, CIMultiDict(resp.headers))

    async def _read_capped(self, resp: aiohttp.ClientResponse, url: str, source: str) -> bytes:
        chunks: list[bytes] = []
        total = 0
        async for chunk in resp.content.iter_chunked(65536):
            total += len(chunk)
            if total > self.max_bytes:
                raise ResponseTooLarge(
                    f"response exceeds the {self.max_bytes}-byte cap ({redact_url(url)})", source=source
                )
            chunks.append(chunk)
        return b"".join(chunks)
