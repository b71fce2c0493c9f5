"""The runtime serves the site: Runtime.start binds it (port 0 here) with the routes adapters
contribute and logs its URL once, /readyz turns ready once the loops run, Runtime.stop closes
it; WEB_ENABLED=false and a taken port leave it off without stopping the bot."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr

from bot.app.runtime import Runtime
from bot.core.clock import FakeClock
from bot.settings import Settings
from tests.support.memory import InMemoryAdapter

NOW = datetime(2026, 6, 11, 13, 0, tzinfo=UTC)


class RoutedAdapter(InMemoryAdapter):
    """An in-memory platform that also serves one route on the bot's server (like Slack's events)."""

    def http_routes(self) -> list[web.RouteDef]:
        async def events(request: web.Request) -> web.Response:
            return web.Response(text="events ok")

        return [web.post("/memory/events", events)]


@pytest.fixture
async def runtime_for(tmp_path: Path) -> AsyncIterator[list[Runtime]]:
    made: list[Runtime] = []
    yield made
    for runtime in made:
        await runtime.stop()
        await runtime.shutdown()


async def _runtime(tmp_path: Path, made: list[Runtime], **settings: object) -> Runtime:
    config = Settings(data_dir=str(tmp_path), http_port=0, scheduler_tick=3600, summarize_background=False, **settings)  # type: ignore[arg-type]
    runtime = await Runtime.initialize(config, clock=FakeClock(NOW), offline=True)
    runtime.sources = []  # nothing to fetch: these tests are about the server
    made.append(runtime)
    return runtime


async def test_start_serves_the_site_with_adapter_routes_and_stop_closes_it(
    tmp_path: Path, runtime_for: list[Runtime], caplog: pytest.LogCaptureFixture
) -> None:
    runtime = await _runtime(tmp_path, runtime_for)
    with caplog.at_level(logging.INFO, logger="bot.app.runtime"):
        await runtime.start([RoutedAdapter()])
    assert runtime.web is not None and runtime.web.port != 0
    base = runtime.web.url.rstrip("/")
    assert [r.getMessage() for r in caplog.records if "web site at" in r.getMessage()] == [f"web site at {base}/"]
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/readyz") as response:
            assert response.status == 200 and (await response.json()) == {"ready": True}
        async with session.get(f"{base}/healthz") as response:
            assert response.status == 200 and (await response.json())["adapters"] == {"memory": True}
        async with session.post(f"{base}/memory/events") as response:
            assert await response.text() == "events ok"
        async with session.get(f"{base}/") as response:
            assert response.status == 200 and "No papers for this day yet" in await response.text()
    await runtime.stop()
    assert runtime.web is None
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", int(base.rsplit(":", 1)[1]))) != 0  # closed


async def test_web_enabled_false_serves_nothing(tmp_path: Path, runtime_for: list[Runtime]) -> None:
    runtime = await _runtime(tmp_path, runtime_for, web_enabled=False)
    await runtime.start([])
    assert runtime.web is None and runtime.ready


async def test_a_taken_port_leaves_the_site_off_and_the_bot_running(
    tmp_path: Path, runtime_for: list[Runtime], caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        runtime = await _runtime(tmp_path, runtime_for)
        runtime.settings = runtime.settings.model_copy(update={"http_port": port})
        await runtime.start([])
        assert runtime.web is None and runtime.ready
        assert any("web site off: cannot listen" in r.getMessage() for r in caplog.records)


async def test_the_link_secret_is_made_once_and_kept(tmp_path: Path, runtime_for: list[Runtime]) -> None:
    first = await _runtime(tmp_path, runtime_for)
    secret = first.link_secret
    await first.shutdown()
    runtime_for.remove(first)
    again = await _runtime(tmp_path, runtime_for)
    assert secret and again.link_secret == secret
    configured = await _runtime(tmp_path / "other", runtime_for, email_link_secret=SecretStr("given"))
    assert configured.link_secret == "given"
