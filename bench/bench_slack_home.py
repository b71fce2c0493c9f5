"""What building a person's App Home costs, at 100k papers: `BotService.home` (one search per
subscription, or per topic of a topic-only one, over the last two days; then summaries of the
three papers shown) and drawing it as a Slack view (adapters/slack/views.py), for people with 1,
5 and 25 subscriptions (25 is the most a person may have). The Home is built on the event loop,
so its time is time the bot answers nothing else.

Builds a store of synthetic papers (bench/corpus.py, through the real ingest path, as
bench/bench_search.py does), adds the subscriptions (queries are words of corpus titles, every
third one a topic), then builds each Home `--runs` times. Summaries: the real offline
summarizer (bot.enrich.summarize.Summaries, cached in the store after the first run).

Prints one JSON object.

    .venv/bin/python -m bench.bench_slack_home [--size 100000] [--runs 30] [--workdir DIR --keep]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from adapters.slack.views import home_view
from bench.bench_search import NOW, build, percentiles
from bench.corpus import synthetic_papers
from bot.chat.home import HomeContext, build_home
from bot.core.clock import FakeClock
from bot.core.models import Actor
from bot.enrich.summarize import Summaries
from bot.search.engine import SearchEngine
from bot.store import Store

TOPICS = ("llm", "cv", "rl", "gen", "agents", "reasoning", "efficient")
WORDS_FROM = 2000  # titles of the newest papers the subscription words are drawn from


def subscription_words(size: int, count: int, seed: int = 5) -> list[str]:
    """`count` queries: one or two words of recent titles (longer than 4 letters)."""
    rng = random.Random(seed)
    titles = [p.title for p in synthetic_papers(size)][-WORDS_FROM:]
    words = sorted({w.strip(":,.()").lower() for t in titles for w in t.split() if len(w.strip(":,.()")) > 4 and w.isascii()})
    return [" ".join(rng.sample(words, rng.choice((1, 1, 2)))) for _ in range(count)]


async def measure(store: Store, counts: tuple[int, ...], runs: int, size: int) -> dict[str, Any]:
    clock = FakeClock(NOW)
    search = SearchEngine(store)
    summaries = Summaries(store, clock=clock)
    queries = subscription_words(size, max(counts))
    report: dict[str, Any] = {}
    for count in counts:
        who = Actor("slack", f"T1:U{count}")
        for number in range(count):
            topics = (TOPICS[number % len(TOPICS)],) if number % 3 == 2 else ()
            store.subscriptions.add("slack", who.user_id, "" if topics else queries[number], topics, NOW)
        context = HomeContext(who, NOW, store, search, summaries)
        await build_home(context)  # summaries made and cached once, as after the first open
        build_ms, draw_ms, papers, blocks = [], [], 0, 0
        for _ in range(runs):
            start = time.perf_counter()
            home = await build_home(context)
            build_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            view = home_view(home)
            draw_ms.append((time.perf_counter() - start) * 1000)
            papers = len(home.section("papers").items)  # type: ignore[union-attr]
            blocks = len(view["blocks"])
        report[f"{count}_subscriptions"] = {
            "home_ms": percentiles(build_ms), "view_ms": percentiles(draw_ms), "papers_shown": papers, "view_blocks": blocks,
        }
    return report


def main() -> None:
    """Build the store, measure, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the built store in --workdir")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-home-"))
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"papers-{args.size}.db"
    built = {} if path.exists() else build(path, args.size)
    store = Store.open(str(path))
    try:
        store.conn.execute("DELETE FROM subscriptions")
        report = asyncio.run(measure(store, (1, 5, 25), args.runs, args.size))
    finally:
        store.close()
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps({"papers": args.size, "runs": args.runs, "build": built, **report}, indent=2))


if __name__ == "__main__":
    main()
