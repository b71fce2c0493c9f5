"""Alerts and digests at scale. Prints one JSON object.

1. Matching, timed through the production path: 2,000 new papers against 10,000, 100,000 and
   1,000,000 subscriptions (three per user: keywords, phrases from real titles, whole topics,
   keyword + topic). A setup process writes the subscriptions, papers and topics into a SQLite
   store; the measuring process then runs what the bot runs:
   - `matcher_load_s`: the scheduler's long-lived `AlertMatcher` loading every active
     subscription (once per process start, paged, compiled in a worker thread);
   - `scan_new_papers_s` (the headline): one scheduler scan, `scan_new_papers` with that
     matcher: reading the subscription change feed and applying it (another Store on the same
     file has just added, removed, paused and resumed some), reading the new papers and their
     topics, matching in a worker thread, and writing the alert queue and the "+N more" counts;
   - `match_only_s`: the matching alone (`AlertMatcher.match`, the worker-thread part);
   - `apply_changes_s`: a later refresh applying another set of changes;
   - peak RSS of the measuring process after the scan (the store, the batch and the users'
     changes are written by other processes, so it is the matcher's and the scan's), and a
     sample of users whose queued rows and counts are checked against brute force.
   Targets: 0.5 s (10k), 2 s (100k), 15 s and 1 GB (1M).
2. Subscribe preview: `/papers subscribe` (SubscriptionCommands.subscribe, its 7-day preview
   count and first-DM queueing) for broad, rare, phrase and topic queries over a store with
   20,000 papers (and, without --quick, 100,000) first seen in the last 7 days. Target: 3 s.
3. Digests: a store of 100,000 papers (~1,000 a day, ingested day by day), 1,000 channels with
   different topics (some with a query, sources or a minimum score), all due at once:
   `Scheduler.run_due_digests` builds and enqueues every digest. Target: under 10 s.

Papers come from bench/corpus.py (`synthetic_papers`, sentences of the 392 shared abstracts),
topics from `corpus_topics`. Summaries: the digest case runs twice, with a fake provider
returning fixed summaries and with the real offline summarizer (bot.enrich.summarize.Summaries, which
also caches them in the store); `--summaries fake|offline` runs one. Each case runs in its own
process so its peak RSS is its own.

    .venv/bin/python -m bench.bench_alerts_digests [--summaries fake|offline|both] [--quick]
        [--match 10000,100000,1000000] [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
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
    seen, documents = _document_counts()
    return sorted(w for w, n in seen.items() if w.isalpha() and len(w) > 3 and n <= max_share * documents)


@functools.lru_cache(maxsize=1)
def _document_counts() -> tuple[dict[str, int], int]:
    """How many corpus documents each word is in, and how many documents there are (counted
    once per process: a pass over the corpus is tens of seconds, and a benchmark asks for
    several vocabularies)."""
    from bot.core.text import plural_folded_words

    docs = corpus_docs()
    seen: dict[str, int] = {}
    for title, abstract in docs:
        for word in set(plural_folded_words(f"{title} {abstract}")):
            seen[word] = seen.get(word, 0) + 1
    return seen, len(docs)


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

MATCH_PAPERS = 2_000
SCAN_SINCE = NOW - timedelta(hours=1)


def match_papers() -> list[Paper]:
    """The batch of new papers every matching case uses."""
    return list(synthetic_papers(MATCH_PAPERS, seed=11, end=NOW, years=0.01))


def case_match_store(subscription_count: int, path: str) -> dict[str, Any]:
    """Setup (its own process): a store with the subscriptions and the papers of earlier days
    (what the matcher samples its anchors from when it loads, before the new batch arrives)."""
    from bot.store import Store

    store = Store.open(path)
    subs = make_subscriptions(subscription_count)
    store.subscriptions.add_many(((s.platform, s.user_id, s.query, s.topics) for s in subs), NOW - timedelta(days=30))
    del subs
    # A month earlier than the batch, so their arXiv-style ids (numbered per month) differ.
    earlier = synthetic_papers(3_000, seed=12, end=NOW - timedelta(days=40), years=0.02)
    store.papers.ingest(earlier, NOW - timedelta(days=40))
    store.close()
    return {"subscriptions": subscription_count}


def add_new_papers(store: Any) -> None:
    """The batch of new papers (first seen in the scan window) with their topics, and the scan
    watermark at the window's start."""
    papers = match_papers()
    store.papers.ingest(papers, NOW - timedelta(minutes=30))
    store.conn.execute("BEGIN")
    for paper in papers:
        store.papers.set_topics(paper.id, corpus_topics(paper))
    store.conn.execute("COMMIT")
    store.alert_queue.set_watermark("alerts.scanned_until", SCAN_SINCE)


def user_changes(path: str, round_: int) -> int:
    """What users do between two ticks, written by another Store on the same file (as another
    process would): 20 subscribe, 10 unsubscribe, one user pauses (blocked DMs), one resumes."""
    from bot.store import Store

    other = Store.open(path)
    rng = random.Random(round_)
    vocab = vocabulary()
    for i in range(20):
        other.subscriptions.add("slack", f"NEW{round_}-{i}", rng.choice(vocab), (), NOW - timedelta(minutes=rng.randrange(90)))
    top = other.subscriptions.count()
    other.subscriptions.remove([rng.randrange(1, top) for _ in range(10)])
    other.subscriptions.pause_for_user("slack", f"U{rng.randrange(1000)}", "you do not accept direct messages")
    other.subscriptions.resume_for_user("slack", f"U{rng.randrange(1000)}")
    other.close()
    return 32


def match_papers_from(store: Any) -> list[Paper]:
    """The new papers as the scan reads them from the store."""
    changed = store.papers.changed(since=SCAN_SINCE, limit=None)
    return [p for p in changed if p.first_seen is None or SCAN_SINCE <= p.first_seen < NOW]


def brute_force_sample(store: Any, papers: Sequence[Paper], users: Sequence[tuple[str, str]], keep: int) -> bool:
    """Whether the queued rows and counts of `users` are what testing each of their
    subscriptions against every paper gives (the reference `match_brute_force`)."""
    from bot.alerts.matcher import paper_rank
    from bot.search.matching import match_brute_force, paper_doc, topics_for

    topics = topics_for(store, papers)
    docs = [paper_doc(p, topics.get(p.id, ())) for p in papers]
    first_seen = {p.id: p.first_seen for p in papers}
    rank = {p.id: paper_rank(p) for p in papers}
    for platform, user_id in users:
        subs = [s for s in store.subscriptions.list_for_user(platform, user_id) if not s.paused_reason]
        hits: dict[str, list[int]] = {}
        for pid, found in match_brute_force(subs, docs).items():
            for sub in found:
                late = sub.created_at is not None and sub.created_at > SCAN_SINCE
                if late and first_seen[pid] is not None and first_seen[pid] < sub.created_at:
                    continue
                hits.setdefault(pid, []).append(sub.id)
        ordered = sorted(hits, key=rank.__getitem__, reverse=True)
        expected = {(pid, tuple(sorted(hits[pid]))) for pid in ordered[:keep]}
        queued = {(q.paper_id, q.subscription_ids) for q in store.alert_queue.waiting(platform, user_id)}
        if queued != expected or store.alert_queue.overflow(platform, user_id) != max(0, len(ordered) - keep):
            return False
    return True


class Timer:
    """Wall-clock and CPU seconds (all threads of this process) of a block. On a shared, busy
    machine the CPU figure is the steadier one; both are reported."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = round(time.perf_counter() - self.wall, 3)
        self.cpu = round(time.process_time() - self.cpu, 3)


def case_match(subscription_count: int) -> dict[str, Any]:
    """The alert scan over a store of `subscription_count` subscriptions and 2,000 new papers,
    through the production path (see the module docstring)."""
    from bot.alerts.alerts import scan_new_papers
    from bot.alerts.matcher import AlertMatcher
    from bot.search.matching import topics_for
    from bot.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.db")
        with Timer() as setup:
            run_case(["match-store", str(subscription_count), path])
        store = Store.open(path)
        rss_before = peak_rss_mb()

        matcher = AlertMatcher()
        with Timer() as load:
            asyncio.run(matcher.refresh(store, NOW))
        rss_loaded = peak_rss_mb()

        # The batch and the users' changes are written by other processes (as ingest and other
        # replicas would): generating them loads the corpus, which is not the matcher's memory.
        run_case(["match-batch", path])
        changes = run_case(["match-changes", path, "1"])["changes"]
        with Timer() as scan:
            queued = asyncio.run(scan_new_papers(store, NOW, keep_per_user=10, matcher=matcher))
        rss_scanned = peak_rss_mb()

        # Correctness on a sample: 100 users with queued papers, and the 20 who just subscribed.
        rng = random.Random(4)
        waiting = store.alert_queue.waiting_users()
        sample = rng.sample(waiting, min(100, len(waiting))) + [("slack", f"NEW1-{i}") for i in range(20)]
        agrees = brute_force_sample(store, match_papers_from(store), sample, keep=10)

        # The parts, measured again on their own (the scan above is the production figure).
        with Timer() as read:
            papers = match_papers_from(store)
            topics = topics_for(store, papers)
        with Timer() as match:
            result = matcher.match(papers, topics, since=SCAN_SINCE, keep_per_user=10)
        user_changes(path, 2)
        with Timer() as apply:
            asyncio.run(matcher.refresh(store, NOW))
        queue_rows = store.conn.execute("SELECT COUNT(*) FROM alert_queue").fetchone()[0]
        store.close()
    return {
        "timed": "production path: AlertMatcher.refresh (change feed) + read papers and topics + match in a worker thread + write alert queue and counts (scan_new_papers)",
        "subscriptions": subscription_count,
        "papers": len(papers),
        "setup_s": round(setup.wall, 1),
        "matcher_load_s": load.wall,
        "matcher_load_cpu_s": load.cpu,
        "distinct_queries": len(matcher.queries),
        "changes_applied_by_scan": changes,
        "scan_new_papers_s": scan.wall,
        "scan_new_papers_cpu_s": scan.cpu,
        "queued_user_paper_pairs": queued,
        "alert_queue_rows": queue_rows,
        "users_with_matches": result.users_with_matches,
        "user_paper_matches": result.total,
        "read_papers_and_topics_s": read.wall,
        "match_only_s": match.wall,
        "match_only_cpu_s": match.cpu,
        "apply_changes_s": apply.wall,
        "sample_users_checked": len(sample),
        "sample_agrees_with_brute_force": agrees,
        "peak_rss_mb": rss_scanned,
        "peak_rss_mb_after_open": rss_before,
        "peak_rss_mb_after_load": rss_loaded,
        "rss_note": "this process's own peak up to the end of the scan (the corpus is loaded only by the setup processes and, after the scan, the brute-force check)",
    }


# --- case: digests ----------------------------------------------------------------------------


class FixedSummaries:
    """Fixed summaries (no summarizing cost): the digest bench measures choosing and posting."""

    async def get_many(self, papers: Sequence[Paper]) -> dict[str, Summary]:
        """A constant summary per paper."""
        return {p.id: Summary(tldr="A fixed TL;DR.", key_points=("One.", "Two.", "Three."), topics=("Machine Learning",)) for p in papers}


def build_store(path: str, count: int, days: float | None = None) -> tuple[Any, float]:
    """A store of `count` synthetic papers ingested day by day (changed_at = that day), over
    `days` (default: about 1,000 papers a day)."""
    from bot.store import Store

    store = Store.open(path)
    started = time.perf_counter()
    day: list[Paper] = []
    current = None
    # 100,000 papers over about 100 days: ~1,000 a day, like arXiv's CS listings, so a
    # channel's 24-hour window holds a realistic day of papers.
    years = (days / 365) if days is not None else count / 365_000
    for paper in synthetic_papers(count, seed=5, end=NOW - timedelta(hours=1), years=years):
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


# --- case: the subscribe preview -----------------------------------------------------------------

PREVIEW_QUERIES = ("model", "diffusion", '"gaussian splatting"', "quantum", "topic:cv", "reward topic:rl")


def case_preview(paper_count: int) -> dict[str, Any]:
    """`/papers subscribe` for broad, rare, phrase and topic queries over a store whose last 7
    days hold `paper_count` papers (its preview count and first-DM queueing included)."""
    import bot.chat.grammar as cmd
    from bot.alerts.alerts import SubscriptionCommands
    from bot.core.clock import FakeClock
    from bot.core.models import Actor, Place
    from bot.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        store, build_seconds = build_store(str(Path(tmp) / "bench.db"), paper_count, days=6.9)
        commands = SubscriptionCommands(store=store, settings=Settings(), clock=FakeClock(NOW))
        where = Place(platform="slack", channel_id="C1")
        timings: dict[str, Any] = {}
        for number, query in enumerate(PREVIEW_QUERIES):
            command = cmd.parse_command(f"subscribe {query}")
            started, cpu_started = time.perf_counter(), time.process_time()
            reply = asyncio.run(commands.handle(command, Actor(platform="slack", user_id=f"P{number}"), where))
            timings[query] = {"s": round(time.perf_counter() - started, 3), "cpu_s": round(time.process_time() - cpu_started, 3),
                              "reply": (reply.text or "").splitlines()[1:2]}
        store.close()
    return {
        "timed": "SubscriptionCommands.subscribe: add, 7-day preview count, first-DM queueing",
        "papers_in_last_7_days": paper_count,
        "store_build_s": round(build_seconds, 1),
        "max_s": max(t["s"] for t in timings.values()),
        "max_cpu_s": max(t["cpu_s"] for t in timings.values()),
        "queries": timings,
        "peak_rss_mb": peak_rss_mb(),
    }


# --- driver -------------------------------------------------------------------------------------


def run_case(args: list[str], timeout: float | None = None) -> dict[str, Any]:
    """Run one case in a fresh interpreter (its own peak RSS) and return its JSON."""
    try:
        output = subprocess.run(
            [sys.executable, "-m", "bench.bench_alerts_digests", "--case", *args],
            check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"timed_out_after_s": timeout}
    return cast(dict[str, Any], json.loads(output.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Run every case and print the results as one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summaries", choices=("fake", "offline", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--match", help="subscription counts to match, comma-separated (default 10000,100000,1000000)")
    parser.add_argument("--no-digests", action="store_true", help="only the matching and preview cases")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before a case is given up")
    parser.add_argument("--case", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        kind, *rest = args.case
        if kind == "match":
            result = case_match(int(rest[0]))
        elif kind == "match-store":
            result = case_match_store(int(rest[0]), rest[1])
        elif kind == "match-batch":
            from bot.store import Store

            store = Store.open(rest[0])
            add_new_papers(store)
            store.close()
            result = {"papers": MATCH_PAPERS}
        elif kind == "match-changes":
            result = {"changes": user_changes(rest[0], int(rest[1]))}
        elif kind == "preview":
            result = case_preview(int(rest[0]))
        else:
            result = case_digests(int(rest[0]), int(rest[1]), rest[2])
        print(json.dumps(result))
        return
    papers, channels = (10_000, 100) if args.quick else (100_000, 1_000)
    sizes = args.match or ("10000,100000" if args.quick else "10000,100000,1000000")
    report: dict[str, Any] = {}
    for size in (int(n) for n in sizes.split(",")):
        report[f"match_2000_papers_vs_{size}_subscriptions"] = run_case(["match", str(size)], args.timeout)
    for count in (20_000,) if args.quick else (20_000, 100_000):
        report[f"subscribe_preview_{count}_papers_in_7_days"] = run_case(["preview", str(count)], args.timeout)
    if not args.no_digests:
        for summaries in (["fake", "offline"] if args.summaries == "both" else [args.summaries]):
            report[f"digests_{channels}_channels_from_{papers}_papers_{summaries}_summaries"] = run_case(
                ["digests", str(papers), str(channels), summaries], args.timeout
            )
    report["targets"] = {
        "match_10k_scan_s": 0.5, "match_100k_scan_s": 2.0, "match_1m_scan_s": 15.0, "match_1m_peak_rss_mb": 1000,
        "subscribe_preview_s": 3.0, "digests_1000_channels_s": 10.0,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
