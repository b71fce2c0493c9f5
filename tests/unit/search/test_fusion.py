"""Search by meaning fused with search by words (bot/search/fusion.py, SearchEngine), over the
120 real arXiv announcements of tests/data/arxiv_sample.jsonl: a paraphrase finds papers that
do not use its words, and quoted phrases, filters and `sort:` keep their meaning. Both ranking
paths are checked: the tantivy search index and the FTS5 fallback."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from bot.core.models import Paper, SourceKind
from bot.core.text import folded_words
from bot.search.engine import MEANING_THREADS, SearchEngine, SearchResult
from bot.search.fusion import RRF_K, SEMANTIC_CANDIDATES, filtered_candidates, fuse, meaning_text
from bot.search.query import SearchQuery, normalized, plan_for, query_terms
from bot.store import Store
from bot.store.search_index import SearchIndex, index_directory, rebuild
from tests.support.relevance import SPECULATIVE, Rig, about, make_rig

PARAPHRASE = "making LLM inference faster"


@pytest.fixture
async def rig(store: Store) -> Rig:
    return await make_rig(store)


@pytest.fixture(params=["index", "fts5"])
def engine(request: pytest.FixtureRequest, rig: Rig, tmp_path: Path) -> SearchEngine:
    """The engine as the runtime wires it (meaning from the ranker), on either ranking path."""
    if request.param == "fts5":
        return SearchEngine(rig.store, meaning=rig.ranker.search_meaning)
    directory = index_directory(tmp_path)
    rebuild(rig.store.conn, directory)
    return SearchEngine(rig.store, SearchIndex(directory), meaning=rig.ranker.search_meaning)


def by_words(engine: SearchEngine) -> SearchEngine:
    """The same ranking path without meaning."""
    return SearchEngine(engine.store, engine.search_index, auto_build=False)


def search(rig: Rig, engine: SearchEngine, text: str, **kw: object) -> SearchResult:
    return engine.search(SearchQuery(text=text, limit=10, **kw), rig.clock())  # type: ignore[arg-type]


def words_of(hit_title: str, abstract: str) -> set[str]:
    return set(folded_words(f"{hit_title} {abstract}"))


def test_a_paraphrase_finds_papers_that_do_not_use_its_words(rig: Rig, engine: SearchEngine) -> None:
    words_only = by_words(engine).search(SearchQuery(text=PARAPHRASE, limit=10), rig.clock())
    assert not words_only.hits  # no paper says all of it
    result = search(rig, engine, PARAPHRASE)
    assert len(result.hits) >= 5 and result.engine in ("index", "fts5")
    assert sum(about(hit.paper, SPECULATIVE) for hit in result.hits[:5]) >= 4
    terms = set(query_terms(PARAPHRASE))
    for hit in result.hits:
        assert not terms <= words_of(hit.paper.title, hit.paper.abstract)  # found by meaning alone
        assert hit.why.startswith("close in meaning to your words")
    assert result.total == len(result.hits)


def test_a_word_query_keeps_its_word_matches_first(rig: Rig, engine: SearchEngine) -> None:
    words_only = by_words(engine).search(SearchQuery(text="speculative decoding", limit=10), rig.clock())
    fused = search(rig, engine, "speculative decoding")
    word_ids = {h.paper.id for h in words_only.hits}
    # Papers both rankings agree on come first; each is a match by words.
    assert fused.hits[0].paper.id in word_ids and fused.hits[1].paper.id in word_ids
    assert sum(h.paper.id in word_ids for h in fused.hits) >= len(fused.hits) // 2
    assert all(about(hit.paper, SPECULATIVE) for hit in fused.hits)
    assert fused.total >= words_only.total


def test_quoted_phrases_stay_required(rig: Rig, engine: SearchEngine) -> None:
    result = search(rig, engine, '"speculative decoding" tree')
    assert any(hit.why.startswith("close in meaning") for hit in result.hits)  # meaning did add papers
    for hit in result.hits:
        assert "speculative decoding" in " ".join(folded_words(f"{hit.paper.title} {hit.paper.abstract}"))


def test_sort_new_and_top_are_orders_not_meanings(rig: Rig, engine: SearchEngine) -> None:
    for sort in ("new", "top"):
        assert not search(rig, engine, PARAPHRASE, sort=sort).hits
        words = by_words(engine).search(SearchQuery(text="decoding", sort=sort, limit=10), rig.clock())
        fused = search(rig, engine, "decoding", sort=sort)
        assert [h.paper.id for h in fused.hits] == [h.paper.id for h in words.hits]


def test_filters_apply_to_papers_found_by_meaning(rig: Rig, engine: SearchEngine) -> None:
    future = rig.clock() + timedelta(days=1)
    assert not search(rig, engine, PARAPHRASE, since=future).hits
    assert not search(rig, engine, PARAPHRASE, source=SourceKind.REDDIT).hits
    assert search(rig, engine, PARAPHRASE, source=SourceKind.ARXIV).hits
    speculative = next(h.paper for h in search(rig, engine, PARAPHRASE).hits)
    surname = speculative.authors[0].split()[-1]
    by_author = search(rig, engine, PARAPHRASE, author=surname)
    assert by_author.hits and all(any(surname in name for name in hit.paper.authors) for hit in by_author.hits)
    rig.store.papers.set_topics(speculative.id, ("cv",))
    engine.catch_up()
    in_cv = search(rig, engine, PARAPHRASE, topic="cv")
    assert speculative.id in {h.paper.id for h in in_cv.hits}
    topics = rig.store.papers.topics_of([h.paper.id for h in in_cv.hits])
    assert all("cv" in topics[h.paper.id] for h in in_cv.hits)


def test_only_the_candidates_that_can_be_shown_are_read(rig: Rig, engine: SearchEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A paper found by meaning alone after k kept candidates can never be among k hits, so the
    engine reads k of the SEMANTIC_CANDIDATES from the store, and answers as if it read all."""
    read: list[str] = []
    get_many = rig.store.papers.get_many

    def counting(ids: list[str]) -> list[Paper]:
        read.extend(ids)
        return get_many(ids)

    monkeypatch.setattr(rig.store.papers, "get_many", counting)
    query = SearchQuery(text=PARAPHRASE, limit=3)
    result = engine.search(query, rig.clock())
    assert len(result.hits) == 3 and len(read) == 3
    # What reading every candidate gives (the word ranking finds nothing for the paraphrase).
    plan = plan_for(normalized(query))
    candidates = rig.ranker.search_meaning(meaning_text(plan), SEMANTIC_CANDIDATES, None)
    assert len(candidates) > 3
    papers = {paper.id: paper for paper in get_many([paper_id for paper_id, _ in candidates])}
    everything = fuse([], filtered_candidates(candidates, papers, {}, plan, query), plan.k)
    assert [h.paper.id for h in result.hits] == [f.paper_id for f in everything]
    assert [h.score for h in result.hits] == [f.score for f in everything]


def test_the_meaning_side_runs_beside_the_word_ranking_or_in_the_search_when_helpers_are_busy(rig: Rig) -> None:
    """The meaning side runs in a helper thread while the words are ranked; a search that
    finds every helper busy does it itself rather than queue behind other searches."""
    ran_in: list[str] = []

    def meaning(text: str, k: int, since: float | None) -> list[tuple[str, float]]:
        ran_in.append(threading.current_thread().name)
        return rig.ranker.search_meaning(text, k, since)

    engine = SearchEngine(rig.store, meaning=meaning)
    release, holding = threading.Event(), threading.Semaphore(0)

    def hold() -> None:
        holding.release()
        release.wait(10)

    try:
        expected = search(rig, engine, PARAPHRASE)
        # A helper takes it unless the words were ranked before its thread got to it.
        for _ in range(50):
            if any(name.startswith("search-meaning") for name in ran_in):
                break
            search(rig, engine, PARAPHRASE)
        assert any(name.startswith("search-meaning") for name in ran_in)
        helpers = engine._meaning_threads
        assert helpers is not None
        held = [helpers.submit(hold) for _ in range(MEANING_THREADS)]
        for _ in held:
            assert holding.acquire(timeout=10)  # every helper is busy
        ran_in.clear()
        answer = search(rig, engine, PARAPHRASE)
        assert ran_in == [threading.current_thread().name]  # done in the search itself
        assert [h.paper.id for h in answer.hits] == [h.paper.id for h in expected.hits]
    finally:
        release.set()
        engine.close()
    assert engine._meaning_threads is None


def test_a_failing_meaning_side_answers_by_words_alone(rig: Rig) -> None:
    def broken(text: str, k: int, since: float | None) -> list[tuple[str, float]]:
        raise RuntimeError("index unavailable")

    engine = SearchEngine(rig.store, meaning=broken)
    result = engine.search(SearchQuery(text="speculative decoding", limit=10), rig.clock())
    words = SearchEngine(rig.store).search(SearchQuery(text="speculative decoding", limit=10), rig.clock())
    assert [h.paper.id for h in result.hits] == [h.paper.id for h in words.hits]


def test_reciprocal_rank_fusion() -> None:
    fused = fuse(["a", "b", "c"], [("c", 0.9), ("d", 0.8), ("a", 0.5)], 10)
    scores = {f.paper_id: f.score for f in fused}
    assert [f.paper_id for f in fused] == ["a", "c", "b", "d"]
    assert scores["a"] == pytest.approx(1 / (RRF_K + 1) + 1 / (RRF_K + 3))
    assert scores["c"] == pytest.approx(1 / (RRF_K + 3) + 1 / (RRF_K + 1))  # ties keep the word order
    assert (fused[0].word_rank, fused[0].similarity) == (1, 0.5)
    assert (fused[3].word_rank, fused[3].similarity) == (None, 0.8)
    assert [f.paper_id for f in fuse(["a", "b"], [], 1)] == ["a"]


@pytest.mark.parametrize("ranking", ["index", "fts5"])
def test_a_phrase_does_not_run_from_the_title_into_the_abstract(store: Store, tmp_path: Path, ranking: str) -> None:
    """Both word indexes match a phrase inside one field, so the meaning side must too: a
    title ending in "T2I" and an abstract starting with "Robust" hold no phrase "t2i robust"
    (the 100k search benchmark showed such a paper, found by meaning alone)."""
    from tests.support.factories import T0, make_paper

    across = make_paper(1, title="Reward Models for T2I", abstract="Robust rules score images.", published=T0)
    inside = make_paper(2, title="AutoRubric-T2I: Robust Rules", abstract="Reward models score images.", published=T0)
    store.papers.ingest([across, inside], T0)

    def meaning(text: str, k: int, since: float | None) -> list[tuple[str, float]]:
        return [(across.id, 0.9), (inside.id, 0.8)]

    index = None
    if ranking == "index":
        directory = index_directory(tmp_path)
        rebuild(store.conn, directory)
        index = SearchIndex(directory)
    now = T0 + timedelta(hours=1)
    words = SearchEngine(store, index, auto_build=False).search(SearchQuery(text='"t2i robust"', limit=10), now)
    fused = SearchEngine(store, index, auto_build=False, meaning=meaning).search(SearchQuery(text='"t2i robust"', limit=10), now)
    assert [h.paper.id for h in words.hits] == [inside.id]
    assert [h.paper.id for h in fused.hits] == [inside.id]
    # Loose words still count across the fields, as the word ranking has them.
    loose = SearchEngine(store, index, auto_build=False, meaning=meaning).search(SearchQuery(text="t2i robust", limit=10), now)
    assert {h.paper.id for h in loose.hits} == {across.id, inside.id}
