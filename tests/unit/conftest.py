"""Fixtures for the source tests: real payload bytes, a fake HTTP server on 127.0.0.1, and an
HttpClient that never sleeps."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.fetch.http import HttpClient
from tests.support.fake_server import FakeServer

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "real"


@pytest.fixture
def real() -> Callable[[str], bytes]:
    """Read one real payload from ../shared/fixtures/real by file name."""

    def read(name: str) -> bytes:
        path = FIXTURES / name
        assert path.is_file(), f"shared fixture missing: {path}"
        return path.read_bytes()

    return read


@dataclass
class SeenRequest:
    """What the fake server received."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]


Handler = Callable[[SeenRequest], tuple[int, bytes]]


class FakeSource(FakeServer):
    """Answers GETs by path with canned (status, body) pairs or a handler; records every request."""

    name = "fake source"

    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[str, Handler] = {}
        self.requests: list[SeenRequest] = []
        self.headers: dict[str, dict[str, str]] = {}

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Every GET goes to `_dispatch`, which looks the path up in `routes`."""
        router.add_route("GET", "/{tail:.*}", self._dispatch)

    def serve(self, path: str, body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> None:
        """Always answer `path` with this body, status and extra response headers."""
        self.routes[path] = lambda _request: (status, body)
        self.headers[path] = dict(headers or {})

    def handle(self, path: str, handler: Handler) -> None:
        """Answer `path` with whatever `handler(request)` returns."""
        self.routes[path] = handler

    async def _dispatch(self, request: web.Request) -> web.Response:
        seen = SeenRequest(request.path, dict(request.query), dict(request.headers))
        self.requests.append(seen)
        self.changed()
        handler = self.routes.get(request.path)
        if handler is None:
            return web.Response(status=404, text="not found")
        status, body = handler(seen)
        return web.Response(status=status, body=body, headers=self.headers.get(request.path))


@pytest.fixture
async def fake_server() -> AsyncIterator[FakeSource]:
    """A fake source server bound to 127.0.0.1 on a free port."""
    async with FakeSource() as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[HttpClient]:
    """The real HttpClient over a real session, with retries that do not wait."""

    async def no_sleep(_seconds: float) -> None:
        return None

    async with aiohttp.ClientSession() as session:
        yield HttpClient(session, user_agent="test", host_min_interval={}, sleep=no_sleep)
