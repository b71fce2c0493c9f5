"""Ranking over the search engine's index (`bot.store.search_index`): time windows, newest
first, each asked only for its best few, stopping on a bound. Used whenever the index is there
and in step; `bot.search.ranking` (FTS5) is the fallback and documents the shared formula.

Score (sort "relevance")
    score = S x recency x popularity, where recency and popularity are `bot.search.ranking`'s
    factors and S is tantivy's BM25 of the query: for each term (a word or a phrase, all
    required), the sum over the fields it occurs in of that field's BM25 times the column weight
    (title 8, abstract 1, authors 3, summary 1; k1 = 1.2, b = 0.75, each field with its own
    length normalization); the author: filter adds its phrase in the authors field. Without
    words S is 1 (newest and most popular first).

Windows and the stop rule (why this is exact)
    The time before `now` is cut at the starts of the UTC days WINDOW_DAYS (2, 7, 14, 30 ...)
    before it; the first window also holds papers dated in the future. Windows are read newest first. From a window we
    take its best `m` matches by S (m = 2k + 10 first) and score them fully. A match of the window
    that was not taken has S <= the m-th S, and recency <= the window's newest recency r_w, so
    it scores below S_m x r_w x POPULARITY_MAX: while that exceeds the kth best score so far, m
    grows four-fold and the window is read again. Before reading a window, every match in it
    and in all older windows scores below B x POPULARITY_MAX x r_w, where B bounds S for any
    paper: the larger of the bound for papers that match no term in a rare field
    (`IndexSnapshot.compile`: per term and field, weight x idf x (k1 + 1), over the fields where
    more than RARE_FIELD_DOCS papers have the term) and the best S of the papers that do (one
    top-1 read of the query's rare part; a rare field's idf is large, so its weight x idf x
    (k1 + 1) would be far above any real score). Once the kth best score reaches the bound, no
    unread paper can enter the top k and the scan stops.
    Without words (filters only) the k newest matches are read, then every popular match young
    enough to beat the kth of them (`_relevance_without_text`).

Other sorts
    "new": windows newest first, each asked for its newest matches, until k are found.
    "top": the most popular matches first (ties: newest), exactly over every match (tantivy
    leads with the few popular papers); when fewer than k matches are popular, the newest of
    the others follow.

Totals
    `IndexedScan.total` counts the matches in the windows read. When windows were left unread,
    the rest is counted too if at most EXACT_COUNT_LIMIT papers can match at all (the rarest
    term's document frequency, `IndexQuery.max_matches`: cheap to count), or known to be empty
    when the windows read already hold that many; otherwise the total is a lower bound and
    `total_exact` is False ("at least").
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, replace
from datetime import datetime

from bot.search.query import Plan
from bot.search.ranking import (
    COLUMN_WEIGHTS,
    POPULARITY_MAX,
    RECENCY_DAYS,
    popularity_factor,
    recency,
)
from bot.store.fulltext import FTS_PK_BITS
from bot.store.search_index import IndexQuery, IndexSnapshot

__all__ = ["IndexedScan", "WINDOW_DAYS", "rank_indexed", "windows"]

WINDOW_DAYS = (2, 7, 14, 30, 60, 90, 135, 180, 270, 365, 545, 730, 1095)
_DAY = 86400
EXACT_COUNT_LIMIT = 20_000
_BOUND_MARGIN = 1.0 + 1e-6  # tantivy scores in f32; the bound is computed in f64


@dataclass(frozen=True)
class IndexedScan:
    """What a scan over the index found: (score, key, popularity) best first, how many papers
    match in the windows it read (`total`), and whether those were all (`total_exact`)."""

    ranked: list[tuple[float, int, int]]
    total: int
    total_exact: bool
    windows_read: int


def windows(lo_key: int, now: datetime) -> list[tuple[int, int | None, float]]:
    """(lo_key, hi_key or None, largest recency in the window) newest first, cut at the start of
    the UTC day WINDOW_DAYS before `now` (whole days are cheap to select: see
    `IndexSnapshot._window`), none below `lo_key`."""
    now_s = int(now.timestamp())
    result: list[tuple[int, int | None, float]] = []
    hi: int | None = None
    for days in (*WINDOW_DAYS, None):
        lo = 0 if days is None else max(0, (now_s - days * _DAY) // _DAY * _DAY) << FTS_PK_BITS
        lo = max(lo, lo_key)
        if hi is not None and lo >= hi:
            break
        newest_age = 0.0 if hi is None else max(0.0, now_s - (hi >> FTS_PK_BITS))
        result.append((lo, hi, recency(newest_age)))
        if lo <= lo_key:
            break
        hi = lo
    return result


def rank_indexed(snapshot: IndexSnapshot, plan: Plan, now: datetime) -> IndexedScan:
    """The best `plan.k` matches of a plan in its sort order, from the index."""
    query = snapshot.compile(plan.terms, plan.author_words, plan.filters, COLUMN_WEIGHTS)
    if query.text is not None and query.max_matches == 0:
        return IndexedScan([], 0, True, 0)  # a term occurs nowhere
    if plan.sort == "new":
        return _newest(snapshot, query, plan, now)
    if plan.sort == "top":
        return _most_popular(snapshot, query, plan, now)
    return _relevance(snapshot, query, plan, now)


def _score(base: float, key: int, popularity: int, now_s: float) -> float:
    return base * recency(now_s - (key >> FTS_PK_BITS)) * popularity_factor(popularity)


_RECENCY_SCALE = _DAY * RECENCY_DAYS


def _scored(hits: list[tuple[float, int, int]], now_s: float) -> list[tuple[float, int, int]]:
    """`_score` of many hits, as (score, key, popularity): the same arithmetic written out, since
    a rare term's matches (thousands) are each scored in Python; popularity factors are few."""
    factors: dict[int, float] = {}
    scored = []
    for base, key, pop in hits:
        factor = factors.get(pop)
        if factor is None:
            factor = factors[pop] = popularity_factor(pop)
        ratio = max(0.0, now_s - (key >> FTS_PK_BITS)) / _RECENCY_SCALE
        scored.append((base * (1.0 / (1.0 + ratio * ratio)) * factor, key, pop))
    return scored


def _kth(found: dict[int, tuple[float, int, int]], k: int) -> float:
    if len(found) < k:
        return -1.0
    return heapq.nlargest(k, found.values())[-1][0]


def _relevance(snapshot: IndexSnapshot, query: IndexQuery, plan: Plan, now: datetime) -> IndexedScan:
    if query.text is None:
        return _relevance_without_text(snapshot, query, plan, now)
    now_s = now.timestamp()
    k = plan.k
    bound = query.bound * _BOUND_MARGIN
    found: dict[int, tuple[float, int, int]] = {}
    # `bound` leaves out the fields where a term is rare (its idf there is large, so their
    # bound would be far above any real score): the best S among those papers bounds them.
    rare = snapshot.rare_part(query)
    if rare is not None:
        best_rare, _ = snapshot.best(rare, plan.lo_key, None, 1)
        if best_rare:
            bound = max(bound, best_rare[0][0] * _BOUND_MARGIN)
    total = read = 0
    plan_windows = windows(plan.lo_key, now)
    take = 2 * k + 10
    for lo, hi, newest in plan_windows:
        if _kth(found, k) >= bound * POPULARITY_MAX * newest:
            break  # nothing here or older can enter the top k
        read += 1
        # Older windows are larger: start where the last one ended (a re-read scans it again).
        while True:
            hits, count, remainder = _best_by_text(snapshot, query, lo, hi, take, newest)
            found.update((entry[1], entry) for entry in _scored(hits, now_s))
            if remainder <= 0.0 or _kth(found, k) >= remainder:
                break
            take *= 4
        total += count
    ranked = heapq.nlargest(k, found.values())
    if read < len(plan_windows) and rare is not None:  # the unread windows' rare matches are known too
        total += snapshot.count(rare, plan.lo_key, plan_windows[read][1])
    return _with_total(snapshot, query, plan_windows, read, ranked, total)


def _with_total(
    snapshot: IndexSnapshot,
    query: IndexQuery,
    plan_windows: list[tuple[int, int | None, float]],
    read: int,
    ranked: list[tuple[float, int, int]],
    total: int,
) -> IndexedScan:
    """The scan with its total made exact when the unread windows are cheap to count."""
    if read == len(plan_windows) or total >= query.max_matches:
        return IndexedScan(ranked, total, True, read)
    if query.max_matches <= EXACT_COUNT_LIMIT:
        lo, hi = plan_windows[-1][0], plan_windows[read][1]
        return IndexedScan(ranked, total + snapshot.count(query, lo, hi), True, read)
    return IndexedScan(ranked, total, False, read)


def _best_by_text(
    snapshot: IndexSnapshot, query: IndexQuery, lo: int, hi: int | None, take: int, newest: float
) -> tuple[list[tuple[float, int, int]], int, float]:
    """The window's best `take` by S, its match count, and the bound of any match not taken."""
    hits, count = snapshot.best(query, lo, hi, take)
    remainder = hits[-1][0] * _BOUND_MARGIN * newest * POPULARITY_MAX if len(hits) == take else 0.0
    return hits, count, remainder


def _relevance_without_text(snapshot: IndexSnapshot, query: IndexQuery, plan: Plan, now: datetime) -> IndexedScan:
    """Filters only: score = recency x popularity. The k newest papers score at least the kth of
    them, `floor`; a paper not among them is older than all of them, so it beats `floor` only
    when popular and younger than the age at which recency x POPULARITY_MAX falls to `floor`:
    those few popular papers are all read."""
    now_s = now.timestamp()
    newest = _newest(snapshot, query, plan, now)
    found = {key: (_score(1.0, key, pop, now_s), key, pop) for _, key, pop in newest.ranked}
    if len(found) >= plan.k:
        floor = _kth(found, plan.k) / POPULARITY_MAX
        lo = plan.lo_key
        if floor > 0.0:
            # recency(age) >= floor  <=>  age <= 90 days x sqrt(1 / floor - 1)
            age = _DAY * RECENCY_DAYS * math.sqrt(max(0.0, 1.0 / min(1.0, floor) - 1.0))
            lo = max(lo, max(0, int(now_s - age)) << FTS_PK_BITS)
        popular = snapshot.count(query, lo, None, popular_only=True)
        if popular:
            for key, pop in snapshot.ordered(query, lo, None, popular, "top", popular_only=True)[0]:
                found[key] = (_score(1.0, key, pop, now_s), key, pop)
    ranked = heapq.nlargest(plan.k, found.values())
    return IndexedScan(ranked, newest.total, newest.total_exact, newest.windows_read)


def _newest(snapshot: IndexSnapshot, query: IndexQuery, plan: Plan, now: datetime) -> IndexedScan:
    now_s = now.timestamp()
    ranked: list[tuple[float, int, int]] = []
    total = read = 0
    plan_windows = windows(plan.lo_key, now)
    for lo, hi, _ in plan_windows:
        if len(ranked) >= plan.k:
            break
        read += 1
        rows, count = snapshot.ordered(query, lo, hi, plan.k - len(ranked), "key")
        ranked += [(recency(now_s - (key >> FTS_PK_BITS)), key, pop) for key, pop in rows]
        total += count
    return _with_total(snapshot, query, plan_windows, read, ranked, total)


def _most_popular(snapshot: IndexSnapshot, query: IndexQuery, plan: Plan, now: datetime) -> IndexedScan:
    popular, popular_count = snapshot.ordered(query, plan.lo_key, None, plan.k, "top", popular_only=True)
    ranked = [(float(pop), key, pop) for key, pop in popular]
    if len(ranked) >= plan.k:
        if query.max_matches <= EXACT_COUNT_LIMIT:
            return IndexedScan(ranked, snapshot.count(query, plan.lo_key), True, 1)
        # Counting every match would read them all; the popular ones are a cheap lower bound.
        return IndexedScan(ranked, popular_count, False, 1)
    # Every popular match is in; the newest of the others (popularity 0) follow.
    taken = {key for _, key, _ in ranked}
    rest = _newest(snapshot, query, replace(plan, k=plan.k + len(taken)), now)
    ranked += [(0.0, key, pop) for _, key, pop in rest.ranked if key not in taken][: plan.k - len(ranked)]
    return IndexedScan(ranked, max(rest.total, len(ranked)), rest.total_exact, rest.windows_read)
