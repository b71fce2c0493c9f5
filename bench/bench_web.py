"""The web site's pages over the bundled offline samples (1,305 papers; 263 on the last day,
569 on the busiest). Prints one JSON object of milliseconds per request, through aiohttp's
test server on 127.0.0.1 with the real offline summarizer:

- `cold_ms`: the first request of a page (summaries of its 50 papers are made and cached);
- `warm_ms`: the median of the next `--repeat` requests (summaries cached).

    .venv/bin/python -m bench.bench_web [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.app.runtime import Runtime
from bot.app.samples import SAMPLE_NOW
from bot.core.clock import FakeClock
from bot.settings import Settings
from bot.web.pages import Site
from bot.web.server import build_app

PAGES = ("/", "/day/2026-06-09", "/topic/llm", "/search?q=diffusion%20since:7d", "/feed.xml", "/paper/2606.11193")


async def main(repeat: int) -> dict[str, Any]:
    """Time each page cold and warm; returns the figures."""
    with tempfile.TemporaryDirectory() as data:
        runtime = await Runtime.initialize(Settings(data_dir=data), clock=FakeClock(SAMPLE_NOW), offline=True)
        try:
            await runtime.first_fetch(True)
            site = Site(store=runtime.store, search=runtime.search, summaries=runtime.summaries, clock=runtime.clock,
                        settings=runtime.settings, refresh_every=3600, link_secret="bench")
            app = build_app(site, health=runtime.health, ready=lambda: True)
            figures: dict[str, Any] = {"papers": runtime.store.papers.count()}
            async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
                for path in PAGES:
                    times = []
                    for _ in range(repeat + 1):
                        start = time.perf_counter()
                        response = await client.get(path)
                        await response.read()
                        times.append((time.perf_counter() - start) * 1000)
                    figures[path] = {
                        "status": response.status, "cold_ms": round(times[0], 1),
                        "warm_ms": round(statistics.median(times[1:]), 1),
                    }
            return figures
        finally:
            await runtime.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    print(json.dumps(asyncio.run(main(parser.parse_args().repeat)), indent=2))
