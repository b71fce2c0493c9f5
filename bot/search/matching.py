"""Matching papers against standing queries (subscriptions, a channel's digest query): query
terms, the compiled `Matcher`, and the inverted indexes `QueryIndex` and `SubscriptionIndex`.

A query matches when every term occurs in the paper's title or abstract (a quoted phrase or
hyphenated word as consecutive words) and, when topics are given, the paper has at least one
of them. Queries are parsed by `bot.search.query.query_terms` (the search grammar: phrases,
hyphenated compounds, stop words dropped); paper text is split into words the same way
(`bot.core.text.plural_folded_words`), and both sides fold a plural `s` ("transformers" finds
"transformer", `bot.core.text.fold_plural`).

New papers are matched against ALL standing queries at once, never every query against every
paper (`match_brute_force` is only the reference the tests compare with): `QueryIndex` keeps
each DISTINCT query once (many users share "diffusion") and files it under one word every
matching paper must have, the rarest by a document frequency sampled from recent papers
(`key_frequency`), so the index does not depend on the batch being matched and is updated in
place as queries come and go. A paper looks up only its own distinct words and verifies those
few candidates (the other words, then each phrase in its padded word text: " a b " occurs
exactly when the words a, b are adjacent). Queries of topics only are listed apart.
`SubscriptionIndex` puts subscriptions on top of it (the reference-checked general index; the
alert scan's long-lived one is `bot.alerts.matcher`).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.core.models import Paper, Subscription
from bot.core.text import fold_plural, plural_folded_words, word_starting_at
from bot.enrich.tagger import tag
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
    """A paper as the matcher sees it: its distinct words, its words in order and as one
    padded text (a phrase "a b" occurs exactly when " a b " is in it), and its topic ids."""

    paper_id: str
    words: frozenset[str]
    text: str  # " tok tok tok " (padded) for phrase checks
    topics: frozenset[str]
    sequence: tuple[str, ...] = ()  # the words in order (`QueryIndex` looks word pairs up in it)


def paper_doc(paper: Paper, topic_ids_: Iterable[str]) -> PaperDoc:
    """Tokenize a paper's title and abstract once for matching."""
    return text_doc(paper.id, paper.title, paper.abstract, topic_ids_)


def text_doc(paper_id: str, title: str, abstract: str, topic_ids_: Iterable[str]) -> PaperDoc:
    """`paper_doc` from a paper's id, title and abstract alone."""
    words = plural_folded_words(f"{title}\n{abstract}")
    return PaperDoc(paper_id, frozenset(words), f" {' '.join(words)} ", frozenset(topic_ids_), tuple(words))


def topics_for(store: Store, papers: Sequence[Paper]) -> dict[str, tuple[str, ...]]:
    """Topic ids per paper: the stored tags, or the offline tagger's for papers not tagged yet
    (tags are written when a summary is made, which may come after the paper arrives)."""
    stored = store.papers.topics_of([p.id for p in papers])
    result: dict[str, tuple[str, ...]] = {}
    for paper in papers:
        found = stored.get(paper.id) or ()
        if not found:
            found = tagged_topics(paper.title, paper.abstract, paper.categories)
        result[paper.id] = found
    return result


def tagged_topics(title: str, abstract: str, categories: Sequence[str]) -> tuple[str, ...]:
    """The offline tagger's topic ids for a paper that has no stored tags yet."""
    return tag(title, abstract, categories)


# --- matching ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Matcher:
    """A compiled query: required terms and optional topics (at least one must match)."""

    terms: tuple[Term, ...]
    topics: frozenset[str]
    words: frozenset[str] = frozenset()  # every word of every term (all are required)
    keys: frozenset[str] = frozenset()  # the words and each adjacent pair "a b" of a phrase
    long_phrases: tuple[str, ...] = ()  # terms of 3+ words as " a b c "
    phrases: tuple[str, ...] = ()  # every term of 2+ words as " a b ": checked in the paper's text

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
        if not self.words <= doc.words:
            return False
        for phrase in self.phrases:
            if phrase not in doc.text:
                return False
        return bool(self.terms or self.topics)

    def words_in(self, folded_text: str) -> bool:
        """Whether every required word is a word of `fold(title + "\\n" + abstract)`, found
        without tokenizing it (`has_word`): the whole answer for a query without phrases."""
        return all(has_word(folded_text, word) for word in self.words)

    def anchor(self, frequency: Mapping[str, int] | None = None) -> str | None:
        """The key the index files this query under: the rarest in `frequency` (how many of
        the papers being matched have each key; a phrase's word pair is often far rarer than
        either word), else the longest word. None: no words (a topic-only query)."""
        if not self.words:
            return None
        if frequency is not None:
            return min(self.keys, key=lambda k: (frequency.get(k, 0), -len(k), k))
        return max(self.words, key=lambda w: (len(w), w))


def word_head(word: str) -> str:
    """What every paper word whose plural folding is `word` starts with: all but its last 3
    letters, and at least its first 3. Plural folding only rewrites a word's ending, and by at
    most 2 of the folded word's letters ("studies" -> "study", "indices" -> "index",
    "corpora" -> "corpus", "analyses" -> "analysis"); the third is to spare."""
    return word[: max(3, len(word) - 3)]


def has_word(folded_text: str, word: str) -> bool:
    """Whether `word` is one of the plural-folded words of already folded text: each place the
    word's head occurs at the start of a word is checked (every word whose plural folding is
    `word` starts with its head), not every word of the text."""
    head = word_head(word)
    start = folded_text.find(head)
    while start >= 0:
        found = word_starting_at(folded_text, start)
        if found is not None and fold_plural(found) == word:
            return True
        start = folded_text.find(head, start + 1)
    return False


def compile_query(query: str, topics: Iterable[str] = ()) -> Matcher:
    """Compile query text and topic ids without `Matcher.compile`'s cache (for loading many
    distinct queries once: they would only push the commands' queries out of it)."""
    return _build(query, frozenset(topics))


def _build(query: str, topics: frozenset[str]) -> Matcher:
    terms = query_terms(query)
    words = frozenset(word for term in terms for word in term)
    pairs = {f"{a} {b}" for term in terms for a, b in zip(term, term[1:], strict=False)}
    return Matcher(
        terms=terms,
        topics=topics,
        words=words,
        keys=words | pairs,
        long_phrases=tuple(f" {' '.join(term)} " for term in terms if len(term) > 2),
        phrases=tuple(f" {' '.join(term)} " for term in terms if len(term) > 1),
    )


_compile = lru_cache(maxsize=262_144)(_build)


def anchor_key(words: Iterable[str], frequency: Mapping[str, int]) -> str:
    """The word to file a query under: the rarest of its words by `frequency` (a word it does
    not list counts as unseen: rarest), the longest on a tie."""
    return min(words, key=lambda w: (frequency.get(w, 0), -len(w), w))


@dataclass(slots=True)
class _Query:
    """One distinct query in a QueryIndex: its words (all required), its phrases (terms of 2+
    words, each required in the paper's text), its topics (one required, if any), and the ids
    of the members (subscriptions) using it."""

    canonical: str
    words: tuple[str, ...]
    phrases: tuple[str, ...]
    topics: frozenset[str]
    members: array[int]
    anchor: str = ""  # the word or word pair it is filed under ("" for a topic-only query)


_Checked = tuple[int, tuple[str, ...], tuple[str, ...], frozenset[str]]


@dataclass(slots=True)
class _Bucket:
    """The queries filed under one word, sorted by what else they need, so that the common
    kinds are found by set intersections (in C) rather than checked one by one: `plain` need
    nothing more (one word, no topics); `with_word` one more word (keyed by it); `with_topic`
    one topic (keyed by it); `checked` are (slot, the other words, the phrases, the topics) to
    verify. A paper looks each of its words up once."""

    plain: list[int]
    with_word: dict[str, list[int]]
    with_topic: dict[str, list[int]]
    checked: list[_Checked]

    def empty(self) -> bool:
        """Whether no query is filed here any more."""
        return not (self.plain or self.with_word or self.with_topic or self.checked)


class QueryIndex:
    """Inverted index over distinct compiled queries, updated in place.

    `add(matcher, member)` files a query (once, however many members share it: equal words,
    phrases and topics are one query) and returns its slot; `discard(slot, member)` forgets a
    member and the query with its last one. `matching(doc)` lists the slots of the word queries
    a paper matches; `topic_only` maps the slots of topic-only queries to their topics (having
    one of them is the whole condition, which callers work out per topic). Anchors come from
    `frequency` (see `anchor_key`); `reanchor` files every query again under a new one.
    """

    def __init__(self, frequency: Mapping[str, int] | None = None) -> None:
        self.frequency: Mapping[str, int] = frequency or {}
        self.topic_only: dict[int, frozenset[str]] = {}
        self._queries: list[_Query | None] = []
        self._free: list[int] = []
        self._slot_of: dict[str, int] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._topics: dict[frozenset[str], frozenset[str]] = {}  # one object per topic set
        # The word pairs queries are filed under, as first word -> second words: a paper looks
        # up only the pairs whose words it has (listing every adjacent pair of every paper cost
        # more than the rest of its tokenizing).
        self._pair_seconds: dict[str, set[str]] = {}

    def __len__(self) -> int:
        """How many distinct queries are filed."""
        return len(self._slot_of)

    def add(self, matcher: Matcher, member: int) -> int:
        """File `member` under the query `matcher` (filing the query if it is new); its slot."""
        if matcher.empty:
            raise ValueError("an empty query matches nothing and is not indexed")
        words = tuple(sorted(matcher.words))
        phrases = tuple(sorted(set(matcher.phrases)))
        topics = self._topics.setdefault(matcher.topics, matcher.topics)
        canonical = "\x1f".join(words) + "\x1e" + "\x1f".join(phrases) + "\x1e" + "\x1f".join(sorted(topics))
        slot = self._slot_of.get(canonical)
        if slot is not None:
            self.join(slot, member)
            return slot
        query = _Query(canonical, words, phrases, topics, array("q", (member,)))
        if self._free:
            slot = self._free.pop()
            self._queries[slot] = query
        else:
            slot = len(self._queries)
            self._queries.append(query)
        self._slot_of[canonical] = slot
        self._file(slot, query)
        return slot

    def join(self, slot: int, member: int) -> None:
        """Add a member to the query already filed in `slot` (what `add` does for a query it
        has, without compiling the query again)."""
        query = self._queries[slot]
        if query is None:
            raise KeyError(slot)
        query.members.append(member)

    def discard(self, slot: int, member: int) -> None:
        """Forget one member of the query in `slot`; the query goes with its last member."""
        query = self._queries[slot]
        if query is None or member not in query.members:
            return
        query.members.remove(member)
        if query.members:
            return
        self._unfile(slot, query)
        del self._slot_of[query.canonical]
        self._queries[slot] = None
        self._free.append(slot)

    def members(self, slot: int) -> array[int]:
        """The members (subscription ids) of the query in `slot`, in the order they came."""
        query = self._queries[slot]
        return query.members if query is not None else array("q")

    def reanchor(self, frequency: Mapping[str, int]) -> None:
        """File every query again under its rarest word by a new `frequency` (the queries stay)."""
        self.frequency = frequency
        self._buckets = {}
        self._pair_seconds = {}
        for slot, query in enumerate(self._queries):
            if query is not None and query.words:
                self._file(slot, query)

    def matching(self, doc: PaperDoc) -> list[int]:
        """Slots of the word queries (not topic-only ones) that the paper matches, each once."""
        found: list[int] = []
        words, text, topics = doc.words, doc.text, doc.topics
        buckets = self._buckets
        anchors = buckets.keys() & words  # the paper's words that anchor something (in C)
        pair_seconds = self._pair_seconds
        if pair_seconds:
            for first, second in _adjacent(doc.sequence):
                seconds = pair_seconds.get(first)
                if seconds is not None and second in seconds:
                    anchors.add(f"{first} {second}")
        for word in anchors:
            bucket = buckets[word]
            if bucket.plain:
                found.extend(bucket.plain)
            if bucket.with_word:
                for other in bucket.with_word.keys() & words:
                    found.extend(bucket.with_word[other])
            if bucket.with_topic and topics:
                for topic in bucket.with_topic.keys() & topics:
                    found.extend(bucket.with_topic[topic])
            for slot, rest, phrases, wanted in bucket.checked:
                if wanted and wanted.isdisjoint(topics):
                    continue
                if rest and not words.issuperset(rest):
                    continue
                for phrase in phrases:
                    if phrase not in text:
                        break
                else:
                    found.append(slot)
        return found

    def _file(self, slot: int, query: _Query) -> None:
        if not query.words:
            self.topic_only[slot] = query.topics
            return
        anchor, rest, phrases = self._filing(query)
        query.anchor = anchor
        bucket = self._buckets.get(anchor)
        if bucket is None:
            bucket = self._buckets[anchor] = _Bucket([], {}, {}, [])
            if " " in anchor:
                first, _, second = anchor.partition(" ")
                self._pair_seconds.setdefault(first, set()).add(second)
        kind, key = _kind(rest, phrases, query.topics)
        if kind == "plain":
            bucket.plain.append(slot)
        elif kind == "word":
            bucket.with_word.setdefault(key, []).append(slot)
        elif kind == "topic":
            bucket.with_topic.setdefault(key, []).append(slot)
        else:
            bucket.checked.append((slot, rest, phrases, query.topics))

    def _filing(self, query: _Query) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        """Where a word query is filed: its anchor, the words it needs besides (rarest first,
        so a paper without them is turned away soonest) and the phrases left to check in the
        paper's text. The anchor is the rarest of its words and of the adjacent word pairs of
        its phrases: a pair counts as rarer than any word (it is at most as common as either of
        its words; `frequency` lists only words). A paper having the pair "a b" has the words a
        and b, and the phrase " a b " exactly (its pairs are its adjacent words), so those are
        not checked again; a longer phrase still is."""
        frequency = self.frequency
        pairs = [f"{a} {b}" for phrase in query.phrases for a, b in _adjacent(phrase.split())]
        if pairs:
            anchor = min(pairs, key=lambda pair: (min(frequency.get(w, 0) for w in pair.split(" ")), -len(pair), pair))
            covered = set(anchor.split(" "))
            phrases = tuple(phrase for phrase in query.phrases if phrase != f" {anchor} ")
        else:
            anchor = anchor_key(query.words, frequency)
            covered = {anchor}
            phrases = query.phrases
        rest = tuple(sorted((w for w in query.words if w not in covered), key=lambda w: (frequency.get(w, 0), w)))
        return anchor, rest, phrases

    def _unfile(self, slot: int, query: _Query) -> None:
        if not query.words:
            del self.topic_only[slot]
            return
        bucket = self._buckets[query.anchor]
        _, rest, phrases = self._filing(query)
        kind, key = _kind(rest, phrases, query.topics)
        if kind == "plain":
            bucket.plain.remove(slot)
        elif kind in ("word", "topic"):
            keyed = bucket.with_word if kind == "word" else bucket.with_topic
            keyed[key].remove(slot)
            if not keyed[key]:
                del keyed[key]
        else:
            bucket.checked[:] = [entry for entry in bucket.checked if entry[0] != slot]
        if bucket.empty():
            del self._buckets[query.anchor]
            if " " in query.anchor:
                first, _, second = query.anchor.partition(" ")
                seconds = self._pair_seconds[first]
                seconds.discard(second)
                if not seconds:
                    del self._pair_seconds[first]


def _adjacent(words: Sequence[str]) -> Iterator[tuple[str, str]]:
    return zip(words, words[1:], strict=False)


def _kind(rest: tuple[str, ...], phrases: tuple[str, ...], topics: frozenset[str]) -> tuple[str, str]:
    """Which part of its anchor's bucket a query goes in, and under which key."""
    if phrases:
        return "checked", ""
    if not rest and not topics:
        return "plain", ""
    if len(rest) == 1 and not topics:
        return "word", rest[0]
    if not rest and len(topics) == 1:
        return "topic", next(iter(topics))
    return "checked", ""


class SubscriptionIndex:
    """Subscriptions on a QueryIndex: each distinct query is checked once per paper, then every
    subscription using it matches. Add and remove subscriptions in place.

    `frequency` (key -> how many recent papers have it, see `key_frequency`) picks the anchors;
    without it the longest key is the anchor. Either way the matches are the same.
    """

    def __init__(self, subscriptions: Iterable[Subscription] = (), frequency: Mapping[str, int] | None = None) -> None:
        self.queries = QueryIndex(frequency)
        self._subscriptions: dict[int, tuple[Subscription, int]] = {}  # id -> (it, its query slot)
        for sub in subscriptions:
            self.add(sub)

    @property
    def size(self) -> int:
        """How many subscriptions are indexed (empty queries never are)."""
        return len(self._subscriptions)

    def add(self, sub: Subscription) -> bool:
        """Index a subscription (replacing one with its id); False if its query is empty."""
        self.remove(sub.id)
        matcher = Matcher.compile(sub.query, sub.topics)
        if matcher.empty:
            return False
        self._subscriptions[sub.id] = (sub, self.queries.add(matcher, sub.id))
        return True

    def remove(self, subscription_id: int) -> bool:
        """Forget a subscription; False if it was not indexed."""
        found = self._subscriptions.pop(subscription_id, None)
        if found is None:
            return False
        self.queries.discard(found[1], subscription_id)
        return True

    def query_matches(self, doc: PaperDoc) -> Iterator[Subscription]:
        """Subscriptions with words in their query that the paper matches (each once)."""
        subscriptions = self._subscriptions
        for slot in self.queries.matching(doc):
            for member in self.queries.members(slot):
                yield subscriptions[member][0]

    def match(self, doc: PaperDoc) -> list[Subscription]:
        """Every subscription the paper matches, each once, by id."""
        found: dict[int, Subscription] = {sub.id: sub for sub in self.query_matches(doc)}
        for slot, topics in self.queries.topic_only.items():
            if not topics.isdisjoint(doc.topics):  # topic-only: having the topic is the whole condition
                for member in self.queries.members(slot):
                    found[member] = self._subscriptions[member][0]
        return [found[key] for key in sorted(found)]


def key_frequency(docs: Iterable[PaperDoc], *, at_least: int = 1) -> dict[str, int]:
    """How many of the docs have each word (document frequency), keeping the words found in
    at least `at_least` of them (a sample of recent papers for anchors need not remember every
    word seen once: an unlisted word counts as the rarest anyway)."""
    counts: dict[str, int] = {}
    for doc in docs:
        for word in doc.words:
            counts[word] = counts.get(word, 0) + 1
    if at_least > 1:
        return {key: count for key, count in counts.items() if count >= at_least}
    return counts


def match_brute_force(subscriptions: Sequence[Subscription], docs: Sequence[PaperDoc]) -> dict[str, list[Subscription]]:
    """For each paper, every subscription it matches, testing every pair (the reference the
    index is checked against; far too slow for production)."""
    compiled = [(sub, Matcher.compile(sub.query, sub.topics)) for sub in subscriptions]
    return {doc.paper_id: [sub for sub, m in compiled if m.matches(doc)] for doc in docs}
