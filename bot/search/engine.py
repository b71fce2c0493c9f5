"""Ranked full-text search over the store: BM25 x recency x popularity, fast at 1M papers.

Query text
    `query_terms` turns user text into terms: words (letters and digits only; accents, case and
    compatibility forms folded; `gpt-4o` or `text-to-sql` become phrases of their parts) and
    "quoted phrases" (straight or curly quotes). Common English stop words are dropped outside
    phrases (unless nothing else is left). At most 8 terms of at most 8 words of at most 40
    characters are kept, from the first 1,000 characters. `fts_query` quotes every term as an FTS5
    string and joins them with spaces (implicit AND), so no user character is ever FTS5 syntax:
    quotes, `*`, `NEAR`, `AND/OR/NOT`, `-`, `:`, `^` and parentheses are separators or plain words.

Index layout (schema migration "search", maintenance in bot/store/papers.py)
    `papers_fts` is a contentless FTS5 table over title, abstract, authors and summary_text whose
    rowid ("key") is `seconds(published or first_seen) << 31 | pk`. Rowid order is therefore time
    order: FTS5 walks a term's doclist newest-first (`ORDER BY rowid DESC`) without sorting, a
    `since` window is a rowid range, and the paper is `key & FTS_PK_MASK`.

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

Filters
    since: the paper's time is `published`, falling back to `first_seen` when the source gave
    no date, compared to the second. source: papers.sources (JSON list) contains it. topic:
    a row in paper_topics with that topic id string. author: every word of the name appears, in
    order, in the authors column (an FTS5 column phrase: "lecun", "Yann LeCun" both match).

`total` is exact when the scan read every match and every filter was checked; otherwise it is an
estimate extrapolated over time from what was read. Empty results carry a `suggestion` (a wider
time window, a topic the words do appear in, fewer words, dropping a filter).
"""

from __future__ import annotations

import heapq
import logging
import math
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.core.clock import ensure_utc, humanize_age
from bot.core.errors import StoreError
from bot.core.models import Paper, SourceKind
from bot.core.text import fold, folded_words, split_words, strip_suffix
from bot.store.fulltext import FTS_PK_BITS, FTS_PK_MASK, PaperFilter, since_key

if TYPE_CHECKING:
    from bot.store import Store

log = logging.getLogger(__name__)

__all__ = [
    "SearchQuery", "SearchHit", "SearchResult", "SearchEngine", "fts_query", "query_terms", "SORTS",
]

SORTS = ("relevance", "new", "top")
MAX_INPUT_CHARS = 1000
MAX_TERMS = 8
MAX_PHRASE_WORDS = 8
MAX_LIMIT = 1000

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
POPULAR_WHY = 10  # mention popularity in `why` from this many upvotes / points

# bm25() with every column weight huge: each phrase's term saturates at idf * (k1 + 1), so any
# matching row yields B = sum of idf_i * (k1 + 1) (to ~1e-14 relative), the bound of the early
# stop. FTS5 shares the idf values between bm25() calls of one statement, so B costs no scan.
SATURATED_WEIGHTS = (1e15,) * len(COLUMN_WEIGHTS)
_BOUND_MARGIN = 1.0 + 1e-9
_DAY = 86400.0

STOPWORDS = frozenset(
    (
        "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any",
        "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both",
        "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few",
        "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "him",
        "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more",
        "most", "my", "no", "nor", "not", "of", "off", "on", "once", "only", "or", "other", "our",
        "ours", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that",
        "the", "their", "theirs", "them", "then", "there", "these", "they", "this", "those",
        "through", "to", "too", "under", "until", "up", "very", "via", "was", "we", "were", "what",
        "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you",
        "your", "yours",
    )
)


# --- query text --------------------------------------------------------------------------------

_QUOTED = re.compile(r"[\"“”„]([^\"“”„]*)[\"“”„]")
# A word: letters/digits, optionally joined by - ' ’ . / + into a compound ("gpt-4o", "3.5").
_COMPOUND = re.compile(r"[^\W_]+(?:[-'’./+][^\W_]+)*")


def query_terms(text: str) -> list[str]:
    """Normalized search terms of user text: single words and phrases (words joined by one space).

    Lower case and accent-free; stop words dropped outside phrases unless only stop words were
    given; duplicates removed; at most MAX_TERMS. Used for FTS queries and by alert matching.
    """
    text = (text or "")[:MAX_INPUT_CHARS]
    phrases: list[tuple[str, bool]] = []  # (term, typed as a quoted phrase)
    pos = 0

    def loose(chunk: str) -> None:
        for compound in _COMPOUND.findall(fold(chunk)):
            parts = split_words(compound)[:MAX_PHRASE_WORDS]
            if parts:
                phrases.append((" ".join(parts), len(parts) > 1))

    for match in _QUOTED.finditer(text):
        loose(text[pos : match.start()])
        words = folded_words(match.group(1))[:MAX_PHRASE_WORDS]
        if words:
            phrases.append((" ".join(words), True))
        pos = match.end()
    loose(text[pos:])

    kept = [term for term, is_phrase in phrases if is_phrase or term not in STOPWORDS]
    if not kept:
        kept = [term for term, _ in phrases]
    return list(dict.fromkeys(kept))[:MAX_TERMS]


def _quote(term: str) -> str:
    """An FTS5 string: the term in double quotes, any double quote doubled."""
    return '"' + term.replace('"', '""') + '"'


def fts_query(text: str) -> str | None:
    """A safe FTS5 MATCH expression for user text (every term quoted, implicit AND), or None
    when the text has no searchable words."""
    terms = query_terms(text)
    return " ".join(_quote(term) for term in terms) if terms else None


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchQuery:
    """What to search for.

    `since` keeps papers whose `published` time (or `first_seen`, when the source gave no date)
    is at or after it; `source` keeps papers any source of which is that kind; `topic` is a topic
    id (`cv`); `author` matches name words in order ("LeCun", "yann lecun"); `sort` is relevance,
    new or top (anything else counts as relevance); `limit` is clamped to 1..1000.
    """

    text: str = ""
    since: datetime | None = None
    source: SourceKind | None = None
    topic: str | None = None
    author: str | None = None
    sort: str = "relevance"
    limit: int = 10


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


def recency(age_seconds: float) -> float:
    """The recency factor of a paper this old: 1 / (1 + (age / 90 days)^2); future dates count as
    new. Nearly flat over the first weeks (relevance decides), a half at 90 days, 6% at a year."""
    ratio = max(0.0, age_seconds) / (_DAY * RECENCY_DAYS)
    return 1.0 / (1.0 + ratio * ratio)


def popularity_factor(popularity: int) -> float:
    """The popularity factor: 1 for nothing, up to POPULARITY_MAX from 1,000 upvotes/points."""
    return 1.0 + POPULARITY_BOOST * min(1.0, math.log1p(max(0, popularity)) / _POPULARITY_SCALE)


# --- the engine --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """A query compiled for SQL: the MATCH expression and its phrases, the time range, filters."""

    terms: tuple[str, ...]
    match: str | None  # None: no words, browse by time
    author_words: tuple[str, ...]
    lo_key: int
    filters: PaperFilter  # source and topic
    k: int
    sort: str
    impossible: bool = False  # e.g. an author name without letters: nothing can match


@dataclass
class _Scan:
    """What a scan found: (score, key, popularity) best first, and what it read."""

    ranked: list[tuple[float, int, int]]
    passed: int  # rows known to pass the filters
    checked: int  # rows whose filters were checked
    read: int  # rows read from the index
    last_key: int | None
    exhausted: bool


class SearchEngine:
    """Searches one store. Cheap to create; holds no state besides the store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.index = store.fulltext

    # --- public API ----------------------------------------------------------------------------

    def search(self, query: SearchQuery, now: datetime) -> SearchResult:
        """Ranked hits for a query at time `now`; never raises for any user input."""
        now = ensure_utc(now)
        query = _normalized(query)
        try:
            plan = self._plan(query)
            if plan.impossible or _no_words(plan, query):
                return SearchResult((), 0, self._suggest(query, plan, now))
            if plan.sort == "new":
                scan = self._scan_new(plan, now)
            elif plan.sort == "top":
                scan = self._scan_top(plan, now)
            else:
                scan = self._scan_relevance(plan, now)
            if not scan.ranked:
                return SearchResult((), 0, self._suggest(query, plan, now))
            hits = self._hits(scan.ranked, plan, query, now)
            return SearchResult(hits, max(len(hits), self._total(scan, plan, now)))
        except sqlite3.Error as exc:
            raise _store_error(exc) from exc

    def count_matches(self, query: SearchQuery, now: datetime) -> int:
        """Exactly how many papers match the words and filters of `query` (sort and limit are
        ignored). Costs one pass over the matches: about 25 ms per million matching rows, more
        with source/topic filters."""
        query = _normalized(query)
        try:
            plan = self._plan(query)
            if plan.impossible or _no_words(plan, query):
                return 0
            return self.index.count(plan.match, plan.lo_key, plan.filters)
        except sqlite3.Error as exc:
            raise _store_error(exc) from exc

    # --- compiling a query ---------------------------------------------------------------------

    def _plan(self, query: SearchQuery) -> _Plan:
        terms = tuple(query_terms(query.text))
        phrases = [_quote(term) for term in terms]
        author_words: tuple[str, ...] = ()
        impossible = False
        if query.author is not None and query.author.strip():
            author_words = tuple(folded_words(query.author[:MAX_INPUT_CHARS])[:MAX_PHRASE_WORDS])
            if author_words:
                phrases.append(f"authors : {_quote(' '.join(author_words))}")
            else:
                impossible = True
        lo_key = 0
        if query.since is not None:
            lo_key = since_key(_utc(query.since))
        source = None
        if query.source is not None:
            source = query.source.value if isinstance(query.source, SourceKind) else str(query.source)
        sort = query.sort if query.sort in SORTS else "relevance"
        return _Plan(
            terms=terms,
            match=" ".join(phrases) if phrases else None,
            author_words=author_words,
            lo_key=lo_key,
            filters=PaperFilter(source=source, topic=query.topic),
            k=min(MAX_LIMIT, max(1, int(query.limit))),
            sort=sort,
            impossible=impossible,
        )

    def _resolve(self, pks: Sequence[int], plan: _Plan) -> dict[int, int]:
        """pk -> popularity for those of `pks` that pass the source/topic filters."""
        return self.index.popularity_of(pks, plan.filters)

    # --- scans ---------------------------------------------------------------------------------

    def _scan_relevance(self, plan: _Plan, now: datetime) -> _Scan:
        now_s = now.timestamp()
        per_age = 1.0 / (_DAY * RECENCY_DAYS)
        batches = self.index.newest_first(plan.match, plan.lo_key, BATCH, COLUMN_WEIGHTS, SATURATED_WEIGHTS)
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
                popularity = self._resolve([key & FTS_PK_MASK for key, _ in candidates], plan)
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
        return _Scan(sorted(heap, reverse=True), passed, checked, read, last_key, exhausted)

    def _scan_new(self, plan: _Plan, now: datetime, skip: frozenset[int] = frozenset()) -> _Scan:
        now_s = now.timestamp()
        batches = self.index.newest_first(plan.match, plan.lo_key, BATCH)
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
            popularity = self._resolve([key & FTS_PK_MASK for key in keys], plan)
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
        return _Scan(ranked, passed, read, read, last_key, exhausted)

    def _scan_top(self, plan: _Plan, now: datetime) -> _Scan:
        if plan.match is None:
            return self._scan_top_browse(plan, now)
        keys = self.index.newest_keys(plan.match, plan.lo_key, TOP_CANDIDATES + 1)
        exhausted = len(keys) <= TOP_CANDIDATES
        keys = keys[:TOP_CANDIDATES]
        last_key = keys[-1] if keys else None
        if len(keys) <= TOP_RESOLVE_ALL:
            popularity = self._resolve([key & FTS_PK_MASK for key in keys], plan)
            passing = [(float(pop), key, pop) for key in keys if (pop := popularity.get(key & FTS_PK_MASK)) is not None]
            passing.sort(reverse=True)
            return _Scan(passing[: plan.k], len(passing), len(keys), len(keys), last_key, exhausted)
        # Many candidates: walk the few popular papers (partial index, most popular first) and
        # keep those among the candidates, then fill with unpopular candidates, newest first.
        key_of = {key & FTS_PK_MASK: key for key in keys}
        ranked: list[tuple[float, int, int]] = []
        checked = passed = 0
        batches = self.index.popular_first(BATCH * 4)
        taken: set[int] = set()
        while True:
            rows = next(batches, [])
            if not rows:
                break
            wanted = [pk for pk, _ in rows if pk in key_of]
            popularity = self._resolve(wanted, plan)
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
            popularity = self._resolve(chunk, plan)
            checked += len(chunk)
            for pk in chunk:
                if pk in popularity:
                    passed += 1
                    if len(ranked) < plan.k:
                        ranked.append((float(popularity[pk]), key_of[pk], popularity[pk]))
        return _Scan(ranked, passed, checked, len(keys), last_key, exhausted)

    def _scan_top_browse(self, plan: _Plan, now: datetime) -> _Scan:
        """Without words: walk the popular papers (partial index), then fill with the newest."""
        rows = self.index.most_popular(plan.lo_key, plan.filters, plan.k)
        ranked = [(float(popularity), key, popularity) for _, popularity, key in rows]
        if len(ranked) >= plan.k:
            # Counting comes from the time-ordered scan, as for sort:new.
            newest = self._scan_new(plan, now)
            return replace(newest, ranked=ranked)
        rest = self._scan_new(
            replace(plan, k=plan.k - len(ranked)), now, skip=frozenset(row[0] for row in rows)
        )
        ranked += [(0.0, key, pop) for _, key, pop in rest.ranked]
        return _Scan(ranked, rest.passed + len(rows), rest.checked, rest.read, rest.last_key, rest.exhausted)

    # --- results -------------------------------------------------------------------------------

    def _hits(
        self, ranked: list[tuple[float, int, int]], plan: _Plan, query: SearchQuery, now: datetime
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
                hits.append(SearchHit(paper, score, _why(paper, plan, query, pop, now)))
        return tuple(hits)

    def _papers_by_pk(self, pks: Sequence[int]) -> dict[int, Paper]:
        found: dict[int, Paper] = {}
        for pk in pks:
            papers = self.store.papers.get_by_pks([pk])
            if papers:
                found[pk] = papers[0]
        return found

    def _total(self, scan: _Scan, plan: _Plan, now: datetime) -> int:
        """Exact when everything was read and checked; else extrapolated over time."""
        if scan.checked < scan.read:  # filters were checked on some rows only
            seen = scan.read * (scan.passed / scan.checked if scan.checked else 1.0)
        else:
            seen = float(scan.passed)
        if scan.exhausted or scan.last_key is None:
            return round(seen)
        now_s = now.timestamp()
        oldest = self.index.oldest_key(plan.lo_key)
        start_s = (oldest if oldest is not None else plan.lo_key) >> FTS_PK_BITS
        read_span = max(1.0, now_s - (scan.last_key >> FTS_PK_BITS))
        full_span = max(read_span, now_s - start_s)
        return round(seen * full_span / read_span)

    # --- empty results -------------------------------------------------------------------------

    def _exists(self, query: SearchQuery, now: datetime) -> bool:
        plan = self._plan(replace(query, sort="new", limit=1))
        if plan.impossible or _no_words(plan, query):
            return False
        return bool(self._scan_new(plan, now).ranked)

    def _suggest(self, query: SearchQuery, plan: _Plan, now: datetime) -> str:
        """One or two sentences: what found nothing, and what would find something."""
        asked = _describe(query, now)
        if plan.impossible:
            return f"No papers matched {asked}: the author name has no letters. Try a last name, e.g. author:LeCun."
        if _no_words(plan, query):
            return (
                f"No papers matched {asked}: there are no words to search for in it. "
                "Try a few keywords, e.g. diffusion models, or a topic such as topic:cv."
            )
        if not self.index.has_papers():
            return "No papers are stored yet; they appear after the first fetch (paperbot fetch)."
        terms = list(plan.terms)
        unknown = [t for t in terms if not self._exists(SearchQuery(text=_quote(t)), now)]
        if unknown:
            listed = ", ".join(f"“{t}”" for t in unknown[:3])
            rest = [t for t in terms if t not in unknown]
            if rest:
                return f"No papers mention {listed}. Try without it: {_as_text(rest)}."
            return f"No papers mention {listed}. Check the spelling, or try other words."
        ideas: list[str] = []
        if query.since is not None:
            window = self._wider_window(query, now)
            if window:
                ideas.append(window)
        if query.topic and self._exists(replace(query, topic=None, since=None), now):
            wider = replace(query, since=None)
            other = self._related_topic(wider, query.topic, now) or self._common_topic(
                replace(wider, topic=None), query.topic, now
            )
            ideas.append(f"topic:{other}" if other else "without topic:")
        if query.source is not None and self._exists(replace(query, source=None, since=None), now):
            ideas.append("without source:")
        if query.author and self._exists(replace(query, author=None, since=None), now):
            ideas.append("without author:")
        if not ideas and len(terms) > 1:
            for index in range(len(terms)):
                fewer = terms[:index] + terms[index + 1 :]
                if self._exists(replace(query, text=_as_text(fewer), since=None), now):
                    ideas.append(f"fewer words: {_as_text(fewer)}")
                    break
        if not ideas:
            return f"No papers matched {asked}. Try fewer or different words."
        return f"No papers matched {asked}. Try {' or '.join(ideas[:2])}."

    def _wider_window(self, query: SearchQuery, now: datetime) -> str:
        assert query.since is not None
        span = now - _utc(query.since)
        for days, label in ((7, "7d"), (30, "30d"), (90, "90d"), (365, "1y")):
            if timedelta(days=days) > span * 1.5 and self._exists(
                replace(query, since=now - timedelta(days=days)), now
            ):
                return f"since:{label}"
        if self._exists(replace(query, since=None), now):
            return "without since:"
        return ""

    def _related_topic(self, query: SearchQuery, topic: str, now: datetime) -> str | None:
        """A neighbouring taxonomy topic (bot.enrich.taxonomy, when available) under which `query` finds
        something; only for searches without words, where the words cannot tell us."""
        if query.text.strip():
            return None
        try:
            from bot.enrich.taxonomy import related_topics

            neighbours = [t.id for t in related_topics(topic)]
        except Exception:  # the taxonomy is optional here: fall back to the data
            return None
        return next((t for t in neighbours if self._exists(replace(query, topic=t), now)), None)

    def _common_topic(self, query: SearchQuery, exclude: str, now: datetime) -> str | None:
        """The topic most of the newest matches of `query` carry (other than `exclude`)."""
        plan = self._plan(replace(query, sort="new", limit=200))
        pks = [key & FTS_PK_MASK for _, key, _ in self._scan_new(plan, now).ranked]
        return self.index.most_common_topic(pks, exclude)


# --- helpers -----------------------------------------------------------------------------------


def _store_error(exc: sqlite3.Error) -> StoreError:
    return StoreError(f"search failed in the database: {exc}")


def _normalized(query: SearchQuery) -> SearchQuery:
    """The query with its topic id stripped (None when blank) and bindable: lone surrogates,
    possible in decoded JSON, cannot be sent to SQLite and no topic id contains them."""
    topic = query.topic.strip().encode("utf-8", "replace").decode("utf-8") if query.topic else ""
    return replace(query, topic=topic or None)


def _utc(value: datetime) -> datetime:
    """`ensure_utc`, clamped: an aware datetime at the very edge of the range cannot overflow."""
    try:
        return ensure_utc(value)
    except (OverflowError, ValueError):
        edge = datetime.min if value.year < 5000 else datetime.max
        return edge.replace(tzinfo=UTC)


def _has_words(text: str) -> bool:
    return bool(text and text.strip())


def _has_filters(query: SearchQuery) -> bool:
    return bool(
        query.since is not None or query.source is not None or query.topic
        or (query.author and query.author.strip())
    )


def _no_words(plan: _Plan, query: SearchQuery) -> bool:
    """Text was typed but has nothing searchable, and no filter gives the search a subject."""
    return plan.match is None and _has_words(query.text) and not _has_filters(query)


def _as_text(terms: Iterable[str]) -> str:
    """Terms back as query text (phrases quoted)."""
    return " ".join(f'"{t}"' if " " in t else t for t in terms)


def _clean(text: str, limit: int = 60) -> str:
    """User text for echoing: control characters dropped, whitespace squeezed, shortened."""
    # isprintable() is False for control characters and lone surrogates alike.
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(query: SearchQuery, now: datetime) -> str:
    """How a query is echoed in a suggestion: “words” with topic:cv in the last 7 days."""
    parts = [f"“{_clean(query.text)}”"] if _has_words(query.text) else ["anything"]
    if query.topic:
        parts.append(f"with topic:{_clean(query.topic, 30)}")
    if query.source is not None:
        value = query.source.value if isinstance(query.source, SourceKind) else str(query.source)
        parts.append(f"from source:{_clean(value, 20)}")
    if query.author:
        parts.append(f"by author:{_clean(query.author, 40)}")
    if query.since is not None:
        seconds = (now - _utc(query.since)).total_seconds()
        if seconds <= 0:
            parts.append("after now")
        elif seconds < 2 * _DAY:
            parts.append(f"in the last {max(1, round(seconds / 3600))} hours")
        else:
            parts.append(f"in the last {round(seconds / _DAY)} days")
    return " ".join(parts)


def _has_phrase(tokens: list[str], phrase: list[str]) -> bool:
    size = len(phrase)
    return any(tokens[i : i + size] == phrase for i in range(len(tokens) - size + 1))


def _why(paper: Paper, plan: _Plan, query: SearchQuery, popularity: int, now: datetime) -> str:
    """A short human reason for a hit: where the words matched, the topic, popularity."""
    parts: list[str] = []
    if plan.terms:
        fields = (("title", paper.title), ("abstract", paper.abstract), ("author", " ".join(paper.authors)))
        matched_any = False
        for name, text in fields:
            tokens = [strip_suffix(w) for w in folded_words(text)]
            found = [t for t in plan.terms if _has_phrase(tokens, [strip_suffix(w) for w in t.split()])]
            if found:
                parts.append(f"{name}: {', '.join(found[:4])}")
                matched_any = True
                break
        if not matched_any:
            parts.append(f"matches: {', '.join(plan.terms[:4])}")
    if plan.author_words:
        wanted = list(plan.author_words)
        names = [a for a in paper.authors if _has_phrase(folded_words(a), wanted)]
        parts.append(f"author: {_clean(names[0], 40)}" if names else f"author: {' '.join(wanted)}")
    if query.topic:
        parts.append(f"topic: {_topic_name(query.topic)}")
    if popularity >= POPULAR_WHY or (plan.sort == "top" and popularity > 0):
        signal = max(paper.signals, key=lambda s: s.score, default=None)
        if signal is not None and signal.source == SourceKind.HF:
            parts.append(f"popular on HF ({popularity} upvotes)")
        elif signal is not None:
            parts.append(f"popular on {_clean(signal.label or signal.source.value, 30)} ({popularity} points)")
        else:
            parts.append(f"popular ({popularity})")
    if not parts:
        when = paper.published or paper.first_seen
        parts.append(f"recent: {humanize_age(when, now)}" if when else "recent")
    return " · ".join(parts)


def _topic_name(topic_id: str) -> str:
    """The taxonomy name of a topic id, or the id itself (the taxonomy is optional here)."""
    try:
        from bot.enrich.taxonomy import topic_by_id

        return topic_by_id(topic_id).name
    except Exception:  # unknown id or taxonomy unavailable: the id is still a fine label
        return _clean(topic_id, 30)
