"""Words for people: why a hit matched (`why`) and how a query is echoed back (`describe`).

`why` names the first field (title, abstract, author) in which the query's terms appear,
comparing words folded by `bot.core.text` and cut down by its `strip_suffix` (FTS5 matched
them with Porter stemming, so "learned" found "learning"); then the author, the topic, and
popularity once it is worth mentioning (POPULAR_WHY) or the sort is by popularity; a hit with
none of these is "recent". `describe` repeats a query in a suggestion, its user text cleaned
of control characters and shortened.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from bot.core.clock import humanize_age
from bot.core.models import Paper, SourceKind
from bot.core.text import folded_words, printable, strip_suffix
from bot.search.query import Plan, SearchQuery, has_words, utc

__all__ = ["why", "describe", "clean", "POPULAR_WHY"]

POPULAR_WHY = 10  # mention popularity in `why` from this many upvotes / points
_stem = lru_cache(maxsize=200_000)(strip_suffix)  # the same words recur across abstracts
_DAY = 86400.0


def clean(text: str, limit: int = 60) -> str:
    """User text for echoing: control characters dropped, whitespace squeezed, shortened."""
    text = printable(text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(query: SearchQuery, now: datetime) -> str:
    """How a query is echoed in a suggestion: “words” with topic:cv in the last 7 days."""
    parts = [f"“{clean(query.text)}”"] if has_words(query.text) else ["anything"]
    if query.topic:
        parts.append(f"with topic:{clean(query.topic, 30)}")
    if query.source is not None:
        value = query.source.value if isinstance(query.source, SourceKind) else str(query.source)
        parts.append(f"from source:{clean(value, 20)}")
    if query.author:
        parts.append(f"by author:{clean(query.author, 40)}")
    if query.since is not None:
        seconds = (now - utc(query.since)).total_seconds()
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


def why(paper: Paper, plan: Plan, query: SearchQuery, popularity: int, now: datetime) -> str:
    """A short human reason for a hit: where the words matched, the topic, popularity."""
    parts: list[str] = []
    if plan.terms:
        fields = (("title", paper.title), ("abstract", paper.abstract), ("author", " ".join(paper.authors)))
        phrases = [[_stem(w) for w in t.split()] for t in plan.terms]
        matched_any = False
        for name, text in fields:
            # Cheap first look: in ASCII text folding is lower-casing and a stem is a prefix of
            # its word, so a field none of whose first stems occurs in cannot match; this skips
            # splitting most abstracts.
            if text.isascii():
                lowered = text.lower()
                if not any(phrase and phrase[0] in lowered for phrase in phrases):
                    continue
            tokens = [_stem(w) for w in folded_words(text)]
            found = [t for t, phrase in zip(plan.terms, phrases, strict=True) if _has_phrase(tokens, phrase)]
            if found:
                parts.append(f"{name}: {', '.join(found[:4])}")
                matched_any = True
                break
        if not matched_any:
            parts.append(f"matches: {', '.join(plan.terms[:4])}")
    if plan.author_words:
        wanted = list(plan.author_words)
        names = [a for a in paper.authors if _has_phrase(folded_words(a), wanted)]
        parts.append(f"author: {clean(names[0], 40)}" if names else f"author: {' '.join(wanted)}")
    if query.topic:
        parts.append(f"topic: {_topic_name(query.topic)}")
    if popularity >= POPULAR_WHY or (plan.sort == "top" and popularity > 0):
        signal = max(paper.signals, key=lambda s: s.score, default=None)
        if signal is not None and signal.source == SourceKind.HF:
            parts.append(f"popular on HF ({popularity} upvotes)")
        elif signal is not None:
            parts.append(f"popular on {clean(signal.label or signal.source.value, 30)} ({popularity} points)")
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
        return clean(topic_id, 30)
