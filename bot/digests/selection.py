"""Which papers a channel's digest holds: the candidate pool, filtering and ranking.

A digest holds the papers announced or trending since the channel's previous digest (the first
one: the last 24 h) that the channel has not seen yet (`delivered_papers`), filtered by the
channel's topics, query, sources, minimum score and whether replaced versions are shown.
Papers are ranked by topic match, popularity and recency and the best `max_items` kept; once
people in the channel gave feedback, the channel's model (bot.rank) re-ranks them blended with
that score, and a relevance threshold may keep fewer. The pool of candidates is loaded once for
every channel due at the same time.

Choosing from a shared pool costs each channel in proportion to what it can show, not to the
pool (`select_top`): the pool keeps its papers in one order by the score part no channel
changes (`paper_facts`), and per set of topics and per query word the same order, built once. A channel
walks the shortest of those that holds every paper it could take, scores each paper exactly as
`select` does, and stops as soon as its `max_items` best are certain: the next paper's score
could at most be its base plus the largest topic and title bonus, and that is below the
channel's worst kept score. The result is `select`'s, paper for paper (a test compares them).

What channels have in common is worked out once per pool: each window start's news (one id
set), one merged walk per (topics, window start, shown updates) that every channel wanting
those topics replays as far as it needs, an index of every word once many channels have
queries, and one PaperItem per paper and reason (`Pool.item`) that every digest showing it
shares (the outbox encodes it once).
"""

from __future__ import annotations

import asyncio
import bisect
import heapq
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.chat.present import source_line
from bot.core.clock import ensure_utc, to_iso
from bot.core.models import ChannelSettings, Paper, PaperItem, SourceKind, Summary
from bot.core.text import fold, fold_plural, plural_folded_words, word_starting_at
from bot.enrich.taxonomy import topic_by_id
from bot.rank.models import CHANNEL
from bot.rank.ranking import Ranker
from bot.search.matching import Matcher, PaperDoc, paper_doc, topics_for, word_head
from bot.store import Store
from bot.store.sources import SourceState

FIRST_WINDOW = timedelta(hours=24)
MAX_WINDOW = timedelta(days=14)  # after a long downtime, a digest still looks back at most this far
NO_TOPIC = "_other"
TRENDING = "_trending"  # the one group of a digest ranked by what is trending
# A digest brings news: a paper first published (or, for a shown update, last updated) this
# long before the digest's window is old news however recently a source mentioned it (an HF
# daily list or a Reddit post can surface a years-old paper; search still finds it).
STALE_AFTER = timedelta(days=30)
# Query words a pool finds by scanning its text before it indexes every word (see `with_word`).
INDEX_AFTER_WORDS = 100


@dataclass(slots=True)
class Pool:
    """Papers changed in a time window, loaded once and shared by every channel due together."""

    since: datetime
    papers: list[Paper]
    changed_at: dict[str, str]  # paper id -> ISO time it was first seen or last changed
    topics: dict[str, tuple[str, ...]]
    now: datetime
    _docs: dict[str, PaperDoc] = field(default_factory=dict)
    _facts: dict[str, tuple[int, float]] = field(default_factory=dict)

    def window(self, since: datetime) -> list[Paper]:
        """The papers of the pool changed at or after `since`."""
        if since <= self.since:
            return self.papers
        bound = to_iso(since) or ""
        return [p for p in self.papers if self.changed_at.get(p.id, "") >= bound]

    def doc(self, paper: Paper) -> PaperDoc:
        """The paper tokenized for query matching (once per pool)."""
        found = self._docs.get(paper.id)
        if found is None:
            found = self._docs[paper.id] = paper_doc(paper, self.topics.get(paper.id, ()))
        return found

    _order: list[Paper] | None = None
    _by_topic_set: dict[frozenset[str], list[Paper]] | None = None
    _by_word: dict[str, list[Paper]] = field(default_factory=dict)
    _word_text: str | None = None
    _word_starts: list[int] = field(default_factory=list)
    _word_index: dict[str, list[Paper]] | None = None
    _news: dict[datetime, frozenset[str]] = field(default_factory=dict)
    _topic_walks: dict[tuple[tuple[str, ...], datetime, bool], _Replay] = field(default_factory=dict)
    _source_states: list[SourceState] | None = None
    _items: dict[tuple[str, str], PaperItem] = field(default_factory=dict)

    def facts(self, paper: Paper) -> tuple[int, float]:
        """`paper_facts` at the pool's time, computed once per paper."""
        found = self._facts.get(paper.id)
        if found is None:
            found = self._facts[paper.id] = paper_facts(paper, self.now)
        return found

    def item(self, paper: Paper, summary: Summary | None, why: str) -> PaperItem:
        """The item showing a pool paper with this summary and reason at the pool's time, as
        `make_items` makes it: made once and shared by every digest of the run that shows it
        (its source line is worked out once, and the outbox encodes it once)."""
        found = self._items.get((paper.id, why))
        if found is None or found.paper is not paper or found.summary is not summary:
            found = PaperItem(paper=paper, summary=summary, source_line=source_line(paper, self.now), why=why)
            self._items[(paper.id, why)] = found
        return found

    def source_states(self, store: Store) -> list[SourceState]:
        """The sources' fetch states (for the failing-sources note), read once per pool."""
        if self._source_states is None:
            self._source_states = store.sources.all()
        return self._source_states

    def news(self, since: datetime) -> frozenset[str]:
        """The ids of the papers of `window(since)` that are news for it (`is_recent`): what a
        digest whose window starts at `since` may hold. Found once per window start, however
        many channels share it (each channel then tests a paper with one set lookup)."""
        found = self._news.get(since)
        if found is None:
            found = self._news[since] = frozenset(p.id for p in self.window(since) if is_recent(p, since))
        return found

    def candidate_count(self, since: datetime) -> int:
        """How many papers of `window(since)` are news for it: a digest's "from N announced"."""
        return len(self.news(since))

    def ordered(self) -> list[Paper]:
        """Every pool paper by its channel-independent score part, best first (ties by id)."""
        if self._order is None:
            self._order = sorted(self.papers, key=lambda p: (-self.facts(p)[1], p.id))
        return self._order

    def by_topic_set(self) -> dict[frozenset[str], list[Paper]]:
        """The pool papers grouped by the set of topic ids they carry, each group in
        `ordered()` order (few groups: papers carry one to three of a few dozen topics)."""
        if self._by_topic_set is None:
            groups: dict[frozenset[str], list[Paper]] = {}
            for paper in self.ordered():
                groups.setdefault(frozenset(self.topics.get(paper.id, ())), []).append(paper)
            self._by_topic_set = groups
        return self._by_topic_set

    def with_word(self, word: str) -> list[Paper]:
        """The pool papers whose title or abstract has `word` (as matching folds it), in
        `ordered()` order. The first INDEX_AFTER_WORDS words asked for are found by scanning
        the pool's text (`_find_word`, a few ms each); past that, many channels have queries
        and one index of every word of the pool (`_index_words`, about a hundred scans' worth)
        answers the rest."""
        found = self._by_word.get(word)
        if found is None:
            if self._word_index is None and len(self._by_word) >= INDEX_AFTER_WORDS:
                self._word_index = self._index_words()
            if self._word_index is not None:
                found = self._word_index.get(word, [])
            else:
                found = self._find_word(word)
            self._by_word[word] = found
        return found

    def _index_words(self) -> dict[str, list[Paper]]:
        # The words `PaperDoc.words` holds (plural-folded words of the folded title and
        # abstract), each with the papers that have it, in `ordered()` order.
        index: dict[str, list[Paper]] = {}
        for paper in self.ordered():
            for word in set(plural_folded_words(f"{paper.title}\n{paper.abstract}")):
                index.setdefault(word, []).append(paper)
        return index

    def topic_walk(self, wanted_topics: Sequence[str], since: datetime, show_updated: bool) -> _Replay:
        """`_merged` over the topic-set lists holding any of `wanted_topics`, keeping only the
        news of `window(since)` (and, unless `show_updated`, no replaced version: `consider`
        turns those down), produced once and replayed for every channel that wants the same
        topics over the same window (hundreds of channels share a few topic sets); each reads
        only as far as its own digest needs."""
        # The walk depends on the topics and how often each is named, not on their order.
        key = (tuple(sorted(wanted_topics)), since, show_updated)
        found = self._topic_walks.get(key)
        if found is None:
            streams = []
            for signature, papers in self.by_topic_set().items():
                hits = [t for t in wanted_topics if t in signature]
                if hits:
                    streams.append((1.0 + 0.25 * (len(hits) - 1), papers))
            news = self.news(since)
            found = self._topic_walks[key] = _Replay(
                entry for entry in _merged(streams, self)
                if entry[1].id in news and (show_updated or not entry[1].is_updated)
            )
        return found

    def _find_word(self, word: str) -> list[Paper]:
        # `has_word` over one text of every paper's folded title and abstract, joined by line
        # breaks (not letters or digits, so words end at a paper's end as in its own text):
        # the scan for the word's head runs in C over the whole pool, and only places where
        # it occurs are checked. The answer is `word in doc(p).words` without a PaperDoc.
        ordered = self.ordered()
        if self._word_text is None:
            texts = [fold(f"{p.title}\n{p.abstract}") for p in ordered]
            starts, offset = [], 0
            for text in texts:
                starts.append(offset)
                offset += len(text) + 1
            self._word_text, self._word_starts = "\n".join(texts), starts
        text, starts = self._word_text, self._word_starts
        head = word_head(word)
        found: list[Paper] = []
        position = text.find(head)
        while position >= 0:
            index = bisect.bisect_right(starts, position) - 1
            candidate = word_starting_at(text, position)
            if candidate is not None and fold_plural(candidate) == word:
                found.append(ordered[index])
                if index + 1 == len(starts):
                    break
                position = text.find(head, starts[index + 1])  # on to the next paper
            else:
                position = text.find(head, position + 1)
        return found


def load_pool(store: Store, since: datetime, now: datetime) -> Pool:
    """Every paper first seen or changed since `since` (up to the present), with topic ids.

    No upper bound: a paper stored at the very instant a digest is built belongs in it, and
    one that arrives while it is built is at worst considered again next time (the ledger
    keeps it from being posted twice)."""
    papers = store.papers.changed(since=since, limit=None)
    changed = store.papers.changed_at_since(since)
    return Pool(since, papers, changed, topics_for(store, papers), now)


async def load_pool_off_loop(store: Store, since: datetime, now: datetime) -> Pool:
    """`load_pool`, read in a worker thread through a read-only connection of its own when the
    store is a file: thousands of rows made into Papers (and the tagger for untagged ones)
    would hold the event loop for a second or more. It reads what is committed, as the
    store's own connection does between transactions. An in-memory store is read here."""
    location = store.location
    if location is None:
        return load_pool(store, since, now)

    def read() -> Pool:
        reader = Store.open(location, writable=False)
        try:
            return load_pool(reader, since, now)
        finally:
            reader.close()

    return await asyncio.to_thread(read)


def is_recent(paper: Paper, since: datetime) -> bool:
    """Whether a paper is news for a digest whose window starts at `since` (see STALE_AFTER)."""
    when = (paper.updated if paper.is_updated and paper.updated else None) or paper.published or paper.first_seen
    return when is None or ensure_utc(when) >= since - STALE_AFTER


def window_start(settings: ChannelSettings, now: datetime) -> datetime:
    """Where a channel's next digest starts: its previous digest (first: the last 24 h)."""
    start = settings.last_digest_at or (now - FIRST_WINDOW)
    return max(start, now - MAX_WINDOW)


@dataclass(frozen=True, slots=True)
class Ranked:
    """A paper chosen for a digest, its score, the topic it is grouped under and why."""

    paper: Paper
    score: float
    group: str  # topic id, or NO_TOPIC
    why: str


def _sources_of(paper: Paper) -> set[SourceKind]:
    return set(paper.sources) or {paper.source}


class _Chooser:
    """One channel's filters and scoring, compiled once: `consider` is what `select` and
    `select_top` both apply to each candidate, so the two cannot disagree."""

    def __init__(
        self,
        settings: ChannelSettings,
        topics: Mapping[str, tuple[str, ...]],
        now: datetime,
        doc_of: Callable[[Paper], PaperDoc] | None,
        facts_of: Callable[[Paper], tuple[int, float]] | None,
    ) -> None:
        self.settings = settings
        self.topics = topics
        self.now = now
        self.doc_of = doc_of
        self.facts_of = facts_of
        self.wanted_sources = set(settings.sources)
        self.wanted_topics = settings.topics
        matcher = Matcher.compile(settings.query) if settings.query else None
        self.matcher = None if matcher is not None and matcher.empty else matcher
        self.trending = effective_rank(settings) == "trending"
        self.since = window_start(settings, now)

    def consider(self, paper: Paper, seen_version: int | None) -> Ranked | None:
        """The paper ranked for this channel, or None when the channel does not take it."""
        settings = self.settings
        if seen_version is not None and not (settings.show_updated and paper.version > seen_version):
            return None  # never repeat a paper; a newer version only when updates are shown
        if paper.is_updated and not settings.show_updated:
            return None  # a replaced version (arXiv "replace" or a newer version): only with updated:yes
        if self.wanted_sources and not (_sources_of(paper) & self.wanted_sources):
            return None
        popularity, base = self.facts_of(paper) if self.facts_of else paper_facts(paper, self.now)
        if popularity < settings.min_score:
            return None
        paper_topics = self.topics.get(paper.id, ())
        hits = [t for t in self.wanted_topics if t in paper_topics]
        if self.wanted_topics and not hits:
            return None
        title_hit = 0.0
        matcher = self.matcher
        if matcher is not None:
            doc = self.doc_of(paper) if self.doc_of else paper_doc(paper, paper_topics)
            if not matcher.matches(doc):
                return None
            title_words = set(plural_folded_words(paper.title))
            title_hit = 1.0 if any(word in title_words for term in matcher.terms for word in term) else 0.0
        if self.trending:
            gained, score = trending_score(paper, self.since, self.now)
            why = f"trending: +{gained:,} upvotes and points" if gained else ""
            return Ranked(paper, score, TRENDING, why)
        topical = (1.0 + 0.25 * (len(hits) - 1)) if self.wanted_topics else 1.0
        score = 2.0 * topical + base + 0.5 * title_hit
        group = hits[0] if hits else (paper_topics[0] if paper_topics else NO_TOPIC)
        why = f"topic: {topic_label(group)}" if hits else (f"matched: {settings.query}" if matcher else "")
        return Ranked(paper, score, group, why)

    def best_possible(self, base: float) -> float:
        """The highest score a paper with this channel-independent `base` can get here: the
        largest topic bonus and, with a query, a title hit. Computed with `consider`'s own
        expression, so (rounding being monotonic) no paper's score is above it."""
        topical = (1.0 + 0.25 * (len(self.wanted_topics) - 1)) if self.wanted_topics else 1.0
        return 2.0 * topical + base + 0.5 * (1.0 if self.matcher is not None else 0.0)


def select(
    settings: ChannelSettings,
    candidates: Sequence[Paper],
    topics: Mapping[str, tuple[str, ...]],
    delivered: Mapping[str, int],
    now: datetime,
    doc_of: Callable[[Paper], PaperDoc] | None = None,
    facts_of: Callable[[Paper], tuple[int, float]] | None = None,
    *,
    keep_all: bool = False,
) -> list[Ranked]:
    """Filter candidates by the channel's settings, drop what it already got, rank, keep the
    best `max_items` (every one with `keep_all`, for a channel model to re-rank). `doc_of` and
    `facts_of` give a paper's PaperDoc and `paper_facts` from a pool shared by many channels;
    without them they are computed here."""
    chooser = _Chooser(settings, topics, now, doc_of, facts_of)
    chosen = [r for paper in candidates if (r := chooser.consider(paper, delivered.get(paper.id))) is not None]
    chosen.sort(key=lambda r: (-r.score, r.paper.id))
    return chosen if keep_all else chosen[: settings.max_items]


# How many papers a channel looks up in the delivered ledger at once while walking the pool.
LEDGER_CHUNK = 64


def select_top(
    settings: ChannelSettings,
    pool: Pool,
    since: datetime,
    delivered_of: Callable[[list[str]], Mapping[str, int]],
) -> list[Ranked]:
    """`select(settings, <pool papers of window(since) that are news>, ..., delivered)[:max_items]`
    without looking at every pool paper (see the module). `delivered_of(ids)` answers the
    ledger for some paper ids; it is asked in chunks, only for papers walked. A trending
    channel ranks by what papers gained, not by the pool's order, so it gets `select` itself."""
    chooser = _Chooser(settings, pool.topics, pool.now, pool.doc, pool.facts)
    if chooser.trending:
        candidates = [p for p in pool.window(since) if is_recent(p, since)]
        delivered = delivered_of([p.id for p in candidates])
        return select(settings, candidates, pool.topics, delivered, pool.now, pool.doc, pool.facts)
    wanted = settings.max_items
    top: list[tuple[float, str, Ranked]] = []  # kept best first by (-score, id)
    walked = _walk(chooser, pool, since)
    while True:
        chunk = [entry for _, entry in zip(range(LEDGER_CHUNK), walked, strict=False)]
        if not chunk:
            break
        seen = delivered_of([paper.id for _, paper in chunk])
        for bound, paper in chunk:
            if len(top) >= wanted and bound < -top[-1][0]:
                return [entry[2] for entry in top]  # the walk is best-first: nothing later can enter
            ranked = chooser.consider(paper, seen.get(paper.id))
            if ranked is not None:
                bisect.insort(top, (-ranked.score, paper.id, ranked), key=lambda e: (e[0], e[1]))
                del top[wanted:]
    return [entry[2] for entry in top]


def _walk(chooser: _Chooser, pool: Pool, since: datetime) -> Iterator[tuple[float, Paper]]:
    """The news of `window(since)` the channel could take, each with the highest score it
    could get here, highest first: those with the query's rarest word, else those with one of
    its topics, else all. Topic channels walk one list per set of topics papers carry (its
    topic bonus is exact), merged by that bound, so a paper with two of the channel's topics
    comes ahead of a better-voted paper with one when it scores more."""
    if chooser.wanted_topics and not (chooser.matcher is not None and chooser.matcher.words):
        return iter(pool.topic_walk(chooser.wanted_topics, since, chooser.settings.show_updated))
    if chooser.matcher is not None and chooser.matcher.words:
        postings: list[list[Paper]] = [pool.with_word(word) for word in chooser.matcher.words]
        papers = min(postings, key=len)  # the rarest word's
    else:
        papers = pool.ordered()
    news = pool.news(since)
    return ((chooser.best_possible(pool.facts(p)[1]), p) for p in papers if p.id in news)


class _Replay:
    """The items of an iterator, drawn from it once and replayed to every reader, each reading
    only as far as it needs (readers take turns: one batch of channels is chosen at a time)."""

    __slots__ = ("_source", "_items")

    def __init__(self, source: Iterator[tuple[float, Paper]]) -> None:
        self._source = source
        self._items: list[tuple[float, Paper]] = []

    def __iter__(self) -> Iterator[tuple[float, Paper]]:
        items, position = self._items, 0
        while True:
            if position == len(items):
                item = next(self._source, None)
                if item is None:
                    return
                items.append(item)
            yield items[position]
            position += 1


def _merged(streams: list[tuple[float, list[Paper]]], pool: Pool) -> Iterator[tuple[float, Paper]]:
    """Papers of several `ordered()` lists, each list with its own topic bonus, by their
    score (`_Chooser.consider`'s expression without a title hit), highest first."""
    def bound(topical: float, paper: Paper) -> float:
        return 2.0 * topical + pool.facts(paper)[1] + 0.5 * 0.0

    heap = [(-bound(topical, papers[0]), index, 0) for index, (topical, papers) in enumerate(streams) if papers]
    heapq.heapify(heap)
    while heap:
        negative, index, position = heapq.heappop(heap)
        topical, papers = streams[index]
        yield -negative, papers[position]
        if position + 1 < len(papers):
            heapq.heappush(heap, (-bound(topical, papers[position + 1]), index, position + 1))


async def rerank(settings: ChannelSettings, chosen: Sequence[Ranked], ranker: Ranker) -> list[Ranked] | None:
    """The channel's candidates (already filtered, today's score in `score`) in the order of
    the channel's model blended with today's score, cut to `max_items`, above the channel's
    relevance threshold when it has one; None while the channel's model has no feedback (the
    caller keeps today's order)."""
    by_id = {r.paper.id: r for r in chosen}
    ordered = await ranker.order(
        CHANNEL,
        settings.key,
        [r.paper for r in chosen],
        {r.paper.id: r.score for r in chosen},
        threshold=settings.threshold,
        reasons={r.paper.id: r.why for r in chosen},
        explain=settings.max_items,
    )
    if ordered is None:
        return None
    return [
        Ranked(by_id[o.paper.id].paper, o.score, by_id[o.paper.id].group, o.why) for o in ordered[: settings.max_items]
    ]


def paper_facts(paper: Paper, now: datetime) -> tuple[int, float]:
    """A paper's popularity and the part of its digest score that no channel setting changes:
    popularity (log-scaled, 1.5 at 500 votes) plus recency (1.0 fresh, decaying over 3 days).
    A channel adds its topic match (2.0 per paper, more for several topics) and a title hit.
    So topic match weighs most, then popularity, then recency."""
    votes = paper.popularity
    popularity = min(1.0, math.log1p(max(votes, 0)) / math.log1p(500))
    when = paper.published or paper.first_seen or now
    age_hours = max(0.0, (ensure_utc(now) - ensure_utc(when)).total_seconds() / 3600)
    return votes, 1.5 * popularity + math.exp(-age_hours / 72)


def effective_rank(settings: ChannelSettings) -> str:
    """How a channel's digest is ranked: its `rank`, else trending for an email digest with
    no topics (a daily "trending papers in your inbox") and topic match for everything else."""
    if settings.rank:
        return settings.rank
    return "trending" if settings.platform == "email" and not settings.topics else "topic"


def trending_score(paper: Paper, since: datetime, now: datetime) -> tuple[int, float]:
    """What a paper gained on HF daily papers and Reddit in the window [since, now], and its
    trending score: log-scaled gain plus recency (1.0 fresh, decaying over 2 days).

    The store keeps each signal's latest score and when it first appeared (an HF daily entry
    is one signal per day listed, a Reddit post one per post), so the gain of the window is
    the score of the signals that appeared in it. Papers that gained nothing still rank by
    recency, after every paper that did (one upvote outweighs any recency)."""
    gained = sum(max(s.score, 0) for s in paper.signals if ensure_utc(s.observed_at) >= since)
    when = paper.published or paper.first_seen or now
    age_hours = max(0.0, (ensure_utc(now) - ensure_utc(when)).total_seconds() / 3600)
    return gained, 2.0 * math.log1p(gained) + math.exp(-age_hours / 48)


def group_ranked(ranked: Sequence[Ranked]) -> list[tuple[str, list[Ranked]]]:
    """Group by topic; groups in the order of their best paper, papers by score within."""
    groups: dict[str, list[Ranked]] = {}
    for item in ranked:  # already best first
        groups.setdefault(item.group, []).append(item)
    return list(groups.items())


def topic_label(topic_id: str) -> str:
    """A topic id as a group title: its taxonomy name, `Other` for papers with no topic."""
    if topic_id == NO_TOPIC:
        return "Other"
    if topic_id == TRENDING:
        return "Trending"
    try:
        return topic_by_id(topic_id).name
    except KeyError:
        return topic_id
