"""Ranked full-text search over the store: BM25 x recency x popularity, fast at 1M papers.

A search reads as its data flows, one module per step:

    SearchQuery --bot.search.query--> Plan (terms, FTS5 MATCH expression, since key, filters)
        --bot.search.ranking--> Scan (best k as (score, key, popularity), what was read)
        --here--> SearchHit (the Paper, its score, `why` from bot.search.explain)
    nothing found --bot.search.suggest--> a suggestion sentence

Every statement runs in `bot.store.fulltext` (the index and its time-ordered key layout); the
words of queries and papers are folded by `bot.core.text`. `total` is exact when the scan read
every match and every filter was checked; otherwise it is an estimate extrapolated over time
from what was read (`ranking.estimate_total`). Empty results carry a `suggestion` (a wider time
window, a topic the words do appear in, fewer words, dropping a filter).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.core.clock import ensure_utc
from bot.core.errors import StoreError
from bot.core.models import Paper
from bot.search.explain import why
from bot.search.query import Plan, SearchQuery, no_words, normalized, plan_for
from bot.search.ranking import estimate_total, rank
from bot.search.suggest import suggestion
from bot.store.fulltext import FTS_PK_MASK

if TYPE_CHECKING:
    from bot.store import Store

__all__ = ["SearchHit", "SearchResult", "SearchEngine"]


@dataclass(frozen=True)
class SearchHit:
    """One result: the paper, its score (comparable only within one result) and a short reason."""

    paper: Paper
    score: float
    why: str


@dataclass(frozen=True)
class SearchResult:
    """The hits, best first. `total` is how many papers match in all; it is exact when the
    search read every match, otherwise an estimate (see the module docstring). `suggestion` is
    set when there are no hits."""

    hits: tuple[SearchHit, ...]
    total: int
    suggestion: str = ""


class SearchEngine:
    """Searches one store. Cheap to create; holds no state besides the store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.index = store.fulltext

    def search(self, query: SearchQuery, now: datetime) -> SearchResult:
        """Ranked hits for a query at time `now`; never raises for any user input."""
        now = ensure_utc(now)
        query = normalized(query)
        try:
            plan = plan_for(query)
            if plan.impossible or no_words(plan, query):
                return SearchResult((), 0, suggestion(self.index, query, plan, now))
            scan = rank(self.index, plan, now)
            if not scan.ranked:
                return SearchResult((), 0, suggestion(self.index, query, plan, now))
            hits = self._hits(scan.ranked, plan, query, now)
            return SearchResult(hits, max(len(hits), estimate_total(self.index, scan, plan, now)))
        except sqlite3.Error as exc:
            raise _store_error(exc) from exc

    def count_matches(self, query: SearchQuery, now: datetime) -> int:
        """Exactly how many papers match the words and filters of `query` (sort and limit are
        ignored). Costs one pass over the matches: about 25 ms per million matching rows, more
        with source/topic filters."""
        query = normalized(query)
        try:
            plan = plan_for(query)
            if plan.impossible or no_words(plan, query):
                return 0
            return self.index.count(plan.match, plan.lo_key, plan.filters)
        except sqlite3.Error as exc:
            raise _store_error(exc) from exc

    def _hits(
        self, ranked: list[tuple[float, int, int]], plan: Plan, query: SearchQuery, now: datetime
    ) -> tuple[SearchHit, ...]:
        pks = [key & FTS_PK_MASK for _, key, _ in ranked]
        papers = {paper_pk: paper for paper_pk, paper in zip(pks, self.store.papers.get_by_pks(pks), strict=False)}
        # get_by_pks skips missing rows; match papers back by id order only when none is missing.
        if len(papers) != len(pks):
            papers = self._papers_by_pk(pks)
        hits = []
        for (score, _key, pop), pk in zip(ranked, pks, strict=True):
            paper = papers.get(pk)
            if paper is not None:
                hits.append(SearchHit(paper, score, why(paper, plan, query, pop, now)))
        return tuple(hits)

    def _papers_by_pk(self, pks: Sequence[int]) -> dict[int, Paper]:
        found: dict[int, Paper] = {}
        for pk in pks:
            papers = self.store.papers.get_by_pks([pk])
            if papers:
                found[pk] = papers[0]
        return found


def _store_error(exc: sqlite3.Error) -> StoreError:
    return StoreError(f"search failed in the database: {exc}")
