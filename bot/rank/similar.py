"""Nearest papers to one paper ("More like this") and semantic candidates for a free-text
query ("making LLM inference faster" -> speculative decoding and KV-cache papers).

Both are brute-force dot products over the dense matrix of the index (unit rows, so the dot
product is the cosine), in chunks so that memory stays flat, optionally restricted to a time
window, with `argpartition` for the top k. At 128 float32 numbers a paper that is 512 MB and
well under 300 ms at a million papers on two cores (bench/bench_relevance.py measures it).
Callers run these in a worker thread. Before the first projection is fitted (a store of fewer
than 50 papers) the TF-IDF rows are compared directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.rank.index import DenseMatrix, PaperIndex
from bot.rank.representation import paper_text
from bot.store.vectors import PaperText

CHUNK = 131_072
# `/papers` asks for meaning on every free-text query: it reads only the newest this many
# vectors (about four months of arXiv's cs listings), so its cost stays a few milliseconds at
# any store size. Older papers are still found by their words.
SEARCH_ROWS = 100_000


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A paper id and its cosine similarity to what was asked."""

    paper_id: str
    score: float


def top_k(
    dense: DenseMatrix,
    query: np.ndarray,
    k: int,
    *,
    exclude: Sequence[str] = (),
    since: float | None = None,
    newest: int | None = None,
) -> list[Neighbour]:
    """The k rows of a dense matrix most similar to `query` (unit length), best first;
    `newest` reads only that many of the most recently added rows."""
    matrix, times = dense.rows, dense.times
    if len(matrix) == 0 or k <= 0 or matrix.shape[1] != query.shape[0]:
        return []
    skip = {dense.position[i] for i in exclude if i in dense.position}
    want = k + len(skip)
    best_scores: list[np.ndarray] = []
    best_rows: list[np.ndarray] = []
    first = max(0, len(matrix) - newest) if newest is not None else 0
    for start in range(first, len(matrix), CHUNK):
        scores = matrix[start : start + CHUNK] @ query
        if since is not None:
            scores = np.where(times[start : start + CHUNK] >= since, scores, -np.inf)
        take = min(want, len(scores))
        picked = np.argpartition(-scores, take - 1)[:take] if take < len(scores) else np.arange(len(scores))
        best_scores.append(scores[picked])
        best_rows.append(picked + start)
    scores = np.concatenate(best_scores)
    rows = np.concatenate(best_rows)
    order = np.argsort(-scores, kind="stable")
    found: list[Neighbour] = []
    for at in order:
        row = int(rows[at])
        if row in skip or not np.isfinite(scores[at]):
            continue
        found.append(Neighbour(dense.ids[row], float(scores[at])))
        if len(found) == k:
            break
    return found


def nearest(
    index: PaperIndex, paper: PaperText, k: int = 5, since: float | None = None, others: Sequence[PaperText] = ()
) -> list[Neighbour]:
    """The k papers most like `paper` (itself left out), best first. Before a projection is
    fitted, `others` (every paper of the small store) are compared by TF-IDF. CPU work: run
    it in a thread."""
    row = index.dense.row(paper.paper_id)
    if row is None:
        computed = index.dense_for_texts([paper_text(paper.title, paper.abstract)])
        if computed is None:
            return sparse_nearest(index, paper, others, k)
        row = computed[0]
    return top_k(index.dense, row, k, exclude=[paper.paper_id], since=since)


def semantic_candidates(
    index: PaperIndex, query: str, k: int = 50, since: float | None = None, newest: int | None = None
) -> list[Neighbour]:
    """Papers close in meaning to a free-text query, best first (for reciprocal rank fusion
    with keyword search), among the `newest` rows when given. Empty before the first
    projection is fitted."""
    computed = index.dense_for_text(query)
    if computed is None or not np.any(computed[0]):
        return []
    return top_k(index.dense, computed[0], k, since=since, newest=newest)


def sparse_nearest(index: PaperIndex, paper: PaperText, others: Sequence[PaperText], k: int) -> list[Neighbour]:
    """Compare TF-IDF rows directly (small stores, before the first projection)."""
    others = [t for t in others if t.paper_id != paper.paper_id]
    if not others:
        return []
    scores = (index.sparse(others) @ index.sparse([paper]).T).toarray().ravel()
    ranked = sorted(zip((t.paper_id for t in others), scores, strict=True), key=lambda s: (-s[1], s[0]))
    return [Neighbour(pid, float(score)) for pid, score in ranked[:k] if score > 0]
