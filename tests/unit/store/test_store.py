"""Store: migrations, WAL, idempotent ingest, versions, cross-source merge, FTS in step."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.errors import StoreError
from bot.core.models import Paper, Signal, SourceKind
from bot.store import Store, parse_database_url
from bot.store.fulltext import PaperFilter
from bot.store.schema import MIGRATIONS

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def arxiv(pid: str = "2504.17830", version: int = 1, title: str = "Self-Adjoint Time Operator", **kw: object) -> Paper:
    defaults: dict[str, object] = dict(
        abstract="We introduce a self-adjoint time operator.",
        authors=("Radmir Kokoulin",),
        categories=("quant-ph",),
        primary_category="quant-ph",
        published=datetime(2025, 4, 28, 4, tzinfo=UTC),
        url=f"https://arxiv.org/abs/{pid}",
        source=SourceKind.ARXIV,
        source_label="arXiv quant-ph",
    )
    defaults.update(kw)
    return Paper(id=pid, version=version, title=title, **defaults)  # type: ignore[arg-type]


def hf_item(pid: str = "2504.17830", upvotes: int = 154) -> Paper:
    return Paper(
        id=pid,
        title="Self-Adjoint Time Operator (HF title)",
        abstract="HF abstract",
        source=SourceKind.HF,
        signals=(Signal(SourceKind.HF, "2025-04-28", upvotes, 3, "HF daily", f"https://huggingface.co/papers/{pid}", NOW),),
    )


def reddit_post(pid: str = "2504.17830", score: int = 42, ref: str = "t3_abc") -> Paper:
    return Paper(
        id=pid,
        title="[R] a reddit title",
        source=SourceKind.REDDIT,
        signals=(Signal(SourceKind.REDDIT, ref, score, 7, "r/MachineLearning", "https://reddit.com/x", NOW),),
    )



def test_opens_in_wal_mode_with_migrations_applied(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = Store.open(str(tmp_path / "wal.db"))  # about SQLite itself: PRAGMA, sqlite_master
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == len(MIGRATIONS)
    tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for table in ("papers", "paper_versions", "signals", "summaries", "channel_settings", "subscriptions", "outbox", "source_state", "papers_fts"):
        assert table in tables
    store.close()


def test_reopening_does_not_reapply_migrations(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "x.db")
    Store.open(path).close()
    again = Store.open(path)
    assert again.conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == len(MIGRATIONS)
    again.close()


def test_database_urls() -> None:
    assert parse_database_url("sqlite:///data/p.db").path == "data/p.db"
    assert parse_database_url("sqlite:////abs/p.db").path == "/abs/p.db"
    assert parse_database_url("plain/path.db").path == "plain/path.db"
    assert parse_database_url("postgresql://u@h/db").scheme == "postgresql"
    with pytest.raises(ValueError):
        parse_database_url("mysql://x")
    # A PostgreSQL server that is not there: one clear line naming the URL, without waiting.
    with pytest.raises(StoreError, match=r"cannot reach the PostgreSQL database postgresql://u@/db\?host=/nonexistent"):
        Store.open("postgresql://u:secret@/db?host=/nonexistent-socket-dir")


def test_ingest_is_idempotent(store: Store) -> None:
    papers = [arxiv(), arxiv("2504.17837", title="Statistical noise")]
    first = store.papers.ingest(papers, NOW)
    assert (first.new, first.updated, first.merged, first.skipped) == (2, 0, 0, 0)
    snapshot = store.conn.execute("SELECT * FROM papers ORDER BY pk").fetchall()
    second = store.papers.ingest(papers, NOW.replace(hour=13))
    assert (second.new, second.updated, second.merged, second.skipped) == (0, 0, 0, 2)
    assert [tuple(r) for r in store.conn.execute("SELECT * FROM papers ORDER BY pk")] == [tuple(r) for r in snapshot]


def test_newer_version_updates_and_marks_updated(store: Store) -> None:
    store.papers.ingest([arxiv(version=1)], NOW)
    counts = store.papers.ingest([arxiv(version=2, title="Self-Adjoint Time Operator, revised")], NOW)
    assert counts.updated == 1 and counts.new == 0
    paper = store.papers.get("2504.17830")
    assert paper is not None
    assert paper.version == 2 and paper.is_updated and paper.title.endswith("revised")
    assert store.papers.versions("2504.17830") == [1, 2]
    assert store.papers.count() == 1
    # An older version arriving late changes nothing.
    late = store.papers.ingest([arxiv(version=1)], NOW)
    assert late.skipped == 1 and store.papers.get("2504.17830").version == 2  # type: ignore[union-attr]


def test_hf_and_reddit_merge_into_the_arxiv_paper(store: Store) -> None:
    store.papers.ingest([arxiv()], NOW)
    hf = store.papers.ingest([hf_item()], NOW)
    rd = store.papers.ingest([reddit_post()], NOW)
    assert hf.merged == 1 and rd.merged == 1
    assert store.papers.count() == 1
    paper = store.papers.get("2504.17830")
    assert paper is not None
    # arXiv metadata wins over HF and Reddit titles.
    assert paper.title == "Self-Adjoint Time Operator"
    assert set(paper.sources) == {SourceKind.ARXIV, SourceKind.HF, SourceKind.REDDIT}
    assert {s.label: s.score for s in paper.signals} == {"HF daily": 154, "r/MachineLearning": 42}
    assert paper.popularity == 154
    # Same signals again: nothing changes; a new score is a merge.
    assert store.papers.ingest([hf_item()], NOW).skipped == 1
    assert store.papers.ingest([hf_item(upvotes=200)], NOW).merged == 1
    assert store.papers.get("2504.17830").popularity == 200  # type: ignore[union-attr]


def test_arxiv_metadata_replaces_an_earlier_reddit_stub(store: Store) -> None:
    store.papers.ingest([reddit_post()], NOW)
    counts = store.papers.ingest([arxiv()], NOW)
    assert counts.merged == 1 and store.papers.count() == 1
    paper = store.papers.get("2504.17830")
    assert paper is not None and paper.title == "Self-Adjoint Time Operator" and paper.version == 1
    assert paper.popularity == 42


def test_non_arxiv_items_are_their_own_rows(store: Store) -> None:
    blog = Paper(id="feed:0123456789abcdef", title="A lab blog post", url="https://lab.example/post", source=SourceKind.FEED)
    store.papers.ingest([arxiv(), blog], NOW)
    assert store.papers.count() == 2
    assert store.papers.get("feed:0123456789abcdef").is_arxiv is False  # type: ignore[union-attr]


def test_fts_index_follows_updates(store: Store) -> None:
    store.papers.ingest([arxiv(title="Quantum reservoir computing")], NOW)

    def hits(term: str) -> int:
        return store.fulltext.count(f'"{term}"', 0, PaperFilter())

    assert hits("reservoir") == 1
    store.papers.ingest([arxiv(version=2, title="Quantum annealing schedules")], NOW)
    assert hits("reservoir") == 0 and hits("annealing") == 1
    store.papers.set_summary_text("2504.17830", "a memorable zebra summary")
    assert hits("zebra") == 1
    if store.dialect == "sqlite":  # FTS5 checks its contentless index against the papers
        store.conn.execute("INSERT INTO papers_fts(papers_fts, rank) VALUES('integrity-check', 1)")


def test_topics_of_many_papers_are_set_in_one_go_and_unchanged_ones_are_not_renumbered(store: Store) -> None:
    store.papers.ingest([arxiv("2504.00001"), arxiv("2504.00002"), arxiv("2504.00003")], NOW)
    store.papers.set_topics("2504.00003", ["rl"])

    def seq(paper_id: str) -> int:
        return int(store.conn.execute("SELECT index_seq FROM papers WHERE id = ?", (paper_id,)).fetchone()[0])

    before = seq("2504.00003")
    store.papers.set_topics_many({"2504.00001": ["llm", "cv", "llm"], "2504.00002": [], "2504.00003": ["rl"]})
    assert store.papers.topics_of(["2504.00001", "2504.00002", "2504.00003"]) == {
        "2504.00001": ("llm", "cv"), "2504.00002": (), "2504.00003": ("rl",),
    }
    assert seq("2504.00003") == before and seq("2504.00001") > before
    store.papers.set_topics_many({"2504.00001": ["agents"], "2504.00003": ["cv", "rl"]})
    assert store.papers.topics_of(["2504.00001", "2504.00003"]) == {"2504.00001": ("agents",), "2504.00003": ("cv", "rl")}
    store.papers.set_topics_many({})


def test_list_filters_by_time_and_source(store: Store) -> None:
    store.papers.ingest([arxiv("2504.00001")], NOW)
    store.papers.ingest([hf_item("2504.00002")], NOW.replace(day=21))
    assert [p.id for p in store.papers.changed(since=NOW.replace(day=21))] == ["2504.00002"]
    assert [p.id for p in store.papers.changed(source=SourceKind.ARXIV)] == ["2504.00001"]
    assert len(store.papers.changed()) == 2


def test_a_listed_replacement_keeps_the_papers_first_publication_date(store: Store) -> None:
    from bot.fetch.sources import arxiv_rss
    from tests.conftest import FIXTURES

    listing = arxiv_rss.parse((FIXTURES / "arxiv_rss_new_quant-ph_2025-04-28.xml").read_bytes())
    replaced = next(p for p in listing if p.id == "2112.14988")
    assert replaced.announce_type == "replace" and replaced.published is None
    # As the arXiv API reports it: first published in December 2021.
    first = Paper(
        id="2112.14988", version=replaced.version, title=replaced.title, source=SourceKind.ARXIV,
        published=datetime(2021, 12, 30, 10, 0, tzinfo=UTC), updated=datetime(2021, 12, 30, 10, 0, tzinfo=UTC),
    )
    store.papers.ingest([first], NOW)
    store.papers.ingest(listing, NOW)
    stored = store.papers.get("2112.14988")
    assert stored is not None and stored.published == datetime(2021, 12, 30, 10, 0, tzinfo=UTC)
    assert stored.updated == replaced.updated


def test_subscription_change_feed_sees_adds_pauses_resumes_and_removals(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "feed.db")
    store, other = Store.open(path), Store.open(path)  # two processes sharing one database
    subs = store.subscriptions
    start = subs.change_seq()
    a = subs.add("slack", "U1", "diffusion", (), NOW)
    b = subs.add("slack", "U2", "", ("rl",), NOW)
    first = subs.changes_since(start)
    assert [s.id for s in first.changed] == [a.id, b.id] and first.removed == []
    assert subs.changes_since(first.seq) == type(first)(first.seq, [], [])  # nothing new

    subs.pause_for_user("slack", "U1", "blocked")
    paused = subs.changes_since(first.seq)
    assert [(s.id, s.paused_reason) for s in paused.changed] == [(a.id, "blocked")]
    subs.resume_for_user("slack", "U1")
    resumed = subs.changes_since(paused.seq)
    assert [(s.id, s.paused_reason) for s in resumed.changed] == [(a.id, "")]

    c = other.subscriptions.add("slack", "U3", "agents", (), NOW)  # the other process's write
    subs.remove([a.id])
    other.subscriptions.remove_all("slack", "U2")
    later = subs.changes_since(resumed.seq)
    assert [s.id for s in later.changed] == [c.id] and later.removed == [a.id, b.id]
    assert subs.changes_since(later.seq).seq == later.seq == subs.change_seq()

    # Bulk adds share one change number; pages of active subscriptions read them back by id.
    subs.add_many([("slack", f"V{i}", f"q{i}", ()) for i in range(5)], NOW)
    bulk = subs.changes_since(later.seq)
    assert len(bulk.changed) == 5 and bulk.seq == later.seq + 1
    page = subs.active_page(0, 3)
    assert [s.id for s in page] == [c.id, *[s.id for s in bulk.changed][:2]]
    assert [s.id for s in subs.active_page(page[-1].id, 100)] == [s.id for s in bulk.changed][2:]
    store.close()
    other.close()


def test_alert_queue_columns_insert_many_rows_per_statement_and_skips_queued_ones(store: Store) -> None:
    store.alert_queue.add([("slack", "U3", "p3", (7,))], NOW)  # already queued: not again
    users = [f"U{i}" for i in range(250)]
    added = store.alert_queue.add_columns(["slack"] * 250, users, [f"p{i}" for i in range(250)], range(250), NOW)
    assert added == 249  # 2 statements of 100 rows, then 50 one by one; U3's p3 was there
    rows = store.conn.execute("SELECT user_id, paper_id, subscription_ids, matched_at FROM alert_queue ORDER BY rowid").fetchall()
    assert len(rows) == 250 and tuple(rows[0]) == ("U3", "p3", "[7]", NOW.isoformat())
    assert {tuple(r) for r in rows[1:]} == {(f"U{i}", f"p{i}", f"[{i}]", NOW.isoformat()) for i in range(250) if i != 3}
    assert [q.subscription_ids for q in store.alert_queue.waiting("slack", "U249")] == [(249,)]
