"""The ranking, filter, sort, total and suggestion checks of test_search.py, run again with the
search index answering (bot.search.indexed) instead of FTS5: the same promises hold for both.

The test functions are imported unchanged; this module's `engine` fixture is an engine with a
search index, and `SearchEngine(store)` inside the imported tests builds one too (the index
under a fresh temporary directory). Every search these tests make must come from the index.
The early-stop exactness test is not repeated: it checks FTS5's own formula (the index's is
checked in test_search_index.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

import tests.unit.search.test_search as fts5_tests
from bot.search.engine import SearchEngine, SearchResult
from bot.search.query import SearchQuery
from bot.store import Store
from tests.unit.search.test_search import (  # noqa: F401  (collected here, with this module's fixtures)
    store,
    test_author_filter_matches_name_tokens,
    test_count_matches_agrees_with_the_hits,
    test_empty_result_names_unknown_words,
    test_empty_result_suggests_a_topic_the_words_have,
    test_empty_result_suggests_a_wider_window,
    test_empty_result_suggests_fewer_words,
    test_empty_store_says_so,
    test_empty_topic_browse_suggests_a_related_topic,
    test_filters_without_words_order_by_recency,
    test_gaussian_splatting_title_papers_rank_first,
    test_limit_is_any_positive_number,
    test_more_recent_wins_among_equally_relevant_papers,
    test_no_searchable_words,
    test_popularity_boosts_among_equally_relevant_papers,
    test_quoted_phrase_is_narrower_than_the_words,
    test_since_falls_back_to_first_seen,
    test_since_filter_uses_published,
    test_sort_new_is_newest_first,
    test_sort_top_is_most_popular_first,
    test_source_filter,
    test_summary_text_is_searchable,
    test_title_beats_a_newer_abstract_mention,
    test_topic_filter_returns_only_that_topic,
    test_why_names_the_field_of_a_word_fts5_matched_by_its_stem,
)

_SCRATCH: list[Path] = []  # pytest's temporary directory for the indexes (set by the fixture)
_NUMBERS = itertools.count()


class IndexedEngine(SearchEngine):
    """A SearchEngine with its own search index that insists the index answered."""

    def __init__(self, store: Store) -> None:  # noqa: F811
        super().__init__(store, engine_index(store))

    def search(self, query: SearchQuery, now):  # type: ignore[no-untyped-def, override]
        result: SearchResult = super().search(query, now)
        assert result.engine in ("index", "none"), "the search index should have answered"
        return result


def engine_index(store: Store):  # type: ignore[no-untyped-def]  # noqa: F811
    from bot.store.search_index import SearchIndex, index_directory, rebuild

    directory = index_directory(_SCRATCH[0] / f"engine{next(_NUMBERS)}")
    rebuild(store.conn, directory)  # now, not in the background on first use
    return SearchIndex(directory)


@pytest.fixture(scope="module", autouse=True)
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    _SCRATCH.append(tmp_path_factory.mktemp("search_indexed"))
    yield
    _SCRATCH.clear()


@pytest.fixture(autouse=True)
def indexed_engines(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`SearchEngine(store)` in the imported tests builds an engine with a search index."""
    monkeypatch.setattr(fts5_tests, "SearchEngine", IndexedEngine)
    yield


@pytest.fixture(scope="module")
def engine(store: Store, scratch: None) -> SearchEngine:  # noqa: F811
    return IndexedEngine(store)
