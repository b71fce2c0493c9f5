"""The offline topic tagger: 0 to 3 taxonomy topic ids for a paper, from its text and categories.

How a paper is tagged:

1. The gate. A text gets topics only if it is ML/AI research at all: its ML/AI vocabulary
   (the [research] phrases of taxonomy.toml) adds up to the threshold, or one of its arXiv
   categories is an ML/AI category. Otherwise the answer is `()`: news, recipes, games, software
   chatter and non-ML science get no tag, and no slot is filled with a guess.
2. Evidence. Every topic's phrases are looked up in the title (counted double) and the abstract;
   repeats add less than first mentions. arXiv categories add evidence too, and the topic the
   PRIMARY category names is always kept (authors choose it; cs.AI and cs.LG name none).
   An extended topic's text evidence also counts, at a discount, for its core parent, when the
   parent has some evidence of its own ("reasoning" alone does not make an LLM paper).
3. Choosing. Core topics are ranked on their own: the best one is tagged, a second and third
   only when their evidence is close enough to the best one's (relative, not absolute, so short
   and long abstracts are treated alike). Extended topics compete only for what is left: they
   never push out the first two core tags, and take the third slot only when stronger than the
   third core candidate. Research with no topic evidence gets the catch-all "ml".
4. Confirming. A learned model (bot.enrich.topic_model: one logistic regression per core topic
   over every word and word pair) vetoes a core tag it finds very unlikely and adds a core topic
   it is sure of. The rules read phrases; the model reads the whole text and learned what arXiv
   authors file under cs.CV, cs.CL and cs.RO, so the two disagree where one of them is wrong.

Deterministic, offline, thousands of papers per second: text is tokenized once (for the rules and
the model), and each 1- to 5-word window that starts a known phrase is looked up in one dict.
All weights and phrases are in taxonomy.toml; the few numbers below say how evidence is combined.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress
from types import MappingProxyType

from bot.core.text import fold_plural, folded_words
from bot.enrich.taxonomy import SHIPPED, Taxonomy
from bot.enrich.topic_model import TopicModel, shipped_model

MAX_TAGS = 3
_TITLE_FACTOR = 2.0
# Repeats add less than the first mention: a word used five times is not five topics.
_REPEAT_BONUS = 0.35
_MAX_REPEATS = 3
_PRIMARY_CATEGORY = 4.0
_OTHER_CATEGORY = 1.5
_PARENT_SHARE = 0.5
_PARENT_EVIDENCE = 1.0  # more than one weak phrase's worth
# A second or third core tag needs this share of the best core topic's score, and at least one
# normal phrase's worth of evidence.
_CORE_RELATIVE = 0.35
_CORE_MINIMUM = 1.5
# An extended tag needs this share of the best score of all, and one strong phrase's worth.
_EXTENDED_RELATIVE = 0.5
_EXTENDED_MINIMUM = 3.0
_MAX_PHRASE = 5
# The learned model (bot.enrich.topic_model) vetoes a core rule tag below the first chance and adds
# a core topic at or above the second; both chosen on the tuning half and the weak labels.
_MODEL_VETO = 0.1
_MODEL_SURE = 0.7
_GENRE_MINIMUM = 1


# Paper text repeats the same few thousand words; folding each once makes tagging a third faster.
_fold_cached = lru_cache(maxsize=1 << 16)(fold_plural)


def _tokens(text: str) -> list[str]:
    # The one normalizer search and matching use; a TeX umlaut (\"o) reads as the letter.
    # map() keeps the per-word call to the (C) memo out of a Python-level loop.
    return list(map(_fold_cached, folded_words(text.replace('\\"', "").replace("'s ", " "))))


@dataclass(frozen=True, slots=True)
class _Tables:
    """Everything the tagger looks up, built once from a taxonomy."""

    ids: tuple[str, ...]
    core: tuple[bool, ...]
    parent: tuple[int, ...]  # index of the core parent, or -1
    catch_all: int
    phrases: MappingProxyType[tuple[str, ...], tuple[tuple[int, float], ...]]
    research: MappingProxyType[tuple[str, ...], float]
    genre: frozenset[tuple[str, ...]]
    # Every leading part of every phrase (to stop scanning early) -> (is a topic phrase, research
    # weight, is a genre phrase): what `_scan` asks of one window, in one lookup. A plain dict,
    # never changed: it is read ~130 times per abstract, and a proxy's get() costs a call more.
    windows: Mapping[tuple[str, ...], tuple[bool, float, bool]]
    first_words: frozenset[str]  # the first word of every phrase
    categories: MappingProxyType[str, tuple[int, ...]]
    ml_categories: frozenset[str]
    paper_hosts: tuple[str, ...]
    threshold: float


def _build_tables(taxonomy: Taxonomy) -> _Tables:
    """The lookup tables for `taxonomy` (the shipped one is built once, at import)."""
    entries = taxonomy.entries
    index = {entry.topic.id: i for i, entry in enumerate(entries)}
    phrases: dict[tuple[str, ...], dict[int, float]] = {}
    categories: dict[str, list[int]] = {}
    for i, entry in enumerate(entries):
        for phrase, weight in entry.phrases:
            key = tuple(_tokens(phrase))
            if key and len(key) <= _MAX_PHRASE:
                slot = phrases.setdefault(key, {})
                slot[i] = max(slot.get(i, 0.0), weight)
        for category in entry.topic.arxiv_categories:
            categories.setdefault(category.lower(), []).append(i)
    research: dict[tuple[str, ...], float] = {}
    for phrase, weight in taxonomy.research.phrases:
        key = tuple(_tokens(phrase))
        if key and len(key) <= _MAX_PHRASE:
            research[key] = max(research.get(key, 0.0), weight)
    genre = {tuple(_tokens(phrase)) for phrase in taxonomy.research.genre}
    prefixes = frozenset(key[:end] for key in (*phrases, *research, *genre) for end in range(1, len(key) + 1))
    return _Tables(
        ids=tuple(entry.topic.id for entry in entries),
        core=tuple(entry.core for entry in entries),
        parent=tuple(index[entry.parent] if entry.parent else -1 for entry in entries),
        catch_all=next(i for i, entry in enumerate(entries) if entry.catch_all),
        phrases=MappingProxyType({key: tuple(sorted(value.items())) for key, value in phrases.items()}),
        research=MappingProxyType(research),
        genre=frozenset(genre),
        windows={key: (key in phrases, research.get(key, 0.0), key in genre) for key in prefixes},
        first_words=frozenset(key[0] for key in (*phrases, *research, *genre)),
        categories=MappingProxyType({key: tuple(value) for key, value in categories.items()}),
        ml_categories=frozenset(category.lower() for category in taxonomy.research.ml_categories),
        paper_hosts=taxonomy.research.paper_hosts,
        threshold=taxonomy.research.threshold,
    )


_SHIPPED_TABLES = _build_tables(SHIPPED)


@dataclass(slots=True)
class _Scan:
    """What one text contains: topic phrases (longest match) with counts, ML/AI vocabulary,
    research-writing phrases."""

    topic_phrases: dict[tuple[str, ...], int]
    vocabulary: dict[tuple[str, ...], float]
    genre: int


def _scan(tokens: list[str], tables: _Tables) -> _Scan:
    """One pass over the 1- to 5-word windows of `tokens`, stopping a window as soon as it is no
    known phrase's beginning. Topic phrases are read left to right taking the longest at each
    position, so "multimodal large language model" is not also "large language model"; the
    research vocabulary counts every window."""
    size = len(tokens)
    longest: dict[int, tuple[str, ...]] = {}  # start -> the longest topic phrase there, starts ascending
    vocabulary: dict[tuple[str, ...], float] = {}
    genre = 0
    windows = tables.windows
    # compress() picks the starts that begin some phrase without a Python-level test per token.
    for start in compress(range(size), map(tables.first_words.__contains__, tokens)):
        for end in range(start + 1, min(start + _MAX_PHRASE, size) + 1):
            key = tuple(tokens[start:end])
            window = windows.get(key)
            if window is None:
                break
            is_phrase, weight, is_genre = window
            if is_phrase:
                longest[start] = key
            if weight:
                vocabulary[key] = weight
            if is_genre:
                genre += 1
    topic_phrases: dict[tuple[str, ...], int] = {}
    free = 0  # a phrase starting before this is inside one already counted
    for start, found in longest.items():
        if start >= free:
            topic_phrases[found] = topic_phrases.get(found, 0) + 1
            free = start + len(found)
    return _Scan(topic_phrases, vocabulary, genre)


@dataclass(frozen=True, slots=True)
class _Evidence:
    scores: list[float]  # per topic, text and categories
    research: float  # ML/AI vocabulary, each phrase counted once
    genre: int  # research-writing phrases found
    ml_category: bool
    primary: tuple[int, ...]  # topics the primary category names


def _evidence(
    title_words: list[str], abstract_words: list[str], categories: Sequence[str], tables: _Tables
) -> _Evidence:
    scores = [0.0] * len(tables.ids)
    research: dict[tuple[str, ...], float] = {}
    genre = 0
    for words, factor in ((title_words, _TITLE_FACTOR), (abstract_words, 1.0)):
        scan = _scan(words, tables)
        for key, count in scan.topic_phrases.items():
            repeat = 1.0 + _REPEAT_BONUS * min(count - 1, _MAX_REPEATS)
            for i, weight in tables.phrases[key]:
                scores[i] += weight * factor * repeat
        research.update(scan.vocabulary)
        genre += scan.genre
    # An extended topic's text evidence is evidence for its core parent too ("Agents" -> LLMs).
    # Only a parent with some evidence of its own: "reasoning" about document images is no LLM paper.
    direct = scores.copy()
    for i, parent in enumerate(tables.parent):
        if parent >= 0 and direct[parent] >= _PARENT_EVIDENCE:
            scores[parent] += _PARENT_SHARE * direct[i]
    primary: tuple[int, ...] = ()
    ml_category = False
    for position, category in enumerate(categories):
        lowered = category.lower()
        ml_category = ml_category or lowered in tables.ml_categories
        matches = tables.categories.get(lowered) or tables.categories.get(lowered.split(".")[0], ())
        for i in matches:
            scores[i] += _PRIMARY_CATEGORY if position == 0 else _OTHER_CATEGORY
        if position == 0:
            primary = tuple(i for i in matches if i != tables.catch_all)
    return _Evidence(scores, sum(research.values()), genre, ml_category, primary)


def _passes_gate(evidence: _Evidence, tables: _Tables) -> bool:
    return evidence.ml_category or evidence.research >= tables.threshold


def topic_scores(title: str, abstract: str, categories: Sequence[str] = ()) -> dict[str, float]:
    """Evidence score per topic id (only topics with evidence), for tagging and for tuning; the
    pseudo-id "research" holds the gate's ML/AI evidence."""
    tables = _SHIPPED_TABLES
    evidence = _evidence(_tokens(title), _tokens(abstract), categories, tables)
    scores = {tables.ids[i]: round(s, 3) for i, s in enumerate(evidence.scores) if s > 0}
    scores["research"] = round(evidence.research, 3)
    return scores


def _choose(evidence: _Evidence, tables: _Tables) -> list[int]:
    """Topic indexes to tag, best first (see the module docstring)."""
    scores = evidence.scores
    order = sorted(
        (i for i, s in enumerate(scores) if s > 0 and i != tables.catch_all), key=lambda i: (-scores[i], i)
    )
    core = [i for i in order if tables.core[i]]
    extended = [i for i in order if not tables.core[i]]
    chosen: list[int] = []
    if core and scores[core[0]] >= _CORE_MINIMUM:
        best = scores[core[0]]
        chosen = [core[0]] + [
            i for i in core[1:MAX_TAGS] if scores[i] >= _CORE_RELATIVE * best and scores[i] >= _CORE_MINIMUM
        ]
    top = scores[order[0]] if order else 0.0
    strong_extended = [
        i for i in extended if scores[i] >= _EXTENDED_RELATIVE * top and scores[i] >= _EXTENDED_MINIMUM
    ]
    for i in strong_extended:
        if len(chosen) < MAX_TAGS:
            chosen.append(i)
        elif len(chosen) == MAX_TAGS and tables.core[chosen[-1]] and scores[i] > scores[chosen[-1]]:
            chosen[-1] = i  # the third slot goes to the stronger of a core and an extended topic
    for i in evidence.primary:  # the primary category's topic is always kept
        if i not in chosen:
            if len(chosen) >= MAX_TAGS:
                chosen.pop()
            chosen.append(i)
    return sorted(chosen, key=lambda i: (-scores[i], i))


def _confirm(chosen: list[int], evidence: _Evidence, chances: Mapping[str, float], tables: _Tables) -> list[int]:
    """The rule tags checked against the learned model: a core tag the model finds very unlikely
    is dropped (unless the primary category names it), a core topic the model is sure of is
    added (taking the place of an extended tag when all slots are full). A paper is never left
    with extended tags only: then the model's most likely core topic joins them."""
    kept = [
        i for i in chosen
        if not tables.core[i] or i in evidence.primary or chances.get(tables.ids[i], 1.0) >= _MODEL_VETO
    ]
    sure = sorted(
        (i for i, topic in enumerate(tables.ids) if tables.core[i] and chances.get(topic, 0.0) >= _MODEL_SURE),
        key=lambda i: (-chances[tables.ids[i]], i),
    )
    if kept and not sure and not any(tables.core[i] for i in kept):
        likely = [i for i, topic in enumerate(tables.ids) if tables.core[i] and topic in chances]
        sure = [max(likely, key=lambda i: (chances[tables.ids[i]], -i))] if likely else []
    for i in sure:
        if i in kept:
            continue
        if len(kept) >= MAX_TAGS:
            extended = [j for j in kept if not tables.core[j] and j not in evidence.primary]
            if not extended:
                break
            kept.remove(extended[-1])
        kept.append(i)
    return kept


def rule_tags(title: str, abstract: str, categories: Sequence[str] = ()) -> tuple[str, ...]:
    """What the rules alone tag (topic ids, best first): the labels the learned model was
    trained on for topics no arXiv category names."""
    tables = _SHIPPED_TABLES
    evidence = _evidence(_tokens(title), _tokens(abstract), categories, tables)
    if not _passes_gate(evidence, tables):
        return ()
    return tuple(tables.ids[i] for i in _choose(evidence, tables) or [tables.catch_all])


def tag(
    title: str, abstract: str, categories: Sequence[str] = (), *, model: TopicModel | None = None
) -> tuple[str, ...]:
    """Taxonomy topic ids for a paper, best first: 1 to 3 for ML/AI research, `()` for anything
    else (names are for display only: `bot.enrich.taxonomy.topic_name`).

    Deterministic and offline. Research with no specific evidence gets the catch-all ("ml",).
    `model` replaces the shipped learned model (for training and its tests).
    """
    tables = _SHIPPED_TABLES
    title_words, abstract_words = _tokens(title), _tokens(abstract)
    evidence = _evidence(title_words, abstract_words, categories, tables)
    if not _passes_gate(evidence, tables):
        return ()
    chances = (model or shipped_model()).probabilities(title_words, abstract_words)
    chosen = _confirm(_choose(evidence, tables), evidence, chances, tables) or [tables.catch_all]
    return tuple(tables.ids[i] for i in chosen)


def is_research(title: str, abstract: str, categories: Sequence[str] = ()) -> bool:
    """Whether an item (a paper, a Reddit post, a feed entry) is ML/AI research worth a digest.

    arXiv items in an ML/AI category are. Other items need ML/AI vocabulary (the tagger's gate)
    and either a link to a paper (arxiv.org, openreview.net, doi.org, ...) or the way research
    is written about ("we propose", "this paper", "state of the art"); ML chatter, news and
    off-topic posts are not.
    """
    tables = _SHIPPED_TABLES
    evidence = _evidence(_tokens(title), _tokens(abstract), categories, tables)
    if evidence.ml_category:
        return True
    if evidence.research < tables.threshold:
        return False
    lowered = f"{title} {abstract}".lower()
    has_paper_link = any(host in lowered for host in tables.paper_hosts)
    return has_paper_link or evidence.genre >= _GENRE_MINIMUM
