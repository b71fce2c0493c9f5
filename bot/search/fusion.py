"""Search by meaning beside search by words: reciprocal rank fusion of the two rankings.

A free-text query ("making LLM inference faster") ranked by words alone finds only papers that
contain every word; a speculative decoding or KV-cache paper says none of them. The engine
therefore also asks for the papers closest in meaning to the query's words (`Meaning`, given by
whoever builds the engine: `bot.rank` over its dense vectors; bot.search cannot import it) and
merges the two lists by reciprocal rank fusion: a paper scores the sum of 1 / (RRF_K + rank)
over the lists it is in, so a paper both lists agree on comes first, and each list's best come
before either list's tail.

What a query means is kept: only a query ranked by relevance with words asks for meaning
(`sort:new` and `sort:top` are orders by time and popularity; a query of filters alone has no
words to mean anything). Every filter applies to the semantic candidates as it does to word
matches (`since:`, `source:`, `topic:`, `author:`), and quoted phrases stay required: a
candidate without each phrase in its title or abstract is dropped. Candidates the meaning side
is less than MIN_SIMILARITY sure of are dropped too, so a query whose words match well is not
diluted by weak neighbours.

The meaning side is bounded: SEMANTIC_CANDIDATES papers from at most the newest
`bot.rank.similar.SEARCH_ROWS` vectors (a few milliseconds, whatever the store's size).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bot.core.clock import ensure_utc
from bot.core.models import Paper
from bot.core.text import folded_words
from bot.search.query import Plan, SearchQuery

# (query text, how many, since as seconds since 1970 or None) -> [(paper id, cosine)], best first.
Meaning = Callable[[str, int, float | None], Sequence[tuple[str, float]]]

RRF_K = 60  # the usual constant of reciprocal rank fusion (Cormack et al., 2009)
SEMANTIC_CANDIDATES = 20
MIN_SIMILARITY = 0.35  # cosine in the 128-dimension LSA space


@dataclass(frozen=True, slots=True)
class Fused:
    """One paper of the fused ranking: its fused score, its rank by words (None: found by
    meaning alone) and its closeness in meaning (None: not among the semantic candidates)."""

    paper_id: str
    score: float
    word_rank: int | None
    similarity: float | None


def wants_meaning(plan: Plan) -> bool:
    """Whether a query is free text ranked by relevance (the only kind fused with meaning)."""
    return plan.sort == "relevance" and bool(plan.terms) and not plan.impossible


def meaning_text(plan: Plan) -> str:
    """The words the meaning side embeds: the query's terms (stop words already dropped)."""
    return " ".join(plan.terms)


def since_seconds(query: SearchQuery) -> float | None:
    """The query's `since:` as seconds since 1970 (the dense index's time unit), or None."""
    return ensure_utc(query.since).timestamp() if query.since is not None else None


def passes(paper: Paper, topics: Sequence[str], plan: Plan, query: SearchQuery) -> bool:
    """Whether a semantic candidate satisfies what the query requires besides its loose words:
    the time window, source, topic, author and every quoted phrase."""
    when = paper.published or paper.first_seen
    if query.since is not None and (when is None or ensure_utc(when) < ensure_utc(query.since)):
        return False
    source = plan.filters.source
    if source is not None and source not in {s.value for s in (*paper.sources, paper.source)}:
        return False
    if plan.filters.topic and plan.filters.topic not in topics:
        return False
    if plan.author_words:
        wanted = " ".join(plan.author_words)
        if not any(_contains(" ".join(folded_words(name)), wanted) for name in paper.authors):
            return False
    phrases = [term for term in plan.terms if " " in term]
    if phrases:
        fields = _folded_fields(paper)
        if not all(_holds(fields, phrase) for phrase in phrases):
            return False
    return True


def _folded_fields(paper: Paper) -> tuple[str, str]:
    return " ".join(folded_words(paper.title)), " ".join(folded_words(paper.abstract))


def _holds(fields: tuple[str, str], term: str) -> bool:
    """Whether a term is in a paper as the word ranking finds it: a phrase inside one field
    (both indexes match a phrase within the title or within the abstract, never across the
    end of the title into the abstract: "Towards T2I" + "Robust models ..." is no "t2i
    robust"), a single word in either."""
    if " " in term:
        return any(_contains(field, term) for field in fields)
    return _contains(f"{fields[0]} {fields[1]}", term)


def _contains(words: str, phrase: str) -> bool:
    return f" {phrase} " in f" {words} "


def fuse(by_words: Sequence[str], by_meaning: Sequence[tuple[str, float]], limit: int) -> list[Fused]:
    """Reciprocal rank fusion of two rankings (ids best first; the meaning side with its
    cosines), best `limit` first; ties keep the word ranking's order."""
    scores: dict[str, float] = {}
    word_rank: dict[str, int] = {}
    similarity: dict[str, float] = {}
    for rank, paper_id in enumerate(by_words, start=1):
        word_rank.setdefault(paper_id, rank)
        scores[paper_id] = scores.get(paper_id, 0.0) + 1.0 / (RRF_K + rank)
    for rank, (paper_id, cosine) in enumerate(by_meaning, start=1):
        if paper_id in similarity:
            continue
        similarity[paper_id] = cosine
        scores[paper_id] = scores.get(paper_id, 0.0) + 1.0 / (RRF_K + rank)
    order = sorted(scores, key=lambda pid: (-scores[pid], word_rank.get(pid, len(by_words) + 1), pid))
    return [Fused(pid, scores[pid], word_rank.get(pid), similarity.get(pid)) for pid in order[:limit]]


def meaning_why(similarity: float) -> str:
    """Why a paper found by meaning (not among the best by words) is shown."""
    return f"close in meaning to your words ({similarity:.2f})"


def uses_every_word(paper: Paper, plan: Plan) -> bool:
    """Whether a paper's title or abstract holds every term of the query (then the word
    ranking counted it already, even when it was not among the best by words)."""
    fields = _folded_fields(paper)
    return all(_holds(fields, term) for term in plan.terms)


def filtered_candidates(
    candidates: Sequence[tuple[str, float]],
    papers: Mapping[str, Paper],
    topics: Mapping[str, Sequence[str]],
    plan: Plan,
    query: SearchQuery,
) -> list[tuple[str, float]]:
    """The semantic candidates that are sure enough and pass the query's filters and phrases."""
    return [
        (paper_id, cosine)
        for paper_id, cosine in candidates
        if cosine >= MIN_SIMILARITY
        and paper_id in papers
        and passes(papers[paper_id], topics.get(paper_id, ()), plan, query)
    ]
