"""Search latency at 100k and 1M papers: bot.search (SearchEngine) vs one raw FTS5 `MATCH ... ORDER BY bm25`.

For each size N, builds a store of N synthetic papers (bench/corpus.py: corpus sentences, dates
over 3 years, HF/Reddit signals) through the real ingest path (`store.papers.ingest`), tags them
with `store.papers.set_topics` (topics from keyword cues, inside one transaction per 50,000
papers: the only shortcut), then times 200 mixed queries (single words, several words, quoted
phrases, topic filters, since filters) end to end through `SearchEngine.search` (hits as Papers
with `why`), and the same MATCH expressions as a raw `SELECT rowid FROM papers_fts WHERE
papers_fts MATCH ? [AND rowid >= since] ORDER BY bm25(papers_fts) LIMIT 10` (no topic join).
Also: 20 queries each of sort:new, sort:top, source:hf, author: and filter-only browsing;
`count_matches`; and an exactness check of the engine's top 10 against a brute-force ranking of
every match with the same formula.

Prints one JSON object. Targets: p99 <= 50 ms at 100k and <= 150 ms at 1M; 1M build < 600 s.

    .venv/bin/python -m bench.bench_search [--sizes 100000,1000000] [--quick] [--workdir DIR --keep]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from bench.corpus import DEFAULT_END, corpus_docs, corpus_topics, synthetic_papers
from bot.core.models import Paper, SourceKind
from bot.search.engine import SearchEngine
from bot.search.query import STOPWORDS, SearchQuery, fts_query, plan_for
from bot.search.ranking import popularity_factor, recency
from bot.store import Store
from bot.store.fulltext import FTS_PK_BITS, FTS_PK_MASK

NOW = DEFAULT_END
TOPICS = ("llm", "cv", "rl", "gen", "agents", "reasoning", "efficient")
SINCE_DAYS = (7, 30, 90, 365)


def mixed_queries(count: int = 200, seed: int = 11) -> list[SearchQuery]:
    """`count` queries from corpus titles: 30% one word, 25% several words, 20% quoted phrases,
    15% with a topic filter, 10% with a since filter."""
    rng = random.Random(seed)
    titles = [title for title, _ in corpus_docs()]
    queries: list[SearchQuery] = []
    while len(queries) < count:
        sequence = [w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", rng.choice(titles))]
        words = [w for w in sequence if w not in STOPWORDS and len(w) > 2]
        # Phrases are two adjacent title words, neither a stop word ("gaussian splatting").
        pairs = [
            f'"{a} {b}"' for a, b in zip(sequence, sequence[1:], strict=False)
            if a in words and b in words
        ]
        if len(words) < 2 or not pairs:
            continue
        roll = len(queries) % 20
        if roll < 6:
            text = rng.choice(words)
        elif roll < 11:
            text = " ".join(rng.sample(words, rng.randint(2, min(3, len(words)))))
        elif roll < 15:
            text = rng.choice(pairs)
        elif roll < 18:
            text = " ".join(rng.sample(words, rng.randint(1, 2)))
            queries.append(SearchQuery(text=text, topic=rng.choice(TOPICS)))
            continue
        else:
            text = " ".join(rng.sample(words, rng.randint(1, 2)))
            queries.append(SearchQuery(text=text, since=NOW - timedelta(days=rng.choice(SINCE_DAYS))))
            continue
        queries.append(SearchQuery(text=text))
    return queries


def extra_queries(seed: int = 5) -> dict[str, list[SearchQuery]]:
    """20 queries per other feature: sort new/top, source:hf, author, filters only."""
    base = mixed_queries(20, seed)
    surnames = ("Wang", "LeCun", "Müller", "Kim", "Nguyen", "Hinton", "Silva", "Ivanov", "Tanaka", "Singh")
    rng = random.Random(seed)
    return {
        "sort_new": [SearchQuery(text=q.text, sort="new") for q in base],
        "sort_top": [SearchQuery(text=q.text, sort="top") for q in base],
        "source_hf": [SearchQuery(text=q.text, source=SourceKind.HF) for q in base],
        "author": [SearchQuery(text=q.text if i % 2 else "", author=surnames[i % 10]) for i, q in enumerate(base)],
        "filters_only": [
            SearchQuery(topic=rng.choice(TOPICS), since=NOW - timedelta(days=rng.choice(SINCE_DAYS)),
                        sort=("relevance", "new", "top")[i % 3])
            for i in range(20)
        ],
    }


def build(path: Path, size: int) -> dict[str, float]:
    """Ingest `size` synthetic papers and tag them; returns timings."""
    store = Store.open(str(path))
    tags: list[tuple[str, tuple[str, ...]]] = []

    def papers() -> Iterator[Paper]:
        for paper in synthetic_papers(size):
            tags.append((paper.id, corpus_topics(paper)))
            yield paper

    start = time.perf_counter()
    store.papers.ingest(papers(), NOW)
    ingest_s = time.perf_counter() - start
    start = time.perf_counter()
    for offset in range(0, len(tags), 50_000):
        store.conn.execute("BEGIN")
        for paper_id, topics in tags[offset : offset + 50_000]:
            store.papers.set_topics(paper_id, topics)
        store.conn.execute("COMMIT")
    topics_s = time.perf_counter() - start
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return {"ingest_s": round(ingest_s, 1), "topics_s": round(topics_s, 1),
            "build_s": round(ingest_s + topics_s, 1), "ingest_papers_per_s": round(size / ingest_s)}


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p90/p99/max/mean in milliseconds."""
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"p50": pick(0.5), "p90": pick(0.9), "p99": pick(0.99), "max": round(ordered[-1], 2),
            "mean": round(statistics.fmean(ordered), 2)}


def raw_top10(store: Store, query: SearchQuery) -> None:
    """The naive query: one MATCH ordered by bm25 (since as a rowid range, no topic join)."""
    match = fts_query(query.text)
    if match is None:
        return
    lo = 0
    if query.since is not None:
        lo = int(query.since.timestamp()) << FTS_PK_BITS
    store.conn.execute(
        "SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? AND rowid >= ? ORDER BY bm25(papers_fts) LIMIT 10",
        (match, lo),
    ).fetchall()


def brute_force(store: Store, query: SearchQuery) -> list[int]:
    """Every match scored with the engine's formula; pks of the best 10 (no filters)."""
    plan = plan_for(query)
    rows = store.conn.execute(
        "SELECT f.rowid, bm25(papers_fts, 8.0, 1.0, 3.0, 1.0), p.popularity FROM papers_fts f "
        f"JOIN papers p ON p.pk = (f.rowid & {FTS_PK_MASK}) WHERE papers_fts MATCH ? AND f.rowid >= ?",
        (plan.match, plan.lo_key),
    ).fetchall()
    now_s = NOW.timestamp()
    scored = sorted(
        ((-bm * recency(now_s - (key >> FTS_PK_BITS)) * popularity_factor(pop), key) for key, bm, pop in rows),
        reverse=True,
    )
    return [key & FTS_PK_MASK for _, key in scored[:10]]


def measure(path: Path) -> dict[str, object]:
    """Time the query mixes against a built store."""
    store = Store.open(str(path))
    engine = SearchEngine(store)
    for query in mixed_queries(20, seed=99):  # warm up the page cache on other queries
        engine.search(query, NOW)
    queries = mixed_queries()
    engine_ms: list[float] = []
    raw_ms: list[float] = []
    slowest: list[tuple[float, str]] = []
    for index, query in enumerate(queries):
        order = (0, 1) if index % 2 else (1, 0)
        for which in order:
            start = time.perf_counter()
            if which == 0:
                engine.search(query, NOW)
                engine_ms.append((time.perf_counter() - start) * 1000)
                slowest.append((engine_ms[-1], describe(query)))
            else:
                raw_top10(store, query)
                raw_ms.append((time.perf_counter() - start) * 1000)
    extras = {}
    for name, group in extra_queries().items():
        times = []
        for query in group:
            start = time.perf_counter()
            engine.search(query, NOW)
            times.append((time.perf_counter() - start) * 1000)
        extras[name] = percentiles(times)
    count_ms = []
    for query in queries[:20]:
        start = time.perf_counter()
        engine.count_matches(query, NOW)
        count_ms.append((time.perf_counter() - start) * 1000)
    exact = 0
    checked = [q for q in queries if q.topic is None][:20]
    for query in checked:
        hits = engine.search(SearchQuery(text=query.text, since=query.since, limit=10), NOW).hits
        got = _pks(store, [h.paper.id for h in hits])
        exact += got == brute_force(store, query)
    store.close()
    engine_p = percentiles(engine_ms)
    raw_p = percentiles(raw_ms)
    return {
        "engine_ms": engine_p,
        "raw_fts5_bm25_top10_ms": raw_p,
        "ratio_engine_to_raw": {"p50": round(engine_p["p50"] / raw_p["p50"], 2), "p99": round(engine_p["p99"] / raw_p["p99"], 2)},
        "slowest_engine_queries": [f"{ms:.1f} ms {text}" for ms, text in sorted(slowest, reverse=True)[:5]],
        "extras_engine_ms": extras,
        "count_matches_ms": percentiles(count_ms),
        "exact_top10_vs_brute_force": f"{exact}/{len(checked)}",
    }


def _pks(store: Store, ids: list[str]) -> list[int]:
    marks = ",".join("?" * len(ids))
    found = dict(store.conn.execute(f"SELECT id, pk FROM papers WHERE id IN ({marks})", ids).fetchall()) if ids else {}
    return [found[i] for i in ids]


def describe(query: SearchQuery) -> str:
    """A short label for a query in the output."""
    label = query.text
    if query.topic:
        label += f" topic:{query.topic}"
    if query.since:
        label += f" since:{(NOW - query.since).days}d"
    return label


def run(sizes: list[int], workdir: Path | None, keep: bool) -> dict[str, object]:
    """Build (or reuse, with --workdir) each store and measure it."""
    own = workdir is None
    base = Path(tempfile.mkdtemp(prefix="bench_search_")) if own else workdir
    assert base is not None
    base.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {"benchmark": "search", "queries": 200, "python": sys.version.split()[0]}
    try:
        for size in sizes:
            path = base / f"search_{size}.db"
            entry: dict[str, object] = {"papers": size}
            if path.exists() and not own:
                entry["build"] = "reused an existing store"
            else:
                for stale in base.glob(f"search_{size}.db*"):
                    stale.unlink()
                entry["build"] = build(path, size)
            entry["db_mb"] = round(sum(p.stat().st_size for p in base.glob(f"search_{size}.db*")) / 1e6, 1)
            entry.update(measure(path))
            entry["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
            results[str(size)] = entry
            print(json.dumps({str(size): entry}), file=sys.stderr, flush=True)
    finally:
        if own and not keep:
            shutil.rmtree(base, ignore_errors=True)
    results["targets"] = {"p99_ms_100k": 50, "p99_ms_1M": 150, "build_s_1M": 600}
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated store sizes")
    parser.add_argument("--quick", action="store_true", help="one 20,000-paper store (smoke run)")
    parser.add_argument("--workdir", type=Path, help="keep/reuse stores here (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="do not delete the temp dir")
    args = parser.parse_args()
    chosen = [20_000] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    print(json.dumps(run(chosen, args.workdir, args.keep)))
