"""Alerts and digests at scale. Prints one JSON object.

1. Matching: 2,000 new papers against 10,000 and against 100,000 subscriptions (three per
   user: keywords, phrases from real titles, whole topics, keyword + topic). Reported:
   - `index_plus_match_s`: tokenizing the papers, building the inverted index
     (bot.search.matching.SubscriptionIndex) and listing every (subscription, paper) match; a sample is
     checked against brute force. Targets: under 1 s (10k) and under 5 s (100k).
   - `match_batch_per_user_s`: what production runs, the same matching reduced per user (the
     10 most popular papers and a count), topic-only subscriptions per topic combination.
   - `scan_new_papers_with_store_s`: the whole alert scan over a SQLite store (load papers and
     subscriptions, match in a worker thread, write the alert queue).
   - peak RSS of the process running the case.
2. Digests: a store of 100,000 papers (~1,000 a day, ingested day by day), 1,000 channels with
   different topics (some with a query, sources or a minimum score), all due at once:
   `Scheduler.run_due_digests` builds and enqueues every digest. Target: under 10 s.

Papers come from bench/corpus.py (`synthetic_papers`, sentences of the 392 shared abstracts),
topics from `corpus_topics`. Summaries: the digest case runs twice, with a fake provider
returning fixed summaries and with the real offline summarizer (bot.enrich.summarize.Summaries, which
also caches them in the store); `--summaries fake|offline` runs one. Each case runs in its own
process so its peak RSS is its own.

    .venv/bin/python -m bench.bench_alerts_digests [--summaries fake|offline|both] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from bench.corpus import corpus_docs, corpus_topics, synthetic_papers
from bot.core.models import ChannelSettings, Paper, SourceKind, Subscription, Summary

TOPIC_IDS = ("llm", "cv", "rl", "gen", "agents", "reasoning", "robotics", "speech", "code", "efficient", "ml")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # a Friday; every channel is due at 09:00 UTC


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (Linux reports KB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def vocabulary(max_share: float = 0.05) -> list[str]:
    """Words people subscribe to: corpus words (alphabetic, longer than 3 letters) found in at
    most `max_share` of the corpus documents. Filler that nearly every abstract has ("which",
    "framework", "propose") is not what anyone subscribes to."""
    from bot.core.text import plural_folded_words

    docs = corpus_docs()
    seen: dict[str, int] = {}
    for title, abstract in docs:
        for word in set(plural_folded_words(f"{title} {abstract}")):
            seen[word] = seen.get(word, 0) + 1
    return sorted(w for w, n in seen.items() if w.isalpha() and len(w) > 3 and n <= max_share * len(docs))


def make_subscriptions(count: int, seed: int = 3) -> list[Subscription]:
    """Subscriptions like users write them, three per user: 45% one keyword, 20% two keywords,
    15% a two-word phrase from a real title, 10% one or two whole topics, 10% keyword + topic."""
    rng = random.Random(seed)
    vocab = vocabulary()
    titles = [title for title, _ in corpus_docs()]
    subs = []
    for i in range(count):
        roll = rng.random()
        query, topics = "", cast(tuple[str, ...], ())
        if roll < 0.45:
            query = rng.choice(vocab)
        elif roll < 0.65:
            query = " ".join(rng.sample(vocab, 2))
        elif roll < 0.8:
            words = rng.choice(titles).split()
            start = rng.randrange(max(1, len(words) - 1))
            query = '"' + " ".join(words[start : start + 2]) + '"'
        elif roll < 0.9:
            topics = tuple(rng.sample(TOPIC_IDS, rng.randint(1, 2)))
        else:
            query, topics = rng.choice(vocab), (rng.choice(TOPIC_IDS),)
        subs.append(Subscription(id=i + 1, platform="slack", user_id=f"U{i // 3}", query=query, topics=topics,
                                 created_at=NOW - timedelta(days=30)))
    return subs


# --- case: matching ---------------------------------------------------------------------------


def case_match(subscription_count: int) -> dict[str, Any]:
    """Index build and matching of 2,000 papers; then scan_new_papers over a store."""
    from bot.alerts.alerts import match_batch, scan_new_papers
    from bot.search.matching import SubscriptionIndex, key_frequency, match_brute_force, paper_doc
    from bot.store import Store

    papers = list(synthetic_papers(2_000, seed=11, end=NOW, years=0.01))
    topics = {p.id: corpus_topics(p) for p in papers}
    subs = make_subscriptions(subscription_count)

    # The inverted index alone: tokenize the batch, count its words, file every subscription
    # under its rarest word (or its topics), then list every (subscription, paper) match.
    started = time.perf_counter()
    docs = [paper_doc(paper, topics[paper.id]) for paper in papers]
    index = SubscriptionIndex(subs, key_frequency(docs))
    built = time.perf_counter()
    matches = sum(len(index.match(doc)) for doc in docs)
    matched = time.perf_counter()

    # What production runs: the same matching reduced per user (top 10 + a count), with
    # topic-only subscriptions worked out per topic combination.
    batch_started = time.perf_counter()
    batch = match_batch(subs, papers, topics, since=NOW - timedelta(hours=1), keep_per_user=10)
    batch_seconds = time.perf_counter() - batch_started

    # Correctness on a sample: the index finds exactly what testing every pair finds.
    sample = docs[:: max(1, len(docs) // 50)]
    reference = match_brute_force(subs, sample)
    agree = all([s.id for s in index.match(d)] == [s.id for s in reference[d.paper_id]] for d in sample)

    # The production path: papers from the store, topics from paper_topics, matches queued.
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(str(Path(tmp) / "bench.db"))
        store.subscriptions.add_many(((s.platform, s.user_id, s.query, s.topics) for s in subs), NOW - timedelta(days=30))
        store.papers.ingest(papers, NOW - timedelta(minutes=30))
        store.conn.execute("BEGIN")
        for paper in papers:
            store.papers.set_topics(paper.id, topics[paper.id])
        store.conn.execute("COMMIT")
        store.alert_queue.set_watermark("alerts.scanned_until", NOW - timedelta(hours=1))
        scan_started = time.perf_counter()
        queued = asyncio.run(scan_new_papers(store, NOW))
        scan_seconds = time.perf_counter() - scan_started
        store.close()
    return {
        "subscriptions": subscription_count,
        "papers": len(papers),
        "tokenize_and_index_build_s": round(built - started, 3),
        "match_s": round(matched - built, 3),
        "index_plus_match_s": round(matched - started, 3),
        "matches": matches,
        "match_batch_per_user_s": round(batch_seconds, 3),
        "users_with_matches": len(batch.kept),
        "user_paper_matches": batch.total,
        "sample_agrees_with_brute_force": agree,
        "scan_new_papers_with_store_s": round(scan_seconds, 3),
        "queued_user_paper_pairs": queued,
        "peak_rss_mb": peak_rss_mb(),
    }


# --- case: digests ----------------------------------------------------------------------------


class FixedSummaries:
    """Fixed summaries (no summarizing cost): the digest bench measures choosing and posting."""

    async def get_many(self, papers: Sequence[Paper]) -> dict[str, Summary]:
        """A constant summary per paper."""
        return {p.id: Summary(tldr="A fixed TL;DR.", key_points=("One.", "Two.", "Three."), topics=("Machine Learning",)) for p in papers}


def build_store(path: str, count: int) -> tuple[Any, float]:
    """A store of `count` synthetic papers ingested day by day (changed_at = that day)."""
    from bot.store import Store

    store = Store.open(path)
    started = time.perf_counter()
    day: list[Paper] = []
    current = None
    # 100,000 papers over about 100 days: ~1,000 a day, like arXiv's CS listings, so a
    # channel's 24-hour window holds a realistic day of papers.
    for paper in synthetic_papers(count, seed=5, end=NOW - timedelta(hours=1), years=count / 365_000):
        key = paper.published.date() if paper.published else None
        if day and key != current:
            _ingest_day(store, day)
            day = []
        current = key
        day.append(paper)
    if day:
        _ingest_day(store, day)
    return store, time.perf_counter() - started


def _ingest_day(store: Any, papers: list[Paper]) -> None:
    when = max(p.published for p in papers if p.published) + timedelta(minutes=5)
    store.papers.ingest(papers, when)
    store.conn.execute("BEGIN")
    for paper in papers:
        store.papers.set_topics(paper.id, corpus_topics(paper))
    store.conn.execute("COMMIT")


def make_channels(count: int, seed: int = 9) -> list[ChannelSettings]:
    """Channels with different topic sets; some with a query, sources or a minimum score."""
    rng = random.Random(seed)
    vocab = vocabulary()
    channels = []
    for i in range(count):
        roll = rng.random()
        channels.append(
            ChannelSettings(
                platform="slack" if i % 2 else "discord",
                channel_id=f"C{i:05d}",
                topics=tuple(rng.sample(TOPIC_IDS, rng.randint(0, 3))),
                query=rng.choice(vocab) if roll < 0.15 else "",
                sources=(SourceKind.ARXIV, SourceKind.HF) if 0.15 <= roll < 0.3 else (),
                min_score=5 if 0.3 <= roll < 0.35 else 0,
                max_items=rng.choice((5, 10, 10, 20)),
                days=(0, 1, 2, 3, 4, 5, 6),
                created_by=f"U{i}",
            )
        )
    return channels


def case_digests(paper_count: int, channel_count: int, summaries: str) -> dict[str, Any]:
    """Build and enqueue the digests of `channel_count` channels from a store of papers."""
    from bot.core.clock import FakeClock
    from bot.delivery.outbox import Delivery
    from bot.settings import Settings
    from tests.support.wiring import make_scheduler

    with tempfile.TemporaryDirectory() as tmp:
        store, ingest_seconds = build_store(str(Path(tmp) / "bench.db"), paper_count)
        for settings in make_channels(channel_count):
            store.channels.save(settings, NOW - timedelta(days=2))
        clock = FakeClock(NOW)
        if summaries == "offline":
            from bot.enrich.summarize import Summaries

            provider: Any = Summaries(store, clock=clock)
        else:
            provider = FixedSummaries()
        scheduler = make_scheduler(
            store=store, settings=Settings(), clock=clock, summaries=provider, delivery=Delivery(store, {}, clock)
        )
        started = time.perf_counter()
        enqueued = asyncio.run(scheduler.digests.run_due(NOW))
        seconds = time.perf_counter() - started
        runs = store.conn.execute("SELECT status, COUNT(*), SUM(papers) FROM digest_runs GROUP BY status").fetchall()
        window = store.conn.execute(
            "SELECT COUNT(*) FROM papers WHERE changed_at >= ?", ((NOW - timedelta(hours=24)).isoformat(),)
        ).fetchone()[0]
        result = {
            "papers_in_store": store.papers.count(),
            "papers_in_24h_window": window,
            "channels": channel_count,
            "summaries": "fixed fake provider" if summaries == "fake" else "offline summarizer (cached)",
            "store_build_s": round(ingest_seconds, 1),
            "run_due_digests_s": round(seconds, 3),
            "digests_enqueued": enqueued,
            "runs_by_status": {row[0]: {"channels": row[1], "papers": row[2]} for row in runs},
            "peak_rss_mb": peak_rss_mb(),
        }
        store.close()
    return result


# --- driver -------------------------------------------------------------------------------------


def run_case(args: list[str]) -> dict[str, Any]:
    """Run one case in a fresh interpreter (its own peak RSS) and return its JSON."""
    output = subprocess.run(
        [sys.executable, "-m", "bench.bench_alerts_digests", "--case", *args],
        check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1],
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run every case and print the results as one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summaries", choices=("fake", "offline", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--case", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        kind, *rest = args.case
        if kind == "match":
            result = case_match(int(rest[0]))
        else:
            result = case_digests(int(rest[0]), int(rest[1]), rest[2])
        print(json.dumps(result))
        return
    papers, channels = (10_000, 100) if args.quick else (100_000, 1_000)
    report: dict[str, Any] = {
        "match_2000_papers_vs_10000_subscriptions": run_case(["match", "10000"]),
        "match_2000_papers_vs_100000_subscriptions": run_case(["match", "100000"]),
    }
    for summaries in (["fake", "offline"] if args.summaries == "both" else [args.summaries]):
        report[f"digests_{channels}_channels_from_{papers}_papers_{summaries}_summaries"] = run_case(
            ["digests", str(papers), str(channels), summaries]
        )
    report["targets_s"] = {"match_10k": 1.0, "match_100k": 5.0, "digests_1000_channels": 10.0}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
