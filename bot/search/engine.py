"""Ranked full-text search over the store: BM25 x recency x popularity, fast at 1M papers.

A search reads as its data flows, one module per step:

    SearchQuery --bot.search.query--> Plan (terms, FTS5 MATCH expression, since key, filters)
        --bot.search.ranking--> Scan (best k as (score, key, popularity), what was read)
        --here--> SearchHit (the Paper, its score, `why` from bot.search.explain)
    nothing found --bot.search.suggest--> a suggestion sentence

Two indexes can answer the ranking step. With a `SearchIndex` (the tantivy index derived from
the store, `bot.store.search_index`, under the data directory) and that index in step,
`bot.search.indexed` ranks from it: time windows newest first with an exact stop rule, a few
milliseconds at a million papers. Without one, or while it is missing, being rebuilt or caught
up by another process, `bot.search.ranking` ranks from FTS5 (`bot.store.fulltext`), as before.
The words of queries and papers are folded by `bot.core.text`. `total` is exact when
`total_exact` says so; otherwise it is a lower bound, the matches counted in what was read
(shown as "at least"). Empty results carry a `suggestion` (a wider time window, a topic the
words do appear in, fewer words, dropping a filter).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.core.background import start_daemon
from bot.core.clock import ensure_utc
from bot.core.errors import StoreError
from bot.core.models import Paper
from bot.search.explain import why
from bot.search.fusion import (
    MIN_SIMILARITY,
    SEMANTIC_CANDIDATES,
    Meaning,
    filtered_candidates,
    fuse,
    meaning_text,
    meaning_why,
    since_seconds,
    uses_every_word,
    wants_meaning,
)
from bot.search.indexed import rank_indexed
from bot.search.query import Plan, SearchQuery, no_words, normalized, plan_for
from bot.search.ranking import COLUMN_WEIGHTS, rank, total_of
from bot.search.suggest import suggestion
from bot.store.fulltext import FTS_PK_MASK
from bot.store.search_index import IndexSnapshot, SearchIndex, index_directory, rebuild

if TYPE_CHECKING:
    from bot.store import Store

log = logging.getLogger(__name__)

# A missing search index is built on first use up to this many papers (a few seconds).
AUTO_BUILD_PAPERS = 20_000
# Helper threads for the meaning side of searches running at once (one per core of a small host;
# a search that finds them all busy does its meaning side itself).
MEANING_THREADS = 2

__all__ = ["SearchHit", "SearchResult", "SearchEngine"]


@dataclass(frozen=True)
class SearchHit:
    """One result: the paper, its score (comparable only within one result) and a short reason."""

    paper: Paper
    score: float
    why: str


@dataclass(frozen=True)
class SearchResult:
    """The hits, best first. `total` is how many papers match in all when `total_exact`;
    otherwise at least that many match (see the module docstring). `suggestion` is set when
    there are no hits. `engine` names what ranked: "index", "fts5", or "none" (nothing could
    match, no index was asked)."""

    hits: tuple[SearchHit, ...]
    total: int
    suggestion: str = ""
    total_exact: bool = True
    engine: str = "fts5"


class SearchEngine:
    """Searches one store, with the search index when one is given and in step (FTS5 otherwise).
    Cheap to create; the index object keeps this process's view of the index files."""

    def __init__(
        self,
        store: Store,
        search_index: SearchIndex | None = None,
        *,
        auto_build: bool = True,
        meaning: Meaning | None = None,
    ) -> None:
        self.store = store
        self.index = store.fulltext
        self.search_index = search_index
        # Papers close in meaning to a query (bot.search.fusion); None: words alone.
        self.meaning = meaning
        # A one-shot process (the CLI) would exit during a background build: it does not start one.
        self._tried_building = not auto_build
        self.builder: threading.Thread | None = None  # a background build of a missing index
        self._meaning_threads: ThreadPoolExecutor | None = None  # started on the first free-text search
        self._meaning_lock = threading.Lock()

    @classmethod
    def for_data_dir(cls, store: Store, data_dir: str | Path, *, auto_build: bool = True) -> SearchEngine:
        """The engine with the search index of a data directory (`<data_dir>/search-index`);
        `auto_build`: build a missing index of a small store in the background."""
        return cls(store, SearchIndex(index_directory(data_dir)), auto_build=auto_build)

    def search(self, query: SearchQuery, now: datetime) -> SearchResult:
        """Ranked hits for a query at time `now`; never raises for any user input."""
        now = ensure_utc(now)
        query = normalized(query)
        try:
            plan = plan_for(query)
            if plan.impossible or no_words(plan, query):
                return SearchResult((), 0, suggestion(self.index, query, plan, now), engine="none")
            meaning = self._meaning_started(plan, query)
            snapshot = self._snapshot()
            if snapshot is not None:
                try:
                    found = rank_indexed(snapshot, plan, now)
                except ValueError as exc:  # tantivy reports its failures as ValueError
                    log.warning("search index failed (%s); searching with FTS5", exc)
                else:
                    hits = self._hits(found.ranked, plan, query, now) if found.ranked else ()
                    return self._result(hits, found.total, found.total_exact, "index", plan, query, now, meaning)
            scan = rank(self.index, plan, now)
            hits = self._hits(scan.ranked, plan, query, now) if scan.ranked else ()
            total, exact = total_of(scan, filtered=bool(plan.filters.source or plan.filters.topic)) if hits else (0, True)
            return self._result(hits, total, exact, "fts5", plan, query, now, meaning)
        except sqlite3.Error as exc:
            raise _store_error(exc) from exc

    def _result(
        self,
        hits: tuple[SearchHit, ...],
        total: int,
        exact: bool,
        engine: str,
        plan: Plan,
        query: SearchQuery,
        now: datetime,
        meaning: Future[Sequence[tuple[str, float]]] | None,
    ) -> SearchResult:
        """The result of the word ranking, fused with meaning for a free-text query; the
        papers found by meaning alone count toward the total."""
        fused = self._with_meaning(hits, plan, query, meaning)
        if fused is not None:
            hits, added = fused
            total += added
        if not hits:
            return SearchResult((), 0, suggestion(self.index, query, plan, now), engine=engine)
        return SearchResult(hits, max(len(hits), total), total_exact=exact, engine=engine)

    def _meaning_started(self, plan: Plan, query: SearchQuery) -> Future[Sequence[tuple[str, float]]] | None:
        """The meaning side of a free-text query, started in a helper thread so that it runs
        while the words are ranked (its matrix product and tantivy's search both release the
        GIL: at 1M papers the two took 16 ms one after the other, 12 ms side by side); None
        when the query is not fused with meaning."""
        if self.meaning is None or not wants_meaning(plan):
            return None
        with self._meaning_lock:
            if self._meaning_threads is None:
                self._meaning_threads = ThreadPoolExecutor(MEANING_THREADS, thread_name_prefix="search-meaning")
            return self._meaning_threads.submit(self._candidates_by_meaning, plan, query)

    def _candidates_by_meaning(self, plan: Plan, query: SearchQuery) -> Sequence[tuple[str, float]]:
        assert self.meaning is not None
        return self.meaning(meaning_text(plan), SEMANTIC_CANDIDATES, since_seconds(query))

    def _with_meaning(
        self,
        hits: tuple[SearchHit, ...],
        plan: Plan,
        query: SearchQuery,
        started: Future[Sequence[tuple[str, float]]] | None,
    ) -> tuple[tuple[SearchHit, ...], int] | None:
        """The word hits fused with the papers closest in meaning (bot.search.fusion), and how
        many of the fused hits the word ranking did not count (found by meaning alone); None when the query is not free
        text or there is no meaning side (`started` is None). A failing meaning side never costs the answer.
        `started`: the meaning side under way (`_meaning_started`); when its thread has not
        picked it up yet (every helper busy with other searches), it is done here instead of
        waited for."""
        if started is None:
            return None
        try:
            candidates = list(self._candidates_by_meaning(plan, query) if started.cancel() else started.result())
        except Exception:
            log.exception("search by meaning failed; answering by words alone")
            return None
        by_id = {hit.paper.id: hit for hit in hits}
        kept, papers = self._kept_candidates(candidates, by_id, plan, query)
        if not kept:
            return None
        fused: list[SearchHit] = []
        added = 0
        for one in fuse([hit.paper.id for hit in hits], kept, plan.k):
            if one.word_rank is not None:
                hit = by_id[one.paper_id]
                fused.append(SearchHit(hit.paper, one.score, hit.why))
            else:
                paper = papers[one.paper_id]
                added += 0 if uses_every_word(paper, plan) else 1
                fused.append(SearchHit(paper, one.score, meaning_why(one.similarity or 0.0)))
        return tuple(fused), added

    def _kept_candidates(
        self, candidates: Sequence[tuple[str, float]], by_id: dict[str, SearchHit], plan: Plan, query: SearchQuery
    ) -> tuple[list[tuple[str, float]], dict[str, Paper]]:
        """The semantic candidates that pass the query (`filtered_candidates`) as far as they can
        change the fused hits, and the papers read for them. A candidate found by meaning alone
        after `plan.k` kept ones can never be among the k fused hits (each of those k scores
        more), so candidates are read from the store in order until k are kept and no word hit
        comes later (a word hit's place among the candidates still adds to its score): usually
        the first k of SEMANTIC_CANDIDATES, not all of them."""
        sure = [(paper_id, cosine) for paper_id, cosine in candidates if cosine >= MIN_SIMILARITY]
        papers = {paper_id: hit.paper for paper_id, hit in by_id.items()}
        last_word_hit = max((n for n, (paper_id, _) in enumerate(sure) if paper_id in by_id), default=-1)
        kept: list[tuple[str, float]] = []
        start = 0
        while start < len(sure) and (len(kept) < plan.k or start <= last_word_hit):
            end = min(len(sure), max(start + plan.k - len(kept), last_word_hit + 1))
            batch = sure[start:end]
            new_ids = [paper_id for paper_id, _ in batch if paper_id not in by_id]
            if new_ids:
                papers.update((paper.id, paper) for paper in self.store.papers.get_many(new_ids))
            topics = self.store.papers.topics_of(new_ids) if plan.filters.topic and new_ids else {}
            topics.update({paper_id: (plan.filters.topic or "",) for paper_id, _ in batch if paper_id in by_id})  # they matched it
            kept += filtered_candidates(batch, papers, topics, plan, query)
            start = end
        return kept, papers

    def close(self) -> None:
        """Stop the meaning side's helper threads (waiting for a search by meaning under way);
        a later search starts them again."""
        with self._meaning_lock:
            threads, self._meaning_threads = self._meaning_threads, None
        if threads is not None:
            threads.shutdown(wait=True, cancel_futures=True)

    def count_matches(self, query: SearchQuery, now: datetime) -> int:
        """Exactly how many papers match the words and filters of `query` (sort and limit are
        ignored). Costs one pass over the matches: with FTS5 about 25 ms per million matching
        rows (more with source/topic filters), with the search index a few times less."""
        query = normalized(query)
        try:
            plan = plan_for(query)
            if plan.impossible or no_words(plan, query):
                return 0
            snapshot = self._snapshot()
            if snapshot is not None:
                compiled = snapshot.compile(plan.terms, plan.author_words, plan.filters, COLUMN_WEIGHTS)
                if compiled.text is not None and compiled.max_matches == 0:
                    return 0
                return snapshot.count(compiled, plan.lo_key)
            return self.index.count(plan.match, plan.lo_key, plan.filters)
        except sqlite3.Error as exc:
            raise _store_error(exc) from exc

    def catch_up(self) -> bool:
        """Bring the search index in step with the store now (e.g. right after a large ingest,
        so that no search pays for it); False when there is no usable index."""
        return self._snapshot() is not None

    def _snapshot(self) -> IndexSnapshot | None:
        """The search index in step with the store, or None (no index, or not usable now)."""
        if self.search_index is None:
            return None
        try:
            snapshot = self.search_index.snapshot(self.store.conn)
            # Only when there is no view: reading the index's state file on every search cost
            # ~0.3 ms of a 1M-paper search's ~10.
            if snapshot is None and not self._tried_building and not self.search_index.exists():
                self._build_small_index()
                snapshot = self.search_index.snapshot(self.store.conn)
            return snapshot
        except (OSError, ValueError) as exc:
            log.warning("search index unavailable (%s); searching with FTS5", exc)
            return None

    def _build_small_index(self) -> None:
        """A missing index is built on first use when the store is small (a new install:
        seconds at most), in a background thread with its own connection when the store is a
        file, so that searches meanwhile answer from FTS5 without waiting; a large store waits
        for `paperbot reindex` and searches with FTS5 meanwhile."""
        assert self.search_index is not None
        self._tried_building = True
        papers = self.store.papers.count()
        directory = self.search_index.directory
        if papers > AUTO_BUILD_PAPERS:
            log.warning(
                "no search index at %s for %d papers: searching with FTS5 (slower) until `paperbot reindex`",
                directory, papers,
            )
            return
        location = self.store.location
        if location is None:
            rebuild(self.store.conn, directory)
            return

        def build() -> None:
            from bot.store import Store

            try:
                own = Store.open(location)
                try:
                    rebuild(own.conn, directory)
                finally:
                    own.close()
            except Exception:  # the engine keeps answering from FTS5; the next process tries again
                log.exception("building the search index at %s failed", directory)

        self.builder = start_daemon(build, "search-index-build")

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
