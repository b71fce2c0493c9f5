"""The in-memory paper index the ranking reads: TF-IDF rows (computed on demand, cached) and a
dense matrix of every paper's projection, kept in step with the store.

`refresh` reads papers stored since the last refresh (in row order), counts them into the
document frequencies, adds their dense vectors, and writes both to the store (vectors first,
then the state naming how far it got: a crash in between re-reads at most one batch, which
counts a few documents twice in the frequencies and rewrites the same vectors). When the store
has grown to twice what the projection was fitted on, the projection is refitted and every
vector recomputed, all CPU work in a worker thread; reads keep using the old fit until the new
one is complete. Store calls stay on the event loop (one SQLite connection is shared).

The fit itself (a minute on a large store and a loaded machine) runs in a daemon thread of its
own rather than asyncio's executor: a stop cancels the refresh at once, and the process exits
without waiting for the fit, whose result nobody would use (`asyncio.run` and the interpreter
both wait for the executor's threads, so a SIGTERM used to exit only when the fit ended). That
exit must then skip the native libraries' destructors: see `bot.core.background`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import islice

import numpy as np
import scipy.sparse as sp

from bot.core.background import in_daemon_thread
from bot.rank.representation import (
    MIN_DOCS_FOR_PROJECTION,
    PROJECTION_SAMPLE,
    HashedTfidf,
    Projection,
    fit_projection,
    paper_text,
)
from bot.store import Store
from bot.store.vectors import PaperText

log = logging.getLogger(__name__)

BATCH = 5000
LOAD_BATCH = 20_000  # stored vectors read into the dense matrix at a time
SPARSE_CACHE = 50_000
_STATE_TFIDF = "tfidf"
_STATE_PROJECTION = "projection"
_STATE_PROGRESS = "progress"


def seconds_of(when: str) -> float:
    """A stored ISO time as seconds since 1970 (0 when unreadable)."""
    try:
        parsed = datetime.fromisoformat(when)
    except ValueError:
        return 0.0
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


class DenseMatrix:
    """Unit-length dense rows by paper id, with each paper's time, grown by doubling.

    Stored column-major (Fortran order): each dimension's values for every paper lie together,
    so the matrix-vector product of a search by meaning (the newest 100,000 rows at a million
    papers, 51 MB, more than the cache holds) streams memory in the order BLAS reads it best:
    1.7 instead of 2.5-4.8 ms measured on the 2-core machine. Rows are appended in blocks."""

    def __init__(self, dimensions: int, capacity: int = 1024) -> None:
        self.dimensions = dimensions
        self._rows = np.zeros((capacity, dimensions), dtype=np.float32, order="F")
        self._times = np.zeros(capacity, dtype=np.float64)
        self.ids: list[str] = []
        self.position: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def rows(self) -> np.ndarray:
        """The filled rows (a view)."""
        return self._rows[: len(self.ids)]

    @property
    def times(self) -> np.ndarray:
        """Each row's paper time in seconds since 1970 (a view)."""
        return self._times[: len(self.ids)]

    def add(self, ids: Sequence[str], rows: np.ndarray, times: Sequence[float] | np.ndarray) -> None:
        """Add or replace rows (a paper given twice keeps its last row)."""
        if len(ids) != len(rows) or len(ids) != len(times):
            raise ValueError("ids, rows and times must be as many")
        last = {paper_id: n for n, paper_id in enumerate(ids)}  # a paper given twice: its last row
        if len(last) < len(ids):
            chosen = list(last.values())
            ids, rows, times = list(last), np.asarray(rows)[chosen], np.asarray(times)[chosen]
        at: list[int] = []
        for paper_id in ids:
            where = self.position.get(paper_id)
            if where is None:
                where = self.position[paper_id] = len(self.ids)
                self.ids.append(paper_id)
            at.append(where)
        while len(self.ids) > self._rows.shape[0]:
            self._grow()
        if at:
            # One assignment of the block: a copy per row into column-major storage would
            # touch a cache line per value.
            self._rows[at] = rows
            self._times[at] = times

    def row(self, paper_id: str) -> np.ndarray | None:
        """One paper's row (a contiguous copy), or None."""
        at = self.position.get(paper_id)
        return None if at is None else np.ascontiguousarray(self._rows[at])

    def _grow(self) -> None:
        capacity = self._rows.shape[0] * 2
        rows = np.zeros((capacity, self.dimensions), dtype=np.float32, order="F")
        rows[: self._rows.shape[0]] = self._rows
        times = np.zeros(capacity, dtype=np.float64)
        times[: self._times.shape[0]] = self._times
        self._rows, self._times = rows, times


def dense_from_store(store: Store, representation: str, capacity: int, dimensions: int | None = None) -> DenseMatrix | None:
    """The stored vectors of one representation as a dense matrix (None when there are none),
    each with its paper's time. Read in blocks of LOAD_BATCH with the times beside the vectors:
    at a million papers, collecting every row first and then reading the papers' texts for
    their times held 3 GB."""
    dense: DenseMatrix | None = None
    stored = iter(store.vectors.all_vectors_with_times(representation))
    while block := list(islice(stored, LOAD_BATCH)):
        width = dimensions or len(block[0][1]) // 4
        if dense is None:
            dense = DenseMatrix(width, capacity=capacity)
        rows = np.frombuffer(b"".join(blob for _, blob, _ in block), dtype=np.float32).reshape(len(block), width)
        dense.add([paper_id for paper_id, _, _ in block], rows, [seconds_of(when) if when else 0.0 for _, _, when in block])
    return dense


class PaperIndex:
    """TF-IDF and dense vectors of the store's papers (see the module)."""

    def __init__(self, tfidf: HashedTfidf | None = None, projection: Projection | None = None) -> None:
        self.tfidf = tfidf or HashedTfidf()
        self.projection = projection
        self.dense = DenseMatrix(projection.dimensions if projection else 1)
        self.last_pk = 0
        self._sparse: OrderedDict[str, tuple[int, sp.csr_matrix]] = OrderedDict()
        self._sparse_lock = threading.Lock()  # `sparse` is called from the loop and from workers
        self._lock = asyncio.Lock()

    # --- loading and refreshing --------------------------------------------------------------

    @classmethod
    def load(cls, store: Store) -> PaperIndex:
        """The index as the store last saved it (papers stored since are added by `refresh`)."""
        index = cls(HashedTfidf.from_state(store.vectors.state(_STATE_TFIDF)))
        progress = store.vectors.state(_STATE_PROGRESS)
        index.last_pk = int(progress.decode()) if progress else 0
        projection = Projection.from_state(store.vectors.state(_STATE_PROJECTION))
        if projection is not None:
            index.projection = projection
            loaded = dense_from_store(store, projection.version, max(1024, index.tfidf.n_docs), projection.dimensions)
            index.dense = loaded or DenseMatrix(projection.dimensions, capacity=max(1024, index.tfidf.n_docs))
        return index

    async def refresh(self, store: Store, now: datetime) -> int:
        """Index papers stored since the last refresh, refitting the projection when the store
        outgrew it; returns how many papers were added."""
        async with self._lock:
            added = 0
            while True:
                batch = store.vectors.texts_after(self.last_pk, BATCH)
                if not batch:
                    break
                dense = await asyncio.to_thread(self._count_batch, batch)
                if dense is not None and self.projection is not None:
                    store.vectors.put_vectors(
                        self.projection.version,
                        [(t.paper_id, t.version, row.tobytes()) for t, row in zip(batch, dense, strict=True)],
                    )
                self.last_pk = batch[-1].pk
                store.vectors.set_state(
                    {_STATE_TFIDF: self.tfidf.to_state(), _STATE_PROGRESS: str(self.last_pk).encode()}, now
                )
                added += len(batch)
            if self._needs_fit():
                await self._refit(store, now)
            return added

    def _needs_fit(self) -> bool:
        if self.tfidf.n_docs < MIN_DOCS_FOR_PROJECTION:
            return False
        return self.projection is None or self.tfidf.n_docs >= 2 * self.projection.fitted_on

    def _count_batch(self, batch: Sequence[PaperText]) -> np.ndarray | None:
        counts = self.tfidf.counts([paper_text(t.title, t.abstract) for t in batch])
        self.tfidf.observe(counts)
        if self.projection is None:
            return None
        dense = self.projection.transform(self.tfidf.weigh(counts))
        self.dense.add([t.paper_id for t in batch], dense, [seconds_of(t.when) for t in batch])
        return dense

    async def _refit(self, store: Store, now: datetime) -> None:
        """Fit a new projection on a sample, then recompute every paper's dense vector."""
        size = self.tfidf.n_docs
        sample: list[PaperText] = []
        pk = 0
        step = max(1, size // PROJECTION_SAMPLE)
        while True:
            batch = store.vectors.texts_after(pk, BATCH)
            if not batch:
                break
            sample.extend(batch[::step])
            pk = batch[-1].pk
        texts = [paper_text(t.title, t.abstract) for t in sample]
        projection = await in_daemon_thread(
            lambda: fit_projection(self.tfidf.vectors(texts), self.tfidf.df, size), "fit projection"
        )
        fresh = DenseMatrix(projection.dimensions, capacity=max(1024, size))
        pk = 0
        while True:
            batch = store.vectors.texts_after(pk, BATCH)
            if not batch:
                break
            rows = await asyncio.to_thread(self._project, projection, batch)
            fresh.add([t.paper_id for t in batch], rows, [seconds_of(t.when) for t in batch])
            store.vectors.put_vectors(
                projection.version, [(t.paper_id, t.version, r.tobytes()) for t, r in zip(batch, rows, strict=True)]
            )
            pk = batch[-1].pk
        store.vectors.set_state({_STATE_PROJECTION: projection.to_state()}, now)
        store.vectors.drop_vectors([projection.version, *self._other_representations(store)])
        log.info("fitted a %d-dimension projection on %d papers (%s)", projection.dimensions, size, projection.version)
        self.projection, self.dense = projection, fresh

    def _project(self, projection: Projection, batch: Sequence[PaperText]) -> np.ndarray:
        return projection.transform(self.tfidf.vectors([paper_text(t.title, t.abstract) for t in batch]))

    @staticmethod
    def _other_representations(store: Store) -> list[str]:
        # Embeddings are cached under their own names (emb:<model>) and survive a refit.
        rows = store.vectors.representations()
        return [name for name in rows if name.startswith("emb:")]

    # --- reading ----------------------------------------------------------------------------

    def sparse(self, texts: Sequence[PaperText]) -> sp.csr_matrix:
        """TF-IDF rows for these papers, in order (cached per paper version)."""
        with self._sparse_lock:
            missing = [t for t in texts if self._cached(t) is None]
        rows = self.tfidf.vectors([paper_text(t.title, t.abstract) for t in missing]) if missing else None
        with self._sparse_lock:
            for i, text in enumerate(missing):
                assert rows is not None
                self._sparse[text.paper_id] = (text.version, rows[i])
                self._sparse.move_to_end(text.paper_id)
            while len(self._sparse) > SPARSE_CACHE:
                self._sparse.popitem(last=False)
            found = [self._cached(t) for t in texts]
            if missing:
                # A row evicted meanwhile by another caller is simply taken from this batch.
                fresh = {t.paper_id: rows[i] for i, t in enumerate(missing)} if rows is not None else {}
                found = [f if f is not None else fresh.get(t.paper_id) for f, t in zip(found, texts, strict=True)]
        if not found:
            return sp.csr_matrix((0, self.tfidf.vectorizer.n_features), dtype=np.float32)
        return sp.csr_matrix(sp.vstack([row for row in found if row is not None]), dtype=np.float32)

    def _cached(self, text: PaperText) -> sp.csr_matrix | None:
        hit = self._sparse.get(text.paper_id)
        return hit[1] if hit is not None and hit[0] == text.version else None

    def dense_for_texts(self, texts: Sequence[str]) -> np.ndarray | None:
        """Dense rows for arbitrary texts (a query, a paper not stored), or None before the
        first projection is fitted."""
        if self.projection is None:
            return None
        return self.projection.transform(self.tfidf.vectors(list(texts)))

    def dense_for_text(self, text: str) -> np.ndarray | None:
        """`dense_for_texts` of one text (a query), by the one-text path of the representation
        (`HashedTfidf.weights_of`), or None before the first projection is fitted."""
        if self.projection is None:
            return None
        return self.projection.transform_weights(*self.tfidf.weights_of(text))

    def state_bytes(self) -> int:
        """Memory held by the dense matrix (for status and benchmarks)."""
        return int(self.dense.rows.nbytes)

