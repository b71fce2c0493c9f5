"""What to say when a search found nothing: why, and a change that would find something.

In order: the author name has no letters; the text has no searchable words; nothing is stored
yet; some words appear in no paper at all (try without them); otherwise up to two ideas that
are checked to find something: a wider time window (since:7d ... 1y, or without since:), another
topic (a taxonomy neighbour for searches without words, else the topic most of the matches
carry), dropping source:, author: or one of the words. Each check is a sort:new scan for one
match (`ranking.scan_new`), so a suggestion costs a few cheap index reads.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bot.search.explain import describe
from bot.search.query import Plan, SearchQuery, as_text, fts_string, no_words, plan_for, utc
from bot.search.ranking import scan_new
from bot.store.fulltext import FTS_PK_MASK, FullTextIndex

__all__ = ["suggestion"]


def suggestion(index: FullTextIndex, query: SearchQuery, plan: Plan, now: datetime) -> str:
    """One or two sentences: what found nothing, and what would find something."""
    asked = describe(query, now)
    if plan.impossible:
        return f"No papers matched {asked}: the author name has no letters. Try a last name, e.g. author:LeCun."
    if no_words(plan, query):
        return (
            f"No papers matched {asked}: there are no words to search for in it. "
            "Try a few keywords, e.g. diffusion models, or a topic such as topic:cv."
        )
    if not index.has_papers():
        return "No papers are stored yet; they appear after the first fetch (paperbot fetch)."
    terms = list(plan.terms)
    unknown = [t for t in terms if not _exists(index, SearchQuery(text=fts_string(t)), now)]
    if unknown:
        listed = ", ".join(f"“{t}”" for t in unknown[:3])
        rest = [t for t in terms if t not in unknown]
        if rest:
            return f"No papers mention {listed}. Try without it: {as_text(rest)}."
        return f"No papers mention {listed}. Check the spelling, or try other words."
    ideas: list[str] = []
    if query.since is not None:
        window = _wider_window(index, query, now)
        if window:
            ideas.append(window)
    if query.topic and _exists(index, replace(query, topic=None, since=None), now):
        wider = replace(query, since=None)
        other = _related_topic(index, wider, query.topic, now) or _common_topic(
            index, replace(wider, topic=None), query.topic, now
        )
        ideas.append(f"topic:{other}" if other else "without topic:")
    if query.source is not None and _exists(index, replace(query, source=None, since=None), now):
        ideas.append("without source:")
    if query.author and _exists(index, replace(query, author=None, since=None), now):
        ideas.append("without author:")
    if not ideas and len(terms) > 1:
        for position in range(len(terms)):
            fewer = terms[:position] + terms[position + 1 :]
            if _exists(index, replace(query, text=as_text(fewer), since=None), now):
                ideas.append(f"fewer words: {as_text(fewer)}")
                break
    if not ideas:
        return f"No papers matched {asked}. Try fewer or different words."
    return f"No papers matched {asked}. Try {' or '.join(ideas[:2])}."


def _exists(index: FullTextIndex, query: SearchQuery, now: datetime) -> bool:
    plan = plan_for(replace(query, sort="new", limit=1))
    if plan.impossible or no_words(plan, query):
        return False
    return bool(scan_new(index, plan, now).ranked)


def _wider_window(index: FullTextIndex, query: SearchQuery, now: datetime) -> str:
    assert query.since is not None
    span = now - utc(query.since)
    for days, label in ((7, "7d"), (30, "30d"), (90, "90d"), (365, "1y")):
        if timedelta(days=days) > span * 1.5 and _exists(index, replace(query, since=now - timedelta(days=days)), now):
            return f"since:{label}"
    if _exists(index, replace(query, since=None), now):
        return "without since:"
    return ""


def _related_topic(index: FullTextIndex, query: SearchQuery, topic: str, now: datetime) -> str | None:
    """A neighbouring taxonomy topic (bot.enrich.taxonomy, when available) under which `query` finds
    something; only for searches without words, where the words cannot tell us."""
    if query.text.strip():
        return None
    try:
        from bot.enrich.taxonomy import related_topics

        neighbours = [t.id for t in related_topics(topic)]
    except Exception:  # the taxonomy is optional here: fall back to the data
        return None
    return next((t for t in neighbours if _exists(index, replace(query, topic=t), now)), None)


def _common_topic(index: FullTextIndex, query: SearchQuery, exclude: str, now: datetime) -> str | None:
    """The topic most of the newest matches of `query` carry (other than `exclude`)."""
    plan = plan_for(replace(query, sort="new", limit=200))
    pks = [key & FTS_PK_MASK for _, key, _ in scan_new(index, plan, now).ranked]
    return index.most_common_topic(pks, exclude)
