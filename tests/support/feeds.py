"""A fake feed host on 127.0.0.1: healthy feeds, feeds that never answer, feeds that rate-limit.

    async with fake_feeds() as feeds:
        feeds.healthy("/lab.xml")                  # a small valid RSS feed
        feeds.hanging("/slow.xml")                 # accepts the request, never answers
        feeds.limited("/busy.xml", retry_after=120) # 429 with Retry-After
        ... feeds.url("/lab.xml") ...
        feeds.hits("/lab.xml")                     # how many requests arrived, in order of arrival
        feeds.seen("/lab.xml")                     # the monotonic time of each request

Every feed shares one host (127.0.0.1), which is how "feeds on one host" look to the bot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from tests.support.fake_server import FakeServer


def rss(title: str, items: int = 3) -> bytes:
    """A small valid RSS 2.0 feed whose items are named after `title`."""
    entries = "".join(
        f"<item><title>{title} post {n}</title><link>https://lab.example/{title}/{n}</link>"
        f"<guid isPermaLink=\"false\">{title}-{n}</guid><description>About {title} {n}.</description></item>"
        for n in range(items)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://lab.example/</link>{entries}</channel></rss>"
    ).encode()


class FakeFeeds(FakeServer):
    """The fake feed host (see the module docstring)."""

    name = "fake feeds"
    shutdown_timeout = 0.5

    def __init__(self) -> None:
        super().__init__()
        self._routes: dict[str, Callable[[web.Request], Any]] = {}
        self._seen: dict[str, list[float]] = {}
        self._open: set[str] = set()
        self._closing = asyncio.Event()

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Every GET goes to the handler set for its path (404 when there is none)."""
        router.add_get("/{tail:.*}", self._dispatch)

    async def close(self) -> None:
        """Release the hanging requests, then stop the server."""
        self._closing.set()
        await super().close()

    # --- what each path does -------------------------------------------------------------------

    def healthy(self, path: str, body: bytes | None = None) -> None:
        """Answer 200 with a small RSS feed."""
        payload = body if body is not None else rss(path.strip("/").split(".")[0])

        async def answer(_request: web.Request) -> web.Response:
            return web.Response(body=payload, content_type="application/rss+xml")

        self._routes[path] = answer

    def hanging(self, path: str) -> None:
        """Accept the request and never answer (until the server closes)."""

        async def answer(_request: web.Request) -> web.Response:
            self._open.add(path)
            try:
                await self._closing.wait()
            finally:
                self._open.discard(path)
            return web.Response(status=503)

        self._routes[path] = answer

    def limited(self, path: str, *, retry_after: int, status: int = 429) -> None:
        """Answer `status` (429) with Retry-After: `retry_after`."""

        async def answer(_request: web.Request) -> web.Response:
            return web.Response(status=status, headers={"Retry-After": str(retry_after)})

        self._routes[path] = answer

    # --- inspection ----------------------------------------------------------------------------

    def hits(self, path: str) -> int:
        """How many requests for `path` arrived."""
        return len(self._seen.get(path, []))

    def seen(self, path: str) -> list[float]:
        """The monotonic time at which each request for `path` arrived."""
        return list(self._seen.get(path, []))

    def still_open(self, path: str) -> bool:
        """Whether a request for a hanging `path` is being held open right now."""
        return path in self._open

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self._seen.setdefault(path, []).append(time.monotonic())
        self.changed()
        handler = self._routes.get(path)
        if handler is None:
            return web.Response(status=404)
        response: web.StreamResponse = await handler(request)
        return response


@asynccontextmanager
async def fake_feeds() -> AsyncIterator[FakeFeeds]:
    """A started FakeFeeds, closed on exit."""
    async with FakeFeeds() as feeds:
        yield feeds
