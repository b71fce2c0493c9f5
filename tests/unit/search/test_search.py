"""Search over the 392 real corpus papers: ranking sanity, filters, sorts, suggestions, `why`,
the safe query builder, the exact early stop, and the time-keyed FTS index kept in step."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import bot.search.ranking as ranking
from bot.core.models import Paper, Signal, SourceKind
from bot.search.engine import SearchEngine, SearchResult
from bot.search.query import SearchQuery, fts_query, plan_for, query_terms
from bot.search.ranking import scan_relevance
from bot.store import Store
from bot.store.fulltext import fts_key
from bot.store.schema import MIGRATIONS
from tests.support.factories import make_paper
from tests.support.search_oracle import best_by_formula

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus" / "hf_trending_abstracts.jsonl"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOURS_APART = 2


def corpus() -> list[dict[str, str]]:
    assert CORPUS.is_file(), f"shared corpus missing: {CORPUS}"
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def pid(index: int) -> str:
    return f"2501.{index + 1:05d}"


def corpus_papers(when: dict[int, datetime] | None = None) -> list[Paper]:
    """Paper i is published i*2h before NOW unless `when` says otherwise."""
    when = when or {}
    return [
        make_paper(
            paper_id=pid(i),
            title=doc["title"],
            abstract=doc["abstract"],
            published=when.get(i, NOW - timedelta(hours=HOURS_APART * i)),
            authors=(f"Author {i}", "Shared Coauthor"),
        )
        for i, doc in enumerate(corpus())
    ]


def text_of(paper: Paper) -> str:
    return f"{paper.title} {paper.abstract}".lower()


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    """The 392 corpus papers, a few topics, one HF and one Reddit paper, two named authors."""
    opened = Store.open(":memory:")
    opened.papers.ingest(corpus_papers(), NOW)
    for i, doc in enumerate(corpus()):
        title = doc["title"].lower()
        topics = []
        if any(w in title for w in ("gaussian", "image", "video", "visual", "3d", "vision")):
            topics.append("cv")
        if "reinforcement" in title or "reward" in title:
            topics.append("rl")
        if "language model" in title or "llm" in title:
            topics.append("llm")
        opened.papers.set_topics(pid(i), topics)
    docs = corpus()
    opened.papers.ingest(
        [
            make_paper(paper_id=pid(3), title=docs[3]["title"], abstract=docs[3]["abstract"],
                       source=SourceKind.HF, published=NOW - timedelta(hours=6),
                       signals=(Signal(SourceKind.HF, "2026-11-20", 154, 3, "HF daily", "", NOW),)),
            make_paper(paper_id=pid(7), title=docs[7]["title"], abstract=docs[7]["abstract"],
                       source=SourceKind.REDDIT, published=NOW - timedelta(hours=14),
                       signals=(Signal(SourceKind.REDDIT, "t3_x", 40, 12, "r/MachineLearning", "", NOW),)),
        ],
        NOW,
    )
    opened.papers.ingest(
        [
            replace(corpus_papers()[20], authors=("Yann LeCun", "Léon Bottou")),
            replace(corpus_papers()[21], authors=("Bernhard Schölkopf",)),
        ],
        NOW,
    )
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def engine(store: Store) -> SearchEngine:
    return SearchEngine(store)


def everything(engine: SearchEngine, **options: object) -> SearchResult:
    return engine.search(SearchQuery(limit=1000, **options), NOW)  # type: ignore[arg-type]


# --- ranking --------------------------------------------------------------------------------


def test_gaussian_splatting_title_papers_rank_first(engine: SearchEngine) -> None:
    papers = corpus_papers()
    in_title = {p.id for p in papers if "gaussian splatting" in p.title.lower()}
    mentions = {p.id for p in papers if "gaussian splatting" in p.abstract.lower()} - in_title
    assert len(in_title) >= 2 and mentions

    result = engine.search(SearchQuery("Gaussian Splatting", limit=10), NOW)
    ids = [hit.paper.id for hit in result.hits]
    assert set(ids[: len(in_title)]) == in_title
    assert mentions <= set(ids[len(in_title) :])
    assert result.hits[0].why.startswith("title: gaussian, splatting")


def test_why_names_the_field_of_a_word_fts5_matched_by_its_stem() -> None:
    # FTS5 stems with Porter ("learning" finds "learned"); `why` must still name the field,
    # which is why it compares words with strip_suffix rather than the plural-only fold_plural.
    store = Store.open(":memory:")
    store.papers.ingest(
        [make_paper(paper_id=pid(0), title="Robots that learned walking", abstract="We report the operations.",
                    published=NOW - timedelta(hours=1))],
        NOW,
    )
    engine = SearchEngine(store)
    assert [h.why for h in engine.search(SearchQuery("learning walks"), NOW).hits] == ["title: learning, walks"]
    assert [h.why for h in engine.search(SearchQuery("operation"), NOW).hits] == ["abstract: operation"]
    store.close()


def test_title_beats_a_newer_abstract_mention(tmp_path: Path) -> None:
    papers = corpus_papers()
    in_title = [i for i, p in enumerate(papers) if "gaussian splatting" in p.title.lower()]
    mention = next(i for i, p in enumerate(papers) if "gaussian splatting" in p.abstract.lower() and i not in in_title)
    when = {i: NOW - timedelta(days=30) for i in in_title} | {mention: NOW}
    store = Store.open(str(tmp_path / "db.sqlite"))
    store.papers.ingest(corpus_papers(when), NOW)
    hits = SearchEngine(store).search(SearchQuery('"gaussian splatting"'), NOW).hits
    assert {h.paper.id for h in hits[: len(in_title)]} == {pid(i) for i in in_title}
    assert hits[len(in_title)].paper.id == pid(mention)
    store.close()


def test_quoted_phrase_is_narrower_than_the_words(engine: SearchEngine) -> None:
    words = {h.paper.id for h in everything(engine, text="language model").hits}
    phrase_hits = everything(engine, text='"language model"').hits
    phrase = {h.paper.id for h in phrase_hits}
    assert phrase and phrase < words
    for hit in phrase_hits:  # Porter: "language models/modeling" are the same phrase
        assert re.search(r"language model", text_of(hit.paper)), hit.paper.title


def test_popularity_boosts_among_equally_relevant_papers(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "db.sqlite"))
    twin = dict(title="Twin papers about quokka detection", abstract="Quokka detection in the wild.", version=1, published=NOW - timedelta(days=2))
    store.papers.ingest([make_paper(paper_id="2511.00001", **twin), make_paper(paper_id="2511.00002", **twin)], NOW)  # type: ignore[arg-type]
    store.papers.ingest(
        [make_paper(paper_id="2511.00001", **twin, source=SourceKind.HF,  # type: ignore[arg-type]
                    signals=(Signal(SourceKind.HF, "d", 120, 0, "HF daily", "", NOW),))],
        NOW,
    )
    hits = SearchEngine(store).search(SearchQuery("quokka"), NOW).hits
    assert [h.paper.id for h in hits] == ["2511.00001", "2511.00002"]
    assert hits[0].score > hits[1].score
    assert "popular on HF (120 upvotes)" in hits[0].why
    store.close()


def test_more_recent_wins_among_equally_relevant_papers(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "db.sqlite"))
    twin = dict(title="Wombat tracking", abstract="Wombat tracking at night.", version=1)
    store.papers.ingest(
        [make_paper(paper_id="2511.00001", published=NOW - timedelta(days=40), **twin),  # type: ignore[arg-type]
         make_paper(paper_id="2511.00002", published=NOW - timedelta(days=1), **twin)],  # type: ignore[arg-type]
        NOW,
    )
    assert [h.paper.id for h in SearchEngine(store).search(SearchQuery("wombat"), NOW).hits] == ["2511.00002", "2511.00001"]
    store.close()


def test_summary_text_is_searchable(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "db.sqlite"))
    store.papers.ingest(corpus_papers()[:5], NOW)
    engine = SearchEngine(store)
    assert not engine.search(SearchQuery("axolotl"), NOW).hits
    store.papers.set_summary_text(pid(2), "TL;DR: an axolotl-inspired regeneration method.")
    hits = engine.search(SearchQuery("axolotl"), NOW).hits
    assert [h.paper.id for h in hits] == [pid(2)]
    store.papers.set_summary_text(pid(2), "Something else entirely.")
    assert not engine.search(SearchQuery("axolotl"), NOW).hits
    store.close()


# --- filters --------------------------------------------------------------------------------


def test_topic_filter_returns_only_that_topic(store: Store, engine: SearchEngine) -> None:
    hits = everything(engine, text="model", topic="cv").hits
    assert hits
    topics = store.papers.topics_of([h.paper.id for h in hits])
    assert all("cv" in topics[h.paper.id] for h in hits)
    assert all("topic: " in h.why for h in hits)
    all_cv = {h.paper.id for h in everything(engine, topic="cv").hits}
    tagged = store.papers.topics_of([pid(i) for i in range(392)])
    expected = {paper_id for paper_id, topics_ in tagged.items() if "cv" in topics_}
    assert all_cv == expected


def test_since_filter_uses_published(engine: SearchEngine) -> None:
    since = NOW - timedelta(hours=HOURS_APART * 50)
    hits = everything(engine, text="model", since=since).hits
    assert hits and all(h.paper.published is not None and h.paper.published >= since for h in hits)
    older = [h for h in everything(engine, text="model").hits if h.paper.published and h.paper.published < since]
    assert older


def test_since_falls_back_to_first_seen(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "db.sqlite"))
    undated = Paper(id="feed:abc", title="A blog post on narwhal models", source=SourceKind.FEED)
    store.papers.ingest([undated], NOW - timedelta(days=3))  # first seen three days ago
    engine = SearchEngine(store)
    assert engine.search(SearchQuery("narwhal", since=NOW - timedelta(days=4)), NOW).hits
    assert not engine.search(SearchQuery("narwhal", since=NOW - timedelta(days=2)), NOW).hits
    store.close()


def test_source_filter(engine: SearchEngine) -> None:
    assert [h.paper.id for h in everything(engine, source=SourceKind.HF).hits] == [pid(3)]
    assert [h.paper.id for h in everything(engine, source=SourceKind.REDDIT).hits] == [pid(7)]
    arxiv = {h.paper.id for h in everything(engine, source=SourceKind.ARXIV).hits}
    assert pid(3) in arxiv and len(arxiv) == 392  # merged papers keep every source
    assert not everything(engine, source=SourceKind.FEED).hits


def test_author_filter_matches_name_tokens(engine: SearchEngine) -> None:
    for name in ("LeCun", "yann lecun", "Yann LeCun", "LECUN"):
        hits = everything(engine, author=name).hits
        assert [h.paper.id for h in hits] == [pid(20)], name
        assert "author: Yann LeCun" in hits[0].why
    assert not everything(engine, author="LeCun Yann").hits  # words in order
    for name in ("Schölkopf", "scholkopf"):
        assert [h.paper.id for h in everything(engine, author=name).hits] == [pid(21)]
    word = query_terms(corpus()[30]["title"])[0]
    assert [h.paper.id for h in everything(engine, text=word, author="Author 30").hits] == [pid(30)]
    no_letters = engine.search(SearchQuery(author="!!!"), NOW)
    assert not no_letters.hits and "author" in no_letters.suggestion


def test_filters_without_words_order_by_recency(engine: SearchEngine) -> None:
    hits = engine.search(SearchQuery(topic="rl", since=NOW - timedelta(days=20), limit=5), NOW).hits
    assert hits
    times = [h.paper.published for h in hits]
    assert times == sorted(times, reverse=True)  # type: ignore[type-var]
    newest = engine.search(SearchQuery(limit=3, sort="new"), NOW).hits
    assert [h.paper.id for h in newest] == [pid(0), pid(1), pid(2)]
    # Relevance without words: recency x popularity, so the popular HF and Reddit papers lead.
    assert [h.paper.id for h in engine.search(SearchQuery(limit=3), NOW).hits] == [pid(3), pid(7), pid(0)]


# --- sorts ----------------------------------------------------------------------------------


def test_sort_new_is_newest_first(engine: SearchEngine) -> None:
    hits = engine.search(SearchQuery("learning", sort="new", limit=10), NOW).hits
    assert len(hits) == 10
    times = [h.paper.published for h in hits]
    assert times == sorted(times, reverse=True)  # type: ignore[type-var]
    every = sorted((h.paper.published for h in everything(engine, text="learning").hits), reverse=True)  # type: ignore[type-var]
    assert times == every[:10]


def test_sort_top_is_most_popular_first(engine: SearchEngine) -> None:
    hits = engine.search(SearchQuery("", sort="top", limit=3), NOW).hits
    assert [h.paper.id for h in hits[:2]] == [pid(3), pid(7)]
    assert hits[2].paper.popularity == 0
    worded = engine.search(SearchQuery(corpus()[7]["title"], sort="top", limit=2), NOW).hits
    assert worded[0].paper.id == pid(7) and "popular on r/MachineLearning (40 points)" in worded[0].why


# --- totals, counts, suggestions --------------------------------------------------------------


def test_count_matches_agrees_with_the_hits(engine: SearchEngine) -> None:
    for options in ({"text": "diffusion"}, {"text": "model", "topic": "cv"}, {"topic": "rl"},
                    {"text": '"language model"', "since": NOW - timedelta(days=10)},
                    {"source": SourceKind.HF}, {"author": "lecun"}):
        query = SearchQuery(limit=1000, **options)  # type: ignore[arg-type]
        result = engine.search(query, NOW)
        assert engine.count_matches(query, NOW) == len(result.hits) == result.total, options


def test_empty_result_suggests_a_wider_window(engine: SearchEngine) -> None:
    splat = next(i for i, d in enumerate(corpus()) if "splatting" in d["title"].lower())
    result = engine.search(SearchQuery("splatting", since=NOW - timedelta(hours=HOURS_APART * splat - 1)), NOW)
    assert not result.hits
    assert result.suggestion.startswith("No papers matched “splatting” in the last")
    assert "since:" in result.suggestion


def test_empty_result_suggests_a_topic_the_words_have(engine: SearchEngine) -> None:
    result = engine.search(SearchQuery("splatting", topic="rl"), NOW)
    assert not result.hits and "topic:cv" in result.suggestion


def test_empty_result_names_unknown_words(engine: SearchEngine) -> None:
    alone = engine.search(SearchQuery("xyzzyqua"), NOW)
    assert alone.suggestion == "No papers mention “xyzzyqua”. Check the spelling, or try other words."
    mixed = engine.search(SearchQuery("diffusion xyzzyqua"), NOW)
    assert mixed.suggestion == "No papers mention “xyzzyqua”. Try without it: diffusion."


def test_empty_result_suggests_fewer_words(engine: SearchEngine) -> None:
    result = engine.search(SearchQuery("splatting reinforcement"), NOW)
    assert not result.hits and "fewer words" in result.suggestion


def test_no_searchable_words(engine: SearchEngine) -> None:
    for text in ("!!!", "😀😀", "---", '""', "\x00\x07"):
        result = engine.search(SearchQuery(text), NOW)
        assert not result.hits and "no words to search" in result.suggestion, text
    assert engine.search(SearchQuery("???", topic="cv"), NOW).hits  # filters still work


def test_empty_store_says_so(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "db.sqlite"))
    result = SearchEngine(store).search(SearchQuery("anything"), NOW)
    assert not result.hits and "No papers are stored yet" in result.suggestion
    store.close()


# --- the query builder ----------------------------------------------------------------------


def test_query_terms_normalize() -> None:
    assert query_terms("Gaussian Splatting") == ["gaussian", "splatting"]
    assert query_terms('"Gaussian Splatting" for 3D') == ["gaussian splatting", "3d"]
    assert query_terms("“curly quoted” words") == ["curly quoted", "words"]
    assert query_terms("GPT-4o text-to-SQL") == ["gpt 4o", "text to sql"]
    assert query_terms("Schrödinger ＦＵＬＬ") == ["schrodinger", "full"]
    assert query_terms("the of and") == ["the", "of", "and"]  # only stop words: keep them
    assert query_terms("the models of the world") == ["models", "world"]
    assert query_terms("NEAR(a, b) AND x OR NOT y") == ["near", "b", "x", "y"]
    assert query_terms("model model MODEL") == ["model"]
    assert query_terms("") == [] and query_terms("!!! 😀") == []
    assert len(query_terms(" ".join(f"w{i}" for i in range(50)))) == 8
    assert all(len(w) <= 40 for w in query_terms("a" * 5000))


def test_fts_query_quotes_every_term() -> None:
    assert fts_query('diffusion "latent space" -noise col:x ^y NEAR(z) *') == (
        '"diffusion" "latent space" "noise" "col" "x" "y" "near" "z"'
    )
    assert fts_query("x" * 5000) == '"' + "x" * 40 + '"'
    assert fts_query("\x00\x01\x02") is None
    assert fts_query("注意力机制 🚀") == '"注意力机制"'


def test_adversarial_text_is_safe(store: Store, engine: SearchEngine) -> None:
    nasty = [
        '"', '""', '"""', "'", "*", "a*", "NEAR", "NEAR(a b, 2)", "AND", "OR OR OR", "NOT x", "-x", "a:b",
        "title:x", "{title abstract}: x", "^x", "(", ")", "(((", "x) OR (y", "a + b", "\\", "%", "_",
        "é", "注意力", "🙂", "\u200b", "\ufeffx", "\x00", "\x1b[31m", "a\nb", "A" * 5000, "é" * 5000,
        "x " * 2500, '"unterminated phrase', "@everyone <!channel> <@U123>", "DROP TABLE papers; --",
    ]
    for text in nasty:
        match = fts_query(text)
        if match is not None:
            store.conn.execute("SELECT count(*) FROM papers_fts WHERE papers_fts MATCH ?", (match,)).fetchone()
        for sort in ("relevance", "new", "top"):
            result = engine.search(SearchQuery(text, sort=sort, topic=text[:20] or None, author=text[:30] or None), NOW)
            assert isinstance(result, SearchResult)
            assert result.hits or result.suggestion
        assert engine.count_matches(SearchQuery(text), NOW) >= 0


def test_limit_is_any_positive_number(engine: SearchEngine) -> None:
    assert len(engine.search(SearchQuery("learning", limit=25), NOW).hits) == 25
    assert len(engine.search(SearchQuery("learning", limit=0), NOW).hits) == 1  # at least one
    assert len(engine.search(SearchQuery("", limit=10_000), NOW).hits) == 392


# --- early stop is exact --------------------------------------------------------------------


def test_early_stop_returns_exactly_the_best(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Three years of dates so that recency lets the scan stop; tiny batches so that it does.
    when = {i: NOW - timedelta(days=2.8 * i) for i in range(392)}
    store = Store.open(str(tmp_path / "db.sqlite"))
    store.papers.ingest(corpus_papers(when), NOW)
    popular = [
        replace(p, source=SourceKind.HF, signals=(Signal(SourceKind.HF, "d", 7 * i, 0, "HF daily", "", NOW),))
        for i, p in enumerate(corpus_papers(when)) if i % 9 == 0
    ]
    store.papers.ingest(popular, NOW)
    monkeypatch.setattr(ranking, "BATCH", 4)
    engine = SearchEngine(store)
    stopped_early = 0
    for text in ("model", "language model", '"language model"', "learning", "reinforcement learning",
                 "diffusion", "agent", "reasoning", "gaussian", "the", "data"):
        for k in (1, 3, 10):
            query = SearchQuery(text, limit=k)
            got = [h.paper.id for h in engine.search(query, NOW).hits]
            assert got == [paper_id for _, paper_id in best_by_formula(store, query, NOW, k)], (text, k)
            scan = scan_relevance(store.fulltext, plan_for(query), NOW)
            stopped_early += not scan.exhausted
    assert stopped_early >= 10
    store.close()


# --- the time-keyed index stays in step with the papers ---------------------------------------


def fts_rowids(store: Store, word: str) -> list[int]:
    return [r[0] for r in store.conn.execute("SELECT rowid FROM papers_fts WHERE papers_fts MATCH ?", (f'"{word}"',))]


def test_keys_follow_published_and_updates(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "db.sqlite"))
    first = make_paper(paper_id="2510.00001", title="Okapi estimation", published=NOW - timedelta(days=10))
    store.papers.ingest([first], NOW)
    pk = store.conn.execute("SELECT pk FROM papers WHERE id = '2510.00001'").fetchone()[0]
    assert fts_rowids(store, "okapi") == [fts_key((NOW - timedelta(days=10)).isoformat(), pk)]
    second = replace(first, version=2, title="Capybara estimation", published=NOW - timedelta(days=1))
    store.papers.ingest([second], NOW)
    store.papers.set_summary_text("2510.00001", "tapir summary")
    store.papers.set_summary_text("2510.00001", "tapir summary, longer")
    expected = fts_key((NOW - timedelta(days=1)).isoformat(), pk)
    assert fts_rowids(store, "okapi") == []
    assert fts_rowids(store, "capybara") == fts_rowids(store, "tapir") == fts_rowids(store, "estimation") == [expected]
    store.conn.execute("INSERT INTO papers_fts(papers_fts, rank) VALUES('integrity-check', 0)")
    store.close()


def test_migration_keys_match_python_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store from before the search migration: the SQL that rebuilds papers_fts must compute
    the same keys that later deletes compute in Python."""
    import bot.store.db as db

    search_index = next(i for i, sql in enumerate(MIGRATIONS) if "content=''" in sql)
    path = str(tmp_path / "old.db")
    monkeypatch.setattr(db, "MIGRATIONS", MIGRATIONS[:search_index])
    old = Store.open(path)
    times = {
        1: ("2025-01-02T03:04:05.999999+00:00", "2026-01-01T00:00:00+00:00"),
        2: (None, "2026-03-04T05:06:07.500000+00:00"),
        3: ("1960-05-06T00:00:00+00:00", "2026-01-01T00:00:00+00:00"),
        4: ("2200-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"),
        5: ("2026-11-20T12:00:00+00:00", "2026-11-20T12:00:00+00:00"),
    }
    for pk, (published, first_seen) in times.items():
        old.conn.execute(
            "INSERT INTO papers (pk, id, title, source, published, first_seen, changed_at) VALUES (?, ?, ?, 'arxiv', ?, ?, ?)",
            (pk, f"2501.0000{pk}", f"uniqueword{pk} shared", published, first_seen, first_seen),
        )
    old.close()
    monkeypatch.setattr(db, "MIGRATIONS", MIGRATIONS)
    store = Store.open(path)
    for pk, (published, first_seen) in times.items():
        assert fts_rowids(store, f"uniqueword{pk}") == [fts_key(published or first_seen, pk)]
        store.papers.set_summary_text(f"2501.0000{pk}", f"summaryword{pk}")  # deletes by the Python key
        assert fts_rowids(store, f"uniqueword{pk}") == fts_rowids(store, f"summaryword{pk}") == [fts_key(published or first_seen, pk)]
    assert len(fts_rowids(store, "shared")) == len(times)
    store.close()


def test_sort_top_walks_the_popular_index_the_same_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store.open(str(tmp_path / "db.sqlite"))
    papers = corpus_papers()
    store.papers.ingest(papers, NOW)
    store.papers.ingest(
        [replace(p, source=SourceKind.HF, signals=(Signal(SourceKind.HF, "d", 1 + (i * 7) % 5, 0, "HF daily", "", NOW),))
         for i, p in enumerate(papers) if i % 4 == 0],
        NOW,
    )
    for i, paper in enumerate(papers):
        store.papers.set_topics(paper.id, ["cv"] if i % 3 == 0 else [])
    engine = SearchEngine(store)
    queries = [SearchQuery(text, sort="top", limit=k, topic=topic)
               for text in ("model", "learning", "the", "gaussian splatting")
               for k in (1, 5, 40, 200) for topic in (None, "cv")]
    expected = [[h.paper.id for h in engine.search(q, NOW).hits] for q in queries]
    monkeypatch.setattr(ranking, "TOP_RESOLVE_ALL", 0)
    assert [[h.paper.id for h in engine.search(q, NOW).hits] for q in queries] == expected
    assert any(len(ids) == 200 for ids in expected)  # the fill with unpopular papers ran
    store.close()


def test_empty_topic_browse_suggests_a_related_topic(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "db.sqlite"))
    store.papers.ingest(corpus_papers()[:10], NOW)
    for i in range(10):
        store.papers.set_topics(pid(i), ["llm"])
    result = SearchEngine(store).search(SearchQuery(topic="nlp"), NOW)
    assert not result.hits
    assert result.suggestion == "No papers matched anything with topic:nlp. Try topic:llm."
    store.close()
