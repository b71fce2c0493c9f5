"""`paperbot fetch`: fetch the configured sources now, with a progress bar for arXiv API backfills."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from bot.app.runtime import build_runtime
from bot.core.clock import Clock, parse_since
from bot.fetch.ingest import fetch_source
from bot.fetch.sources import Source
from bot.fetch.sources.arxiv_api import ArxivAPISource
from bot.settings import Settings, make_clock


def _select_sources(all_sources: list[Source], wanted: list[str], settings: Settings, clock: Clock) -> list[Source]:
    if not wanted:
        return all_sources
    chosen: list[Source] = []
    for name in wanted:
        if name == "arxiv-api":
            chosen.append(ArxivAPISource(settings, clock=clock))
            continue
        matches = [s for s in all_sources if s.name == name or s.name.split(":")[0] == name or s.kind.value == name]
        if not matches:
            known = ", ".join(sorted({s.name for s in all_sources} | {"arxiv-api"}))
            raise ValueError(f"no configured source {name!r}; configured: {known}")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


async def fetch_now(settings: Settings, wanted: list[str], since_text: str | None, out: TextIO) -> int:
    """`paperbot fetch`: fetch now, print per-source counts; exit 1 if every source failed."""
    runtime = await build_runtime(settings, clock=make_clock(settings))
    try:
        since = parse_since(since_text, runtime.clock()) if since_text else None
        sources = _select_sources(runtime.sources, wanted, settings, runtime.clock)
        if not sources:
            out.write("no sources are enabled (see ARXIV_ENABLED, HF_ENABLED, REDDIT_ENABLED, FEEDS)\n")
            return 0
        failures = 0
        for source in sources:
            progress = _progress_printer(out, source.name) if source.name == "arxiv-api" else None
            if progress is not None and hasattr(source, "progress"):
                source.progress = progress
            outcome = await fetch_source(source, runtime.http, runtime.store, runtime.clock, since)
            if outcome.ok:
                counts = ", ".join(f"{v} {k}" for k, v in outcome.counts.as_dict().items())
                out.write(f"{source.name}: {counts}\n")
            else:
                failures += 1
                out.write(f"{source.name}: FAILED: {outcome.error}\n")
        return 1 if failures == len(sources) else 0
    finally:
        await runtime.close()


def _progress_printer(out: TextIO, name: str) -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        total = max(total, done, 1)
        filled = int(30 * done / total)
        out.write(f"\r{name} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
        if done >= total:
            out.write("\n")
        out.flush()

    return show
