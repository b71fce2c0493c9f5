"""Ranking: the score of a match and the scans that find the best k, fast at 1M papers.

Ranking (sort "relevance")
    score = bm25 x recency x popularity, where
    - bm25 is FTS5's `bm25()` with column weights title 8, abstract 1, authors 3, summary 1
      (FTS5's k1 = 1.2, b = 0.75; sign flipped so that higher is better);
    - recency = 1 / (1 + (age / 90 days)^2), age from the key's time (published, else
      first_seen): nearly flat for a few weeks, a half at 90 days, 6% at one year;
    - popularity = 1 + 0.25 * min(1, ln(1 + p) / ln(1001)), p = papers.popularity (max HF upvotes
      or Reddit score), so at most x1.25 (POPULARITY_MAX).
    Without words (filters only) bm25 is taken as 1, i.e. newest and most popular first.

Early stop (why this is fast at 1M and still exact)
    One SQL statement streams the matches newest-first with their bm25; FTS5 computes bm25 only
    for the rows actually read (plus one pass over each phrase's doclist for its idf, which any
    bm25 query pays). We keep the best k in a heap and, after each batch of 256 rows whose oldest
    key has recency r, stop when

        kth best score >= B * POPULARITY_MAX * r

    B = sum over the query's phrases of idf_i * (k1 + 1) bounds every row's bm25 (a phrase adds
    idf * f(k1+1) / (f + k1(1 - b + b*len/avglen)) < idf * (k1+1)). The same statement returns
    B: a second `bm25()` with every column weight 1e15 saturates each phrase of any matching row
    (all phrases match: the query is an AND) at idf * (k1+1), and FTS5 computes the idf once per
    statement for both calls. Every unread row is at least as old as the last one read, so its
    score is < B * POPULARITY_MAX * r <= the kth score: the top k cannot change (B is taken with
    a 1e-9 relative margin for rounding). Filters (source, topic) are checked in one batched
    query per batch, and only for rows whose score could still enter the top k. A scan reads at
    most MAX_SCAN_ROWS rows: only a very selective filter combined with very common words reaches
    that, and then the result is the best of the newest matches read.

Other sorts
    "new": matches newest-first, the first k that pass the filters (no bm25 at all).
    "top": most popular first (ties: newest). With words, the candidates are the newest
    TOP_CANDIDATES (10,000) matches, so the ranking is exact whenever fewer match (add since: to
    make sure) and otherwise covers the newest 10,000; up to 1,000 candidates are checked one by
    one, more by walking the partial index of popular papers (popularity > 0, most popular
    first) and keeping those among the candidates, then filling with the newest unpopular ones.
    Without words the partial index is walked directly, then the newest papers fill up.

Totals
    `total_of` is exact when the scan read every match and every filter was checked; otherwise
    it is the number of matches known to pass, marked as a lower bound.
"""

from __future__ import annotations

import heapq
import logging
import math
from dataclasses import dataclass, replace
from datetime import datetime

from bot.search.query import Plan
from bot.store.fulltext import FTS_PK_BITS, FTS_PK_MASK, FullTextIndex

log = logging.getLogger(__name__)

__all__ = ["Scan", "rank", "scan_relevance", "scan_new", "scan_top", "total_of", "recency", "popularity_factor"]

# bm25() column weights, in papers_fts column order: title, abstract, authors, summary_text.
COLUMN_WEIGHTS = (8.0, 1.0, 3.0, 1.0)
RECENCY_DAYS = 90.0
POPULARITY_BOOST = 0.25
POPULARITY_MAX = 1.0 + POPULARITY_BOOST
_POPULARITY_SCALE = math.log1p(1000)

BATCH = 256
MAX_SCAN_ROWS = 100_000
TOP_CANDIDATES = 10_000
TOP_RESOLVE_ALL = 1_000  # up to this many sort:top candidates are checked one by one

# bm25() with every column weight huge: each phrase's term saturates at idf * (k1 + 1), so any
# matching row yields B = sum of idf_i * (k1 + 1) (to ~1e-14 relative), the bound of the early
# stop. FTS5 shares the idf values between bm25() calls of one statement, so B costs no scan.
SATURATED_WEIGHTS = (1e15,) * len(COLUMN_WEIGHTS)
_BOUND_MARGIN = 1.0 + 1e-9
_DAY = 86400.0


def recency(age_seconds: float) -> float:
    """The recency factor of a paper this old: 1 / (1 + (age / 90 days)^2); future dates count as
    new. Nearly flat over the first weeks (relevance decides), a half at 90 days, 6% at a year."""
    ratio = max(0.0, age_seconds) / (_DAY * RECENCY_DAYS)
    return 1.0 / (1.0 + ratio * ratio)


def popularity_factor(popularity: int) -> float:
    """The popularity factor: 1 for nothing, up to POPULARITY_MAX from 1,000 upvotes/points."""
    return 1.0 + POPULARITY_BOOST * min(1.0, math.log1p(max(0, popularity)) / _POPULARITY_SCALE)


@dataclass
class Scan:
    """What a scan found: (score, key, popularity) best first, and what it read."""

    ranked: list[tuple[float, int, int]]
    passed: int  # rows known to pass the filters
    checked: int  # rows whose filters were checked
    read: int  # rows read from the index
    last_key: int | None
    exhausted: bool


def rank(index: FullTextIndex, plan: Plan, now: datetime) -> Scan:
    """The best `plan.k` matches in the plan's sort order, scanned at time `now`."""
    if plan.sort == "new":
        return scan_new(index, plan, now)
    if plan.sort == "top":
        return scan_top(index, plan, now)
    return scan_relevance(index, plan, now)


def scan_relevance(index: FullTextIndex, plan: Plan, now: datetime) -> Scan:
    """Best by bm25 x recency x popularity, stopping early once no unread row can enter."""
    now_s = now.timestamp()
    per_age = 1.0 / (_DAY * RECENCY_DAYS)
    batches = index.newest_first(plan.match, plan.lo_key, BATCH, COLUMN_WEIGHTS, SATURATED_WEIGHTS)
    heap: list[tuple[float, int, int]] = []
    bound = 0.0
    passed = checked = read = 0
    last_key: int | None = None
    exhausted = False
    while True:
        rows = next(batches, [])
        read += len(rows)
        if not rows:
            exhausted = True
            break
        last_key = rows[-1][0]
        bound = max(bound, -min(row[2] for row in rows))
        # A row can only enter the heap if even the largest popularity lifts it above floor.
        floor = heap[0][0] / POPULARITY_MAX * (1.0 - 1e-12) if len(heap) >= plan.k else -1.0
        candidates: list[tuple[int, float]] = []
        for key, bm, _ in rows:
            # recency() inlined: this loop runs for every row read.
            ratio = max(0.0, now_s - (key >> FTS_PK_BITS)) * per_age
            base = -bm / (1.0 + ratio * ratio)
            if base > floor:
                candidates.append((key, base))
        if candidates:
            popularity = index.popularity_of([key & FTS_PK_MASK for key, _ in candidates], plan.filters)
            checked += len(candidates)
            for key, base in candidates:
                pop = popularity.get(key & FTS_PK_MASK)
                if pop is None:
                    continue
                passed += 1
                item = (base * popularity_factor(pop), key, pop)
                if len(heap) < plan.k:
                    heapq.heappush(heap, item)
                elif item > heap[0]:
                    heapq.heapreplace(heap, item)
        if len(rows) < BATCH:
            exhausted = True
            break
        if len(heap) >= plan.k:
            # Every unread row is at least as old as last_key: see the module docstring.
            limit = bound * _BOUND_MARGIN * POPULARITY_MAX * recency(now_s - (last_key >> FTS_PK_BITS))
            if heap[0][0] >= limit:
                break
        if read >= MAX_SCAN_ROWS:
            log.debug("search read its limit of %d rows for %r", read, plan.match)
            break
    batches.close()
    return Scan(sorted(heap, reverse=True), passed, checked, read, last_key, exhausted)


def scan_new(index: FullTextIndex, plan: Plan, now: datetime, skip: frozenset[int] = frozenset()) -> Scan:
    """The newest `plan.k` matches that pass the filters (pks in `skip` left out)."""
    now_s = now.timestamp()
    batches = index.newest_first(plan.match, plan.lo_key, BATCH)
    ranked: list[tuple[float, int, int]] = []
    passed = read = 0
    last_key: int | None = None
    exhausted = False
    while len(ranked) < plan.k:
        rows = next(batches, [])
        read += len(rows)
        keys = [row[0] for row in rows if row[0] & FTS_PK_MASK not in skip]
        if rows:
            last_key = rows[-1][0]
        popularity = index.popularity_of([key & FTS_PK_MASK for key in keys], plan.filters)
        for key in keys:
            pop = popularity.get(key & FTS_PK_MASK)
            if pop is None:
                continue
            passed += 1
            if len(ranked) < plan.k:
                ranked.append((recency(now_s - (key >> FTS_PK_BITS)), key, pop))
        if len(rows) < BATCH:
            exhausted = True
            break
        if read >= MAX_SCAN_ROWS:
            break
    batches.close()
    return Scan(ranked, passed, read, read, last_key, exhausted)


def scan_top(index: FullTextIndex, plan: Plan, now: datetime) -> Scan:
    """The most popular `plan.k` matches (ties: newest) among the newest TOP_CANDIDATES."""
    if plan.match is None:
        return _scan_top_browse(index, plan, now)
    keys = index.newest_keys(plan.match, plan.lo_key, TOP_CANDIDATES + 1)
    exhausted = len(keys) <= TOP_CANDIDATES
    keys = keys[:TOP_CANDIDATES]
    last_key = keys[-1] if keys else None
    if len(keys) <= TOP_RESOLVE_ALL:
        popularity = index.popularity_of([key & FTS_PK_MASK for key in keys], plan.filters)
        passing = [(float(pop), key, pop) for key in keys if (pop := popularity.get(key & FTS_PK_MASK)) is not None]
        passing.sort(reverse=True)
        return Scan(passing[: plan.k], len(passing), len(keys), len(keys), last_key, exhausted)
    # Many candidates: walk the few popular papers (partial index, most popular first) and
    # keep those among the candidates, then fill with unpopular candidates, newest first.
    key_of = {key & FTS_PK_MASK: key for key in keys}
    ranked: list[tuple[float, int, int]] = []
    checked = passed = 0
    batches = index.popular_first(BATCH * 4)
    taken: set[int] = set()
    while True:
        rows = next(batches, [])
        if not rows:
            break
        wanted = [pk for pk, _ in rows if pk in key_of]
        popularity = index.popularity_of(wanted, plan.filters)
        checked += len(wanted)
        taken.update(wanted)
        for pk in wanted:
            if pk in popularity:
                passed += 1
                ranked.append((float(popularity[pk]), key_of[pk], popularity[pk]))
        if len(ranked) >= plan.k:
            # Ties are ordered newest first: read on while the kth popularity repeats.
            kth = sorted((item[2] for item in ranked), reverse=True)[plan.k - 1]
            if rows[-1][1] < kth:
                break
    batches.close()
    ranked = sorted(ranked, reverse=True)[: plan.k]
    for start in range(0, len(keys), BATCH):
        if len(ranked) >= plan.k:
            break
        chunk = [key & FTS_PK_MASK for key in keys[start : start + BATCH] if key & FTS_PK_MASK not in taken]
        popularity = index.popularity_of(chunk, plan.filters)
        checked += len(chunk)
        for pk in chunk:
            if pk in popularity:
                passed += 1
                if len(ranked) < plan.k:
                    ranked.append((float(popularity[pk]), key_of[pk], popularity[pk]))
    return Scan(ranked, passed, checked, len(keys), last_key, exhausted)


def _scan_top_browse(index: FullTextIndex, plan: Plan, now: datetime) -> Scan:
    """Without words: walk the popular papers (partial index), then fill with the newest."""
    rows = index.most_popular(plan.lo_key, plan.filters, plan.k)
    ranked = [(float(popularity), key, popularity) for _, popularity, key in rows]
    if len(ranked) >= plan.k:
        # Counting comes from the time-ordered scan, as for sort:new.
        newest = scan_new(index, plan, now)
        return replace(newest, ranked=ranked)
    rest = scan_new(index, replace(plan, k=plan.k - len(ranked)), now, skip=frozenset(row[0] for row in rows))
    ranked += [(0.0, key, pop) for _, key, pop in rest.ranked]
    return Scan(ranked, rest.passed + len(rows), rest.checked, rest.read, rest.last_key, rest.exhausted)


def total_of(scan: Scan, filtered: bool) -> tuple[int, bool]:
    """How many papers match, and whether that is exact. Without source/topic filters every row
    read matches; with them, the rows known to pass. Exact when the scan read every match (and
    checked every filter); otherwise a lower bound ("at least").

    An earlier version extrapolated over the time since the oldest paper, which one paper from
    2012 among recent ones turned into millions; a lower bound is never more than the truth."""
    if not filtered:
        return scan.read, scan.exhausted
    return scan.passed, scan.exhausted and scan.checked >= scan.read
