"""Matching papers against standing queries (subscriptions, a channel's digest query): query
terms, the compiled `Matcher`, and the inverted `SubscriptionIndex`.

A query matches when every term occurs in the paper's title or abstract (a quoted phrase or
hyphenated word as consecutive words) and, when topics are given, the paper has at least one
of them. Queries are parsed by `bot.search.query.query_terms` (the search grammar: phrases,
hyphenated compounds, stop words dropped); paper text is split into words the same way
(`bot.core.text.plural_folded_words`), and both sides fold a plural `s` ("transformers" finds
"transformer", `bot.core.text.fold_plural`).

New papers are matched against ALL subscriptions at once, never every subscription against
every paper (`match_brute_force` is only the reference the tests compare with):
`SubscriptionIndex` files each query under one key every matching paper must have: a word, or
an adjacent word pair of a phrase, choosing the rarest among the batch being matched
(`key_frequency`); a paper looks up only its own keys and verifies those few candidates.
Topic-only subscriptions are filed under their topics.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.core.models import Paper, Subscription
from bot.core.text import fold_plural, plural_folded_words
from bot.enrich.tagger import tag
from bot.enrich.taxonomy import topic_ids
from bot.search.query import STOPWORDS
from bot.search.query import query_terms as search_query_terms
from bot.store import Store

Term = tuple[str, ...]


# --- query terms and paper words -----------------------------------------------------------


def query_terms(text: str) -> tuple[Term, ...]:
    """The required terms of a subscription or channel query, in order, without repeats.

    Parsed by `bot.search.query.query_terms`, so a subscription reads a query exactly as a search
    does (quoted phrases and hyphenated words like `self-supervised` are phrases; stop words
    and AND/OR/NOT dropped), then plural-folded like paper text. A query of nothing but stop
    words has no terms here (search keeps them; an alert on "the" would match every paper).
    """
    raw = search_query_terms(text)
    if all(word in STOPWORDS for term in raw for word in term.split()):
        return ()
    return tuple(dict.fromkeys(tuple(fold_plural(word) for word in term.split()) for term in raw))


@dataclass(frozen=True, slots=True)
class PaperDoc:
    """A paper as the matcher sees it: its distinct words, its word text, its topic ids, and
    its index keys (the words plus each adjacent word pair "a b", for phrase queries)."""

    paper_id: str
    words: frozenset[str]
    text: str  # " tok tok tok " (padded) for phrase checks
    topics: frozenset[str]
    keys: frozenset[str]


def paper_doc(paper: Paper, topic_ids_: Iterable[str]) -> PaperDoc:
    """Tokenize a paper's title and abstract once for matching."""
    words = plural_folded_words(f"{paper.title}\n{paper.abstract}")
    distinct = frozenset(words)
    pairs = {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}
    return PaperDoc(paper.id, distinct, " " + " ".join(words) + " ", frozenset(topic_ids_), distinct | pairs)


def topics_for(store: Store, papers: Sequence[Paper]) -> dict[str, tuple[str, ...]]:
    """Topic ids per paper: the stored tags, or the offline tagger's for papers not tagged yet
    (tags are written when a summary is made, which may come after the paper arrives)."""
    stored = store.papers.topics_of([p.id for p in papers])
    result: dict[str, tuple[str, ...]] = {}
    for paper in papers:
        found = stored.get(paper.id) or ()
        if not found:
            found = topic_ids(tag(paper.title, paper.abstract, paper.categories))
        result[paper.id] = found
    return result


# --- matching ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Matcher:
    """A compiled query: required terms and optional topics (at least one must match)."""

    terms: tuple[Term, ...]
    topics: frozenset[str]
    words: frozenset[str] = frozenset()  # every word of every term (all are required)
    keys: frozenset[str] = frozenset()  # index keys a matching paper must have: words and pairs
    long_phrases: tuple[str, ...] = ()  # terms of 3+ words as " a b c ": pairs are not enough

    @classmethod
    def compile(cls, query: str, topics: Iterable[str] = ()) -> Matcher:
        """Compile query text and topic ids (cached: many users share queries)."""
        return _compile(query, frozenset(topics))

    @property
    def empty(self) -> bool:
        """Whether there is nothing to match on (it would match nothing)."""
        return not self.terms and not self.topics

    def matches(self, doc: PaperDoc) -> bool:
        """Whether the paper satisfies every term and (if any) one of the topics."""
        if self.topics and self.topics.isdisjoint(doc.topics):
            return False
        # Every word and every adjacent pair of a phrase: exact for words and 2-word phrases.
        if not self.keys <= doc.keys:
            return False
        for phrase in self.long_phrases:
            if phrase not in doc.text:
                return False
        return bool(self.terms or self.topics)

    def anchor(self, frequency: Mapping[str, int] | None = None) -> str | None:
        """The key the index files this query under: the rarest in `frequency` (how many of
        the papers being matched have each key; a phrase's word pair is often far rarer than
        either word), else the longest word. None: no words (a topic-only query)."""
        if not self.words:
            return None
        if frequency is not None:
            return min(self.keys, key=lambda k: (frequency.get(k, 0), -len(k), k))
        return max(self.words, key=lambda w: (len(w), w))


@lru_cache(maxsize=262_144)
def _compile(query: str, topics: frozenset[str]) -> Matcher:
    terms = query_terms(query)
    words = frozenset(word for term in terms for word in term)
    pairs = {f"{a} {b}" for term in terms for a, b in zip(term, term[1:], strict=False)}
    return Matcher(
        terms=terms,
        topics=topics,
        words=words,
        keys=words | pairs,
        long_phrases=tuple(f" {' '.join(term)} " for term in terms if len(term) > 2),
    )


class SubscriptionIndex:
    """Inverted index over subscriptions: anchor key -> subscriptions; topic -> subscriptions.

    Given `frequency` (key -> how many of the papers about to be matched have it, see
    `key_frequency`), each query is filed under its rarest key (a word, or a word pair of a
    phrase), and a query with a key no paper has is left out: it cannot match this batch.
    Without it, the longest word is the anchor.
    """

    def __init__(self, subscriptions: Iterable[Subscription], frequency: Mapping[str, int] | None = None) -> None:
        self.by_word: dict[str, list[tuple[Subscription, Matcher]]] = {}
        self.by_topic: dict[str, list[Subscription]] = {}
        self.size = 0
        for sub in subscriptions:
            matcher = Matcher.compile(sub.query, sub.topics)
            if matcher.empty:
                continue
            anchor = matcher.anchor(frequency)
            if anchor is None:
                for topic in matcher.topics:
                    self.by_topic.setdefault(topic, []).append(sub)
            elif frequency is not None and not frequency.get(anchor):
                continue  # a required word no paper in the batch has
            else:
                self.by_word.setdefault(anchor, []).append((sub, matcher))
            self.size += 1

    def query_matches(self, doc: PaperDoc) -> Iterator[Subscription]:
        """Subscriptions with a query that the paper matches (each once: one anchor each)."""
        by_word = self.by_word
        for key in doc.keys:
            candidates = by_word.get(key)
            if candidates:
                for sub, matcher in candidates:
                    if matcher.matches(doc):
                        yield sub

    def match(self, doc: PaperDoc) -> list[Subscription]:
        """Every subscription the paper matches, each once, by id."""
        found: dict[int, Subscription] = {sub.id: sub for sub in self.query_matches(doc)}
        by_topic = self.by_topic
        for topic in doc.topics:
            for sub in by_topic.get(topic, ()):
                found[sub.id] = sub  # topic-only: having the topic is the whole condition
        return [found[key] for key in sorted(found)]


def key_frequency(docs: Iterable[PaperDoc]) -> dict[str, int]:
    """How many of the docs have each index key (document frequency within a batch)."""
    counts: dict[str, int] = {}
    for doc in docs:
        for key in doc.keys:
            counts[key] = counts.get(key, 0) + 1
    return counts


def match_brute_force(subscriptions: Sequence[Subscription], docs: Sequence[PaperDoc]) -> dict[str, list[Subscription]]:
    """For each paper, every subscription it matches, testing every pair (the reference the
    index is checked against; far too slow for production)."""
    compiled = [(sub, Matcher.compile(sub.query, sub.topics)) for sub in subscriptions]
    return {doc.paper_id: [sub for sub, m in compiled if m.matches(doc)] for doc in docs}
