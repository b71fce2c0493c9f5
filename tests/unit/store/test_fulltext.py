"""The full-text index's reads (bot.store.fulltext), each checked against the papers it was
built from: key layout, newest-first batches, filters, counts, popularity order, topics."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core.clock import to_iso
from bot.core.models import SourceKind
from bot.store import Store
from bot.store.fulltext import (
    FTS_PK_BITS,
    FTS_PK_MASK,
    PaperFilter,
    fts_key,
    fts_seconds,
    since_key,
)
from tests.support.factories import T0, hours, make_paper

COUNT = 1200  # more than one 500-pk chunk of `popularity_of`


def upvotes(i: int) -> int:
    return (i * 37) % 11  # 0 for every 11th paper: those have no popularity


def is_hf(i: int) -> bool:
    return i % 4 == 0


def is_cv(i: int) -> bool:
    return i % 5 == 0


@pytest.fixture()
def store(any_store: Store) -> Store:
    """Paper i: published i hours before T0, 'zebra' in every third title, HF upvotes
    `upvotes(i)`, also listed on HF when `is_hf(i)`, tagged cv when `is_cv(i)` (on each
    backend in turn)."""
    store = any_store
    papers = [
        make_paper(i, title=f"okapi {'zebra' if i % 3 == 0 else 'yak'} study {i}", published=T0 - hours(i),
                   hf_upvotes=upvotes(i) or None)
        for i in range(COUNT)
    ]
    store.papers.ingest(papers, T0)
    store.papers.ingest([replace(p, source=SourceKind.HF) for i, p in enumerate(papers) if is_hf(i)], T0)
    for i, paper in enumerate(papers):
        if is_cv(i):
            store.papers.set_topics(paper.id, ["cv", "gen"] if i % 10 == 0 else ["cv"])
    return store


def pk_of(store: Store) -> dict[int, int]:
    """Paper number -> pk (papers were ingested in number order)."""
    return {int(paper_id.split(".")[1]): pk for paper_id, pk in store.conn.execute("SELECT id, pk FROM papers")}


def key_of(i: int, pk: int) -> int:
    return fts_key(to_iso(T0 - hours(i)), pk)


def test_keys_put_time_above_pk() -> None:
    when = T0 - hours(5)
    assert since_key(when) == fts_key(to_iso(when), 0) == fts_seconds(to_iso(when)) << FTS_PK_BITS
    assert fts_key(to_iso(when), 7) & FTS_PK_MASK == 7
    assert fts_key(to_iso(when), FTS_PK_MASK) < since_key(when + hours(1) / 3600)  # one second later
    assert fts_seconds(None) == fts_seconds("not a time") == fts_seconds("1960-01-01T00:00:00+00:00") == 0
    assert fts_seconds("2200-01-01T00:00:00+00:00") == (1 << 32) - 1


def test_newest_first_streams_every_paper_in_batches(store: Store) -> None:
    pks = pk_of(store)
    batches = list(store.fulltext.newest_first(None, 0, 500))
    assert [len(batch) for batch in batches] == [500, 500, 200]
    rows = [tuple(row) for batch in batches for row in batch]
    assert [row[0] for row in rows] == [key_of(i, pks[i]) for i in range(COUNT)]  # newest first
    assert {row[1:] for row in rows} == {(-1.0, -1.0)}  # no scores without words


def test_newest_first_keeps_the_window_and_the_words(store: Store) -> None:
    pks = pk_of(store)
    since = since_key(T0 - hours(50.5))
    keys = [row[0] for batch in store.fulltext.newest_first('"zebra"', since, 7) for row in batch]
    assert keys == [key_of(i, pks[i]) for i in range(51) if i % 3 == 0]


def test_newest_first_scores_and_bounds_each_match(store: Store) -> None:
    rows = [tuple(row) for batch in store.fulltext.newest_first('"zebra"', 0, 100, (8.0, 1.0, 3.0, 1.0), (1e15,) * 4)
            for row in batch]
    assert len(rows) == COUNT // 3
    assert all(bm < 0 for _, bm, _ in rows)  # FTS5's bm25: lower is better
    assert all(bound <= bm for _, bm, bound in rows)  # the saturated score bounds every row's
    assert all(row[1:] == (-1.0, -1.0) for batch in store.fulltext.newest_first('"zebra"', 0, 100) for row in batch)


def test_closing_newest_first_early_leaves_the_index_usable(store: Store) -> None:
    batches = store.fulltext.newest_first(None, 0, 10)
    assert len(next(batches)) == 10
    batches.close()
    assert store.fulltext.count(None, 0, PaperFilter()) == COUNT


def test_newest_keys_are_the_newest_matches(store: Store) -> None:
    pks = pk_of(store)
    assert store.fulltext.newest_keys('"zebra"', 0, 4) == [key_of(i, pks[i]) for i in (0, 3, 6, 9)]
    assert store.fulltext.newest_keys('"nothing"', 0, 4) == []


def test_popularity_of_checks_the_filters_across_chunks(store: Store) -> None:
    pks = pk_of(store)
    every = list(pks.values())
    assert store.fulltext.popularity_of(every, PaperFilter()) == {pks[i]: upvotes(i) for i in range(COUNT)}
    assert store.fulltext.popularity_of(every, PaperFilter(source="hf")) == {
        pks[i]: upvotes(i) for i in range(COUNT) if is_hf(i)
    }
    assert store.fulltext.popularity_of(every, PaperFilter(topic="cv")) == {
        pks[i]: upvotes(i) for i in range(COUNT) if is_cv(i)
    }
    assert store.fulltext.popularity_of(every, PaperFilter(source="hf", topic="cv")) == {
        pks[i]: upvotes(i) for i in range(COUNT) if is_hf(i) and is_cv(i)
    }
    assert store.fulltext.popularity_of([], PaperFilter(topic="cv")) == {}


@pytest.mark.parametrize("filters", [PaperFilter(), PaperFilter(source="hf"), PaperFilter(topic="cv"),
                                     PaperFilter(source="hf", topic="gen"), PaperFilter(source="reddit")])
def test_count_agrees_with_the_papers(store: Store, filters: PaperFilter) -> None:
    def passes(i: int) -> bool:
        return ((filters.source is None or (filters.source == "arxiv") or (filters.source == "hf" and is_hf(i)))
                and (filters.topic is None or (filters.topic == "cv" and is_cv(i)) or (filters.topic == "gen" and i % 10 == 0)))

    since = since_key(T0 - hours(600.5))
    assert store.fulltext.count(None, 0, filters) == sum(passes(i) for i in range(COUNT))
    assert store.fulltext.count('"zebra"', since, filters) == sum(passes(i) for i in range(601) if i % 3 == 0)


def test_most_popular_orders_by_popularity_then_newest_pk(store: Store) -> None:
    pks = pk_of(store)
    order = sorted((i for i in range(COUNT) if upvotes(i)), key=lambda i: (-upvotes(i), -pks[i]))
    assert [pk for batch in store.fulltext.popular_first(64) for pk, _ in batch] == [pks[i] for i in order]
    top = store.fulltext.most_popular(0, PaperFilter(), 5)
    assert top == [(pks[i], upvotes(i), key_of(i, pks[i])) for i in order[:5]]
    since = since_key(T0 - hours(100))
    windowed = store.fulltext.most_popular(since, PaperFilter(topic="cv"), 1000)
    assert windowed == [(pks[i], upvotes(i), key_of(i, pks[i])) for i in order if i <= 100 and is_cv(i)]


def test_oldest_key_and_has_papers(any_store: Store) -> None:
    store = any_store
    assert not store.fulltext.has_papers()
    assert store.fulltext.oldest_key(0) is None
    store.papers.ingest([make_paper(i, published=T0 - hours(i)) for i in range(3)], T0)
    pks = pk_of(store)
    assert store.fulltext.has_papers()
    assert store.fulltext.oldest_key(0) == key_of(2, pks[2])
    assert store.fulltext.oldest_key(since_key(T0 - hours(1.5))) == key_of(1, pks[1])
    assert store.fulltext.oldest_key(since_key(T0 + hours(1))) is None


def test_most_common_topic_skips_the_excluded_one(store: Store) -> None:
    pks = pk_of(store)
    tagged = [pks[i] for i in range(0, 100, 5)]  # cv on all 20, gen on 10 of them
    assert store.fulltext.most_common_topic(tagged, "llm") == "cv"
    assert store.fulltext.most_common_topic(tagged, "cv") == "gen"
    assert store.fulltext.most_common_topic(tagged, "gen") == "cv"
    assert store.fulltext.most_common_topic([pks[1], pks[2]], "llm") is None  # untagged papers
    assert store.fulltext.most_common_topic([], "cv") is None
    store.papers.set_topics(make_paper(1).id, ["agents"])
    store.papers.set_topics(make_paper(2).id, ["agents", "bench"])
    store.papers.set_topics(make_paper(3).id, ["bench"])
    assert store.fulltext.most_common_topic([pks[1], pks[2], pks[3]], "llm") == "agents"  # tie: smaller id
