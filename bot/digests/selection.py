"""Which papers a channel's digest holds: the candidate pool, filtering and ranking.

A digest holds the papers announced or trending since the channel's previous digest (the first
one: the last 24 h) that the channel has not seen yet (`delivered_papers`), filtered by the
channel's topics, query, sources, minimum score and whether replaced versions are shown.
Papers are ranked by topic match, popularity and recency and the best `max_items` kept; once
people in the channel gave feedback, the channel's model (bot.rank) re-ranks them blended with
that score, and a relevance threshold may keep fewer. The pool of candidates is loaded once for
every channel due at the same time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.core.clock import ensure_utc, to_iso
from bot.core.models import ChannelSettings, Paper, SourceKind
from bot.core.text import plural_folded_words
from bot.enrich.taxonomy import topic_by_id
from bot.rank.models import CHANNEL
from bot.rank.ranking import Ranker
from bot.search.matching import Matcher, PaperDoc, paper_doc, topics_for
from bot.store import Store

FIRST_WINDOW = timedelta(hours=24)
MAX_WINDOW = timedelta(days=14)  # after a long downtime, a digest still looks back at most this far
NO_TOPIC = "_other"
TRENDING = "_trending"  # the one group of a digest ranked by what is trending
# A digest brings news: a paper first published (or, for a shown update, last updated) this
# long before the digest's window is old news however recently a source mentioned it (an HF
# daily list or a Reddit post can surface a years-old paper; search still finds it).
STALE_AFTER = timedelta(days=30)


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

    def facts(self, paper: Paper) -> tuple[int, float]:
        """`paper_facts` at the pool's time, computed once per paper."""
        found = self._facts.get(paper.id)
        if found is None:
            found = self._facts[paper.id] = paper_facts(paper, self.now)
        return found


def load_pool(store: Store, since: datetime, now: datetime) -> Pool:
    """Every paper first seen or changed since `since` (up to the present), with topic ids.

    No upper bound: a paper stored at the very instant a digest is built belongs in it, and
    one that arrives while it is built is at worst considered again next time (the ledger
    keeps it from being posted twice)."""
    papers = store.papers.changed(since=since, limit=None)
    changed = store.papers.changed_at_since(since)
    return Pool(since, papers, changed, topics_for(store, papers), now)


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
    wanted_sources = set(settings.sources)
    wanted_topics = settings.topics
    matcher = Matcher.compile(settings.query) if settings.query else None
    if matcher is not None and matcher.empty:
        matcher = None
    trending = effective_rank(settings) == "trending"
    since = window_start(settings, now)
    chosen: list[Ranked] = []
    for paper in candidates:
        seen_version = delivered.get(paper.id)
        if seen_version is not None and not (settings.show_updated and paper.version > seen_version):
            continue  # never repeat a paper; a newer version only when updates are shown
        if paper.is_updated and not settings.show_updated:
            continue  # a replaced version (arXiv "replace" or a newer version): only with updated:yes
        if wanted_sources and not (_sources_of(paper) & wanted_sources):
            continue
        popularity, base = facts_of(paper) if facts_of else paper_facts(paper, now)
        if popularity < settings.min_score:
            continue
        paper_topics = topics.get(paper.id, ())
        hits = [t for t in wanted_topics if t in paper_topics]
        if wanted_topics and not hits:
            continue
        title_hit = 0.0
        if matcher is not None:
            doc = doc_of(paper) if doc_of else paper_doc(paper, paper_topics)
            if not matcher.matches(doc):
                continue
            title_words = set(plural_folded_words(paper.title))
            title_hit = 1.0 if any(word in title_words for term in matcher.terms for word in term) else 0.0
        if trending:
            gained, score = trending_score(paper, since, now)
            why = f"trending: +{gained:,} upvotes and points" if gained else ""
            chosen.append(Ranked(paper, score, TRENDING, why))
            continue
        topical = (1.0 + 0.25 * (len(hits) - 1)) if wanted_topics else 1.0
        score = 2.0 * topical + base + 0.5 * title_hit
        group = hits[0] if hits else (paper_topics[0] if paper_topics else NO_TOPIC)
        why = f"topic: {topic_label(group)}" if hits else (f"matched: {settings.query}" if matcher else "")
        chosen.append(Ranked(paper, score, group, why))
    chosen.sort(key=lambda r: (-r.score, r.paper.id))
    return chosen if keep_all else chosen[: settings.max_items]


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
