"""The search engine's index: a tantivy index derived from the papers, kept in step by sequence.

Why a second index
    FTS5 (papers_fts, `bot.store.fulltext`) scores with `bm25()`, which reads a phrase's whole
    doclist for its idf and cannot stop early on a score bound; at a million papers a common
    word or phrase cost 150-390 ms. tantivy (Rust, `tantivy` on PyPI) scores only the documents
    of a time slice it is asked about and counts or sorts by fast fields in native code, so the
    search engine (`bot.search.indexed`) asks for a few small slices, newest first, and stops on
    a bound. FTS5 stays the fallback whenever this index is missing, being rebuilt, or busy.

What it holds (one document per paper; nothing is stored, every value is a fast field)
    pk; key (`bot.store.fulltext.fts_key`: time << 31 | pk, so time order and time windows are
    key order and key ranges, as in papers_fts); popularity; top (popularity << 32 | seconds, the
    sort:top order); popular ("yes" when popularity > 0, an indexed term so that tantivy can lead
    with the few popular papers); kind ("paper" in every document); day (the UTC day number of
    the key's time, so that a window of whole days is a set of terms: see `_bounded`); title, abstract, authors and summary text (tokenizer "paper":
    simple split, lower case, ASCII folding, English stemming, like FTS5's porter unicode61
    remove_diacritics); topic ids and source kinds (exact terms).

Files
    `directory` (by default `<data_dir>/search-index`, `index_directory`) holds tantivy's files
    and `state.json`: {"format": 1, "seq": W, "generation": G}. W is the store's search
    sequence value up to which every change is in the index; G names one build of the index.

Keeping in step when several processes share one store
    The store is the source of truth. Every write that changes what this index holds sets
    `papers.index_seq` to a fresh value of the one-row `search_sequence` table, in the write's
    transaction (`bot/store/papers.py`). SQLite serializes write transactions; on PostgreSQL
    (READ COMMITTED) the `UPDATE ... RETURNING` of the sequence row locks it until the writer's
    transaction ends, and the next writer's update waits and then increments the committed value.
    Either way, when a reader sees sequence value S, every change numbered <= S is committed and
    visible to it (tests/contract/test_alert_sequence.py checks it with two writers). Before
    each search `SearchIndex.snapshot(conn)`:
    1. reads state.json when its mtime changed (another process committed or rebuilt), and
       reopens the index when the generation changed;
    2. reads S; when S > W it catches up: it takes tantivy's writer lock (one writer per index
       across processes; when another process holds it the search falls back to FTS5), reads S
       again and the rows with index_seq > W in one read transaction, deletes and re-adds those
       documents by pk, commits, and replaces state.json with seq S while still holding the lock;
    3. reloads its reader when W moved, and answers from that reader.
    A crash between tantivy's commit and state.json replays the same rows next time; re-adding a
    document by pk is idempotent. Papers are never deleted from the store (retention keeps them).

Rebuild (`rebuild`, `paperbot reindex`)
    Builds a new index in a sibling directory from one read snapshot of the papers (with the S of
    that snapshot), then swaps the directories with renames; other processes notice the new
    generation at their next search and catch up from its W.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import tantivy

from bot.store.backend import Connection
from bot.store.fulltext import FTS_PK_BITS, PaperFilter, fts_key, fts_seconds

log = logging.getLogger(__name__)

__all__ = [
    "FORMAT", "TEXT_FIELDS", "SearchIndex", "IndexSnapshot", "IndexQuery", "index_directory", "rebuild",
]

FORMAT = 2  # 2: the day field
TEXT_FIELDS = ("title", "abstract", "authors", "summary")
STATE_FILE = "state.json"
# tantivy's BM25 constants (fixed in tantivy): the bound of one term is idf * (K1 + 1).
K1 = 1.2
_WRITER_HEAP = 64_000_000
_BUILD_HEAP = 400_000_000
_CHUNK = 2000
_MAX_POPULARITY = (1 << 31) - 1
# A term in a field with at most this many papers is scored paper by paper, not bounded.
RARE_FIELD_DOCS = 5000
DAY = 86400
# A window of whole days is selected by its day terms (tantivy then leads with the window's own
# papers) rather than a range of keys (which visits every match of the words): up to this many.
MAX_DAY_TERMS = 800

_DOC_SQL = (
    "SELECT p.pk, p.title, p.abstract, p.authors, p.summary_text, COALESCE(p.published, p.first_seen), "
    "p.popularity, p.sources, "
    "(SELECT group_concat(t.topic_id, ' ') FROM paper_topics t WHERE t.paper_id = p.id) FROM papers p"
)


def index_directory(data_dir: str | Path) -> Path:
    """Where the search index of a data directory lives."""
    return Path(data_dir).expanduser() / "search-index"


def _analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(100))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


_ANALYZER = _analyzer()


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("pk", indexed=True, fast=True)
    builder.add_unsigned_field("key", indexed=False, fast=True)
    builder.add_unsigned_field("popularity", indexed=False, fast=True)
    builder.add_unsigned_field("top", indexed=False, fast=True)
    for name in TEXT_FIELDS:
        builder.add_text_field(name, tokenizer_name="paper", index_option="position")
    for name in ("topic", "source", "popular", "kind", "day"):
        builder.add_text_field(name, tokenizer_name="raw", index_option="basic")
    return builder.build()


SCHEMA = _schema()


def _open(directory: Path) -> tantivy.Index:
    index = tantivy.Index(SCHEMA, str(directory), reuse=True)
    index.register_tokenizer("paper", _analyzer())
    # Manual: this process reloads when state.json says another commit landed.
    index.config_reader(reload_policy="Manual")
    return index


def _document(row: Sequence[object]) -> tantivy.Document:
    pk, title, abstract, authors, summary, when, popularity, sources, topics = row
    key = fts_key(str(when) if when else None, int(pk))  # type: ignore[call-overload]
    popularity = min(_MAX_POPULARITY, max(0, int(popularity)))  # type: ignore[call-overload]
    doc = tantivy.Document()
    doc.add_unsigned("pk", int(pk))  # type: ignore[call-overload]
    doc.add_unsigned("key", key)
    doc.add_unsigned("popularity", popularity)
    doc.add_unsigned("top", (popularity << 32) | (key >> FTS_PK_BITS))
    doc.add_text("title", str(title))
    doc.add_text("abstract", str(abstract))
    doc.add_text("authors", str(authors))
    doc.add_text("summary", str(summary))
    for topic in str(topics or "").split():
        doc.add_text("topic", topic)
    for source in json.loads(str(sources) or "[]"):
        doc.add_text("source", str(source))
    if popularity > 0:
        doc.add_text("popular", "yes")
    doc.add_text("kind", "paper")  # every document: the probe of `_documents_for_idf`
    doc.add_text("day", str((key >> FTS_PK_BITS) // DAY))
    return doc


def _store_seq(conn: Connection) -> int:
    row = conn.execute("SELECT value FROM search_sequence").fetchone()
    return int(row[0]) if row else 0


def _read_state(directory: Path) -> dict[str, object] | None:
    try:
        state = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        return None
    return state


def _write_state(directory: Path, seq: int, generation: str) -> None:
    temporary = directory / f"{STATE_FILE}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps({"format": FORMAT, "seq": seq, "generation": generation}), encoding="utf-8")
    os.replace(temporary, directory / STATE_FILE)


@dataclass(frozen=True)
class IndexQuery:
    """A query compiled for the index: `text` (None: every paper) with the filters; the bound of
    its score for papers that match no rare field (`bound`); `rare`, the matches of a term in a
    field where at most RARE_FIELD_DOCS papers have it (None: no such field), which are few and
    are scored one by one instead of being bounded (a rare field's idf is large, so its bound
    would be far above any real score); and `max_matches`, no more papers than that match (the
    rarest term's document frequencies added over the fields)."""

    text: tantivy.Query | None
    filters: tuple[tantivy.Query, ...]
    bound: float
    max_matches: int
    rare: tantivy.Query | None = None
    rare_limit: int = 0


class IndexSnapshot:
    """One consistent view of the index (a tantivy searcher) and the reads search makes of it.
    Keys, popularity and scores come back as plain numbers."""

    def __init__(self, searcher: tantivy.Searcher, seq: int) -> None:
        self.searcher = searcher
        self.seq = seq
        self._docs_for_idf: int | None = None
        self._newest: int | None = None

    # --- queries -------------------------------------------------------------------------

    def compile(
        self,
        terms: Sequence[str],
        author_words: Sequence[str],
        filters: PaperFilter,
        weights: Sequence[float],
    ) -> IndexQuery:
        """The index query for search terms (each a word or a phrase of words joined by spaces,
        all required), author name words (a phrase in authors, required) and filters, scored as
        the sum over terms of each field's BM25 times its weight (`weights` in TEXT_FIELDS
        order)."""
        boosts = dict(zip(TEXT_FIELDS, weights, strict=True))
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        rare: list[tuple[tantivy.Occur, tantivy.Query]] = []
        bound = 0.0
        rare_limit = 0
        max_matches = int(self.searcher.num_docs)
        wanted = [(term.split(), boosts) for term in terms]
        if author_words:
            wanted.append((list(author_words), {"authors": boosts["authors"]}))
        for words, term_boosts in wanted:
            compiled = self._term(words, term_boosts)
            clauses.append((tantivy.Occur.Must, compiled.query))
            bound += compiled.bound
            max_matches = min(max_matches, compiled.matches)
            rare += [(tantivy.Occur.Should, query) for query in compiled.rare]
            rare_limit += compiled.rare_matches
        extra = []
        if filters.topic:
            extra.append(_unscored(tantivy.Query.term_query(SCHEMA, "topic", filters.topic)))
            max_matches = min(max_matches, self.searcher.doc_freq("topic", filters.topic))
        if filters.source is not None:
            extra.append(_unscored(tantivy.Query.term_query(SCHEMA, "source", filters.source)))
            max_matches = min(max_matches, self.searcher.doc_freq("source", filters.source))
        text = tantivy.Query.boolean_query(clauses) if clauses else None
        rare_query = _unscored(tantivy.Query.boolean_query(rare)) if rare else None
        return IndexQuery(text, tuple(extra), bound, max_matches, rare_query, rare_limit)

    def _term(self, words: Sequence[str], boosts: dict[str, float]) -> _Term:
        """One required term in any of the boosted fields, with the bound of its score outside
        its rare fields (for each other field the term occurs in, weight x idf x (K1 + 1): BM25
        saturates below that; a phrase's idf is the sum of its words' idf, as tantivy computes
        it), its rare fields, and the bound of its matches."""
        tokens: list[str | tuple[int, str]] = [token for word in words for token in _ANALYZER.analyze(word)]
        if not tokens:
            return _Term(tantivy.Query.empty_query(), 0.0, 0, (), 0)
        fields: list[tuple[tantivy.Occur, tantivy.Query]] = []
        rare: list[tantivy.Query] = []
        bound = 0.0
        matches = rare_matches = 0
        for field, boost in boosts.items():
            frequencies = [self.searcher.doc_freq(field, str(token)) for token in tokens]
            if min(frequencies) == 0:
                continue  # the term cannot match this field
            matches += min(frequencies)
            if len(tokens) == 1:
                query = tantivy.Query.term_query(SCHEMA, field, str(tokens[0]))
            else:
                query = tantivy.Query.phrase_query(SCHEMA, field, tokens)
            fields.append((tantivy.Occur.Should, tantivy.Query.boost_query(query, boost)))
            if min(frequencies) <= RARE_FIELD_DOCS:
                rare.append(query)
                rare_matches += min(frequencies)
            else:
                bound += boost * sum(self._idf(n) for n in frequencies) * (K1 + 1.0)
        if not fields:
            return _Term(tantivy.Query.empty_query(), 0.0, 0, (), 0)
        return _Term(tantivy.Query.boolean_query(fields), bound, matches, tuple(rare), rare_matches)

    def _idf(self, doc_freq: int) -> float:
        documents = self._documents_for_idf()
        return math.log(1.0 + (documents - doc_freq + 0.5) / (doc_freq + 0.5))

    def _documents_for_idf(self) -> int:
        """The N of tantivy's idf: documents including deleted ones not yet merged away, which
        the Python API does not expose; the explanation of any scored hit states it."""
        if self._docs_for_idf is None:
            documents = int(self.searcher.num_docs)
            probe = tantivy.Query.term_query(SCHEMA, "kind", "paper")
            for _, address in self.searcher.search(probe, 1, count=False).hits:
                details = json.loads(probe.explain(self.searcher, address).to_json())
                documents = max(documents, int(_explained_documents(details) or 0))
            self._docs_for_idf = documents
        return self._docs_for_idf

    # --- reads -----------------------------------------------------------------------------

    def best(
        self, query: IndexQuery, lo_key: int, hi_key: int | None, limit: int
    ) -> tuple[list[tuple[float, int, int]], int]:
        """(score, key, popularity) of the `limit` best-scoring matches with lo_key <= key <
        hi_key (None: no upper end), best first, and how many match in that window (counted in
        the same pass)."""
        result = self.searcher.search(self._bounded(query, lo_key, hi_key), limit, count=True)
        hits = self._with_fields([score for score, _ in result.hits], [address for _, address in result.hits])
        return hits, int(result.count)  # type: ignore[attr-defined]

    def rare_part(self, query: IndexQuery) -> IndexQuery | None:
        """The matches of `query` that have a term in one of its rare fields (`IndexQuery.rare`),
        as a query of their own scored like `query` (at most `rare_limit` papers); None when it
        has no rare field."""
        if query.rare is None or query.text is None:
            return None
        return IndexQuery(
            tantivy.Query.boolean_query([(tantivy.Occur.Must, query.text), (tantivy.Occur.Must, query.rare)]),
            query.filters, query.bound, query.max_matches,
        )

    def ordered(
        self, query: IndexQuery, lo_key: int, hi_key: int | None, limit: int, by: str, popular_only: bool = False
    ) -> tuple[list[tuple[int, int]], int]:
        """(key, popularity) of the first `limit` matches in a window by descending `by` ("key":
        newest first; "top": most popular first, ties newest), optionally popular papers only,
        and how many match in that window (counted in the same pass)."""
        bounded = self._bounded(query, lo_key, hi_key, popular_only)
        result = self.searcher.search(bounded, limit, count=True, order_by_field=by, order=tantivy.Order.Desc)
        rows = self._with_fields([0.0] * len(result.hits), [a for _, a in result.hits])
        return [(key, pop) for _, key, pop in rows], int(result.count)  # type: ignore[attr-defined]

    def count(
        self, query: IndexQuery, lo_key: int, hi_key: int | None = None, popular_only: bool = False
    ) -> int:
        """How many papers match in a window (optionally: popular papers only)."""
        bounded = self._bounded(query, lo_key, hi_key, popular_only)
        return int(self.searcher.search(bounded, 1, count=True).count)  # type: ignore[attr-defined]

    def document_count(self) -> int:
        """How many papers the index holds."""
        return int(self.searcher.num_docs)

    def _bounded(
        self, query: IndexQuery, lo_key: int, hi_key: int | None, popular_only: bool = False
    ) -> tantivy.Query:
        clauses = [(tantivy.Occur.Must, query.text if query.text is not None else tantivy.Query.all_query())]
        clauses += [(tantivy.Occur.Must, extra) for extra in query.filters]
        if lo_key > 0 or hi_key is not None:
            clauses.append((tantivy.Occur.Must, _unscored(self._window(lo_key, hi_key))))
        if popular_only:
            clauses.append((tantivy.Occur.Must, _unscored(tantivy.Query.term_query(SCHEMA, "popular", "yes"))))
        return tantivy.Query.boolean_query(clauses)

    def _window(self, lo_key: int, hi_key: int | None) -> tantivy.Query:
        """The papers with lo_key <= key < hi_key: as day terms when both ends are day starts
        (measured at 1M papers: 0.25 ms instead of 3 ms for two days of a common word, since
        tantivy then leads with the window's papers), else as a range of keys."""
        lo_s = lo_key >> FTS_PK_BITS
        aligned = lo_key == lo_s << FTS_PK_BITS and lo_s % DAY == 0
        if hi_key is None:
            hi_s = (self._newest_key() >> FTS_PK_BITS) // DAY * DAY + DAY
        else:
            hi_s = hi_key >> FTS_PK_BITS
            aligned = aligned and hi_key == hi_s << FTS_PK_BITS and hi_s % DAY == 0
        first, last = lo_s // DAY, max(lo_s // DAY, hi_s // DAY)
        if aligned and last <= first:
            return tantivy.Query.empty_query()  # no paper is that new
        if aligned and last - first <= MAX_DAY_TERMS:
            return tantivy.Query.term_set_query(SCHEMA, "day", [str(day) for day in range(first, last)])
        return tantivy.Query.range_query(
            SCHEMA, "key", tantivy.FieldType.Unsigned, lo_key if lo_key > 0 else None, hi_key,
            include_upper=hi_key is None,
        )

    def _newest_key(self) -> int:
        """The largest key in the index (cached for this snapshot): where an open window ends."""
        if self._newest is None:
            hits = self.searcher.search(tantivy.Query.all_query(), 1, count=False, order_by_field="key").hits
            self._newest = int(hits[0][0]) if hits else 0
        return self._newest

    def _with_fields(self, scores: list[float], addresses: list[tantivy.DocAddress]) -> list[tuple[float, int, int]]:
        if not addresses:
            return []
        keys = self.searcher.fast_field_values("key", addresses)
        popularity = self.searcher.fast_field_values("popularity", addresses)
        return [
            (score, int(key), int(pop or 0))
            for score, key, pop in zip(scores, keys, popularity, strict=True)
            if key is not None
        ]


@dataclass(frozen=True)
class _Term:
    query: tantivy.Query
    bound: float  # outside the rare fields
    matches: int
    rare: tuple[tantivy.Query, ...]
    rare_matches: int


def _unscored(query: tantivy.Query) -> tantivy.Query:
    """A filter that adds nothing to the score (tantivy's Must clauses add their scores)."""
    return tantivy.Query.const_score_query(query, 0.0)


def _explained_documents(node: object) -> float | None:
    """The "N, total number of docs" value anywhere in a tantivy explanation."""
    if isinstance(node, dict):
        if str(node.get("description", "")).startswith("N, total number of docs"):
            return float(node.get("value", 0.0))
        for child in node.get("details", []) or []:
            found = _explained_documents(child)
            if found is not None:
                return found
    return None


class SearchIndex:
    """The index in one directory, as this process sees it; see the module docstring for how it
    stays in step. `snapshot(conn)` is the only entry point searches use."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory).expanduser()
        self._index: tantivy.Index | None = None
        self._generation: str | None = None
        self._state_mtime: int | None = None
        self._state_seq = -1
        self._reader_seq = -1
        self._snapshot: IndexSnapshot | None = None
        self._lock = threading.Lock()  # searches from worker threads share this view

    def exists(self) -> bool:
        """Whether an index (with its state) is there at all."""
        return _read_state(self.directory) is not None

    def snapshot(self, conn: Connection) -> IndexSnapshot | None:
        """A view of the index holding every change committed to the store, or None when there
        is no index (or it is being swapped, or another process is catching it up): the caller
        then searches with FTS5.

        The store's sequence is read before waiting for the view: a search needs the changes
        committed before it began, so searches that waited while another one caught up (with
        everything committed until then) take that view, rather than each catching up again
        with the writes made meanwhile (one tantivy commit each: tens to hundreds of ms)."""
        wanted = _store_seq(conn)
        with self._lock:
            return self._current(conn, wanted)

    def _current(self, conn: Connection, wanted: int) -> IndexSnapshot | None:
        if not self._refresh_state():
            return None
        if wanted > self._state_seq and not self._catch_up(conn):
            return None
        assert self._index is not None
        if self._snapshot is None or self._reader_seq != self._state_seq:
            self._index.reload()
            self._reader_seq = self._state_seq
            self._snapshot = IndexSnapshot(self._index.searcher(), self._state_seq)
        return self._snapshot

    def _refresh_state(self) -> bool:
        try:
            mtime = (self.directory / STATE_FILE).stat().st_mtime_ns
        except OSError:
            self._forget()
            return False
        if mtime == self._state_mtime and self._index is not None:
            return True
        state = _read_state(self.directory)
        if state is None:
            self._forget()
            return False
        generation = str(state.get("generation"))
        if generation != self._generation or self._index is None:
            try:
                self._index = _open(self.directory)
            except (OSError, ValueError) as exc:
                log.warning("search index at %s cannot be opened (%s); searching with FTS5", self.directory, exc)
                self._forget()
                return False
            self._generation = generation
            self._snapshot = None
        self._state_mtime = mtime
        self._state_seq = int(state.get("seq", 0))  # type: ignore[call-overload]
        return True

    def _forget(self) -> None:
        self._index = None
        self._generation = None
        self._state_mtime = None
        self._snapshot = None
        self._state_seq = self._reader_seq = -1

    def _catch_up(self, conn: Connection) -> bool:
        """Apply the store's changes above the index's watermark; False when another process
        holds the writer (it is doing the same) or the index went away."""
        assert self._index is not None
        try:
            writer = self._index.writer(_WRITER_HEAP, 1)
        except ValueError:
            return False
        try:
            state = _read_state(self.directory)
            if state is None or str(state.get("generation")) != self._generation:
                return False  # swapped by a rebuild meanwhile: the next search opens the new one
            applied = int(state.get("seq", 0))  # type: ignore[call-overload]
            with _read_snapshot(conn):
                seq = _store_seq(conn)
                if seq > applied:
                    rows = conn.execute(f"{_DOC_SQL} WHERE p.index_seq > ?", (applied,))
                    for row in rows:
                        writer.delete_documents_by_query(tantivy.Query.term_query(SCHEMA, "pk", int(row[0])))
                        writer.add_document(_document(row))
            if seq > applied:
                writer.commit()
                _write_state(self.directory, seq, str(self._generation))
        finally:
            # Finishing the merges the commit scheduled keeps the segment count (and so the cost
            # of every search) from growing with each catch-up; it also releases the writer lock.
            writer.wait_merging_threads()
        self._state_mtime = None
        return self._refresh_state()


class _read_snapshot:
    """One read transaction (a consistent snapshot in WAL mode), or the caller's own."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.own = False

    def __enter__(self) -> None:
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN")
            self.own = True

    def __exit__(self, *exc: object) -> None:
        if self.own:
            self.conn.execute("COMMIT")


def _rows(conn: Connection) -> Iterator[Sequence[object]]:
    cursor = conn.execute(f"{_DOC_SQL} ORDER BY p.pk")
    while chunk := cursor.fetchmany(_CHUNK):
        yield from chunk


def _remove_leftovers(target: Path) -> None:
    """Building or retired directories left by processes that no longer run (the process id is
    in the name: `<name>.building-<pid>-<tag>`, `<name>.old-<pid>-<tag>`)."""
    for leftover in target.parent.glob(f"{target.name}.*-*-*"):
        try:
            pid = int(leftover.name.rsplit("-", 2)[-2])
        except ValueError:
            continue
        if pid == os.getpid() or not leftover.is_dir():
            continue
        try:
            os.kill(pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            shutil.rmtree(leftover, ignore_errors=True)
        except PermissionError:
            continue  # it exists (another user's)


def rebuild(conn: Connection, directory: str | Path, threads: int = 0) -> dict[str, int]:
    """Build the index of every paper into `directory` (replacing what is there) from one read
    snapshot of the store; returns {"papers": n, "seq": S}."""
    target = Path(directory).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target)
    building = target.with_name(f"{target.name}.building-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    building.mkdir()
    try:
        index = _open(building)
        writer = index.writer(_BUILD_HEAP, threads)
        papers = 0
        with _read_snapshot(conn):
            seq = _store_seq(conn)
            for row in _rows(conn):
                writer.add_document(_document(row))
                papers += 1
        writer.commit()
        writer.wait_merging_threads()
        _write_state(building, seq, uuid.uuid4().hex)
        retired = target.with_name(f"{target.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        if target.exists():
            os.rename(target, retired)
        os.rename(building, target)
        shutil.rmtree(retired, ignore_errors=True)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return {"papers": papers, "seq": seq}


def key_seconds(key: int) -> int:
    """The time part (UTC seconds) of an index key."""
    return key >> FTS_PK_BITS


def seconds_key(seconds: int) -> int:
    """The smallest key of a paper at this second."""
    return max(0, seconds) << FTS_PK_BITS


__all__ += ["key_seconds", "seconds_key", "fts_seconds"]
