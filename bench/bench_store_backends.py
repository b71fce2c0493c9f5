"""The store on SQLite and on PostgreSQL: ingest, reads and FTS searches, side by side.

For each backend the same N papers (bench/corpus.py: resampled from the 71,011 real arXiv
announcements) are ingested through `store.papers.ingest` (batches of 2,000, the default), then
timed, in milliseconds with p50/p90/p99/max/mean:
- `ingest_s` and `papers_per_s`: the whole ingest; `reingest_s`: the same papers again (all
  skipped: the idempotent path);
- `get_many_ms`: `store.papers.get_many` of 20 random ids;
- `fts_search_ms`: `SearchEngine.search` without a tantivy index (the fallback: FTS5 on SQLite,
  tsvector + GIN on PostgreSQL) for 100 queries of real title words and phrases;
- `statement_ms`: one trivial statement (`SELECT 1`), the round trip every store call pays.

PostgreSQL is the throwaway server of tests/support/postgres.py (Unix socket, fsync off), so
the figures are the client/server cost on this machine, not a tuned server's. Prints one JSON
object; progress goes to stderr.

    .venv/bin/python -m bench.bench_store_backends [--papers 5000] [--queries 100]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.corpus import DEFAULT_END, synthetic_papers
from bot.search.engine import SearchEngine
from bot.search.query import SearchQuery
from bot.store import Store
from tests.support.postgres import PostgresServer


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {"p50": pick(0.5), "p90": pick(0.9), "p99": pick(0.99), "max": round(ordered[-1], 3),
            "mean": round(statistics.fmean(ordered), 3)}


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def _queries(papers: list, count: int, rng: random.Random) -> list[str]:  # type: ignore[type-arg]
    queries = []
    for paper in rng.sample(papers, count):
        words = [w for w in paper.title.split() if w.isalpha() and len(w) > 3]
        if not words:
            continue
        start = rng.randrange(len(words))
        queries.append(" ".join(words[start : start + rng.choice((1, 1, 2))]) if rng.random() < 0.7
                       else f'"{" ".join(words[start : start + 2])}"')
    return queries


def bench_backend(location: str, papers: list, queries: list[str], rng: random.Random) -> dict[str, object]:  # type: ignore[type-arg]
    """Every figure of one backend (see the module docstring)."""
    store = Store.open(location)
    try:
        started = time.perf_counter()
        store.papers.ingest(papers, DEFAULT_END)
        ingest_s = time.perf_counter() - started
        started = time.perf_counter()
        store.papers.ingest(papers, DEFAULT_END)
        reingest_s = time.perf_counter() - started
        ids = [p.id for p in papers]
        get_many = [_timed(lambda: store.papers.get_many(rng.sample(ids, 20))) for _ in range(50)]
        engine = SearchEngine(store)  # no tantivy index: the full-text fallback of the store
        hits: list[int] = []

        def search(text: str) -> None:
            hits.append(len(engine.search(SearchQuery(text=text), DEFAULT_END).hits))

        searches = [_timed(lambda q=q: search(q)) for q in queries]  # type: ignore[misc]
        statements = [_timed(lambda: store.conn.execute("SELECT 1").fetchone()) for _ in range(200)]
        return {
            "ingest_s": round(ingest_s, 2), "papers_per_s": round(len(papers) / ingest_s),
            "reingest_s": round(reingest_s, 2), "get_many_ms": _stats(get_many),
            "fts_search_ms": _stats(searches), "queries_with_hits": sum(1 for n in hits if n),
            "statement_ms": _stats(statements),
        }
    finally:
        store.close()


def main() -> None:
    """Run both backends and print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    papers = list(synthetic_papers(args.papers, seed=7))
    queries = _queries(papers, args.queries, random.Random(11))
    result: dict[str, object] = {"papers": len(papers), "queries": len(queries)}
    server = PostgresServer.start()
    try:
        with tempfile.TemporaryDirectory() as directory:
            for name, location in (("sqlite", str(Path(directory) / "bench.db")), ("postgresql", server.new_database("bench"))):
                print(f"{name}: ingesting {len(papers)} papers", file=sys.stderr)
                result[name] = bench_backend(location, papers, queries, random.Random(3))
    finally:
        server.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
