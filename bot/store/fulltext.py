"""The full-text index (papers_fts): its time-ordered key layout and every read search makes.

Layout (schema migration "search")
    `papers_fts` is a contentless FTS5 table over title, abstract, authors and summary_text
    whose rowid ("key") is `seconds(published or first_seen) << 31 | pk` (`fts_key`). Rowid
    order is therefore time order: FTS5 walks a term's doclist newest-first
    (`ORDER BY rowid DESC`) without sorting, a `since` window is a rowid range (`since_key`),
    and the paper is `key & FTS_PK_MASK`. `bot/store/papers.py` keeps the index in step with
    the papers inside the ingest transaction; this module only reads it.

Reads
    Each method runs the statements for one question the search engine asks (the matches
    newest-first with their bm25, how many match, which pass a filter and how popular they
    are, the popular papers, ...) and returns plain values: keys, pks, counts, topic ids.
    `match` arguments are FTS5 MATCH expressions built by `bot.search.query` (None: no words,
    every paper in the window); `PaperFilter` is the source/topic condition on the paper.

PostgreSQL
    papers_fts is a table of (key, document tsvector, authors tsvector) (bot/store/pg_schema.py)
    with the same keys. `index_papers` / `unindex_papers` are the one write path for both backends.
    A MATCH expression (quoted phrases, implicitly AND, and at most one `authors : "..."`
    phrase) becomes `phraseto_tsquery` per phrase (`_pg_match`). The texts are folded and split
    into words here, by the same `bot.core.text` functions that make the query terms, so both
    sides tokenize alike; PostgreSQL then stems them (English Snowball, as FTS5's porter).
    The score is `-ts_rank(weights, document, query, 32)`: the same column weights scaled to
    at most 1, and normalization 32 maps a rank r to r / (r + 1) < 1, so -1 bounds every row's
    score and the early stop of `bot.search.ranking` stays exact (the "bound" column is -1).
    Reads page through the keys (`key < last` ... `LIMIT batch`) instead of holding a cursor.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.core.clock import to_iso
from bot.core.text import fold, split_words
from bot.store.backend import Connection, is_postgres

# papers_fts rowids ("keys") sort by paper time: whole UTC seconds since 1970 of
# COALESCE(published, first_seen) (the first 19 characters of the stored ISO text), clamped to
# [0, 2**32), times 2**31, plus pk (< 2**31). Newest-first is then `ORDER BY rowid DESC`, a time
# window is a rowid range, and pk = key & FTS_PK_MASK. The schema migration that builds
# papers_fts computes the same value in SQL; tests check that both agree.
FTS_PK_BITS = 31
FTS_PK_MASK = (1 << FTS_PK_BITS) - 1
_MAX_SECONDS = (1 << 32) - 1

# Statements with `pk IN (...)` bind at most this many pks each.
_CHUNK = 500

ScoredRow = tuple[int, float, float]  # (key, bm25, bm25 under the bound weights)


def fts_seconds(when: str | None) -> int:
    """The time part of a papers_fts key for a stored ISO time (`to_iso` output), 0 if unknown."""
    if not when:
        return 0
    try:
        seconds = int(datetime.fromisoformat(when[:19]).replace(tzinfo=UTC).timestamp())
    except ValueError:
        return 0
    return min(_MAX_SECONDS, max(0, seconds))


def fts_key(when: str | None, pk: int) -> int:
    """The papers_fts rowid of paper `pk` whose stored time (published, else first_seen) is `when`."""
    return (fts_seconds(when) << FTS_PK_BITS) | pk


def since_key(when: datetime) -> int:
    """The smallest key of any paper whose time is at or after `when` (an aware datetime)."""
    return fts_seconds(to_iso(when)) << FTS_PK_BITS


def _iso_of_key(key: int) -> str:
    return to_iso(datetime.fromtimestamp(key >> FTS_PK_BITS, UTC)) or ""


@dataclass(frozen=True, slots=True)
class PaperFilter:
    """Conditions on the paper behind an index row: `source` (a SourceKind value) is one of
    its sources; it is tagged with topic id `topic`. None (or "" for topic): no condition."""

    source: str | None = None
    topic: str | None = None


def _filter_sql(filters: PaperFilter) -> tuple[str, tuple[str, ...]]:
    """Extra conditions on `papers p` for the filters (each starting with AND) and their args."""
    clauses, args = [], []
    if filters.source is not None:
        clauses.append(" AND instr(p.sources, ?) > 0")
        args.append(f'"{filters.source}"')
    if filters.topic:
        clauses.append(" AND EXISTS (SELECT 1 FROM paper_topics t WHERE t.paper_id = p.id AND t.topic_id = ?)")
        args.append(filters.topic)
    return "".join(clauses), tuple(args)


# --- writes (both backends) ---------------------------------------------------------------------


FtsRow = tuple[int, str, str, str, str]  # key, title, abstract, authors (JSON list), summary text


def index_papers(conn: Connection, rows: Sequence[FtsRow]) -> None:
    """Add papers' texts to papers_fts (`authors` is the stored JSON list), all in one
    statement (an ingest batch's, a summary batch's).

    One statement, not one per paper between the paper rows: FTS5 writes out the terms it holds
    in memory whenever another statement of the transaction begins (its savepoint hook), so
    indexing paper by paper wrote a tiny segment per paper, and the papers' own row inserts ran
    five times slower in between (measured on SQLite: 380 vs 70 microseconds a paper)."""
    if not rows:
        return
    if is_postgres(conn):
        conn.executemany(
            f"""INSERT INTO papers_fts (key, document, authors) VALUES (?, {_PG_DOCUMENT}, to_tsvector('paperbot', ?))
               ON CONFLICT (key) DO UPDATE SET document = excluded.document, authors = excluded.authors""",
            [
                (key, *(_pg_words(text) for text in (title, authors, abstract, summary_text)), _pg_words(authors))
                for key, title, abstract, authors, summary_text in rows
            ],
        )
        return
    conn.executemany("INSERT INTO papers_fts (rowid, title, abstract, authors, summary_text) VALUES (?, ?, ?, ?, ?)", rows)


def unindex_paper(conn: Connection, key: int, title: str, abstract: str, authors: str, summary_text: str) -> None:
    """Remove the row `key` from papers_fts. FTS5's contentless table needs the exact texts
    that were indexed (the paper's current columns); PostgreSQL only the key."""
    unindex_papers(conn, [(key, title, abstract, authors, summary_text)])


def unindex_papers(conn: Connection, rows: Sequence[FtsRow]) -> None:
    """Remove many rows from papers_fts in one statement (why one: `index_papers`); each row
    gives its key and the texts it was indexed with."""
    if not rows:
        return
    if is_postgres(conn):
        conn.executemany("DELETE FROM papers_fts WHERE key = ?", [(row[0],) for row in rows])
        return
    conn.executemany(
        "INSERT INTO papers_fts (papers_fts, rowid, title, abstract, authors, summary_text) "
        "VALUES ('delete', ?, ?, ?, ?, ?)",
        rows,
    )


# Title A, authors B, abstract C, summary D: ts_rank's weights are given as {D, C, B, A}.
_PG_DOCUMENT = (
    "setweight(to_tsvector('paperbot', ?), 'A') || setweight(to_tsvector('paperbot', ?), 'B') || "
    "setweight(to_tsvector('paperbot', ?), 'C') || setweight(to_tsvector('paperbot', ?), 'D')"
)
_PHRASE = re.compile(r'(authors\s*:\s*)?"((?:[^"]|"")*)"')


def _pg_words(text: str) -> str:
    """Text as the words the query side uses (folded, split), one space apart."""
    if text.startswith("[") and text.endswith("]"):
        with contextlib.suppress(ValueError):  # the authors column: a JSON list of names
            text = " ; ".join(str(name) for name in json.loads(text))
    return " ".join(split_words(fold(text)))


@dataclass(frozen=True, slots=True)
class _PgMatch:
    """A MATCH expression as PostgreSQL conditions on papers_fts `f`, and the rank query."""

    where: str
    args: tuple[str, ...]
    rank_query: str
    rank_args: tuple[str, ...]


def _pg_match(match: str) -> _PgMatch:
    """Translate the MATCH expressions `bot.search.query` builds (see the module docstring)."""
    everywhere: list[str] = []
    authors: list[str] = []
    for found in _PHRASE.finditer(match):
        words = " ".join(split_words(fold(found.group(2).replace('""', '"'))))
        (authors if found.group(1) else everywhere).append(words)
    conditions, args = [], []
    if everywhere:
        conditions.append(f"f.document @@ ({_pg_and(len(everywhere))})")
        args += everywhere
    if authors:
        conditions.append(f"f.authors @@ ({_pg_and(len(authors))})")
        args += authors
    if not conditions:  # nothing searchable: FTS5 would match nothing either
        return _PgMatch("FALSE", (), "''::tsquery", ())
    phrases = everywhere + authors
    return _PgMatch(
        " AND ".join(conditions), tuple(args),
        f"({_pg_and(len(phrases))})", tuple(phrases),
    )


def _pg_and(phrases: int) -> str:
    """A tsquery matching all of `phrases` phrases (each bound as one parameter)."""
    return " && ".join(["phraseto_tsquery('paperbot', ?)"] * phrases)


def _pg_weights(weights: Sequence[float]) -> str:
    """Column weights (title, abstract, authors, summary) as ts_rank's array {D, C, B, A},
    scaled so the largest is 1."""
    title, abstract, authors, summary = (float(w) for w in weights)
    top = max(title, abstract, authors, summary) or 1.0
    return "ARRAY[" + ", ".join(repr(w / top) for w in (summary, abstract, authors, title)) + "]::real[]"


def _bm25(weights: Sequence[float]) -> str:
    """An FTS5 bm25() call with these column weights (title, abstract, authors, summary_text)."""
    return f"bm25(papers_fts, {', '.join(str(float(w)) for w in weights)})"


class FullTextIndex:
    """Reads of papers_fts and of the papers columns search ranks and filters on."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def newest_first(
        self,
        match: str | None,
        since: int,
        batch: int,
        weights: Sequence[float] | None = None,
        bound_weights: Sequence[float] | None = None,
    ) -> Generator[list[ScoredRow], None, None]:
        """Batches of (key, bm25, bm25 under `bound_weights`) of the matches of `match` (None:
        every paper) with key >= `since`, newest first, `batch` rows at a time (the last batch
        may be shorter). Without `weights` (or without `match`) both scores are -1. bm25 is
        FTS5's (lower is better). Close the generator to stop reading early."""
        if is_postgres(self.conn):
            yield from self._pg_newest_first(match, since, batch, weights)
            return
        score = ", -1.0, -1.0"
        if weights is not None and match:
            score = f", {_bm25(weights)}, {_bm25(bound_weights or weights)}"
        if match is None:
            cursor = self.conn.execute(
                f"SELECT rowid{score} FROM papers_fts WHERE rowid >= ? ORDER BY rowid DESC", (since,)
            )
        else:
            cursor = self.conn.execute(
                f"SELECT rowid{score} FROM papers_fts WHERE papers_fts MATCH ? AND rowid >= ? ORDER BY rowid DESC",
                (match, since),
            )
        try:
            while rows := cursor.fetchmany(batch):
                yield rows
        finally:
            cursor.close()

    def _pg_newest_first(
        self, match: str | None, since: int, batch: int, weights: Sequence[float] | None
    ) -> Iterator[list[ScoredRow]]:
        condition: _PgMatch | None = _pg_match(match) if match is not None else None
        score, score_args = "-1.0::float8", tuple[str, ...]()
        if condition is not None and weights is not None:
            score = f"-ts_rank({_pg_weights(weights)}, f.document, {condition.rank_query}, 32)::float8"
            score_args = condition.rank_args
        where = f" AND {condition.where}" if condition is not None else ""
        where_args = condition.args if condition is not None else ()
        below = (1 << 63) - 1  # keys are < 2**63: the first page starts at the top
        while True:
            rows = self.conn.execute(
                f"SELECT f.key, {score}, -1.0::float8 FROM papers_fts f "
                f"WHERE f.key >= ? AND f.key < ?{where} ORDER BY f.key DESC LIMIT ?",
                (*score_args, since, below, *where_args, batch),
            ).fetchall()
            if not rows:
                return
            yield [(int(r[0]), float(r[1]), float(r[2])) for r in rows]
            if len(rows) < batch:
                return
            below = int(rows[-1][0])

    def newest_keys(self, match: str, since: int, limit: int) -> list[int]:
        """Keys of the newest `limit` matches of `match` with key >= `since`, newest first."""
        if is_postgres(self.conn):
            condition = _pg_match(match)
            return [
                int(row[0]) for row in self.conn.execute(
                    f"SELECT f.key FROM papers_fts f WHERE {condition.where} AND f.key >= ? "
                    "ORDER BY f.key DESC LIMIT ?",
                    (*condition.args, since, limit),
                )
            ]
        return [
            row[0]
            for row in self.conn.execute(
                "SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? AND rowid >= ? "
                "ORDER BY rowid DESC LIMIT ?",
                (match, since, limit),
            )
        ]

    def count(self, match: str | None, since: int, filters: PaperFilter) -> int:
        """How many matches of `match` (None: papers) with key >= `since` pass the filters."""
        filter_sql, filter_args = _filter_sql(filters)
        if is_postgres(self.conn):
            join = f" JOIN papers p ON p.pk = (f.key & {FTS_PK_MASK})" if filter_sql else ""
            pg_where, pg_args = "f.key >= ?", list[object]([since])
            if match is not None:
                condition = _pg_match(match)
                pg_where = f"{condition.where} AND {pg_where}"
                pg_args = [*condition.args, since]
            pg_sql = f"SELECT count(*) FROM papers_fts f{join} WHERE {pg_where}{filter_sql}"
            return int(self.conn.execute(pg_sql, [*pg_args, *filter_args]).fetchone()[0])
        join = f" JOIN papers p ON p.pk = (f.rowid & {FTS_PK_MASK})" if filter_sql else ""
        where = ["f.rowid >= ?"]
        args: list[object] = [since]
        if match is not None:
            where.insert(0, "papers_fts MATCH ?")
            args.insert(0, match)
        sql = f"SELECT count(*) FROM papers_fts f{join} WHERE {' AND '.join(where)}{filter_sql}"
        return int(self.conn.execute(sql, [*args, *filter_args]).fetchone()[0])

    def oldest_key(self, since: int) -> int | None:
        """The smallest key >= `since` in the index (the oldest paper in a window), or None."""
        if is_postgres(self.conn):
            row = self.conn.execute(
                "SELECT key FROM papers_fts WHERE key >= ? ORDER BY key LIMIT 1", (since,)
            ).fetchone()
            return int(row[0]) if row else None
        row = self.conn.execute(
            "SELECT rowid FROM papers_fts WHERE rowid >= ? ORDER BY rowid LIMIT 1", (since,)
        ).fetchone()
        return int(row[0]) if row else None

    def popularity_of(self, pks: Sequence[int], filters: PaperFilter) -> dict[int, int]:
        """pk -> popularity for those of `pks` that pass the filters."""
        filter_sql, filter_args = _filter_sql(filters)
        found: dict[int, int] = {}
        for start in range(0, len(pks), _CHUNK):
            chunk = pks[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT p.pk, p.popularity FROM papers p WHERE p.pk IN ({marks}){filter_sql}",
                [*chunk, *filter_args],
            )
            found.update((row[0], row[1]) for row in rows)
        return found

    def popular_first(self, batch: int) -> Generator[list[tuple[int, int]], None, None]:
        """Batches of (pk, popularity) of every paper with popularity > 0, most popular first
        (ties: highest pk first), `batch` rows at a time (the partial index papers_popular).
        Close the generator to stop reading early."""
        cursor = self.conn.execute(
            "SELECT pk, popularity FROM papers WHERE popularity > 0 ORDER BY popularity DESC, pk DESC"
        )
        try:
            while rows := cursor.fetchmany(batch):
                yield rows
        finally:
            cursor.close()

    def most_popular(self, since: int, filters: PaperFilter, limit: int) -> list[tuple[int, int, int]]:
        """(pk, popularity, key) of the `limit` most popular papers (popularity > 0; ties:
        highest pk first) with key >= `since` that pass the filters."""
        filter_sql, filter_args = _filter_sql(filters)
        where, args = "", []
        if since:
            where = " AND COALESCE(p.published, p.first_seen) >= ?"
            args.append(_iso_of_key(since))
        rows = self.conn.execute(
            "SELECT p.pk, p.popularity, COALESCE(p.published, p.first_seen) FROM papers p "
            f"WHERE p.popularity > 0{where}{filter_sql} ORDER BY p.popularity DESC, p.pk DESC LIMIT ?",
            [*args, *filter_args, limit],
        ).fetchall()
        return [(row[0], row[1], fts_key(row[2], row[0])) for row in rows]

    def has_papers(self) -> bool:
        """Whether any paper is stored at all."""
        return self.conn.execute("SELECT 1 FROM papers LIMIT 1").fetchone() is not None

    def most_common_topic(self, pks: Sequence[int], exclude: str) -> str | None:
        """The topic id most of the papers `pks` carry, other than `exclude` (ties: the
        smallest id), or None when they carry none."""
        if not pks:
            return None
        marks = ",".join("?" * len(pks))
        row = self.conn.execute(
            f"SELECT t.topic_id, count(*) AS n FROM paper_topics t JOIN papers p ON p.id = t.paper_id "
            f"WHERE p.pk IN ({marks}) AND t.topic_id != ? GROUP BY t.topic_id ORDER BY n DESC, t.topic_id LIMIT 1",
            [*pks, exclude],
        ).fetchone()
        return str(row[0]) if row else None
