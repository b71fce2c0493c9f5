"""The plumbing every fake service shares: an aiohttp server on 127.0.0.1 (port chosen by the
OS), waiting until what it recorded satisfies a test, and answers queued for the next requests;
and, for code that blocks (the CLI), an http.server in a thread (`http_server_in_thread`).

A fake subclasses `FakeServer`, adds its routes in `add_routes`, records what arrives in its own
terms (Slack calls, Discord requests, feed hits) and calls `changed()` after each record so that
`wait_for` looks again:

    class FakeThing(FakeServer):
        def add_routes(self, router: web.UrlDispatcher) -> None:
            router.add_get("/{tail:.*}", self._dispatch)

    async with FakeThing() as fake:
        fake.queue("GET /x", Canned(503, {"error": "busy"}), times=2)
        ... fake.url("/x") ...
        await fake.wait_for(lambda: len(fake.seen) >= 3)
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, TypeVar

from aiohttp import web

T = TypeVar("T")


@dataclass
class Canned:
    """One scripted answer: HTTP status, body (JSON, or whatever the fake makes of it), headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class FakeServer:
    """An aiohttp server on 127.0.0.1 for one fake service (see the module docstring)."""

    name = "fake server"  # how `wait_for` names the fake when it gives up
    shutdown_timeout = 1.0  # seconds a request still in flight at close gets

    def __init__(self) -> None:
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()
        self._queued: dict[str, deque[Canned]] = {}

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Add the fake's handlers (every fake has its own)."""
        raise NotImplementedError

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> Self:
        """Listen on 127.0.0.1, port chosen by the OS."""
        app = web.Application()
        self.add_routes(app.router)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=self.shutdown_timeout)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def close(self) -> None:
        """Stop the server (a fake with websockets closes them first, then calls this)."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port>"""
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "") -> str:
        """http://127.0.0.1:<port><path>"""
        return f"{self.base_url}{path}"

    # --- waiting -------------------------------------------------------------------------------

    def changed(self) -> None:
        """Something was recorded: waiters look at their predicate again."""
        self._changed.set()

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float = 15.0, what: str = "") -> T:
        """Wait until `predicate()` is truthy and return its value; it is looked at again after
        every `changed()`. Raises TimeoutError after `timeout` seconds (that only stops a hang)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            # Cleared before looking: a change after the look sets it again, so none is missed.
            self._changed.clear()
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{self.name}: gave up waiting for {what or predicate} after {timeout:g}s")
            with contextlib.suppress(TimeoutError):  # looked at once more, then given up
                await asyncio.wait_for(self._changed.wait(), timeout=remaining)

    # --- queued answers ------------------------------------------------------------------------

    def queue(self, key: str, answer: Canned, *, times: int = 1) -> None:
        """Answer the next `times` requests that the fake files under `key` with `answer`."""
        self._queued.setdefault(key, deque()).extend([answer] * times)

    def next_queued(self, key: str) -> Canned | None:
        """The next queued answer for `key` (taken off the queue), or None."""
        waiting = self._queued.get(key)
        return waiting.popleft() if waiting else None

    def clear_queued(self) -> None:
        """Drop every answer still queued: requests from now on get the fake's usual answers."""
        self._queued.clear()


# --- for code that runs synchronously (the CLI): http.server in a thread ----------------------


class QuietHandler(BaseHTTPRequestHandler):
    """An http.server request handler that logs nothing and answers with `send_body`."""

    def send_body(self, body: bytes, content_type: str, status: int = 200) -> None:
        """Answer with `body` (its Content-Type and Content-Length set)."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass  # one line per request would bury the test's own output


@contextmanager
def http_server_in_thread(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` on 127.0.0.1 (port chosen by the OS) from a thread, for code that blocks
    (the CLI runs its own event loop); yields http://127.0.0.1:<port>."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
