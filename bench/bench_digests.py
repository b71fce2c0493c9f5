"""Digests at scale: many channels from one store of 100,000 papers. Prints one JSON object.

A setup process builds the store once (bench/corpus.py's papers resampled from the real arXiv
announcements, ~1,000 a day ingested day by day, topics from `corpus_topics`); every case copies
that file and runs in its own process (its own peak RSS):

- `channels` channels (bench_alerts_digests.make_channels: different topic sets, 15% with a
  query, some with sources or a minimum score, 5-20 items), all due at 09:00 UTC;
- the digest job wired as `paperbot run` wires it (DigestJob with a Ranker; no channel has
  feedback yet, so no channel model re-ranks), summaries either fixed (`fake`: no summarizing
  cost) or the real offline summarizer behind the cache facade (`--workers` processes, as
  SUMMARIZE_WORKERS): `offline_warm` (the headline, the production path: the background pass
  summarized the window's papers as they arrived, so beforehand and untimed here) or
  `offline_cold` (nothing summarized yet: each paper is summarized on first use and stored);
- two days: `Scheduler.digests.run_due` at 09:00 of the day before (`day1_s`) and then of the
  day (`day2_s`, the headline: the window is "since yesterday's digest", and the never-repeat
  ledger holds yesterday's papers); wall time, and this process's CPU time beside it
  (`day1_cpu_s`, `day2_cpu_s`: the worker processes' CPU is not in it);
- `fingerprint`: a SHA-256 of every outbox row (key, kind, destination, payload), every ledger
  row and every digest run, so a faster build can be checked to write exactly the same
  digests as the slower one (run this script on both and compare).

Targets (issue #16): 1,000 channels under 2 s, 10,000 channels under 20 s, with real offline
summaries.

    .venv/bin/python -m bench.bench_digests [--channels 1000,10000]
        [--summaries fake,offline_warm,offline_cold] [--papers 100000] [--workers 2]
    .venv/bin/python -m bench.bench_digests --quick    # 20,000 papers, 200 and 1,000 channels
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from bench.bench_alerts_digests import NOW, FixedSummaries, build_store, make_channels, peak_rss_mb


def fingerprint(conn: Any) -> str:
    """A hash of what the digest job wrote: outbox rows, ledger rows and digest runs."""
    digest = hashlib.sha256()
    queries = (
        "SELECT key, kind, platform, destination, payload FROM outbox ORDER BY key",
        "SELECT channel_key, paper_id, version, local_date FROM delivered_papers ORDER BY channel_key, paper_id",
        "SELECT channel_key, local_date, status, outbox_key, papers FROM digest_runs ORDER BY channel_key, local_date",
    )
    for sql in queries:
        for row in conn.execute(sql):
            digest.update(json.dumps(list(row)).encode())
    return digest.hexdigest()


def case_setup(paper_count: int, path: str) -> dict[str, Any]:
    """Build the store of papers once, for every case to copy."""
    store, seconds = build_store(path, paper_count)
    count = store.papers.count()
    store.close()
    return {"papers": count, "store_build_s": round(seconds, 1)}


def warm_up(provider: Any, store: Any, since: datetime) -> float:
    """What the background pass would have done by 09:00: every paper of the digest windows
    (changed since `since`) summarized and stored. Returns the seconds it took (untimed in
    the digest figures)."""
    started = time.perf_counter()
    papers = store.papers.changed(since=since, limit=None)

    async def fill() -> None:
        for start in range(0, len(papers), 200):
            await provider.get_many(papers[start : start + 200])

    asyncio.run(fill())
    return time.perf_counter() - started


def case_digests(template: str, channel_count: int, summaries: str, workers: int = 0) -> dict[str, Any]:
    """Two days of digests for `channel_count` channels over a copy of the template store."""
    from bot.app.scheduler import Scheduler
    from bot.core.clock import FakeClock
    from bot.delivery.outbox import Delivery
    from bot.digests.job import DigestJob
    from bot.rank.ranking import Ranker
    from bot.settings import Settings
    from bot.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.db")
        shutil.copyfile(template, path)
        store = Store.open(path)
        for settings in make_channels(channel_count):
            store.channels.save(settings, NOW - timedelta(days=3))
        clock = FakeClock(NOW - timedelta(days=1))
        warm_s = None
        if summaries.startswith("offline"):
            from bot.enrich.summarize import Summaries

            options = {"offline_workers": workers} if workers else {}
            provider: Any = Summaries(store, clock=clock, **options)
            if summaries == "offline_warm":
                # Both days' windows: the first digest looks back 24 h from the day before.
                warm_s = round(warm_up(provider, store, NOW - timedelta(days=2, hours=1)), 1)
        else:
            provider = FixedSummaries()
        app_settings = Settings()
        started = time.perf_counter()
        ranker = Ranker(store, clock)
        ranker_load = time.perf_counter() - started
        job = DigestJob(store=store, settings=app_settings, summaries=provider, ranker=ranker)
        scheduler = Scheduler(
            digests=job, store=store, settings=app_settings, summaries=provider,
            delivery=Delivery(store, {}, clock), clock=clock, ranker=ranker,
        )
        timings: dict[str, float] = {}
        enqueued: dict[str, int] = {}
        for day, when in (("day1", NOW - timedelta(days=1)), ("day2", NOW)):
            if when > clock():
                clock.advance(days=1)
            started, cpu = time.perf_counter(), time.process_time()
            enqueued[day] = asyncio.run(scheduler.digests.run_due(when))
            timings[day] = round(time.perf_counter() - started, 3)
            timings[f"{day}_cpu"] = round(time.process_time() - cpu, 3)
        runs = store.conn.execute(
            "SELECT local_date, status, COUNT(*), SUM(papers) FROM digest_runs GROUP BY local_date, status"
        ).fetchall()
        result = {
            "channels": channel_count,
            "summaries": {
                "fake": "fixed fake provider",
                "offline_warm": "offline summarizer (cache facade), the window summarized beforehand",
                "offline_cold": "offline summarizer (cache facade), summarized on first use",
            }[summaries],
            "workers": workers if summaries != "fake" else None,
            "warm_up_s": warm_s,
            "ranker_load_s": round(ranker_load, 1),
            "day1_s": timings["day1"],
            "day1_cpu_s": timings["day1_cpu"],
            "day2_s": timings["day2"],
            "day2_cpu_s": timings["day2_cpu"],
            "digests_enqueued": enqueued,
            "runs": {f"{row[0]} {row[1]}": {"channels": row[2], "papers": row[3]} for row in runs},
            "summaries_stored": store.summaries.count(),
            "fingerprint": fingerprint(store.conn),
            "failures": job.failures,
            "peak_rss_mb": peak_rss_mb(),
        }
        close = getattr(provider, "close", None)
        if close is not None:
            close()
        store.close()
    return result


def run_case(args: list[str], timeout: float) -> dict[str, Any]:
    """One case in a fresh interpreter; its JSON."""
    output = subprocess.run(
        [sys.executable, "-m", "bench.bench_digests", "--case", *args],
        check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], timeout=timeout,
    )
    return cast(dict[str, Any], json.loads(output.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Build the store, run every case, print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--channels", default="1000,10000", help="channel counts, comma-separated")
    parser.add_argument(
        "--summaries", default="fake,offline_warm,offline_cold",
        help="fake, offline_warm, offline_cold (comma-separated); offline means offline_cold",
    )
    parser.add_argument("--workers", type=int, default=2, help="summarizer processes (SUMMARIZE_WORKERS); 0: threads")
    parser.add_argument("--quick", action="store_true", help="20,000 papers, 200 and 1,000 channels")
    parser.add_argument("--template", help="a store built earlier (e.g. bench_acks' template paperbot.db) to copy")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--case", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        kind, *rest = args.case
        if kind == "setup":
            result = case_setup(int(rest[0]), rest[1])
        else:
            result = case_digests(rest[0], int(rest[1]), rest[2], int(rest[3]))
        print(json.dumps(result))
        return
    if args.quick:
        args.papers, args.channels = 20_000, "200,1000"
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        template = args.template or str(Path(tmp) / "template.db")
        if not args.template:
            report["store"] = run_case(["setup", str(args.papers), template], args.timeout)
        for channels in (int(n) for n in args.channels.split(",")):
            for summaries in args.summaries.split(","):
                summaries = "offline_cold" if summaries == "offline" else summaries
                report[f"{channels}_channels_{summaries}_summaries"] = run_case(
                    ["digests", template, str(channels), summaries, str(args.workers)], args.timeout
                )
    report["targets"] = {"1000_channels_s": 2.0, "10000_channels_s": 20.0}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
