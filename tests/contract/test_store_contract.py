"""The store contract: the same repository calls give the same answers on SQLite and PostgreSQL.

Every test takes `any_store` (tests/conftest.py), which runs it once on a SQLite file and once
on a throwaway PostgreSQL server (tests/support/postgres.py; the PostgreSQL half is marked
`postgres`). tests/unit/store runs its own tests on both backends the same way (papers,
full-text reads, channels, digest runs, subscriptions, user state, notices, alert queue, outbox,
delivered papers, installations, retention); this module covers the rest of the interface and
what is specific to a backend seam: the schemas, transactions, search answers, concurrency.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.core.errors import StoreError, StoreFull, StoreReadOnly
from bot.core.models import Summary
from bot.search.engine import SearchEngine
from bot.search.query import SearchQuery
from bot.store import Store
from bot.store.backend import pg_fault, pg_location, pg_sql
from bot.store.db import migrate, transaction
from bot.store.feedback import Choice, PersonalDigest, StoredModel
from bot.store.pg_schema import PG_MIGRATIONS
from bot.store.schema import MIGRATIONS
from bot.store.sources import CachedResponse, SourceState
from bot.store.summaries import SummaryKey
from tests.support.factories import T0, hours, make_paper

OFFLINE = SummaryKey("offline", "", "v1")


# --- the schema -------------------------------------------------------------------------------


def _sqlite_columns(store: Store) -> dict[str, set[str]]:
    tables = [
        row[0] for row in store.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'papers_fts%' "
            "AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {table: {row[1] for row in store.conn.execute(f"PRAGMA table_info({table})")} for table in tables}


def _pg_columns(store: Store) -> dict[str, set[str]]:
    columns: dict[str, set[str]] = {}
    for table, column in store.conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND table_name != 'papers_fts'"
    ):
        # `rowid` is implicit in SQLite; PostgreSQL tables read in insertion order spell it out.
        if column != "rowid":
            columns.setdefault(table, set()).add(column)
    return columns


def test_both_backends_have_a_migration_for_every_version() -> None:
    assert len(PG_MIGRATIONS) == len(MIGRATIONS)


@pytest.mark.postgres
def test_both_schemas_have_the_same_tables_and_columns(tmp_path, postgres_url: str) -> None:  # type: ignore[no-untyped-def]
    sqlite_store, pg_store = Store.open(str(tmp_path / "schema.db")), Store.open(postgres_url)
    try:
        assert _pg_columns(pg_store) == _sqlite_columns(sqlite_store)
        for store in (sqlite_store, pg_store):
            assert store.conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == len(MIGRATIONS)
    finally:
        sqlite_store.close()
        pg_store.close()


@pytest.mark.postgres
def test_reopening_a_postgres_store_applies_nothing_again(postgres_url: str) -> None:
    Store.open(postgres_url).close()
    again = Store.open(postgres_url)
    try:
        assert again.conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == len(MIGRATIONS)
        assert again.describe().startswith("PostgreSQL postgresql://")
    finally:
        again.close()


@pytest.mark.postgres
def test_a_read_only_postgres_database_is_refused_unless_only_reading(postgres_server) -> None:  # type: ignore[no-untyped-def]
    import psycopg

    url = postgres_server.new_database("readonly")
    Store.open(url).close()  # migrated while writable
    database = url.split("?")[0].rsplit("/", 1)[1]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{database}" SET default_transaction_read_only = on')
    with pytest.raises(StoreReadOnly, match="is read-only"):
        Store.open(url)
    reader = Store.open(url, writable=False)  # `paperbot status`, `papers`, `search`
    try:
        assert reader.counts()["papers"] == 0
        with pytest.raises(StoreReadOnly):
            reader.outbox.enqueue("k", "digest", "slack", "C1", "{}", T0)
    finally:
        reader.close()


def test_postgres_errors_map_to_the_store_errors() -> None:
    class Fault(Exception):
        def __init__(self, sqlstate: str) -> None:
            super().__init__("could not extend file: No space left on device")
            self.sqlstate = sqlstate

    assert isinstance(pg_fault(Fault("53100"), "postgresql://u@h/db"), StoreFull)
    assert isinstance(pg_fault(Fault("25006"), "postgresql://u@h/db"), StoreReadOnly)
    other = pg_fault(Fault("42P01"), "postgresql://u@h/db")
    assert type(other) is StoreError and "postgresql://u@h/db" in str(other)
    assert pg_location("postgresql://bot:s3cret@db.example:5433/papers?sslmode=require&password=x") == (
        "postgresql://bot@db.example:5433/papers?sslmode=require&password=***"
    )


def test_text_with_nul_characters_is_stored_and_looked_up(any_store: Store) -> None:
    """PostgreSQL's text cannot hold NUL (SQLite's can): such text is kept with U+FFFD instead."""
    any_store.papers.ingest([make_paper(1, title="Nul\x00in a title", published=T0)], T0)
    paper = any_store.papers.get(make_paper(1).id)
    assert paper is not None and paper.title in ("Nul\x00in a title", "Nul\ufffdin a title")
    assert any_store.papers.get("\x00") is None
    assert SearchEngine(any_store).search(SearchQuery(text="", topic="\x00"), T0).hits == ()


def test_placeholders_become_psycopg_ones_outside_literals_only() -> None:
    assert pg_sql("SELECT ? WHERE a = '?' AND b LIKE 'x%' AND c = ?") == "SELECT %s WHERE a = '?' AND b LIKE 'x%%' AND c = %s"
    assert pg_sql('SELECT "odd?name", 5 % 2 -- why?\nFROM t WHERE k = ?') == 'SELECT "odd?name", 5 %% 2 -- why?\nFROM t WHERE k = %s'
    assert pg_sql("SELECT 'it''s ?' , ?") == "SELECT 'it''s ?' , %s"


# --- transactions -----------------------------------------------------------------------------


def test_a_failed_transaction_leaves_nothing_behind(any_store: Store) -> None:
    with pytest.raises(RuntimeError), transaction(any_store.conn):
        any_store.outbox.enqueue("k1", "digest", "slack", "C1", "{}", T0)
        raise RuntimeError("stop")
    assert any_store.outbox.get("k1") is None and not any_store.conn.in_transaction
    with transaction(any_store.conn):
        any_store.outbox.enqueue("k2", "digest", "slack", "C1", "{}", T0)
        with transaction(any_store.conn):  # a nested one joins the outer one
            any_store.outbox.enqueue("k3", "digest", "slack", "C1", "{}", T0)
    assert any_store.outbox.get("k2") is not None and any_store.outbox.get("k3") is not None


def test_an_sql_error_is_an_error_of_the_backend_and_the_store_stays_usable(any_store: Store) -> None:
    with pytest.raises((sqlite3.Error, StoreError)):
        any_store.conn.execute("SELECT no_such_column FROM papers")
    with pytest.raises((sqlite3.Error, StoreError)), transaction(any_store.conn):
        any_store.conn.execute("INSERT INTO no_such_table VALUES (1)")
    assert any_store.healthy() and any_store.papers.count() == 0


@pytest.mark.postgres
def test_postgres_threads_have_their_own_transactions(postgres_url: str) -> None:
    """What one thread writes inside its open transaction is its own until it commits (the
    runtime ingests from a worker thread on PostgreSQL, which pins one pooled connection per
    thread; SQLite's one connection is shared by a process's threads, by design, and its
    callers never overlap transactions)."""
    any_store = Store.open(postgres_url)
    entered, release = threading.Event(), threading.Event()
    seen: list[bool] = []

    def writer() -> None:
        with transaction(any_store.conn):
            any_store.outbox.enqueue("in-thread", "digest", "slack", "C1", "{}", T0)
            entered.set()
            release.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    assert entered.wait(30)
    seen.append(any_store.outbox.get("in-thread") is not None)  # not committed yet
    release.set()
    thread.join(30)
    seen.append(any_store.outbox.get("in-thread") is not None)
    any_store.close()
    assert seen == [False, True]


# --- the repositories the unit tests of bot/store do not cover ----------------------------------


def test_summaries_round_trip_and_missing_ones(any_store: Store) -> None:
    papers = [make_paper(i, published=T0 - hours(i)) for i in range(3)]
    any_store.papers.ingest(papers, T0)
    summary = Summary(tldr="Short.", key_points=("one", "two"), topics=("Large Language Models",))
    any_store.summaries.put(papers[0].id, 1, OFFLINE, summary, T0)
    any_store.summaries.put(papers[0].id, 1, OFFLINE, summary, T0 + hours(1))  # replaces
    assert any_store.summaries.get(papers[0].id, 1, OFFLINE) == summary
    assert any_store.summaries.get(papers[0].id, 2, OFFLINE) is None
    assert any_store.summaries.count() == 1
    assert sorted(any_store.summaries.missing([OFFLINE], 10)) == sorted(p.id for p in papers[1:])
    # The backfill's cursor: the most recently stored first, below a row key.
    walked = any_store.summaries.missing_below([OFFLINE], 1)
    assert [paper_id for paper_id, _ in walked] == [papers[2].id]
    rest = any_store.summaries.missing_below([OFFLINE], 10, below=walked[0][1])
    assert [paper_id for paper_id, _ in rest] == [papers[1].id]
    assert any_store.summaries.missing_below([OFFLINE], 10, below=rest[0][1]) == []
    usage = {"now": T0, "provider": "openai", "model": "gpt"}
    any_store.summaries.record_usage(**usage, paper_id=papers[0].id, prompt_tokens=100, completion_tokens=20, ok=True)  # type: ignore[arg-type]
    any_store.summaries.record_usage(**usage, paper_id=papers[1].id, prompt_tokens=5, completion_tokens=1, ok=False)  # type: ignore[arg-type]
    assert any_store.summaries.tokens_on(T0) == 126


def _tldr(text: str) -> Summary:
    return Summary(tldr=text, key_points=())


def test_a_stored_summary_replaces_the_ones_it_supersedes_and_the_migration_clears_old_ones(any_store: Store) -> None:
    """At most one summary a paper per summarizer: storing one deletes the same summarizer's
    rows of another prompt version, model or paper version (the older one answers until then);
    the migration clears what earlier upgrades left behind."""
    first, second = (make_paper(i) for i in range(2))
    any_store.papers.ingest([first, second], T0)
    before_upgrade, llm = SummaryKey("offline", "", "v0"), SummaryKey("llm", "gpt", "p1")
    any_store.summaries.put(first.id, 1, before_upgrade, _tldr("old"), T0)
    any_store.summaries.put(first.id, 1, llm, _tldr("llm"), T0 + hours(1))
    assert any_store.summaries.newest_of([(first.id, 1)]) == {first.id: _tldr("llm")}
    assert any_store.summaries.newest_of([(first.id, 2)]) == {}  # another paper version's is not its
    any_store.summaries.put(first.id, 1, OFFLINE, _tldr("new"), T0 + hours(2))
    assert any_store.summaries.get(first.id, 1, before_upgrade) is None  # superseded: deleted
    assert any_store.summaries.get(first.id, 1, llm) == _tldr("llm")  # another summarizer's stays
    assert any_store.summaries.newest_of([(first.id, 1), (second.id, 1)]) == {first.id: _tldr("new")}
    any_store.summaries.put(first.id, 2, OFFLINE, _tldr("v2"), T0 + hours(3))
    assert any_store.summaries.get(first.id, 1, OFFLINE) is None and any_store.summaries.count() == 2
    # Rows written before the rule (one per upgrade), then the migration.
    for prompt_version, at in (("v0", T0), ("v1", T0 + hours(1)), ("v2", T0 + hours(2))):
        any_store.conn.execute(
            "INSERT INTO summaries (paper_id, version, summarizer, model, prompt_version, data, created_at) "
            "VALUES (?, 1, 'offline', '', ?, ?, ?)",
            (second.id, prompt_version, json.dumps({"tldr": prompt_version}), at.isoformat()),
        )
    newest = any_store.conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    any_store.conn.execute("DELETE FROM schema_version WHERE version = ?", (newest,))
    migrate(any_store.conn)
    assert any_store.summaries.newest_of([(second.id, 1)])[second.id].tldr == "v2"
    assert any_store.summaries.count() == 3  # second's newest, first's offline and LLM ones


def test_source_state_validators_and_payloads(any_store: Store) -> None:
    state = SourceState(
        "arxiv:cs.LG", last_success=T0, consecutive_failures=2, last_error="timeout",
        next_fetch_at=T0 + hours(1), last_counts={"new": 3},
    )
    any_store.sources.save(state)
    assert any_store.sources.get("arxiv:cs.LG") == state
    assert any_store.sources.get("never") == SourceState("never")
    assert [s.name for s in any_store.sources.all()] == ["arxiv:cs.LG"]
    cached = CachedResponse(etag='"abc"', last_modified="Mon, 01 Dec 2026 00:00:00 GMT", body_sha256="f00")
    any_store.sources.save_validators("https://example.org/feed", cached, T0)
    assert any_store.sources.get_validators("https://example.org/feed") == cached
    any_store.sources.record_payload("hf", "sha", 7, T0)
    any_store.sources.record_payload("hf", "sha", 8, T0)  # the same payload again: replaced
    assert any_store.sources.payload_items("hf", "sha") == 8
    assert any_store.sources.payload_items("hf", "other") is None


def test_feedback_saved_seeds_shown_models_and_personal_digests(any_store: Store) -> None:
    feedback = any_store.feedback
    assert feedback.record("slack", "U1", "2603.00001", Choice.RELEVANT, T0, channel_key="slack:C1") is None
    assert feedback.record("slack", "U1", "2603.00001", Choice.NOT_RELEVANT, T0) == Choice.RELEVANT
    assert feedback.choice("slack", "U1", "2603.00001") == Choice.NOT_RELEVANT
    assert [row.paper_id for row in feedback.for_person("slack", "U1")] == ["2603.00001"]
    assert feedback.save("slack", "U1", "2603.00002", T0) and not feedback.save("slack", "U1", "2603.00002", T0)
    assert feedback.saved("slack", "U1") == ["2603.00002"]
    assert feedback.unsave("slack", "U1", "2603.00002") and feedback.saved("slack", "U1") == []
    feedback.record_shown("slack", "U1", ["2603.00003", "2603.00004"], "search", T0)
    shown = feedback.last_shown("slack", "U1")
    assert shown is not None and list(shown.paper_ids) == ["2603.00003", "2603.00004"]
    model = StoredModel("person", "slack:U1", "tfidf", b"\x00\x01binary\xff", 2, T0)
    feedback.save_model(model)
    assert feedback.model("person", "slack:U1") == model
    digest = PersonalDigest("slack", "U1", time_of_day=time(7, 30), timezone="Europe/Berlin", threshold=0.25)
    feedback.save_personal_digest(digest, T0)
    stored = feedback.personal_digest("slack", "U1")
    assert stored is not None and stored.time_of_day == time(7, 30) and stored.threshold == 0.25
    assert [d.user_id for d in feedback.active_personal_digests()] == ["U1"]
    forgotten = feedback.forget_person("slack", "U1")
    assert forgotten and feedback.for_person("slack", "U1") == [] and feedback.model("person", "slack:U1") is None


def test_vectors_and_rank_state(any_store: Store) -> None:
    any_store.papers.ingest([make_paper(i, published=T0 - hours(i)) for i in range(3)], T0)
    vectors = any_store.vectors
    vectors.set_state({"idf": b"\x01\x02", "projection": bytes(range(256))}, T0)
    assert vectors.state("projection") == bytes(range(256)) and vectors.state("nothing") is None
    ids = [make_paper(i).id for i in range(3)]
    vectors.put_vectors("tfidf", [(ids[0], 1, b"\x00" * 16), (ids[1], 1, b"\x01" * 16)])
    assert vectors.vectors("tfidf", ids) == {ids[0]: (1, b"\x00" * 16), ids[1]: (1, b"\x01" * 16)}
    assert vectors.representations() == ["tfidf"]
    assert vectors.max_pk() == 3 and [t.paper_id for t in vectors.texts_by_pk(range(1, 3))] == ids[:2]
    vectors.put_vectors("tfidf", [("gone-paper", 1, b"\x02" * 16)])  # a vector outliving its paper
    assert vectors.count("tfidf") == 3 and vectors.count("other") == 0
    with_times = {paper_id: (blob, when) for paper_id, blob, when in vectors.all_vectors_with_times("tfidf")}
    assert with_times["gone-paper"] == (b"\x02" * 16, None)
    blob, when = with_times[ids[1]]
    assert blob == b"\x01" * 16 and when is not None and datetime.fromisoformat(when) == T0 - hours(1)
    vectors.record_embedding_usage(T0, "embed", 40, True)
    vectors.record_embedding_usage(T0, "embed", 2, True)
    assert vectors.embedding_tokens_on(T0) == 42
    assert vectors.drop_vectors(["other"]) == 3 and vectors.representations() == []


def test_email_confirmations_and_stored_secrets(any_store: Store) -> None:
    emails = any_store.emails
    emails.add("tok1", "a@example.org", "console", "U1", T0)
    assert emails.requests_since("console", "U1", T0 - hours(1)) == 1
    assert emails.confirm("tok1", T0 + hours(1)) and not emails.confirm("tok1", T0 + hours(2))
    confirmation = emails.get("tok1")
    assert confirmation is not None and confirmation.confirmed_at == T0 + hours(1)
    secret = emails.stored_secret("links", lambda: "first")
    assert secret == "first" and emails.stored_secret("links", lambda: "second") == "first"


def test_subscription_change_feed_across_two_store_objects(store_location: str) -> None:
    """Two processes sharing one database: one changes subscriptions, the other follows."""
    writer, reader = Store.open(store_location), Store.open(store_location)
    try:
        start = reader.subscriptions.change_seq()
        added = writer.subscriptions.add("slack", "U1", "diffusion", ("cv",), T0)
        writer.subscriptions.pause_for_user("slack", "U1", "dm blocked")
        writer.subscriptions.remove([added.id])
        changes = reader.subscriptions.changes_since(start)
        assert changes.seq == reader.subscriptions.change_seq() > start
        assert added.id in changes.removed
    finally:
        writer.close()
        reader.close()


def test_subscription_removals_are_pruned_and_a_reader_behind_the_prune_is_told_to_reload(any_store: Store) -> None:
    subs = any_store.subscriptions
    first = subs.add("slack", "U1", "diffusion", (), T0)
    workspace = subs.add("slack", "W1-U2", "agents", (), T0)
    subs.add("slack", "U9", "robots", (), T0)  # stays: SQLite does not hand out the others' ids again
    start = subs.change_seq()
    subs.remove([first.id])
    assert subs.forget_prefix("slack", "W1-") == 1  # a workspace forgotten is in the feed too
    changes = subs.changes_since(start)
    assert changes.complete and sorted(changes.removed) == sorted([first.id, workspace.id])
    seen = changes.seq
    third = subs.add("slack", "U3", "quantum", (), T0)
    subs.remove([third.id])
    assert subs.prune_removals(seen) == 2 and subs.removals_pruned_upto() == seen
    assert subs.prune_removals(seen - 1) == 0 and subs.removals_pruned_upto() == seen  # never moves back
    behind = subs.changes_since(start)
    assert not behind.complete and behind.changed == [] and behind.removed == []
    caught_up = subs.changes_since(seen)
    assert caught_up.complete and caught_up.removed == [third.id]


def test_alert_queue_columns_and_overflow_counts(any_store: Store) -> None:
    queue = any_store.alert_queue
    assert queue.add_columns(["slack", "slack"], ["U1", "U1"], ["p1", "p2"], [3, 4], T0) == 2
    assert queue.add_columns(["slack"], ["U1"], ["p1"], [3], T0) == 0  # already queued
    assert [(a.paper_id, a.subscription_ids) for a in queue.waiting("slack", "U1")] == [("p1", (3,)), ("p2", (4,))]
    queue.add_overflow({("slack", "U1"): 3})
    queue.add_overflow({("slack", "U1"): 2})  # adds to what is counted already
    assert queue.overflow("slack", "U1") == 5
    queue.reset_overflow("slack", "U1")
    assert queue.overflow("slack", "U1") == 0


# --- search -----------------------------------------------------------------------------------


def test_full_text_search_gives_the_same_answers(any_store: Store) -> None:
    """The FTS fallback (no tantivy index): FTS5 on SQLite, tsvector on PostgreSQL."""
    papers = [
        make_paper(1, title="Diffusion transformers for image synthesis", published=T0 - hours(1)),
        make_paper(2, title="Graph neural networks", abstract="We use diffusion on graphs.", published=T0 - hours(2)),
        make_paper(3, title="Reinforcement learning from human feedback", published=T0 - hours(3)),
        make_paper(4, title="Schrödinger bridges", abstract="Score-based models.", published=T0 - hours(400)),
    ]
    any_store.papers.ingest(papers, T0)
    engine = SearchEngine(any_store)
    now = T0 + hours(1)

    def ids(text: str, **options: object) -> list[str]:
        return [hit.paper.id for hit in engine.search(SearchQuery(text=text, **options), now).hits]  # type: ignore[arg-type]

    # The title match ranks above the abstract match (title weight 8, abstract 1).
    assert ids("diffusion") == [papers[0].id, papers[1].id]
    assert ids("transformer") == [papers[0].id]  # stemmed: transformers
    assert ids("schrodinger") == [papers[3].id]  # accents folded
    assert ids('"human feedback"') == [papers[2].id]
    assert ids('"feedback human"') == []  # a phrase keeps its order
    assert ids("diffusion graphs") == [papers[1].id]  # every word must match
    assert ids("diffusion", sort="new") == [papers[0].id, papers[1].id]
    assert ids("models", since=T0 - hours(24)) == []
    assert ids("", author="A. Author", sort="new") == [p.id for p in papers]
    assert engine.count_matches(SearchQuery(text="diffusion"), now) == 2
    any_store.papers.set_summary_text(papers[2].id, "a memorable zebra")
    assert ids("zebra") == [papers[2].id]


def test_retention_prune_on_both_backends(any_store: Store) -> None:
    from bot.store import Retention

    old = T0 - timedelta(days=400)
    any_store.outbox.enqueue("digest:old", "digest", "slack", "C1", "{}", old)
    row = any_store.outbox.get("digest:old")
    assert row is not None
    any_store.outbox.mark_sent(row.id, old)
    any_store.outbox.enqueue("digest:new", "digest", "slack", "C1", "{}", T0)
    deleted = any_store.retention.prune(T0, Retention())
    assert deleted["outbox"] == 1 and any_store.outbox.get("digest:new") is not None


def test_outbox_waiting_counts_only_rows_still_to_deliver_and_dates_the_oldest(any_store: Store) -> None:
    assert any_store.outbox.waiting() == (0, None)
    for i in range(4):
        any_store.outbox.enqueue(f"alert:{i}", "alert", "slack", f"U{i}", "{}", T0 + timedelta(minutes=i))
    rows = any_store.outbox.due(T0 + timedelta(hours=1), ["slack"])
    any_store.outbox.mark_sent(rows[0].id, T0)  # the oldest is delivered: no longer waiting
    any_store.outbox.mark_failed(rows[3].id, "gone", T0)
    any_store.outbox.start_sending(rows[1].id, [{"text": "part"}], T0)
    # One row being sent (written at T0 + 1 min) and one pending (T0 + 2 min).
    assert any_store.outbox.waiting() == (2, T0 + timedelta(minutes=1))


def test_outbox_waiting_reads_the_due_index_not_the_history() -> None:
    # The statement waiting() really runs, as SQLite traced it (values bound), then its plan.
    store = Store.open(":memory:")
    statements: list[str] = []
    try:
        assert isinstance(store.conn, sqlite3.Connection)
        store.conn.set_trace_callback(statements.append)
        store.outbox.waiting()
        store.conn.set_trace_callback(None)
        (statement,) = statements
        plan = " ".join(str(row[-1]) for row in store.conn.execute(f"EXPLAIN QUERY PLAN {statement}"))
    finally:
        store.close()
    assert "USING INDEX outbox_due" in plan or "USING COVERING INDEX outbox_due" in plan, plan


def test_outbox_counts_and_due_rows(any_store: Store) -> None:
    for i in range(3):
        assert any_store.outbox.enqueue(f"alert:{i}", "alert", "slack", f"U{i}", "{}", T0)
    assert not any_store.outbox.enqueue("alert:0", "alert", "slack", "U0", "{}", T0)
    due = any_store.outbox.due(T0, ["slack"])
    assert [row.key for row in due] == ["alert:0", "alert:1", "alert:2"]
    any_store.outbox.mark_failed(due[0].id, "gone", T0)
    any_store.outbox.start_sending(due[1].id, [{"text": "50% off?"}], T0)
    assert any_store.outbox.counts() == {"pending": 1, "sending": 1, "sent": 0, "failed": 1}
    assert any_store.counts()["outbox pending"] == 2
    when = datetime(2026, 1, 1, tzinfo=UTC)
    assert any_store.outbox.reschedule(due[2].id, when, "rate limited", T0, count_attempt=False) == 0


@pytest.mark.postgres
def test_a_pooled_connection_the_server_dropped_is_replaced_not_handed_out(postgres_server, postgres_url: str) -> None:  # type: ignore[no-untyped-def]
    """After a server restart every pooled connection is dead; the pool checks each one as it
    is taken (`check_connection`), so the next statements succeed instead of each failing once."""
    store = Store.open(postgres_url)
    try:
        store.outbox.enqueue("before-restart", "digest", "slack", "C1", "{}", T0)
        # Several connections in the pool: one per thread that held a transaction at once.
        opened = threading.Barrier(3)

        def hold_one() -> None:
            with transaction(store.conn):
                store.conn.execute("SELECT 1")
                opened.wait(30)

        threads = [threading.Thread(target=hold_one) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        postgres_server.restart()
        for n in range(6):  # more statements than pooled connections: none fails
            assert store.outbox.get("before-restart") is not None
            with transaction(store.conn):
                store.outbox.enqueue(f"after-restart-{n}", "digest", "slack", "C1", "{}", T0)
        assert store.outbox.counts()["pending"] == 7
    finally:
        store.close()
