"""Search at 100k and 1M papers, timed as users get it: `/papers` through BotService.

Corpus: bench/corpus.py (the 71,011 real arXiv announcements, resampled to N papers with real
daily volumes over 3 years, HF/Reddit signals). For each size N the store is built through the
real ingest path (`store.papers.ingest`, batches of 5,000; generating the papers is timed
apart), tagged with `store.papers.set_topics_many` (keyword cues instead of the tagger, one
transaction per 50,000 papers: the only shortcut), and the search index is built with
`bot.store.search_index.rebuild` (what `paperbot reindex` runs).

Then 200 mixed commands (real title words and phrases, the most common title words and
phrases, topic-only, since:, sort:new, sort:top, author:) are timed in one run, each figure in
milliseconds with p50/p90/p99/max/mean:
- `production_ms`: `BotService.handle_command(text)` as an adapter calls it, then
  `bot.chat.plaintext.render_text` of the reply: parsing with bot.chat.grammar, the search
  (with the search index), the offline summaries from the store's summary cache, the items, the
  user's notices, rendering. `cold` is the first pass (summaries made offline and cached, which
  re-tags and re-indexes those papers, so the next search first catches the index up);
  `second_pass` repeats it (summary text is searchable and tags change topic filters, so a few
  hits are new and summarized then); `warm` is the third pass (every summary cached): what
  users mostly get;
  the production engine is wired as the runtime wires it, with search by meaning (a `Ranker`
  indexed over the store; `meaning_index_build_s`), so free-text queries are fused with the
  papers closest in meaning (bot.search.fusion); `warm_words_only` times each command of the
  warm pass also through an engine without meaning (alternating which goes first), the figure
  before search by meaning; `meaning_ms` is the semantic side alone;
  `warm_with_fts5_only` is that pass through a BotService whose engine has no search index
  (FTS5 ranks, as before the index);
- `engine_ms`: `SearchEngine.search` alone with the search index, and `fts5_engine_ms` with FTS5
  only (the fallback, which was the engine before the index);
- `raw_fts5_ms`: `SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? [AND rowid >= since]
  ORDER BY bm25(papers_fts) LIMIT 10` for the commands that have words (no filters, no papers
  loaded), timed interleaved with the others; ratios are figure / raw at p50 and p99;
- `by_kind_production_ms`: the warm production figures per kind of command;
- exactness: the indexed engine's top 10 against every match scored with its own formula, and
  the FTS5 engine's top 10 against FTS5's; `overlap_top10_index_vs_fts5` compares the two;
- `totals`: how many results had an exact total, and the header of a common word.

Prints one JSON object; progress goes to stderr. Targets (issue #16): production p99 <= 50 ms
and p50 <= 10 ms at 1M papers; the 1M store builds in under 300 s.

    .venv/bin/python -m bench.bench_search [--sizes 100000,1000000] [--quick] [--workdir DIR --keep]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from itertools import islice
from pathlib import Path

from bench.corpus import DEFAULT_END, corpus_docs, corpus_topics, synthetic_papers
from bot.alerts.alerts import SubscriptionCommands
from bot.chat.grammar import parse_command
from bot.chat.plaintext import render_text
from bot.chat.service import BotService
from bot.core.clock import FakeClock
from bot.core.commands import SearchCommand
from bot.core.models import Actor, Place
from bot.enrich.summarize import Summaries
from bot.rank.ranking import Ranker
from bot.search.engine import SearchEngine
from bot.search.fusion import SEMANTIC_CANDIDATES, meaning_text, since_seconds, wants_meaning
from bot.search.query import STOPWORDS, SearchQuery, fts_query, plan_for
from bot.search.ranking import COLUMN_WEIGHTS, popularity_factor, recency
from bot.settings import Settings
from bot.store import Store
from bot.store.fulltext import FTS_PK_BITS, FTS_PK_MASK
from bot.store.search_index import SearchIndex, rebuild
from tests.support.search_oracle import best_by_formula
from tests.support.wiring import make_digest_commands

NOW = DEFAULT_END
TOPICS = ("llm", "cv", "rl", "gen", "agents", "reasoning", "efficient", "robotics")
SINCE = ("7d", "30d", "90d", "365d")
KINDS = {  # kind -> commands of that kind among 200
    "word": 40, "common_word": 10, "words": 25, "phrase": 25, "common_phrase": 10, "topic_only": 20,
    "since": 20, "sort_new": 15, "sort_top": 15, "author": 20,
}


def _title_words(title: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", title)]


def mixed_commands(seed: int = 11) -> list[tuple[str, str]]:
    """(kind, command text) for 200 commands built from the real titles and author names."""
    rng = random.Random(seed)
    docs = corpus_docs()
    titles = [title for title, _ in docs]
    words_of = [[w for w in _title_words(t) if w not in STOPWORDS and len(w) > 2] for t in titles]
    pairs_of = []
    for title in titles:
        seq = _title_words(title)
        pairs_of.append([f'"{a} {b}"' for a, b in zip(seq, seq[1:], strict=False)
                         if a not in STOPWORDS and b not in STOPWORDS and len(a) > 2 and len(b) > 2])
    word_counts = Counter(w for words in words_of for w in set(words))
    pair_counts = Counter(p for pairs in pairs_of for p in set(pairs))
    common_words = [w for w, _ in word_counts.most_common(10)]
    common_phrases = [p for p, _ in pair_counts.most_common(10)]
    surnames = [name.rsplit(" ", 1)[-1] for title in rng.sample(range(len(docs)), 200)
                for name in [_authors()[title][0]] if " " in name]

    def pick() -> tuple[list[str], list[str]]:
        while True:
            i = rng.randrange(len(titles))
            if len(words_of[i]) >= 2 and pairs_of[i]:
                return words_of[i], pairs_of[i]

    commands: list[tuple[str, str]] = []
    for kind, count in KINDS.items():
        n = 0
        while n < count:
            words, pairs = pick()
            if kind == "word":
                text = rng.choice(words)
            elif kind == "common_word":
                text = common_words[n % len(common_words)]
            elif kind == "words":
                text = " ".join(rng.sample(words, min(len(words), rng.randint(2, 3))))
            elif kind == "phrase":
                text = rng.choice(pairs)
            elif kind == "common_phrase":
                text = common_phrases[n % len(common_phrases)]
            elif kind == "topic_only":
                text = f"topic:{rng.choice(TOPICS)}" + (f" since:{rng.choice(SINCE)}" if n % 2 else "")
            elif kind == "since":
                text = f"{rng.choice(words)} since:{rng.choice(SINCE)}"
            elif kind == "sort_new":
                text = f"{rng.choice(words)} sort:new"
            elif kind == "sort_top":
                text = f"{rng.choice(words)} sort:top"
            else:
                surname = surnames[n % len(surnames)]
                text = f'author:"{surname}"' if n % 2 else f'{rng.choice(words)} author:"{surname}"'
            if not _is_search(text):
                continue  # e.g. a title word that is also a subcommand ("search", "help")
            commands.append((kind, text))
            n += 1
    rng.shuffle(commands)
    return commands


def _is_search(text: str) -> bool:
    try:
        return isinstance(parse_command(text), SearchCommand)
    except Exception:
        return False


def _authors() -> list[tuple[str, ...]]:
    from bench.corpus import _corpus

    return [doc.authors or ("Anonymous Author",) for doc in _corpus().docs]


def search_query(command: SearchCommand) -> SearchQuery:
    """The SearchQuery BotService makes of a parsed command (bot.chat.service._search)."""
    return SearchQuery(
        text=command.query, since=command.since_datetime(NOW), source=command.source, topic=command.topic,
        author=command.author, sort=command.sort, limit=command.limit,
    )


# --- build ---------------------------------------------------------------------------------


def build(path: Path, index_dir: Path, size: int) -> dict[str, float]:
    """Ingest `size` synthetic papers, tag them, build the search index; returns timings."""
    store = Store.open(str(path))
    papers = synthetic_papers(size)
    tags: list[tuple[str, tuple[str, ...]]] = []
    generate_s = ingest_s = ingest_cpu_s = 0.0
    while True:
        start = time.perf_counter()
        batch = list(islice(papers, 5000))
        tags.extend((paper.id, corpus_topics(paper)) for paper in batch)
        generate_s += time.perf_counter() - start
        if not batch:
            break
        start, cpu = time.perf_counter(), time.process_time()
        store.papers.ingest(batch, NOW)
        ingest_s += time.perf_counter() - start
        ingest_cpu_s += time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    for offset in range(0, len(tags), 50_000):
        store.papers.set_topics_many(dict(tags[offset : offset + 50_000]))
    topics_s, topics_cpu_s = time.perf_counter() - start, time.process_time() - cpu
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    start, cpu = time.perf_counter(), time.process_time()
    rebuild(store.conn, index_dir)
    index_s, index_cpu_s = time.perf_counter() - start, time.process_time() - cpu
    store.close()
    return {
        "generate_s (not part of the build)": round(generate_s, 1),
        "ingest_s": round(ingest_s, 1), "topics_s": round(topics_s, 1),
        "store_build_s": round(ingest_s + topics_s, 1), "ingest_papers_per_s": round(size / ingest_s),
        "index_build_s": round(index_s, 1), "store_and_index_build_s": round(ingest_s + topics_s + index_s, 1),
        # CPU seconds of this process (the machine is shared: wall time includes waiting for a core;
        # tantivy's indexing threads count here too)
        "cpu_s": {"ingest": round(ingest_cpu_s, 1), "topics": round(topics_cpu_s, 1), "index": round(index_cpu_s, 1)},
    }


# --- measure -------------------------------------------------------------------------------


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p90/p99/max/mean in milliseconds."""
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"p50": pick(0.5), "p90": pick(0.9), "p99": pick(0.99), "max": round(ordered[-1], 2),
            "mean": round(statistics.fmean(ordered), 2), "n": len(ordered)}


def raw_top10(store: Store, query: SearchQuery) -> None:
    """The naive query: one MATCH ordered by bm25 (since as a rowid range, no filters)."""
    match = fts_query(query.text)
    if match is None:
        return
    lo = int(query.since.timestamp()) << FTS_PK_BITS if query.since is not None else 0
    store.conn.execute(
        "SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? AND rowid >= ? ORDER BY bm25(papers_fts) LIMIT 10",
        (match, lo),
    ).fetchall()


def index_brute_force(engine: SearchEngine, query: SearchQuery) -> list[int]:
    """Every match scored with the indexed engine's formula (S x recency x popularity); pks of
    the best 10."""
    assert engine.search_index is not None
    snapshot = engine.search_index.snapshot(engine.store.conn)
    assert snapshot is not None
    plan = plan_for(query)
    compiled = snapshot.compile(plan.terms, plan.author_words, plan.filters, COLUMN_WEIGHTS)
    total = snapshot.count(compiled, plan.lo_key)
    hits, _ = snapshot.best(compiled, plan.lo_key, None, max(1, total))
    now_s = NOW.timestamp()
    scored = sorted(
        ((s * recency(now_s - (key >> FTS_PK_BITS)) * popularity_factor(pop), key) for s, key, pop in hits),
        reverse=True,
    )
    return [key & FTS_PK_MASK for _, key in scored[:10]]


def measure(path: Path, index_dir: Path) -> dict[str, object]:
    """Time the command mix against a built store and index."""
    store = Store.open(str(path))
    clock = FakeClock(NOW)
    settings = Settings()
    summaries = Summaries(store, clock=clock)
    indexed = SearchEngine(store, SearchIndex(index_dir))
    fts5 = SearchEngine(store)
    # As the runtime wires it: free-text queries also by meaning, from the ranker's vectors.
    started = time.perf_counter()
    ranker = Ranker(store, clock)
    asyncio.run(ranker.refresh())
    meaning_index_s = round(time.perf_counter() - started, 1)
    production_engine = SearchEngine(store, SearchIndex(index_dir), meaning=ranker.search_meaning)
    service = BotService(
        store=store, summaries=summaries, search=production_engine, clock=clock,
        digests=make_digest_commands(store=store, settings=settings, clock=clock, summaries=summaries),
        subscriptions=SubscriptionCommands(store=store, settings=settings, clock=clock),
        notices=store.notices,
    )
    words_service = BotService(
        store=store, summaries=summaries, search=indexed, clock=clock,
        digests=make_digest_commands(store=store, settings=settings, clock=clock, summaries=summaries),
        subscriptions=SubscriptionCommands(store=store, settings=settings, clock=clock),
        notices=store.notices,
    )
    fts5_service = BotService(
        store=store, summaries=summaries, search=fts5, clock=clock,
        digests=make_digest_commands(store=store, settings=settings, clock=clock, summaries=summaries),
        subscriptions=SubscriptionCommands(store=store, settings=settings, clock=clock),
        notices=store.notices,
    )
    who, where = Actor(platform="console", user_id="bench"), Place(platform="console", channel_id="bench")
    commands = mixed_commands()
    parsed = [(kind, text, parse_command(text)) for kind, text in commands]
    queries = [(kind, search_query(cmd)) for kind, _, cmd in parsed if isinstance(cmd, SearchCommand)]

    async def production(text: str, through: BotService = service) -> tuple[float, str]:
        start = time.perf_counter()
        reply = await through.handle_command(text, who, where)
        rendered = render_text(reply)
        return (time.perf_counter() - start) * 1000, rendered

    loop = asyncio.new_event_loop()
    for _, text in mixed_commands(seed=99)[:20]:  # warm the page cache on other commands
        loop.run_until_complete(production(text))
    cold = [loop.run_until_complete(production(text))[0] for _, text in commands]
    # Summaries make summary text searchable and re-tag papers, so the second pass still meets a
    # few new hits; the third is the warm one.
    settle = [loop.run_until_complete(production(text))[0] for _, text in commands]
    warm: list[float] = []
    words_warm: list[float] = []
    by_kind: dict[str, list[float]] = {}
    headers: dict[str, str] = {}
    for n, (kind, text) in enumerate(commands):
        # The same command by words alone (before search by meaning), in alternating order.
        if n % 2:
            words_warm.append(loop.run_until_complete(production(text, words_service))[0])
        ms, rendered = loop.run_until_complete(production(text))
        if not n % 2:
            words_warm.append(loop.run_until_complete(production(text, words_service))[0])
        warm.append(ms)
        by_kind.setdefault(kind, []).append(ms)
        headers.setdefault(kind, f"/papers {text} -> {rendered.splitlines()[0] if rendered else ''}")
    # The same warm pass with FTS5 only: what users got before the search index.
    fts5_warm = [loop.run_until_complete(production(text, fts5_service))[0] for _, text in commands]
    loop.close()

    engine_ms: list[float] = []
    fts5_ms: list[float] = []
    raw_ms: list[float] = []
    exact_totals = 0
    slowest: list[tuple[float, str]] = []
    for n, (kind, query) in enumerate(queries):
        order = ("index", "fts5", "raw") if n % 2 else ("raw", "fts5", "index")
        for which in order:
            start = time.perf_counter()
            if which == "index":
                result = indexed.search(query, NOW)
                engine_ms.append((time.perf_counter() - start) * 1000)
                slowest.append((engine_ms[-1], f"{kind}: {query.text} {query.topic or ''} {query.sort}"))
                exact_totals += result.total_exact
                assert result.engine == "index", "the bench must time the index, not the fallback"
            elif which == "fts5":
                fts5.search(query, NOW)
                fts5_ms.append((time.perf_counter() - start) * 1000)
            elif query.text.strip() and not query.topic and not query.author and query.sort == "relevance":
                raw_top10(store, query)
                raw_ms.append((time.perf_counter() - start) * 1000)

    checked = [q for kind, q in queries if kind in ("word", "common_word", "words", "phrase", "common_phrase", "since")]
    checked = checked[::max(1, len(checked) // 20)][:20]
    exact_index = exact_fts5 = overlap = 0
    for query in checked:
        ten = SearchQuery(text=query.text, since=query.since, limit=10)
        got_index = _pks(store, [h.paper.id for h in indexed.search(ten, NOW).hits])
        got_fts5 = _pks(store, [h.paper.id for h in fts5.search(ten, NOW).hits])
        exact_index += got_index == index_brute_force(indexed, ten)
        exact_fts5 += got_fts5 == [pk for pk, _ in best_by_formula(store, ten, NOW, 10)]
        overlap += len(set(got_index) & set(got_fts5))
    meaning_ms = []
    for _, query in queries:
        plan = plan_for(query)
        if wants_meaning(plan):
            start = time.perf_counter()
            ranker.search_meaning(meaning_text(plan), SEMANTIC_CANDIDATES, since_seconds(query))
            meaning_ms.append((time.perf_counter() - start) * 1000)
    count_ms = []
    for _, query in queries[:20]:
        start = time.perf_counter()
        indexed.count_matches(query, NOW)
        count_ms.append((time.perf_counter() - start) * 1000)
    store.close()

    production_warm = percentiles(warm)
    raw = percentiles(raw_ms)
    engine = percentiles(engine_ms)
    fallback = percentiles(fts5_ms)

    def ratio(figures: dict[str, float]) -> dict[str, float]:
        return {q: round(figures[q] / raw[q], 2) for q in ("p50", "p99")}

    return {
        "production_ms": {"warm": production_warm, "cold": percentiles(cold), "second_pass": percentiles(settle),
                          "warm_words_only (before search by meaning)": percentiles(words_warm),
                          "warm_with_fts5_only (before the index)": percentiles(fts5_warm)},
        "meaning_ms (the semantic side alone, free-text queries)": percentiles(meaning_ms),
        "meaning_index_build_s": meaning_index_s,
        "engine_ms": engine,
        "fts5_engine_ms": fallback,
        "raw_fts5_ms": raw,
        "ratio_to_raw_fts5": {
            "production_warm": ratio(production_warm), "production_warm_fts5_only": ratio(percentiles(fts5_warm)),
            "engine": ratio(engine), "fts5_engine": ratio(fallback),
        },
        "by_kind_production_ms": {kind: percentiles(times) for kind, times in by_kind.items()},
        "slowest_engine_queries": [f"{ms:.1f} ms {text}" for ms, text in sorted(slowest, reverse=True)[:5]],
        "count_matches_ms": percentiles(count_ms),
        "exact_top10_index_vs_its_brute_force": f"{exact_index}/{len(checked)}",
        "exact_top10_fts5_vs_its_brute_force": f"{exact_fts5}/{len(checked)}",
        "overlap_top10_index_vs_fts5": round(overlap / max(1, 10 * len(checked)), 2),
        "totals": {"exact": f"{exact_totals}/{len(queries)}", "example_headers": headers},
    }


def _pks(store: Store, ids: list[str]) -> list[int]:
    marks = ",".join("?" * len(ids))
    found = dict(store.conn.execute(f"SELECT id, pk FROM papers WHERE id IN ({marks})", ids).fetchall()) if ids else {}
    return [found[i] for i in ids]


def run(sizes: list[int], workdir: Path | None, keep: bool) -> dict[str, object]:
    """Build (or reuse, with --workdir) each store and index and measure them."""
    own = workdir is None
    base = Path(tempfile.mkdtemp(prefix="bench_search_")) if own else workdir
    assert base is not None
    base.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {"benchmark": "search", "commands": sum(KINDS.values()), "kinds": KINDS,
                                  "python": sys.version.split()[0]}
    try:
        for size in sizes:
            path, index_dir = base / f"search_{size}.db", base / f"search_{size}.index"
            entry: dict[str, object] = {"papers": size}
            if path.exists() and index_dir.exists() and not own:
                entry["build"] = "reused an existing store and index"
            else:
                for stale in base.glob(f"search_{size}.db*"):
                    stale.unlink()
                shutil.rmtree(index_dir, ignore_errors=True)
                entry["build"] = build(path, index_dir, size)
                print(json.dumps({str(size): entry}), file=sys.stderr, flush=True)
            entry["db_mb"] = round(sum(p.stat().st_size for p in base.glob(f"search_{size}.db*")) / 1e6, 1)
            entry["index_mb"] = round(sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file()) / 1e6, 1)
            entry.update(measure(path, index_dir))
            entry["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
            results[str(size)] = entry
            print(json.dumps({str(size): entry}), file=sys.stderr, flush=True)
    finally:
        if own and not keep:
            shutil.rmtree(base, ignore_errors=True)
    results["targets"] = {"production_p99_ms_1M": 50, "production_p50_ms_1M": 10, "store_build_s_1M": 300}
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
