"""The search index (tantivy, bot.store.search_index) and the ranking over it (bot.search.indexed).

- it follows the store: ingest, new versions, summary text, topics, popularity; a second Store
  object on the same file; another process ingesting; two processes sharing one index;
- `paperbot reindex` rebuilds it and running engines pick the new one up;
- FTS5 answers when the index is missing or another process holds its writer;
- the windowed ranking is exactly the best k under its formula (brute force over every match),
  for relevance, sort:new and sort:top, with and without words and filters;
- totals are exact or marked as a lower bound, also with one very old paper among recent ones.
The ranking and filter checks of test_search.py run against the index in test_search_indexed.py.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import tantivy

import bot.search.engine as engine_module
import bot.store.search_index as search_index_module
from bot.core.background import running_daemons
from bot.core.models import Paper, Signal, SourceKind
from bot.search.engine import SearchEngine
from bot.search.indexed import rank_indexed, windows
from bot.search.query import SearchQuery, plan_for
from bot.search.ranking import COLUMN_WEIGHTS, popularity_factor, recency
from bot.store import Store
from bot.store.fulltext import FTS_PK_BITS, FTS_PK_MASK
from bot.store.search_index import SearchIndex, index_directory, rebuild
from tests.support.factories import make_paper
from tests.unit.search.test_search import NOW, corpus_papers, pid

ROOT = Path(__file__).resolve().parents[3]


def paper(number: int, title: str, days_old: float = 1.0, **fields: object) -> Paper:
    return make_paper(number, paper_id=f"2511.{number:05d}", title=title, published=NOW - timedelta(days=days_old), **fields)  # type: ignore[arg-type]


def ids(result: object) -> list[str]:
    return [hit.paper.id for hit in result.hits]  # type: ignore[attr-defined]


def indexed(store: Store, data_dir: Path) -> SearchEngine:
    """An engine with a search index, built now (a missing one is otherwise built in the
    background on first use, and FTS5 answers meanwhile)."""
    if not (index_directory(data_dir) / "state.json").exists():
        rebuild(store.conn, index_directory(data_dir))
    return SearchEngine.for_data_dir(store, data_dir)


@pytest.fixture()
def opened(tmp_path: Path, store_location: str) -> tuple[Store, SearchEngine]:
    """A store on each backend in turn (the index lives in the data dir either way)."""
    store = Store.open(store_location)
    return store, indexed(store, tmp_path)


# --- it follows the store ---------------------------------------------------------------------


def test_the_index_follows_ingest_versions_summaries_topics_and_popularity(opened: tuple[Store, SearchEngine]) -> None:
    store, engine = opened
    store.papers.ingest([paper(1, "Okapi estimation"), paper(2, "Okapi tracking", days_old=3)], NOW)
    first = engine.search(SearchQuery("okapi"), NOW)
    assert first.engine == "index" and ids(first) == ["2511.00001", "2511.00002"]

    store.papers.ingest([replace(paper(1, "Capybara estimation"), version=2)], NOW)  # a new version
    assert ids(engine.search(SearchQuery("okapi"), NOW)) == ["2511.00002"]
    assert ids(engine.search(SearchQuery("capybara"), NOW)) == ["2511.00001"]

    store.papers.set_summary_text("2511.00002", "TL;DR: a tapir-inspired tracker.")
    assert ids(engine.search(SearchQuery("tapir"), NOW)) == ["2511.00002"]
    store.papers.set_summary_text("2511.00002", "Something else.")
    assert not engine.search(SearchQuery("tapir"), NOW).hits

    store.papers.set_topics("2511.00002", ["cv"])
    assert ids(engine.search(SearchQuery("okapi", topic="cv"), NOW)) == ["2511.00002"]
    store.papers.set_topics("2511.00002", ["rl"])
    assert not engine.search(SearchQuery("okapi", topic="cv"), NOW).hits

    store.papers.ingest([paper(3, "Okapi mapping", days_old=9)], NOW)
    assert ids(engine.search(SearchQuery("okapi", sort="top"), NOW))[0] == "2511.00002"  # ties: newest
    hf = replace(paper(3, "Okapi mapping", days_old=9), source=SourceKind.HF,
                 signals=(Signal(SourceKind.HF, "d", 50, 0, "HF daily", "", NOW),))
    store.papers.ingest([hf], NOW)  # a merge that only raises popularity and adds a source
    top = engine.search(SearchQuery("okapi", sort="top"), NOW)
    assert ids(top)[0] == "2511.00003" and top.engine == "index"
    assert ids(engine.search(SearchQuery("okapi", source=SourceKind.HF), NOW)) == ["2511.00003"]
    store.close()


def test_a_search_that_waited_while_another_caught_up_takes_that_view(tmp_path: Path) -> None:
    """Searches waiting for the index while one catches up need only the changes committed
    before they began: they take the view it made rather than each catching up again with the
    writes made meanwhile (a tantivy commit each); the next search sees those writes."""
    location = str(tmp_path / "paperbot.db")
    store = Store.open(location)
    store.papers.ingest([paper(1, "Okapi estimation")], NOW)
    rebuild(store.conn, index_directory(tmp_path))
    index = SearchIndex(index_directory(tmp_path))
    store.papers.set_summary_text("2511.00001", "a tapir summary")  # change A
    before_waiting = search_index_module._store_seq(store.conn)
    waiting = Store.open(location)  # the waiting search's own connection (its worker thread's)
    seen: list[int] = []
    read_sequence = threading.Event()
    original = search_index_module._store_seq

    def noting(conn: object) -> int:
        value = original(conn)  # type: ignore[arg-type]
        read_sequence.set()
        return value

    def search() -> None:
        view = index.snapshot(waiting.conn)
        seen.append(view.seq if view is not None else -1)

    with index._lock:  # another search holds the view while it catches up
        search_index_module._store_seq = noting  # type: ignore[assignment]
        thread = threading.Thread(target=search)
        thread.start()
        assert read_sequence.wait(30)  # the waiting search knows what it needs
        search_index_module._store_seq = original
        caught_up = index._current(store.conn, original(store.conn))  # it caught up with change A
        assert caught_up is not None and caught_up.seq == before_waiting
        store.papers.set_summary_text("2511.00001", "a numbat summary")  # change B, meanwhile
    thread.join(30)
    assert seen == [before_waiting]  # the view with A, no second catch-up for B
    later = index.snapshot(store.conn)
    assert later is not None and later.seq > before_waiting  # the next search catches up with B
    engine = SearchEngine(store, index)
    assert ids(engine.search(SearchQuery("numbat"), NOW)) == ["2511.00001"]
    waiting.close()
    store.close()


def test_a_second_store_object_ingesting_is_seen(tmp_path: Path, store_location: str) -> None:
    store = Store.open(store_location)
    engine = indexed(store, tmp_path)
    store.papers.ingest([paper(1, "Okapi estimation")], NOW)
    assert ids(engine.search(SearchQuery("okapi"), NOW)) == ["2511.00001"]
    other = Store.open(store_location)
    other.papers.ingest([paper(2, "Okapi tracking")], NOW)
    other.papers.set_summary_text("2511.00001", "a numbat summary")
    result = engine.search(SearchQuery("okapi"), NOW)
    assert result.engine == "index" and set(ids(result)) == {"2511.00001", "2511.00002"}
    assert ids(engine.search(SearchQuery("numbat"), NOW)) == ["2511.00001"]
    other.close()
    store.close()


def test_another_process_ingesting_is_seen(tmp_path: Path, store_location: str) -> None:
    """On PostgreSQL the other process is another replica, with an index of its own: this
    replica's index catches up from the store's search sequence all the same."""
    store = Store.open(store_location)
    engine = indexed(store, tmp_path)
    store.papers.ingest([paper(1, "Okapi estimation")], NOW)
    assert engine.search(SearchQuery("okapi"), NOW).engine == "index"
    script = (
        "import sys; from datetime import datetime, UTC; from bot.store import Store; from bot.core.models import Paper\n"
        "store = Store.open(sys.argv[1])\n"
        "store.papers.ingest([Paper(id='2511.00009', title='Okapi herding', version=1, "
        "published=datetime(2026, 11, 19, tzinfo=UTC))], datetime(2026, 11, 20, tzinfo=UTC))\n"
    )
    subprocess.run([sys.executable, "-c", script, store_location], cwd=ROOT, check=True, timeout=120)
    result = engine.search(SearchQuery("herding"), NOW)
    assert result.engine == "index" and ids(result) == ["2511.00009"]
    store.close()


def test_two_processes_share_one_index(tmp_path: Path) -> None:
    """One catches the index up; the other reloads it without writing (it needs no writer)."""
    store_a, store_b = Store.open(str(tmp_path / "paperbot.db")), Store.open(str(tmp_path / "paperbot.db"))
    engine_a, engine_b = indexed(store_a, tmp_path), indexed(store_b, tmp_path)
    store_a.papers.ingest([paper(1, "Okapi estimation")], NOW)
    assert engine_a.search(SearchQuery("okapi"), NOW).engine == "index"
    assert engine_b.search(SearchQuery("okapi"), NOW).engine == "index"
    store_b.papers.ingest([paper(2, "Okapi tracking")], NOW)
    assert len(engine_b.search(SearchQuery("okapi"), NOW).hits) == 2  # b catches up
    # a finds the index in step: it must not need the writer, so hold the writer elsewhere.
    holder = tantivy.Index.open(str(index_directory(tmp_path))).writer(15_000_000, 1)
    try:
        result = engine_a.search(SearchQuery("okapi"), NOW)
        assert result.engine == "index" and len(result.hits) == 2
    finally:
        holder.wait_merging_threads()
    store_a.close()
    store_b.close()


def test_reindex_swaps_in_a_new_index_that_running_engines_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli.main import main

    store = Store.open(str(tmp_path / "paperbot.db"))
    engine = indexed(store, tmp_path)
    store.papers.ingest([paper(1, "Okapi estimation")], NOW)
    assert engine.search(SearchQuery("okapi"), NOW).engine == "index"
    before = (index_directory(tmp_path) / "state.json").read_text()
    monkeypatch.setenv("PAPERBOT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PAPERBOT_DB", raising=False)
    assert main(["reindex"]) == 0
    assert (index_directory(tmp_path) / "state.json").read_text() != before  # a new generation
    store.papers.ingest([paper(2, "Okapi tracking")], NOW)  # after the rebuild: caught up too
    result = engine.search(SearchQuery("okapi"), NOW)
    assert result.engine == "index" and set(ids(result)) == {"2511.00001", "2511.00002"}
    assert not list(tmp_path.glob("search-index.*"))  # no building or retired directory is left
    store.close()


# --- the FTS5 fallback --------------------------------------------------------------------------


def test_a_missing_index_of_a_small_store_is_built_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()

    def held_rebuild(conn: object, directory: object) -> dict[str, int]:
        release.wait(30)
        return rebuild(conn, directory)  # type: ignore[arg-type]

    monkeypatch.setattr(engine_module, "rebuild", held_rebuild)
    store = Store.open(str(tmp_path / "paperbot.db"))
    store.papers.ingest([paper(1, "Okapi estimation")], NOW)
    engine = SearchEngine.for_data_dir(store, tmp_path)
    first = engine.search(SearchQuery("okapi"), NOW)
    assert ids(first) == ["2511.00001"] and first.engine != "index"  # answered at once, from FTS5
    assert engine.builder is not None
    # A daemon the CLI's exit knows of: a stop does not wait for it, and the exit skips the
    # native destructors while it runs (bot.core.background).
    assert engine.builder.daemon and "search-index-build" in running_daemons()
    release.set()
    engine.builder.join()
    assert "search-index-build" not in running_daemons()
    store.papers.ingest([paper(2, "Okapi tracking")], NOW)
    result = engine.search(SearchQuery("okapi"), NOW)
    assert result.engine == "index" and len(result.hits) == 2
    store.close()



def test_fts5_answers_when_there_is_no_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "AUTO_BUILD_PAPERS", 0)  # a "large" store: no build on first use
    store = Store.open(str(tmp_path / "paperbot.db"))
    store.papers.ingest([paper(1, "Okapi estimation"), paper(2, "Okapi tracking", days_old=2)], NOW)
    engine = SearchEngine.for_data_dir(store, tmp_path)
    result = engine.search(SearchQuery("okapi"), NOW)
    assert result.engine == "fts5" and ids(result) == ids(SearchEngine(store).search(SearchQuery("okapi"), NOW))
    assert not index_directory(tmp_path).exists()
    rebuild(store.conn, index_directory(tmp_path))
    assert engine.search(SearchQuery("okapi"), NOW).engine == "index"
    store.close()


def test_fts5_answers_while_another_process_holds_the_writer(opened: tuple[Store, SearchEngine], tmp_path: Path) -> None:
    store, engine = opened
    store.papers.ingest([paper(1, "Okapi estimation")], NOW)
    assert engine.search(SearchQuery("okapi"), NOW).engine == "index"
    holder = tantivy.Index.open(str(index_directory(tmp_path))).writer(15_000_000, 1)
    try:
        store.papers.ingest([paper(2, "Okapi tracking")], NOW)  # the index must catch up: it cannot
        result = engine.search(SearchQuery("okapi"), NOW)
        assert result.engine == "fts5" and len(result.hits) == 2  # FTS5 is in step with the store
    finally:
        holder.wait_merging_threads()
    result = engine.search(SearchQuery("okapi"), NOW)
    assert result.engine == "index" and len(result.hits) == 2
    store.close()


# --- the windowed ranking is exact --------------------------------------------------------------


@pytest.fixture(scope="module")
def spread(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, SearchEngine]:
    """The 392 corpus papers over three years, every ninth popular, some tagged cv."""
    base = tmp_path_factory.mktemp("spread")
    when = {i: NOW - timedelta(days=2.8 * i) for i in range(392)}
    store = Store.open(str(base / "paperbot.db"))
    store.papers.ingest(corpus_papers(when), NOW)
    store.papers.ingest(
        [replace(p, source=SourceKind.HF, signals=(Signal(SourceKind.HF, "d", 7 * i, 0, "HF daily", "", NOW),))
         for i, p in enumerate(corpus_papers(when)) if i % 9 == 0],
        NOW,
    )
    for i in range(0, 392, 3):
        store.papers.set_topics(pid(i), ["cv"])
    return store, indexed(store, base)


def every_match(engine: SearchEngine, query: SearchQuery) -> list[tuple[float, int, int]]:
    """(S, key, popularity) of every match of a query, straight from the index."""
    assert engine.search_index is not None
    snapshot = engine.search_index.snapshot(engine.store.conn)
    assert snapshot is not None
    plan = plan_for(query)
    compiled = snapshot.compile(plan.terms, plan.author_words, plan.filters, COLUMN_WEIGHTS)
    hits, count = snapshot.best(compiled, plan.lo_key, None, 10_000)
    assert len(hits) == count
    return hits


QUERIES = ("model", "language model", '"language model"', "learning", "reinforcement learning", "diffusion",
           "agent", "reasoning", "gaussian", "the", "data", "video generation")


@pytest.mark.parametrize("rare_field_docs", [5000, 10])
def test_relevance_is_exactly_the_best_k(
    spread: tuple[Store, SearchEngine], monkeypatch: pytest.MonkeyPatch, rare_field_docs: int
) -> None:
    """With few papers every field is "rare" (scored one by one); with a low limit the windows
    and their stop rule do the work."""
    import bot.store.search_index as search_index

    monkeypatch.setattr(search_index, "RARE_FIELD_DOCS", rare_field_docs)
    store, engine = spread
    now_s = NOW.timestamp()
    stopped_early = 0
    for text in QUERIES:
        for options in ({}, {"topic": "cv"}, {"since": NOW - timedelta(days=400)}, {"author": "shared coauthor"}):
            for k in (1, 3, 10):
                query = SearchQuery(text, limit=k, **options)  # type: ignore[arg-type]
                result = engine.search(query, NOW)
                assert result.engine == "index"
                scored = sorted(
                    ((s * recency(now_s - (key >> FTS_PK_BITS)) * popularity_factor(pop), key)
                     for s, key, pop in every_match(engine, query)),
                    reverse=True,
                )
                expected = [key & FTS_PK_MASK for _, key in scored[:k]]
                got = [h.paper for h in result.hits]
                assert [p.id for p in got] == [p.id for p in store.papers.get_by_pks(expected)], (text, options, k)
                stopped_early += snapshot_scan(engine, query).windows_read < len(windows(plan_for(query).lo_key, NOW))
    assert stopped_early >= 20


def test_a_rare_field_with_many_matches_is_not_read_whole(
    spread: tuple[Store, SearchEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every field is rare among 392 papers: "model" (hundreds of matches) reads the best S of its
    rare part, then windows of a few dozen best, and stops before the oldest window; the answer
    is still exact (test_relevance_is_exactly_the_best_k)."""
    monkeypatch.setattr(search_index_module, "RARE_FIELD_DOCS", 5000)
    store, engine = spread
    matches = len(every_match(engine, SearchQuery("model")))
    limits: list[int] = []
    best = search_index_module.IndexSnapshot.best

    def recorded(self, query, lo_key, hi_key, limit):  # type: ignore[no-untyped-def]
        limits.append(limit)
        return best(self, query, lo_key, hi_key, limit)

    monkeypatch.setattr(search_index_module.IndexSnapshot, "best", recorded)
    result = engine.search(SearchQuery("model", limit=10), NOW)
    assert result.engine == "index" and len(result.hits) == 10
    assert matches > 200 and limits[0] == 1 and sum(limits[1:]) < matches, limits
    scan = snapshot_scan(engine, SearchQuery("model", limit=10))
    assert scan.windows_read < len(windows(0, NOW))


def snapshot_scan(engine: SearchEngine, query: SearchQuery):  # type: ignore[no-untyped-def]
    assert engine.search_index is not None
    snapshot = engine.search_index.snapshot(engine.store.conn)
    assert snapshot is not None
    return rank_indexed(snapshot, plan_for(query), NOW)


def test_relevance_without_words_is_exactly_the_best_k(spread: tuple[Store, SearchEngine]) -> None:
    store, engine = spread
    now_s = NOW.timestamp()
    for options in ({}, {"topic": "cv"}, {"since": NOW - timedelta(days=100)}, {"source": SourceKind.HF}):
        for k in (1, 5, 20):
            query = SearchQuery(limit=k, **options)  # type: ignore[arg-type]
            scored = sorted(
                ((recency(now_s - (key >> FTS_PK_BITS)) * popularity_factor(pop), key)
                 for _, key, pop in every_match(engine, query)),
                reverse=True,
            )
            expected = [p.id for p in store.papers.get_by_pks([key & FTS_PK_MASK for _, key in scored[:k]])]
            assert ids(engine.search(query, NOW)) == expected, (options, k)


def test_sort_new_and_top_are_exact(spread: tuple[Store, SearchEngine]) -> None:
    store, engine = spread
    for text in ("model", '"language model"', "learning", ""):
        for options in ({}, {"topic": "cv"}):
            for k in (1, 7, 40):
                matches = every_match(engine, SearchQuery(text, **options))  # type: ignore[arg-type]
                newest = sorted(matches, key=lambda m: m[1], reverse=True)[:k]
                got_new = ids(engine.search(SearchQuery(text, sort="new", limit=k, **options), NOW))  # type: ignore[arg-type]
                assert got_new == [p.id for p in store.papers.get_by_pks([m[1] & FTS_PK_MASK for m in newest])]
                # sort:top: most popular first, ties newest (to the second)
                top = sorted(matches, key=lambda m: (m[2], m[1] >> FTS_PK_BITS), reverse=True)[:k]
                got_top = engine.search(SearchQuery(text, sort="top", limit=k, **options), NOW)  # type: ignore[arg-type]
                assert [h.paper.popularity for h in got_top.hits] == [m[2] for m in top], (text, options, k)
                assert ids(got_top) == [p.id for p in store.papers.get_by_pks([m[1] & FTS_PK_MASK for m in top])]


# --- totals -------------------------------------------------------------------------------------


@pytest.mark.parametrize("exact_count_limit", [20_000, 10])
def test_totals_are_exact_or_marked_with_one_very_old_paper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exact_count_limit: int
) -> None:
    """The old estimate extrapolated over the time since the oldest paper: one 2012 paper among
    recent ones made it millions. A total is now exact, or a lower bound marked as such."""
    import bot.search.indexed as indexed_ranking
    import bot.store.search_index as search_index

    monkeypatch.setattr(indexed_ranking, "EXACT_COUNT_LIMIT", exact_count_limit)
    monkeypatch.setattr(search_index, "RARE_FIELD_DOCS", 20)  # "okapi" as a common word
    store = Store.open(str(tmp_path / "paperbot.db"))
    recent = [paper(i, f"Okapi study number {i}", days_old=i / 10) for i in range(1, 301)]
    old = make_paper(paper_id="1201.00001", title="An okapi paper from 2012", published=datetime(2012, 1, 5, tzinfo=UTC))
    store.papers.ingest([*recent, old], NOW)
    true_count = 301
    for engine in (SearchEngine(store), indexed(store, tmp_path)):
        for sort in ("relevance", "new", "top"):
            for k in (5, 1000):
                result = engine.search(SearchQuery("okapi", sort=sort, limit=k), NOW)
                assert result.total <= true_count, (result.engine, sort, k, result.total)
                if result.total_exact:
                    assert result.total == true_count, (result.engine, sort, k)
                else:
                    assert len(result.hits) <= result.total < true_count
                if k == 1000:
                    assert result.total_exact and result.total == true_count
        assert engine.count_matches(SearchQuery("okapi"), NOW) == true_count
    store.close()


def test_the_reply_says_at_least_when_the_total_is_a_lower_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    import bot.search.indexed as indexed_ranking
    from bot.alerts.alerts import SubscriptionCommands
    from bot.chat.service import BotService
    from bot.core.clock import FakeClock
    from bot.core.models import Actor, Place
    from tests.support.factories import FakeSummaries, app_settings
    from tests.support.wiring import make_digest_commands

    store = Store.open(str(tmp_path / "paperbot.db"))
    store.papers.ingest([paper(i, f"Okapi study number {i}" + (" numbat" if i <= 8 else ""), days_old=i * 3.0)
                         for i in range(1, 401)], NOW)
    clock, settings, summaries = FakeClock(NOW), app_settings(), FakeSummaries(store)
    service = BotService(
        store=store, summaries=summaries, search=indexed(store, tmp_path), clock=clock,
        digests=make_digest_commands(store=store, settings=settings, clock=clock, summaries=summaries),
        subscriptions=SubscriptionCommands(store=store, settings=settings, clock=clock), notices=store.notices,
    )
    who, where = Actor(platform="memory", user_id="U1"), Place(platform="memory", channel_id="C1")
    reply = asyncio.run(service.handle_command("okapi", who, where))
    assert reply.header == "5 of 400 papers for “okapi”"  # few can match: the rest is counted
    import bot.store.search_index as search_index

    monkeypatch.setattr(indexed_ranking, "EXACT_COUNT_LIMIT", 10)  # as if "okapi" were a common word
    monkeypatch.setattr(search_index, "RARE_FIELD_DOCS", 10)
    reply = asyncio.run(service.handle_command("okapi", who, where))
    assert reply.header.startswith("5 of at least ") and reply.header.endswith(" papers for “okapi”")
    reply = asyncio.run(service.handle_command("numbat", who, where))
    assert reply.header == "5 of 8 papers for “numbat”"
    store.close()


def test_a_rebuild_removes_what_dead_builds_left(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "paperbot.db"))
    store.papers.ingest([paper(1, "Okapi estimation")], NOW)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    leftover = tmp_path / f"search-index.building-{dead.stdout.strip()}-abcd1234"
    leftover.mkdir()
    (leftover / "meta.json").write_text("{}")
    rebuild(store.conn, index_directory(tmp_path))
    assert not leftover.exists() and (index_directory(tmp_path) / "state.json").exists()
    store.close()
