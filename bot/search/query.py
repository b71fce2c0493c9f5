"""What a search asks for, and that question compiled for the full-text index.

Query text
    `query_terms` turns user text into terms: words (letters and digits only; accents, case and
    compatibility forms folded by `bot.core.text`; `gpt-4o` or `text-to-sql` become phrases of
    their parts) and "quoted phrases" (straight or curly quotes). Common English stop words are
    dropped outside phrases (unless nothing else is left). At most 8 terms of at most 8 words of
    at most 40 characters are kept, from the first 1,000 characters. `fts_query` quotes every
    term as an FTS5 string and joins them with spaces (implicit AND), so no user character is
    ever FTS5 syntax: quotes, `*`, `NEAR`, `AND/OR/NOT`, `-`, `:`, `^` and parentheses are
    separators or plain words.

Filters (`SearchQuery` -> `Plan`)
    since: the paper's time is `published`, falling back to `first_seen` when the source gave
    no date, compared to the second (a key range of the index: `bot.store.fulltext.since_key`).
    source: papers.sources (JSON list) contains it. topic: a row in paper_topics with that topic
    id string (both a `PaperFilter`). author: every word of the name appears, in order, in the
    authors column (an FTS5 column phrase: "lecun", "Yann LeCun" both match).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from bot.core.clock import ensure_utc
from bot.core.models import SourceKind
from bot.core.text import fold, folded_words, split_words
from bot.store.fulltext import PaperFilter, since_key

__all__ = [
    "SORTS", "STOPWORDS", "MAX_INPUT_CHARS", "MAX_TERMS", "MAX_PHRASE_WORDS", "MAX_LIMIT",
    "query_terms", "fts_string", "fts_query", "as_text",
    "SearchQuery", "normalized", "utc", "has_words", "has_filters", "Plan", "plan_for", "no_words",
]

SORTS = ("relevance", "new", "top")
MAX_INPUT_CHARS = 1000
MAX_TERMS = 8
MAX_PHRASE_WORDS = 8
MAX_LIMIT = 1000

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


def fts_string(term: str) -> str:
    """An FTS5 string: the term in double quotes, any double quote doubled."""
    return '"' + term.replace('"', '""') + '"'


def fts_query(text: str) -> str | None:
    """A safe FTS5 MATCH expression for user text (every term quoted, implicit AND), or None
    when the text has no searchable words."""
    terms = query_terms(text)
    return " ".join(fts_string(term) for term in terms) if terms else None


def as_text(terms: Iterable[str]) -> str:
    """Terms back as query text (phrases quoted)."""
    return " ".join(f'"{t}"' if " " in t else t for t in terms)


# --- the query ---------------------------------------------------------------------------------


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


def normalized(query: SearchQuery) -> SearchQuery:
    """The query with its topic id stripped (None when blank) and bindable: lone surrogates,
    possible in decoded JSON, cannot be sent to SQLite and no topic id contains them."""
    topic = query.topic.strip().encode("utf-8", "replace").decode("utf-8") if query.topic else ""
    return replace(query, topic=topic or None)


def utc(value: datetime) -> datetime:
    """`ensure_utc`, clamped: an aware datetime at the very edge of the range cannot overflow."""
    try:
        return ensure_utc(value)
    except (OverflowError, ValueError):
        edge = datetime.min if value.year < 5000 else datetime.max
        return edge.replace(tzinfo=UTC)


def has_words(text: str) -> bool:
    """Whether any text was typed at all (searchable or not)."""
    return bool(text and text.strip())


def has_filters(query: SearchQuery) -> bool:
    """Whether the query restricts time, source, topic or author."""
    return bool(
        query.since is not None or query.source is not None or query.topic
        or (query.author and query.author.strip())
    )


# --- compiled for the index --------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """A query compiled for the index: the MATCH expression and its phrases, the time range, filters."""

    terms: tuple[str, ...]
    match: str | None  # None: no words, browse by time
    author_words: tuple[str, ...]
    lo_key: int
    filters: PaperFilter  # source and topic
    k: int
    sort: str
    impossible: bool = False  # e.g. an author name without letters: nothing can match


def plan_for(query: SearchQuery) -> Plan:
    """Compile a query: its terms, the FTS5 MATCH expression (with the author column phrase),
    the smallest index key of its `since`, its source/topic filter, the clamped limit, the sort."""
    terms = tuple(query_terms(query.text))
    phrases = [fts_string(term) for term in terms]
    author_words: tuple[str, ...] = ()
    impossible = False
    if query.author is not None and query.author.strip():
        author_words = tuple(folded_words(query.author[:MAX_INPUT_CHARS])[:MAX_PHRASE_WORDS])
        if author_words:
            phrases.append(f"authors : {fts_string(' '.join(author_words))}")
        else:
            impossible = True
    lo_key = 0
    if query.since is not None:
        lo_key = since_key(utc(query.since))
    source = None
    if query.source is not None:
        source = query.source.value if isinstance(query.source, SourceKind) else str(query.source)
    sort = query.sort if query.sort in SORTS else "relevance"
    return Plan(
        terms=terms,
        match=" ".join(phrases) if phrases else None,
        author_words=author_words,
        lo_key=lo_key,
        filters=PaperFilter(source=source, topic=query.topic),
        k=min(MAX_LIMIT, max(1, int(query.limit))),
        sort=sort,
        impossible=impossible,
    )


def no_words(plan: Plan, query: SearchQuery) -> bool:
    """Text was typed but has nothing searchable, and no filter gives the search a subject."""
    return plan.match is None and has_words(query.text) and not has_filters(query)
