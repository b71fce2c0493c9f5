"""Offline summaries end to end: made, stored, tags and search text written. Prints one JSON object.

A file-backed SQLite store (WAL, as `paperbot run` opens it) of `--papers` papers from
bench/corpus.py (real arXiv titles and abstracts, resampled), none summarized yet. Timed:

- `background_pass_<n>_workers`: `Summaries.background_pass(now, batch)` called until every
  paper has a summary, `batch` papers at a time, the way the runtime's "summarize" loop fills
  the cache, with n summarizer processes (SUMMARIZE_WORKERS; 0: threads of this process):
  `papers_per_cpu_s` is per CPU second of this process, `papers_per_total_cpu_s` per CPU
  second of this process and its workers together (per core), `papers_per_s` the total;
- `first_view`: `Summaries.get_many` for pages of 10 papers no one has seen yet (a search's
  or a digest's first view), on a second copy of the store;
- `writes_only`: the storing alone (summaries made beforehand, untimed), `batch` at a time.

Each reports papers per second of wall time (end to end: summarizing, the summary rows, the
paper's topic tags and its summary text in the full-text index) and per second of this
process's CPU time. Target (issue #16): at least 500 papers/s end to end.

    .venv/bin/python -m bench.bench_summary_writes [--papers 5000] [--batch 200] [--workers 0,2]
    .venv/bin/python -m bench.bench_summary_writes --quick    # 1,000 papers
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_alerts_digests import NOW, peak_rss_mb
from bench.corpus import synthetic_papers


def build(path: str, count: int) -> None:
    """A store of `count` papers, all first seen within the background pass's 14 days."""
    from bot.store import Store

    store = Store.open(path)
    papers = list(synthetic_papers(count, seed=8, end=NOW - timedelta_hours(1), years=10 / 365))
    store.papers.ingest(papers, NOW - timedelta_hours(1))
    store.close()


def timedelta_hours(hours: float) -> Any:
    """A timedelta of `hours` hours."""
    from datetime import timedelta

    return timedelta(hours=hours)


async def background(path: str, batch: int, workers: int) -> dict[str, Any]:
    """Background passes until nothing is missing, with `workers` summarizer processes (their
    start-up untimed: in the bot they start once, on first use)."""
    from bot.core.clock import FakeClock
    from bot.enrich.summarize import Summaries
    from bot.store import Store

    store = Store.open(path)
    summaries = Summaries(store, clock=FakeClock(NOW), offline_workers=workers)
    if workers:
        summaries.pool.wait_ready(300)
    children = _children_cpu()
    wall, cpu = time.perf_counter(), time.process_time()
    made = passes = 0
    while True:
        done = await summaries.background_pass(NOW, batch)
        if not done:
            break
        made += done
        passes += 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    summaries.close()  # the workers exit, so their CPU time is counted (RUSAGE_CHILDREN)
    result = _rates(made, wall, cpu)
    workers_cpu = _children_cpu() - children
    result["workers"] = workers
    result["workers_cpu_s"] = round(workers_cpu, 2)  # includes their start-up (about 1 s each)
    result["papers_per_total_cpu_s"] = round(made / (cpu + workers_cpu), 1) if cpu + workers_cpu else None
    result["passes"] = passes
    result["summaries_stored"] = store.summaries.count()
    store.close()
    return result


def _children_cpu() -> float:
    """CPU seconds of this process's children that have exited and been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def first_view(path: str, page: int = 10) -> dict[str, Any]:
    """get_many for pages of papers no one has seen yet."""
    from bot.core.clock import FakeClock
    from bot.enrich.summarize import Summaries
    from bot.store import Store

    store = Store.open(path)
    papers = store.papers.changed(limit=None)
    summaries = Summaries(store, clock=FakeClock(NOW))
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(papers), page):
        await summaries.get_many(papers[start : start + page])
    result = _rates(len(papers), time.perf_counter() - wall, time.process_time() - cpu)
    result["page"] = page
    result["summaries_stored"] = store.summaries.count()
    store.close()
    return result


async def writes_only(path: str, batch: int) -> dict[str, Any]:
    """Storing summaries made beforehand (not timed), `batch` papers at a time: the summary
    rows, tags and search text, as the cache facade writes them (one transaction per batch
    where the facade has `_save_many`; one `_save` per paper, three commits, where it has not)."""
    from bot.core.clock import FakeClock
    from bot.enrich.summarize import OFFLINE_KEY, Summaries
    from bot.store import Store

    store = Store.open(path)
    papers = store.papers.changed(limit=None)
    summaries = Summaries(store, clock=FakeClock(NOW))
    made = [summaries.offline.summarize(paper) for paper in papers]
    save_many = getattr(summaries, "_save_many", None)
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(papers), batch):
        chunk = list(zip(papers[start : start + batch], made[start : start + batch], strict=True))
        if save_many is not None:
            save_many([(paper, OFFLINE_KEY, summary) for paper, summary in chunk])
        else:
            for paper, summary in chunk:
                summaries._save(paper, OFFLINE_KEY, summary)
    result = _rates(len(papers), time.perf_counter() - wall, time.process_time() - cpu)
    result["batch"] = batch
    result["one_transaction_per_batch"] = save_many is not None
    store.close()
    return result


def _rates(count: int, wall: float, cpu: float) -> dict[str, Any]:
    return {
        "papers": count,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "papers_per_s": round(count / wall, 1) if wall else None,
        "papers_per_cpu_s": round(count / cpu, 1) if cpu else None,
    }


def main() -> None:
    """Build the store, run both cases, print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--workers", default="0,2", help="summarizer processes for background_pass (comma-separated)")
    parser.add_argument("--quick", action="store_true", help="1,000 papers")
    args = parser.parse_args()
    if args.quick:
        args.papers = 1000
    with tempfile.TemporaryDirectory() as tmp:
        template = str(Path(tmp) / "template.db")
        started = time.perf_counter()
        build(template, args.papers)
        build_s = time.perf_counter() - started
        report: dict[str, Any] = {"store": {"papers": args.papers, "build_s": round(build_s, 1)}}
        cases = ["writes_only", *(f"background_pass_{n}_workers" for n in args.workers.split(",")), "first_view"]
        for name in cases:
            copy = str(Path(tmp) / f"{name}.db")
            shutil.copyfile(template, copy)
            if name == "writes_only":
                report[name] = asyncio.run(writes_only(copy, args.batch))
            elif name.startswith("background_pass"):
                report[name] = asyncio.run(background(copy, args.batch, int(name.split("_")[2])))
                report[name]["batch"] = args.batch
            else:
                report[name] = asyncio.run(first_view(copy))
    report["peak_rss_mb"] = peak_rss_mb()
    report["target_papers_per_s"] = 500
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
