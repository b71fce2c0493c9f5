"""The offline text representation of papers: hashed TF-IDF, plus a dense projection of it.

No network and no model download: everything is fitted on the store's own papers.

- **Sparse (interest models).** Title (counted twice) and abstract go through scikit-learn's
  `HashingVectorizer` (words and word pairs, English stop words removed, 2**18 buckets), then
  sublinear TF-IDF with document frequencies that are kept in the store and grow as papers
  arrive. Hashing needs no vocabulary, so a new paper gets a vector at once and the
  representation never has to be refitted: the IDF of a bucket just moves as the corpus grows,
  which changes nothing a stored model relies on (its weights are per bucket). This is the
  arxiv-sanity-lite representation (TF-IDF of words and bigrams) without its periodic refit.
- **Dense (similar papers, search by meaning).** A `TruncatedSVD` (latent semantic analysis)
  of the TF-IDF of the 40,000 most common buckets, fitted on a sample of the store's papers,
  gives each paper 128 numbers; cosine similarity there is a dot product. It is refitted (in a
  worker thread) when the store has grown to twice the papers it was fitted on, and every
  refit is a new representation version, so vectors of different fits never mix.

`REPRESENTATION` names the sparse space; a model trained in another space is rebuilt from the
feedback rows (bot.rank.models).
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32

N_FEATURES = 2**18
REPRESENTATION = f"hash-tfidf-v1-{N_FEATURES}"
DENSE_DIMENSIONS = 128
PROJECTION_FEATURES = 40_000
PROJECTION_SAMPLE = 20_000
MIN_DOCS_FOR_PROJECTION = 50
EXACT_FIT_ROWS = 2000  # up to this many sampled papers the SVD is computed exactly (fast there)

_TEX_MATH = re.compile(r"\$[^$]*\$")
_TEX_COMMAND = re.compile(r"\\[a-zA-Z]+")


def paper_text(title: str, abstract: str) -> str:
    """What the representation reads of a paper: the title twice (titles say most) and the
    abstract, with TeX math and commands dropped."""
    text = f"{title}. {title}. {abstract}"
    return _TEX_COMMAND.sub(" ", _TEX_MATH.sub(" ", text))


def _vectorizer() -> HashingVectorizer:
    return HashingVectorizer(
        n_features=N_FEATURES,
        ngram_range=(1, 2),
        stop_words="english",
        alternate_sign=False,
        norm=None,
        dtype=np.float32,
    )


def _bucket(term: str) -> int:
    """The bucket a word or word pair hashes to: scikit-learn's FeatureHasher's, |murmurhash3_32(
    term, seed=0)| mod the bucket count."""
    return abs(murmurhash3_32(term, seed=0)) % N_FEATURES


def _unit_rows(dense: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (all-zero rows stay zero)."""
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return dense / norms


class HashedTfidf:
    """Hashed term counts, document frequencies that grow with the store, and TF-IDF weights."""

    def __init__(self, df: np.ndarray | None = None, n_docs: int = 0) -> None:
        self.vectorizer = _vectorizer()
        self._analyzer = self.vectorizer.build_analyzer()
        self.df = df if df is not None else np.zeros(N_FEATURES, dtype=np.int32)
        self.n_docs = n_docs
        self._idf: np.ndarray | None = None

    def counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Raw hashed term counts, one row per text."""
        return sp.csr_matrix(self.vectorizer.transform(list(texts)), dtype=np.float32)

    def observe(self, counts: sp.csr_matrix) -> None:
        """Count these documents into the document frequencies."""
        if counts.shape[0] == 0:
            return
        present = np.bincount(counts.indices, minlength=N_FEATURES).astype(np.int32)
        self.df += present
        self.n_docs += counts.shape[0]
        self._idf = None

    @property
    def idf(self) -> np.ndarray:
        """Smoothed inverse document frequency per bucket (scikit-learn's formula)."""
        if self._idf is None:
            self._idf = (np.log((1.0 + self.n_docs) / (1.0 + self.df)) + 1.0).astype(np.float32)
        return self._idf

    def weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Sublinear TF-IDF, each row scaled to unit length."""
        weighted = counts.copy()
        weighted.data = (1.0 + np.log(weighted.data)) * self.idf[weighted.indices]
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sp.csr_matrix(sp.diags(1.0 / norms).dot(weighted), dtype=np.float32)

    def vectors(self, texts: Sequence[str]) -> sp.csr_matrix:
        """TF-IDF rows for texts (without counting them into the frequencies)."""
        return self.weigh(self.counts(texts))

    def weights_of(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """One text's `vectors` row as (buckets ascending, weights): the same hashing, sublinear
        TF-IDF and unit length, without scikit-learn's and scipy's per-call machinery (0.6 ms
        for a query's few words, 0.03 ms here: search by meaning pays it on every free-text
        `/papers`). The weights agree with `vectors` to float32 rounding."""
        counts: dict[int, int] = {}
        for term in self._analyzer(text):
            bucket = _bucket(term)
            counts[bucket] = counts.get(bucket, 0) + 1
        buckets = np.array(sorted(counts), dtype=np.int64)
        if not len(buckets):
            return buckets, np.zeros(0, dtype=np.float32)
        weights = (np.float32(1.0) + np.log(np.array([counts[b] for b in buckets.tolist()], dtype=np.float32)))
        weights *= self.idf[buckets]  # every idf is at least 1: the norm is never 0
        norm = np.float32(np.sqrt(np.dot(weights.astype(np.float64), weights.astype(np.float64))))
        return buckets, weights * (np.float32(1.0) / norm)

    def terms_by_bucket(self, text: str) -> dict[int, str]:
        """The words and word pairs of a text by the bucket they hash to (to explain a score).

        Uses the hash scikit-learn's FeatureHasher uses: |murmurhash3_32(term, seed=0)| mod
        the bucket count (a test checks it agrees with the vectorizer)."""
        found: dict[int, str] = {}
        for term in sorted(set(self._analyzer(text))):
            found.setdefault(_bucket(term), term)
        return found

    def to_state(self) -> bytes:
        """The document frequencies and count, as bytes for the store."""
        buffer = io.BytesIO()
        np.savez_compressed(buffer, df=self.df, n_docs=np.array([self.n_docs]))
        return buffer.getvalue()

    @classmethod
    def from_state(cls, data: bytes | None) -> HashedTfidf:
        """Restore from `to_state` bytes (None: an empty representation)."""
        if not data:
            return cls()
        loaded = np.load(io.BytesIO(data))
        df = loaded["df"].astype(np.int32)
        if df.shape != (N_FEATURES,):
            return cls()  # another bucket count: start over (papers are counted in again)
        return cls(df, int(loaded["n_docs"][0]))


@dataclass(frozen=True, slots=True)
class Projection:
    """A fitted dense projection of TF-IDF rows (latent semantic analysis)."""

    version: str
    fitted_on: int  # how many papers the store held when it was fitted
    features: np.ndarray  # int32 bucket ids kept
    components: np.ndarray  # float32, DENSE_DIMENSIONS x len(features)
    # Derived once (see transform): the components transposed into their own contiguous array,
    # and each bucket's column among `features` (-1: not kept).
    _by_feature: np.ndarray = field(init=False, repr=False, compare=False)
    _column: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        column = np.full(N_FEATURES, -1, dtype=np.int32)
        column[self.features] = np.arange(len(self.features), dtype=np.int32)
        object.__setattr__(self, "_column", column)
        object.__setattr__(self, "_by_feature", np.ascontiguousarray(self.components.T))

    @property
    def dimensions(self) -> int:
        """How many numbers each paper gets."""
        return int(self.components.shape[0])

    def transform(self, tfidf: sp.csr_matrix) -> np.ndarray:
        """Dense unit-length rows for TF-IDF rows.

        The kept buckets are found with a lookup table rather than scipy's column slicing, and
        multiplied with a contiguous copy of the transposed components: a one-row query went
        from about 20 ms to well under one (scipy's sparse-times-dense is slow on a transposed
        view), which `/papers` by meaning pays on every free-text query."""
        tfidf = sp.csr_matrix(tfidf)
        position = self._column[tfidf.indices]
        keep = position >= 0
        rows = np.repeat(np.arange(tfidf.shape[0]), np.diff(tfidf.indptr))
        kept = sp.csr_matrix(
            (tfidf.data[keep], (rows[keep], position[keep])), shape=(tfidf.shape[0], len(self.features))
        )
        return _unit_rows(np.asarray(kept @ self._by_feature, dtype=np.float32))

    def transform_weights(self, buckets: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """`transform` of one TF-IDF row given as (buckets, weights) (`HashedTfidf.weights_of`):
        a (1, dimensions) unit-length row, zeros when no bucket is kept."""
        position = self._column[buckets]
        keep = position >= 0
        return _unit_rows((weights[keep] @ self._by_feature[position[keep]]).astype(np.float32).reshape(1, -1))

    def to_state(self) -> bytes:
        """The fit as bytes for the store."""
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            version=np.array([self.version]),
            fitted_on=np.array([self.fitted_on]),
            features=self.features,
            components=self.components,
        )
        return buffer.getvalue()

    @classmethod
    def from_state(cls, data: bytes | None) -> Projection | None:
        """Restore from `to_state` bytes (None when nothing was fitted yet)."""
        if not data:
            return None
        loaded = np.load(io.BytesIO(data))
        return cls(
            version=str(loaded["version"][0]),
            fitted_on=int(loaded["fitted_on"][0]),
            features=loaded["features"].astype(np.int32),
            components=loaded["components"].astype(np.float32),
        )


def fit_projection(tfidf: sp.csr_matrix, df: np.ndarray, store_size: int) -> Projection:
    """Fit the dense projection on a sample of TF-IDF rows (CPU work: call it in a thread).

    Only the most common buckets take part: rare words say little about topics and would make
    the fit large. The version names the fit so vectors of different fits never mix."""
    features = np.sort(np.argsort(-df, kind="stable")[:PROJECTION_FEATURES]).astype(np.int32)
    features = features[df[features] > 1]
    sample = tfidf
    if tfidf.shape[0] > PROJECTION_SAMPLE:
        chosen = np.random.default_rng(0).choice(tfidf.shape[0], PROJECTION_SAMPLE, replace=False)
        sample = tfidf[np.sort(chosen)]
    kept = sample[:, features]
    # A few dozen papers cannot carry 128 topics: a small store gets a quarter as many numbers.
    dimensions = max(2, min(DENSE_DIMENSIONS, kept.shape[0] // 4, len(features) - 1))
    if kept.shape[0] <= EXACT_FIT_ROWS:
        components = _exact_components(kept, dimensions)
    else:
        svd = TruncatedSVD(n_components=dimensions, algorithm="randomized", n_iter=5, random_state=0)
        svd.fit(kept)
        components = svd.components_.astype(np.float32)
    digest = hashlib.blake2b(components.tobytes()[:65536], digest_size=4).hexdigest()
    return Projection(
        version=f"lsa-v1-{dimensions}-{store_size}-{digest}",
        fitted_on=store_size,
        features=features,
        components=components,
    )


def _exact_components(rows: sp.csr_matrix, dimensions: int) -> np.ndarray:
    """The top right singular vectors of a small matrix, from the eigenvectors of its Gram
    matrix (rows x rows), which is exact and much faster than a randomized SVD there."""
    gram = np.asarray((rows @ rows.T).toarray(), dtype=np.float64)
    values, vectors = np.linalg.eigh(gram)
    order = np.argsort(values)[::-1][:dimensions]
    scale = np.sqrt(np.maximum(values[order], 1e-12))
    components = np.asarray((rows.T @ vectors[:, order]).T, dtype=np.float64) / scale[:, None]
    return components.astype(np.float32)
