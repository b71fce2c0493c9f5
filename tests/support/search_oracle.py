"""The FTS5 search ranking worked out the slow, obvious way, for the tests and benchmarks that
check the engine returns exactly the best papers.

Every match of the query is scored with the documented formula (BM25 with the column
weights x recency x popularity), with no early stop and no source or topic filters.
"""

from __future__ import annotations

from datetime import datetime

from bot.search.query import SearchQuery, plan_for
from bot.search.ranking import COLUMN_WEIGHTS, popularity_factor, recency
from bot.store import Store
from bot.store.fulltext import FTS_PK_BITS, FTS_PK_MASK


def best_by_formula(store: Store, query: SearchQuery, now: datetime, k: int) -> list[tuple[int, str]]:
    """(row key, paper id) of the best `k` matches, best first, as of `now`."""
    plan = plan_for(query)
    weights = ", ".join(str(w) for w in COLUMN_WEIGHTS)
    rows = store.conn.execute(
        f"SELECT f.rowid, bm25(papers_fts, {weights}), p.popularity, p.id FROM papers_fts f "
        f"JOIN papers p ON p.pk = (f.rowid & {FTS_PK_MASK}) WHERE papers_fts MATCH ? AND f.rowid >= ?",
        (plan.match, plan.lo_key),
    ).fetchall()
    now_s = now.timestamp()
    scored = sorted(
        ((-bm * recency(now_s - (key >> FTS_PK_BITS)) * popularity_factor(pop), key, paper_id) for key, bm, pop, paper_id in rows),
        reverse=True,
    )
    return [(key & FTS_PK_MASK, paper_id) for _, key, paper_id in scored[:k]]
