"""What one Prometheus scrape of /metrics costs on a store with a long history. Prints one JSON
object.

The store-backed gauges (outbox depth and oldest pending row, per-source lag, today's LLM and
embedding tokens, summaries stored) are read on every scrape, so their cost grows with the
tables they read. The store gets `--outbox` delivered outbox rows (retention keeps 30 days of
them) and `--pending` waiting ones written after them, `--summaries` cached summaries and a
month of LLM and embedding usage rows (one per call); then, through the real runtime:

- `state_ms`: `Runtime.operational_state()` alone (what the scrape reads from the store), wall
  and CPU (`state_cpu_ms`: this process's CPU time, steadier on a shared machine);
- `scrape_ms`: a whole GET /metrics through the web server on 127.0.0.1 (median of `--repeat`);
- `scrape_bytes`: the size of the answer.

    .venv/bin/python -m bench.bench_metrics [--outbox 200000] [--pending 1000] [--summaries 100000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from bot.app.runtime import Runtime
from bot.core.clock import FakeClock, to_iso
from bot.core.models import Summary
from bot.settings import Settings
from bot.store.db import transaction
from bot.store.summaries import SummaryKey

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def fill(runtime: Runtime, outbox: int, pending: int, summaries: int) -> None:
    """Write the history in large transactions (the only shortcut: the rows are the real ones)."""
    store = runtime.store
    key = SummaryKey("offline", "", "v1")
    summary = Summary(tldr="A short summary of the paper.", key_points=("One point.", "Another point."))
    with transaction(store.conn):
        for n in range(outbox):
            at = NOW - timedelta(days=30) + timedelta(seconds=n * 30 * 86400 / max(outbox, 1))
            store.outbox.enqueue(f"digest:bench:C{n % 500}:{n}", "digest", "slack", f"C{n % 500}", "{}", at)
        store.conn.execute("UPDATE outbox SET state = 'sent'")  # bench shortcut, not an app query
        for n in range(pending):
            # Written over the last hour, oldest first (ids follow the time rows are written).
            at = NOW - timedelta(hours=1) + timedelta(seconds=n * 3600 / max(pending, 1))
            store.outbox.enqueue(f"alert:bench:U{n}", "alert", "slack", f"U{n}", "{}", at)
        for n in range(summaries):
            store.summaries.put(f"2611.{n:05d}", 1, key, summary, NOW)
        for minute in range(0, 30 * 24 * 60, 10):  # a call every 10 minutes for 30 days
            at = NOW - timedelta(minutes=minute)
            store.summaries.record_usage(
                now=at, provider="openai", model="m", paper_id="x", prompt_tokens=900, completion_tokens=200, ok=True
            )
            store.vectors.record_embedding_usage(at, "e", 400, True)


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(
            data_dir=data_dir, http_port=0, scheduler_tick=3600, summarize_background=False,
            arxiv_enabled=False, hf_enabled=False, reddit_enabled=False,
        )
        runtime = await Runtime.initialize(settings, clock=FakeClock(NOW))
        try:
            build = time.perf_counter()
            fill(runtime, args.outbox, args.pending, args.summaries)
            build_s = time.perf_counter() - build
            state_ms, state_cpu_ms = [], []
            for _ in range(args.repeat):
                start, start_cpu = time.perf_counter(), time.process_time()
                state = runtime.operational_state()
                state_ms.append((time.perf_counter() - start) * 1000)
                state_cpu_ms.append((time.process_time() - start_cpu) * 1000)
            await runtime.start([])
            assert runtime.web is not None
            scrape_ms, size = [], 0
            async with aiohttp.ClientSession() as session:
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    async with session.get(f"{runtime.web.url}metrics") as response:
                        body = await response.read()
                    scrape_ms.append((time.perf_counter() - start) * 1000)
                    size = len(body)
        finally:
            await runtime.stop()
            await runtime.shutdown()
    return {
        "outbox_rows": args.outbox + args.pending, "pending_rows": args.pending, "summaries": args.summaries,
        "usage_rows_each": 30 * 24 * 6, "build_s": round(build_s, 1),
        "state_ms_median": round(statistics.median(state_ms), 2), "state_ms_max": round(max(state_ms), 2),
        "state_cpu_ms_median": round(statistics.median(state_cpu_ms), 2),
        "scrape_ms_median": round(statistics.median(scrape_ms), 2), "scrape_ms_max": round(max(scrape_ms), 2),
        "scrape_bytes": size, "outbox_depth": state.outbox_depth,
        "oldest_pending_s": state.oldest_pending_seconds, "llm_tokens_today": state.llm_tokens_today,
        "at": to_iso(NOW),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outbox", type=int, default=200_000)
    parser.add_argument("--pending", type=int, default=1_000)
    parser.add_argument("--summaries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    print(json.dumps(asyncio.run(measure(parser.parse_args()))))


if __name__ == "__main__":
    main()
