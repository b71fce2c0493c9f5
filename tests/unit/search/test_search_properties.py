"""Property tests: any text and any combination of filters gives a SearchResult, never an
exception (sqlite3 or other); the FTS expressions we build are always valid FTS5."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.models import Signal, SourceKind
from bot.search.engine import SearchEngine, SearchResult
from bot.search.query import SORTS, SearchQuery, fts_query, query_terms
from bot.store import Store
from tests.support.factories import make_paper

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus" / "hf_trending_abstracts.jsonl"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

# FTS5 syntax, SQL, quoting, markup and unicode that must never be interpreted.
FTS_PIECES = [
    '"', "'", "*", "^", ":", "-", "+", "(", ")", "{", "}", "[", "]", ",", ".", "/", "\\", "%", "_",
    "AND", "OR", "NOT", "NEAR", "NEAR(", "and", "or", "not", "near", "title:", "abstract:", "{title}:",
    "rank", "bm25", "MATCH", "'; DROP TABLE papers; --", "\x00", "\n", "\t", "\x1b", "\u200b", "\ufeff",
    "é", "ß", "İ", "ﬁ", "Ⅻ", "注意力机制", "トランスフォーマー", "😀", "🏳️‍🌈", "\U0010ffff", "\ud800",
    "gaussian", "splatting", "language", "model", "diffusion", "learning", "LeCun", "x" * 300,
    "@everyone", "<!channel>", "<@U123>", "**bold**", "<b>", "&amp;",
]
ADVERSARIAL_ALPHABET = "\"'*^:-+(){}[],./\\%_ aAnNdDoOrRtTeE0123456789éß注😀\x00\n\t\u200b"

texts = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=ADVERSARIAL_ALPHABET, max_size=120),
    st.lists(st.sampled_from(FTS_PIECES), max_size=12).map(" ".join),
    st.lists(st.sampled_from(FTS_PIECES), max_size=12).map("".join),
    st.text(alphabet=st.characters(codec=None, categories=["Cs", "Co", "So", "Lo", "Mn", "Cc", "Zs"]), max_size=60),
    st.integers(min_value=1000, max_value=5000).map(lambda n: ("gaussian splatting " * 400)[:n]),
)
datetimes = st.one_of(
    st.none(),
    st.datetimes(timezones=st.none() | st.just(UTC)),
    st.datetimes(timezones=st.sampled_from([timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))])),
    st.integers(min_value=0, max_value=4000).map(lambda days: NOW - timedelta(days=days)),
)
queries = st.builds(
    SearchQuery,
    text=texts,
    since=datetimes,
    source=st.none() | st.sampled_from(list(SourceKind)),
    topic=st.none() | st.sampled_from(["cv", "llm", "rl", "", " "]) | texts,
    author=st.none() | st.sampled_from(["LeCun", "Author 3", "", "!!!"]) | texts,
    sort=st.sampled_from(SORTS) | st.text(max_size=10),
    limit=st.integers(min_value=-5, max_value=60) | st.integers(),
)


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    opened = Store.open(":memory:")
    docs = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()][:80]
    papers = [
        make_paper(
            paper_id=f"2501.{i + 1:05d}", title=d["title"], abstract=d["abstract"],
            published=NOW - timedelta(days=17 * i),
            source=SourceKind.HF if i % 7 == 0 else SourceKind.ARXIV,
            authors=(f"Author {i}", "Yann LeCun" if i % 10 == 0 else "Léon Bottou"),
            signals=(Signal(SourceKind.HF, "d", 3 * i, 0, "HF daily", "", NOW),) if i % 7 == 0 else (),
        )
        for i, d in enumerate(docs)
    ]
    opened.papers.ingest(papers, NOW)
    for i, paper in enumerate(papers):
        opened.papers.set_topics(paper.id, [("cv", "llm", "rl")[i % 3]])
    opened.papers.set_summary_text(papers[5].id, "A summary with gaussian words.")
    yield opened
    opened.close()


PROPERTY_SETTINGS = settings(max_examples=int(os.environ.get("SEARCH_PROPERTY_EXAMPLES", "400")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(query=queries)
def test_any_query_gives_a_result(store: Store, query: SearchQuery) -> None:
    engine = SearchEngine(store)
    result = engine.search(query, NOW)
    assert isinstance(result, SearchResult)
    assert len(result.hits) <= max(1, min(1000, query.limit))
    assert len({hit.paper.id for hit in result.hits}) == len(result.hits)
    assert result.total >= len(result.hits)
    if not result.hits:
        assert result.suggestion
        result.suggestion.encode("utf-8")  # printable for every adapter: no lone surrogates
    for hit in result.hits:
        assert hit.why and isinstance(hit.score, float)
        hit.why.encode("utf-8")
    assert engine.count_matches(query, NOW) >= 0


@PROPERTY_SETTINGS
@given(text=texts)
def test_fts_expression_is_always_valid(store: Store, text: str) -> None:
    expression = fts_query(text)
    terms = query_terms(text)
    assert (expression is None) == (not terms)
    for term in terms:
        assert term and term == term.lower().strip() and "  " not in term
        assert all(ch.isalnum() or ch == " " for ch in term)
    if expression is not None:
        try:
            store.conn.execute("SELECT count(*) FROM papers_fts WHERE papers_fts MATCH ?", (expression,)).fetchone()
        except sqlite3.Error as exc:  # pragma: no cover - the property under test
            pytest.fail(f"{expression!r} from {text!r}: {exc}")


@PROPERTY_SETTINGS
@given(text=texts, sort=st.sampled_from(SORTS))
def test_every_hit_matches_the_words(store: Store, text: str, sort: str) -> None:
    """What search returns for words is exactly what FTS5 matches for the same expression."""
    expression = fts_query(text)
    result = SearchEngine(store).search(SearchQuery(text=text, sort=sort, limit=1000), NOW)
    if expression is None:
        return
    ids = {
        row[0]
        for row in store.conn.execute(
            "SELECT p.id FROM papers_fts f JOIN papers p ON p.pk = (f.rowid & 2147483647) "
            "WHERE papers_fts MATCH ?",
            (expression,),
        )
    }
    assert {hit.paper.id for hit in result.hits} == ids
