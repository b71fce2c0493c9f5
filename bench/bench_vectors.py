"""The vector searches at 100k and 1M papers, wall and CPU milliseconds per call. Prints JSON.

- `meaning_side`: what `/papers` adds to every free-text query, `similar.semantic_candidates`
  (embedding the query's words, then the 20 nearest among the newest `SEARCH_ROWS` rows), with
  and without a `since:` window: bounded, so the same at any store size;
- `similar`: `/papers similar` (`similar.nearest`, the 10 nearest of a stored paper over the
  whole dense matrix);
- `embed_query`: the query's embedding alone.

The projection is fitted on 5,000 synthetic texts (bench_relevance's sentences and titles); the
dense matrix holds random unit rows, since the cost of a dot product and a top-k does not
depend on what the rows say (bench_relevance's `similar` section vectorizes real-looking text,
which takes minutes at 1M). CPU time is `time.process_time` (all threads, so BLAS threads
count): on a shared machine it is the steadier figure. Targets (issue #13): similar p99 under
100 ms at 100k and 300 ms at 1M.

    .venv/bin/python -m bench.bench_vectors [--sizes 100000,1000000] [--calls 100] [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable

import numpy as np

from bench.bench_relevance import _sentences_and_titles, synthetic_texts
from bot.rank.index import DenseMatrix, PaperIndex
from bot.rank.representation import HashedTfidf, fit_projection, paper_text
from bot.rank.similar import SEARCH_ROWS, nearest, semantic_candidates
from bot.store.vectors import PaperText

QUERIES = ("making llm inference faster", "diffusion video generation", "graph neural network", "reward model",
           "robot grasping", "speech recognition in noise", "protein structure", "retrieval augmented generation")


def fitted_index() -> PaperIndex:
    """A PaperIndex with TF-IDF statistics and a projection fitted on synthetic texts."""
    sentences, titles = _sentences_and_titles()
    tfidf = HashedTfidf()
    sample = synthetic_texts(5000, 1, sentences, titles)
    counts = tfidf.counts([paper_text(title, abstract) for title, abstract in sample])
    tfidf.observe(counts)
    return PaperIndex(tfidf, fit_projection(tfidf.weigh(counts), tfidf.df, 5000))


def timed(call: Callable[[int], object], calls: int) -> dict[str, float]:
    """p50/p99/max of wall and CPU milliseconds over `calls` calls of `call(n)`."""
    wall, cpu = [], []
    for n in range(calls):
        started, cpu_started = time.perf_counter(), time.process_time()
        call(n)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    wall.sort()
    cpu.sort()

    def pick(values: list[float], q: float) -> float:
        return round(values[min(len(values) - 1, int(q * len(values)))], 2)

    return {"wall_p50": pick(wall, 0.5), "wall_p99": pick(wall, 0.99), "wall_max": round(wall[-1], 2),
            "cpu_p50": pick(cpu, 0.5), "cpu_p99": pick(cpu, 0.99), "n": calls}


def measure(size: int, calls: int, template: PaperIndex) -> dict[str, object]:
    """Every figure over a dense matrix of `size` random unit rows, a month apart end to end."""
    index = PaperIndex(template.tfidf, template.projection)
    assert template.projection is not None
    dimensions = template.projection.dimensions
    index.dense = DenseMatrix(dimensions, capacity=size)
    rows = np.random.default_rng(1).standard_normal((size, dimensions), dtype=np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    ids = [f"syn{i}" for i in range(size)]
    span = 3 * 365 * 86400.0
    index.dense.add(ids, rows, np.linspace(0, span, size))
    del rows
    rng = random.Random(7)
    last_week = span - 7 * 86400
    return {
        "embed_query": timed(lambda n: index.dense_for_texts([QUERIES[n % len(QUERIES)]]), calls),
        "meaning_side": timed(lambda n: semantic_candidates(index, QUERIES[n % len(QUERIES)], 20, None, SEARCH_ROWS), calls),
        "meaning_side_since_7d": timed(
            lambda n: semantic_candidates(index, QUERIES[n % len(QUERIES)], 20, last_week, SEARCH_ROWS), calls
        ),
        "similar": timed(lambda n: nearest(index, PaperText(0, ids[rng.randrange(size)], 0, "", "", ""), 10), calls),
        "matrix_mb": round(index.state_bytes() / 2**20),
    }


def main() -> None:
    """Measure each size and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated matrix sizes")
    parser.add_argument("--calls", type=int, default=100, help="calls per figure")
    parser.add_argument("--quick", action="store_true", help="100,000 rows and 30 calls")
    args = parser.parse_args()
    sizes = [100_000] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    calls = 30 if args.quick else args.calls
    template = fitted_index()
    report: dict[str, object] = {"benchmark": "vectors", "search_rows": SEARCH_ROWS}
    for size in sizes:
        report[str(size)] = measure(size, calls, template)
    report["targets"] = {"similar_p99_ms_100k": 100, "similar_p99_ms_1M": 300}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
