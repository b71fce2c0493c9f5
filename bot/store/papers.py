"""Papers, their versions and per-source signals: ingest (idempotent, merging) and reads.

Ingest keeps the full-text index (papers_fts, keyed by `bot.store.fulltext.fts_key`) in step
with each paper, in the same transaction; search reads the index through `bot.store.fulltext`.

Every write that changes what the search engine's index holds for a paper (its texts, time,
popularity, sources or topics) also sets `papers.index_seq` to a fresh value of the store's
search sequence (`next_index_seq`), in the same transaction; `bot.store.search_index` catches
up from those numbers (see its docstring). A new write path must do the same.

A paper's first insert also sets `papers.alert_seq` to that number, never changed afterwards:
the alert scan reads the papers that arrived between two values of the sequence
(`committed_seq`, `arrived`), an order of commits, where `first_seen` (stamped when the ingest
started) is not."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, TypeVar

from bot.core.clock import ensure_utc, from_iso, to_iso
from bot.core.models import Paper, Signal, SourceKind
from bot.store.backend import Connection, Row
from bot.store.db import transaction
from bot.store.fulltext import (
    FtsRow,
    fts_key,
    index_papers,
    unindex_paper,
    unindex_papers,
)

K = TypeVar("K", str, int)  # a paper's key: its arXiv id or its row's pk

# Whose metadata wins when two sources describe the same arXiv paper.
_META_RANK = {SourceKind.ARXIV: 3, SourceKind.HF: 2, SourceKind.FEED: 1, SourceKind.REDDIT: 1}

_PAPER_COLUMNS = (
    "id, version, title, abstract, authors, categories, primary_category, published, updated, "
    "url, source, source_label, announce_type, doi, journal_ref, comment, meta_rank, "
    "content_hash, sources, popularity, is_updated, first_seen, changed_at, summary_text"
)


@dataclass(frozen=True, slots=True)
class PaperText:
    """The words of a paper and when it arrived: what a query preview reads (no signals)."""

    id: str
    title: str
    abstract: str
    categories: tuple[str, ...]
    first_seen: datetime | None
    changed_at: datetime | None


@dataclass(slots=True)
class IngestCounts:
    """What one ingest did: papers new to the store, new versions, merges from other sources,
    and items that changed nothing."""

    new: int = 0
    updated: int = 0
    merged: int = 0
    skipped: int = 0
    new_ids: list[str] = field(default_factory=list)

    def add(self, other: IngestCounts) -> None:
        """Accumulate another batch's counts into this one."""
        self.new += other.new
        self.updated += other.updated
        self.merged += other.merged
        self.skipped += other.skipped
        self.new_ids.extend(other.new_ids)

    def as_dict(self) -> dict[str, int]:
        """The four counts, for printing and JSON."""
        return {"new": self.new, "updated": self.updated, "merged": self.merged, "skipped": self.skipped}


def _content_hash(paper: Paper) -> str:
    text = "\x1f".join(
        (
            paper.title,
            paper.abstract,
            "\x1e".join(paper.authors),
            "\x1e".join(paper.categories),
            paper.primary_category or "",
            paper.url,
            paper.doi or "",
            paper.journal_ref or "",
            paper.comment or "",
            to_iso(paper.published) or "",
            to_iso(paper.updated) or "",
        )
    )
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


class PaperStore:
    """Reads and writes papers; one instance per connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- ingest ----------------------------------------------------------------------------

    def ingest(self, papers: Iterable[Paper], now: datetime, batch_size: int = 2000) -> IngestCounts:
        """Store papers from one source, merging by id. Idempotent: the same input twice changes
        nothing the second time. Each batch is one transaction."""
        counts = IngestCounts()
        batch: list[Paper] = []
        for paper in papers:
            batch.append(paper)
            if len(batch) >= batch_size:
                counts.add(self._ingest_batch(batch, now))
                batch = []
        if batch:
            counts.add(self._ingest_batch(batch, now))
        return counts

    def _ingest_batch(self, batch: Sequence[Paper], now: datetime) -> IngestCounts:
        counts = IngestCounts()
        # Later duplicates in one payload win (a listing can repeat an id as new and cross).
        by_id: dict[str, Paper] = {}
        for paper in batch:
            by_id[paper.id] = paper
        existing = self._load_existing(list(by_id))
        known_signals = self._load_signals(list(by_id))
        now_iso = to_iso(now)
        fts_rows: list[FtsRow] = []  # indexed together at the end (see `index_papers`)
        with transaction(self.conn):
            seq = self.next_index_seq()
            for paper in by_id.values():
                outcome = self._ingest_one(paper, existing.get(paper.id), known_signals, now_iso, seq, fts_rows)
                if outcome == "new":
                    counts.new += 1
                    counts.new_ids.append(paper.id)
                elif outcome == "updated":
                    counts.updated += 1
                    counts.new_ids.append(paper.id)
                elif outcome == "merged":
                    counts.merged += 1
                else:
                    counts.skipped += 1
            index_papers(self.conn, fts_rows)
        return counts

    def _load_existing(self, ids: list[str]) -> dict[str, Row]:
        rows: dict[str, Row] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                # Only what decides new/updated/merged/skipped; texts are read when a row changes.
                f"SELECT pk, id, version, meta_rank, content_hash, sources, popularity "
                f"FROM papers WHERE id IN ({marks})",
                chunk,
            ):
                rows[row["id"]] = row
        return rows

    def _load_signals(self, ids: list[str]) -> dict[tuple[str, str, str], tuple[int, int]]:
        known: dict[tuple[str, str, str], tuple[int, int]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                f"SELECT paper_id, source, ref, score, comments FROM signals WHERE paper_id IN ({marks})",
                chunk,
            ):
                known[(row[0], row[1], row[2])] = (row[3], row[4])
        return known

    def _ingest_one(
        self,
        paper: Paper,
        row: Row | None,
        known_signals: dict[tuple[str, str, str], tuple[int, int]],
        now_iso: str | None,
        seq: int,
        fts_rows: list[FtsRow],
    ) -> str:
        rank = _META_RANK[paper.source]
        digest = _content_hash(paper)
        signals_changed = self._upsert_signals(paper, known_signals, now_iso)
        popularity = max((s.score for s in paper.signals), default=0)
        if row is None:
            self._insert(paper, rank, digest, popularity, now_iso, seq, fts_rows)
            if paper.version:
                self._record_version(paper, now_iso)
            return "new"

        sources = json.loads(row["sources"])
        new_source = paper.source.value not in sources
        if new_source:
            sources.append(paper.source.value)
        newer_version = paper.version > row["version"] > 0
        better_meta = rank > row["meta_rank"] or (rank == row["meta_rank"] and paper.version > row["version"])
        changed_meta = (rank == row["meta_rank"] and paper.version == row["version"] and digest != row["content_hash"])
        if newer_version or better_meta or changed_meta:
            self._update_meta(paper, row, rank, digest, sources, newer_version, now_iso, seq, fts_rows)
            if paper.version:
                self._record_version(paper, now_iso)
            if newer_version:
                return "updated"
            return "merged"
        if new_source or signals_changed:
            self.conn.execute(
                "UPDATE papers SET sources = ?, popularity = CASE WHEN popularity > ? THEN popularity ELSE ? END, changed_at = ?, index_seq = ? "
                "WHERE pk = ?",
                (json.dumps(sources), popularity, popularity, now_iso, seq, row["pk"]),
            )
            return "merged"
        return "skipped"

    def _insert(
        self, paper: Paper, rank: int, digest: str, popularity: int, now_iso: str | None, seq: int, fts_rows: list[FtsRow]
    ) -> None:
        authors = json.dumps(list(paper.authors), ensure_ascii=False)
        cursor = self.conn.execute(
            f"INSERT INTO papers ({_PAPER_COLUMNS}, index_seq, alert_seq) VALUES ({','.join('?' * 26)}) RETURNING pk",
            (
                paper.id, paper.version, paper.title, paper.abstract, authors,
                json.dumps(list(paper.categories)), paper.primary_category,
                to_iso(paper.published), to_iso(paper.updated), paper.url, paper.source.value,
                paper.source_label, paper.announce_type, paper.doi, paper.journal_ref,
                paper.comment, rank, digest, json.dumps([paper.source.value]), popularity,
                int(paper.announce_type in ("replace", "replace-cross") or paper.version > 1),
                now_iso, now_iso, "", seq, seq,
            ),
        )
        pk = int(cursor.fetchone()[0])
        fts_rows.append((fts_key(to_iso(paper.published) or now_iso, pk), paper.title, paper.abstract, authors, ""))

    def _update_meta(
        self,
        paper: Paper,
        row: Row,
        rank: int,
        digest: str,
        sources: list[str],
        newer_version: bool,
        now_iso: str | None,
        seq: int,
        fts_rows: list[FtsRow],
    ) -> None:
        authors = json.dumps(list(paper.authors), ensure_ascii=False)
        popularity = max((s.score for s in paper.signals), default=0)
        old = self._fts_delete(row["pk"])
        self.conn.execute(
            # CASE, not SQLite's two-argument MAX, which PostgreSQL spells GREATEST.
            """UPDATE papers SET version = CASE WHEN version > ? THEN version ELSE ? END,
               title = ?, abstract = ?, authors = ?,
               categories = ?, primary_category = ?, published = COALESCE(?, published),
               updated = COALESCE(?, updated), url = ?, source_label = ?, announce_type = ?,
               doi = COALESCE(?, doi), journal_ref = COALESCE(?, journal_ref), comment = COALESCE(?, comment),
               meta_rank = CASE WHEN meta_rank > ? THEN meta_rank ELSE ? END, content_hash = ?,
               sources = ?, popularity = CASE WHEN popularity > ? THEN popularity ELSE ? END,
               is_updated = CASE WHEN ? <> 0 THEN 1 ELSE is_updated END, changed_at = ?, index_seq = ?
               WHERE pk = ?""",
            (
                paper.version, paper.version, paper.title, paper.abstract or old["abstract"], authors,
                json.dumps(list(paper.categories)), paper.primary_category,
                to_iso(paper.published), to_iso(paper.updated), paper.url, paper.source_label,
                paper.announce_type, paper.doi, paper.journal_ref, paper.comment, rank, rank, digest,
                json.dumps(sources), popularity, popularity, newer_version, now_iso, seq, row["pk"],
            ),
        )
        # The key follows the stored time: published = COALESCE(new, old), else first_seen.
        when = to_iso(paper.published) or old["published"] or old["first_seen"]
        fts_rows.append(
            (fts_key(when, row["pk"]), paper.title, paper.abstract or old["abstract"], authors, old["summary_text"])
        )

    def _fts_delete(self, pk: int) -> Row:
        """Remove a paper's terms from papers_fts; returns the row's indexed values and times.

        papers_fts is contentless: FTS5 needs the exact values that were indexed, which are the
        paper's current columns, and the row's key (see `fts_key`)."""
        old = self.conn.execute(
            "SELECT title, abstract, authors, summary_text, published, first_seen FROM papers WHERE pk = ?",
            (pk,),
        ).fetchone()
        unindex_paper(
            self.conn, fts_key(old["published"] or old["first_seen"], pk),
            old["title"], old["abstract"], old["authors"], old["summary_text"],
        )
        return old

    def _record_version(self, paper: Paper, now_iso: str | None) -> None:
        self.conn.execute(
            "INSERT INTO paper_versions (paper_id, version, updated, seen_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (paper.id, paper.version, to_iso(paper.updated), now_iso),
        )

    def _upsert_signals(
        self, paper: Paper, known: dict[tuple[str, str, str], tuple[int, int]], now_iso: str | None
    ) -> bool:
        changed = False
        for signal in paper.signals:
            key = (paper.id, signal.source.value, signal.ref)
            if known.get(key) == (signal.score, signal.comments):
                continue
            changed = True
            known[key] = (signal.score, signal.comments)
            self.conn.execute(
                """INSERT INTO signals (paper_id, source, ref, score, comments, label, url, observed_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (paper_id, source, ref) DO UPDATE SET
                   score = excluded.score, comments = excluded.comments""",
                (
                    paper.id, signal.source.value, signal.ref, signal.score, signal.comments,
                    signal.label, signal.url, to_iso(signal.observed_at) or now_iso,
                ),
            )
        return changed

    def next_index_seq(self) -> int:
        """A fresh number of the search sequence, for `papers.index_seq` of rows written in the
        current transaction (the caller holds it: a write transaction serializes the numbers)."""
        row = self.conn.execute("UPDATE search_sequence SET value = value + 1 RETURNING value").fetchone()
        return int(row[0])

    def hold_index_seq(self) -> None:
        """Take the search sequence's row lock now, for a transaction about to write papers.

        Every writer of papers takes the sequence before it writes any row (ingest, `set_topics`
        and `set_summary_text` take their number first; a writer of several kinds of rows calls
        this first): one lock order for all of them, so two replicas' writers never each hold a
        row the other waits for. (Two summary batches that wrote their summaries' rows first, in
        opposite orders, deadlocked in a three-replica run.) It numbers nothing: the value stays."""
        self.conn.execute("UPDATE search_sequence SET value = value")

    def committed_seq(self) -> int:
        """The search sequence's value as this statement sees it: every number up to it was
        taken by a transaction that has committed (a writer holds the sequence's row lock from
        `next_index_seq` until it ends, on SQLite and on PostgreSQL READ COMMITTED alike), so
        a later read sees every row written under those numbers."""
        return int(self.conn.execute("SELECT value FROM search_sequence").fetchone()[0])

    def arrived(self, *, upto_seq: int, after_seq: int | None = None, since: datetime | None = None) -> list[Paper]:
        """Papers first inserted under a sequence number in (after_seq, upto_seq], oldest
        first; with no `after_seq`, those first seen since `since` and inserted under a number
        up to `upto_seq` (a first scan, or one after an upgrade: papers stored before
        `alert_seq` existed count as number 0)."""
        if after_seq is not None:
            sql = "SELECT * FROM papers WHERE alert_seq > ? AND alert_seq <= ? ORDER BY alert_seq, pk"
            params: list[str | int] = [after_seq, upto_seq]
        else:
            if since is None:
                raise ValueError("arrived() needs after_seq or since")
            start = ensure_utc(since).isoformat()
            # changed_at >= first_seen always: the condition on it lets the changed_at index lead.
            sql = (
                "SELECT * FROM papers WHERE changed_at >= ? AND first_seen >= ? AND alert_seq <= ? "
                "ORDER BY alert_seq, pk"
            )
            params = [start, start, upto_seq]
        rows = self.conn.execute(sql, params).fetchall()
        signals = self._signals_for([row["id"] for row in rows])
        return [self._paper_from_row(row, signals.get(row["id"], ())) for row in rows]

    def set_summary_text(self, paper_id: str, text: str) -> None:
        """Index a summary's text with the paper so searches find words only the summary has."""
        self.set_summary_texts({paper_id: text})

    def set_summary_texts(self, texts: Mapping[str, str]) -> None:
        """Index summaries' texts (by paper id) with their papers, in one transaction: the
        full-text rows are removed and added with one statement each (see `index_papers`)."""
        ids = sorted(texts)
        with transaction(self.conn):
            rows = []
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                rows += self.conn.execute(
                    "SELECT pk, id, title, abstract, authors, summary_text, published, first_seen FROM papers "
                    f"WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
            changed = sorted((row for row in rows if row["summary_text"] != texts[row["id"]]), key=lambda row: row["id"])
            if not changed:
                return
            seq = self.next_index_seq()  # before any row is written: see `hold_index_seq`
            keys = {row["pk"]: fts_key(row["published"] or row["first_seen"], row["pk"]) for row in changed}
            unindex_papers(
                self.conn,
                [(keys[row["pk"]], row["title"], row["abstract"], row["authors"], row["summary_text"]) for row in changed],
            )
            self.conn.executemany(
                "UPDATE papers SET summary_text = ?, index_seq = ? WHERE pk = ?",
                [(texts[row["id"]], seq, row["pk"]) for row in changed],
            )
            index_papers(
                self.conn,
                [(keys[row["pk"]], row["title"], row["abstract"], row["authors"], texts[row["id"]]) for row in changed],
            )

    def set_topics(self, paper_id: str, topic_ids: Iterable[str]) -> None:
        """Replace the topic tags of a paper (topic ids from the taxonomy)."""
        self.set_topics_many({paper_id: topic_ids})

    def set_topics_many(self, topics: Mapping[str, Iterable[str]]) -> None:
        """Replace the topic tags of many papers (paper id -> topic ids) in one transaction, a
        statement per 500 papers rather than four per paper; papers whose tags stay the same
        are not written (the search index has nothing to catch up for them)."""
        wanted = {paper_id: list(dict.fromkeys(topic_ids)) for paper_id, topic_ids in topics.items()}
        if not wanted:
            return
        with transaction(self.conn):
            current = self.topics_of(list(wanted))
            changed = [paper_id for paper_id, ids in wanted.items() if list(current[paper_id]) != ids]
            if not changed:
                return
            seq = self.next_index_seq()  # before any row is written: see `hold_index_seq`
            for start in range(0, len(changed), 500):
                chunk = changed[start : start + 500]
                marks = ",".join("?" * len(chunk))
                self.conn.execute(f"DELETE FROM paper_topics WHERE paper_id IN ({marks})", chunk)
            self.conn.executemany(
                "INSERT INTO paper_topics (paper_id, topic_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(paper_id, topic) for paper_id in changed for topic in wanted[paper_id]],
            )
            self.conn.executemany(
                "UPDATE papers SET index_seq = ? WHERE id = ?", [(seq, paper_id) for paper_id in changed]
            )

    def topics_of(self, paper_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """Topic ids per paper id, for the given papers."""
        result: dict[str, list[str]] = {pid: [] for pid in paper_ids}
        for start in range(0, len(paper_ids), 500):
            chunk = list(paper_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                f"SELECT paper_id, topic_id FROM paper_topics WHERE paper_id IN ({marks}) ORDER BY rowid",
                chunk,
            ):
                result[row[0]].append(row[1])
        return {pid: tuple(topics) for pid, topics in result.items()}

    # --- reads -------------------------------------------------------------------------------

    def get(self, paper_id: str) -> Paper | None:
        """One paper with its signals, or None."""
        found = self.get_many([paper_id])
        return found[0] if found else None

    def get_many(self, paper_ids: Sequence[str]) -> list[Paper]:
        """Papers in the order of `paper_ids` (missing ids are left out)."""
        return self._papers_by("id", paper_ids)

    def get_by_pks(self, pks: Sequence[int]) -> list[Paper]:
        """Papers by internal row key, in the given order (used by the search index)."""
        return self._papers_by("pk", pks)

    def _papers_by(self, key: Literal["id", "pk"], values: Sequence[K]) -> list[Paper]:
        """The papers whose `key` column is one of `values`, in their order (missing ones left out);
        asked 500 at a time (a statement's bound parameters are limited)."""
        rows: dict[K, Row] = {}
        for start in range(0, len(values), 500):
            chunk = list(values[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(f"SELECT * FROM papers WHERE {key} IN ({marks})", chunk):
                rows[row[key]] = row
        signals = self._signals_for([row["id"] for row in rows.values()])
        return [self._paper_from_row(rows[value], signals.get(rows[value]["id"], ())) for value in values if value in rows]

    def changed_at_since(self, since: datetime) -> dict[str, str]:
        """Paper id -> when it was last first seen or changed (ISO text), for papers changed
        since `since`."""
        rows = self.conn.execute("SELECT id, changed_at FROM papers WHERE changed_at >= ?", (to_iso(since),))
        return {str(row[0]): str(row[1]) for row in rows}

    def changed(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        source: SourceKind | None = None,
        limit: int | None = 50,
    ) -> list[Paper]:
        """Papers first seen or changed in [since, until), newest first, optionally from one source."""
        clauses: list[str] = []
        params: list[str | int] = []
        if since is not None:
            clauses.append("changed_at >= ?")
            params.append(ensure_utc(since).isoformat())
        if until is not None:
            clauses.append("changed_at < ?")
            params.append(ensure_utc(until).isoformat())
        if source is not None:
            # sources is a JSON list of SourceKind values, none of which contains another.
            clauses.append("instr(sources, ?) > 0")
            params.append(f'"{source.value}"')
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT * FROM papers {where} ORDER BY changed_at DESC, pk DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        rows = self.conn.execute(sql, params).fetchall()
        signals = self._signals_for([row["id"] for row in rows])
        return [self._paper_from_row(row, signals.get(row["id"], ())) for row in rows]

    def published_between(self, since: datetime, until: datetime) -> list[Paper]:
        """Papers published (or, with no date, first seen) in [since, until): most popular
        first, then newest (a day's page of the web site)."""
        lo, hi = ensure_utc(since).isoformat(), ensure_utc(until).isoformat()
        rows = self.conn.execute(
            """SELECT * FROM papers
               WHERE (published >= ? AND published < ?) OR (published IS NULL AND first_seen >= ? AND first_seen < ?)
               ORDER BY popularity DESC, COALESCE(published, first_seen) DESC, pk DESC""",
            (lo, hi, lo, hi),
        ).fetchall()
        signals = self._signals_for([row["id"] for row in rows])
        return [self._paper_from_row(row, signals.get(row["id"], ())) for row in rows]

    def count_by_day(self, since: datetime, until: datetime) -> dict[str, int]:
        """UTC date (YYYY-MM-DD) -> how many papers were published (or first seen) that day,
        for the days in [since, until) that have any."""
        lo, hi = ensure_utc(since).isoformat(), ensure_utc(until).isoformat()
        rows = self.conn.execute(
            """SELECT substr(COALESCE(published, first_seen), 1, 10) AS day, COUNT(*) FROM papers
               WHERE (published >= ? AND published < ?) OR (published IS NULL AND first_seen >= ? AND first_seen < ?)
               GROUP BY day""",
            (lo, hi, lo, hi),
        ).fetchall()
        return {str(row[0]): int(row[1]) for row in rows}
    def ids_by_doi(self, doi: str) -> list[str]:
        """Ids of stored papers with this DOI (compared case-insensitively, as DOIs are)."""
        rows = self.conn.execute("SELECT id FROM papers WHERE lower(doi) = lower(?) ORDER BY pk", (doi.strip(),))
        return [row[0] for row in rows]

    def ids_by_title(self, title: str) -> list[str]:
        """Ids of stored papers whose title is exactly this one (ignoring case and spacing)."""
        wanted = " ".join(title.split()).lower()
        rows = self.conn.execute(
            "SELECT id, title FROM papers WHERE lower(title) LIKE ? ORDER BY pk", (wanted[:40].replace("%", "") + "%",)
        )
        return [row[0] for row in rows if " ".join(row[1].split()).lower() == wanted]
    def recent_texts(self, *, since: datetime, limit: int) -> list[PaperText]:
        """Title and abstract of up to `limit` papers first seen or changed since `since`,
        most recently changed first (a light read: no signals, authors or metadata)."""
        rows = self.conn.execute(
            """SELECT id, title, abstract, categories, first_seen, changed_at FROM papers
               WHERE changed_at >= ? ORDER BY changed_at DESC, pk DESC LIMIT ?""",
            (ensure_utc(since).isoformat(), limit),
        )
        return [
            PaperText(row[0], row[1], row[2], tuple(json.loads(row[3])), from_iso(row[4]), from_iso(row[5]))
            for row in rows
        ]

    def count(self) -> int:
        """How many papers and items are stored."""
        return int(self.conn.execute("SELECT COUNT(*) FROM papers").fetchone()[0])

    def versions(self, paper_id: str) -> list[int]:
        """Every version of a paper seen so far, ascending."""
        return [
            row[0]
            for row in self.conn.execute(
                "SELECT version FROM paper_versions WHERE paper_id = ? ORDER BY version", (paper_id,)
            )
        ]

    def _signals_for(self, ids: list[str]) -> dict[str, tuple[Signal, ...]]:
        result: dict[str, list[Signal]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                f"SELECT * FROM signals WHERE paper_id IN ({marks}) ORDER BY observed_at", chunk
            ):
                result.setdefault(row["paper_id"], []).append(
                    Signal(
                        source=SourceKind(row["source"]),
                        ref=row["ref"],
                        score=row["score"],
                        comments=row["comments"],
                        label=row["label"],
                        url=row["url"],
                        observed_at=from_iso(row["observed_at"]),  # type: ignore[arg-type]
                    )
                )
        return {pid: tuple(sigs) for pid, sigs in result.items()}

    @staticmethod
    def _paper_from_row(row: Row, signals: tuple[Signal, ...]) -> Paper:
        return Paper(
            id=row["id"],
            version=row["version"],
            title=row["title"],
            abstract=row["abstract"],
            authors=tuple(json.loads(row["authors"])),
            categories=tuple(json.loads(row["categories"])),
            primary_category=row["primary_category"],
            published=from_iso(row["published"]),
            updated=from_iso(row["updated"]),
            url=row["url"],
            source=SourceKind(row["source"]),
            source_label=row["source_label"],
            announce_type=row["announce_type"],
            doi=row["doi"],
            journal_ref=row["journal_ref"],
            comment=row["comment"],
            signals=signals,
            sources=tuple(SourceKind(s) for s in json.loads(row["sources"])),
            first_seen=from_iso(row["first_seen"]),
            is_updated=bool(row["is_updated"]),
        )
