"""Optional dense embeddings from any OpenAI-compatible `/v1/embeddings` endpoint.

`POST {EMBEDDINGS_BASE_URL}/embeddings` with `{"model": ..., "input": [texts]}` answers
`{"data": [{"index": i, "embedding": [...]}], "usage": {"total_tokens": n}}` (OpenAI, vLLM,
Ollama, llama.cpp, TEI and LiteLLM all speak it). Paper vectors are cached in the store per
paper version under the representation `emb:<model>`, so each paper is embedded once. The
statistical representation (bot.rank.representation) is the fallback whenever the endpoint
fails, is slow past its timeout, or the daily token budget is spent: callers get None and use
it. Requests go through the shared aiohttp session; the clock decides the budget's day.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import aiohttp
import numpy as np

from bot.core.clock import Clock
from bot.rank.index import DenseMatrix, dense_from_store, seconds_of
from bot.rank.representation import paper_text
from bot.settings import Settings
from bot.store import Store
from bot.store.vectors import PaperText

log = logging.getLogger(__name__)

MAX_INPUT_CHARS = 8000  # a title and abstract fit; longer input is cut (endpoints cap tokens)


def estimate_tokens(texts: Sequence[str]) -> int:
    """A cautious token count for the budget before a call (about 4 characters a token)."""
    return sum(len(t) // 4 + 1 for t in texts)


class EmbeddingsUnavailable(Exception):
    """The endpoint failed, timed out, answered nonsense, or the budget is spent."""


class EmbeddingClient:
    """One OpenAI-compatible embeddings endpoint, with a timeout and a daily token budget."""

    def __init__(self, session: aiohttp.ClientSession, settings: Settings, store: Store, clock: Clock) -> None:
        self.session = session
        self.settings = settings
        self.store = store
        self.clock = clock
        self.model = settings.embeddings_model

    @property
    def url(self) -> str:
        """The endpoint's URL."""
        return self.settings.embeddings_base_url.rstrip("/") + "/embeddings"

    def budget_left(self) -> int | None:
        """Tokens left today (None: no limit)."""
        budget = self.settings.embeddings_daily_token_budget
        if not budget:
            return None
        return max(0, budget - self.store.vectors.embedding_tokens_on(self.clock()))

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings of texts, one row each; raises EmbeddingsUnavailable."""
        inputs = [t[:MAX_INPUT_CHARS] for t in texts]
        left = self.budget_left()
        estimate = estimate_tokens(inputs)
        if left is not None and estimate > left:
            raise EmbeddingsUnavailable(f"daily embeddings budget spent ({left} tokens left, {estimate} needed)")
        headers = {"Content-Type": "application/json"}
        key = self.settings.embeddings_api_key.get_secret_value()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        timeout = aiohttp.ClientTimeout(total=self.settings.embeddings_timeout)
        try:
            async with self.session.post(
                self.url, json={"model": self.model, "input": inputs}, headers=headers, timeout=timeout
            ) as response:
                if response.status != 200:
                    body = (await response.text())[:200]
                    self.store.vectors.record_embedding_usage(self.clock(), self.model, 0, False)
                    raise EmbeddingsUnavailable(f"embeddings endpoint answered {response.status}: {body}")
                payload = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            self.store.vectors.record_embedding_usage(self.clock(), self.model, 0, False)
            raise EmbeddingsUnavailable(f"embeddings request failed: {type(exc).__name__}: {exc}") from None
        vectors = _parse(payload, len(inputs))
        usage = payload.get("usage") if isinstance(payload, dict) else None
        tokens = usage.get("total_tokens") if isinstance(usage, dict) else None
        self.store.vectors.record_embedding_usage(
            self.clock(), self.model, int(tokens) if isinstance(tokens, int) else estimate, True
        )
        return vectors


def _parse(payload: object, expected: int) -> np.ndarray:
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise EmbeddingsUnavailable("embeddings answer has no data list")
    rows = sorted(payload["data"], key=lambda item: item.get("index", 0) if isinstance(item, dict) else 0)
    try:
        matrix = np.array([item["embedding"] for item in rows], dtype=np.float32)
    except (KeyError, TypeError, ValueError):
        raise EmbeddingsUnavailable("embeddings answer is not a list of vectors") from None
    if matrix.ndim != 2 or matrix.shape[0] != expected or matrix.shape[1] == 0 or not np.all(np.isfinite(matrix)):
        raise EmbeddingsUnavailable(f"embeddings answer has shape {matrix.shape}, expected {expected} rows")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


class Embeddings:
    """Paper and query embeddings, cached per paper version, with an in-memory matrix of every
    cached paper for nearest-neighbour search (see bot.rank.similar.top_k)."""

    def __init__(self, client: EmbeddingClient, store: Store) -> None:
        self.client = client
        self.store = store
        self.representation = f"emb:{client.model}"
        self.matrix: DenseMatrix | None = None
        self._lock = asyncio.Lock()

    def load(self) -> DenseMatrix | None:
        """The matrix of cached paper embeddings (loaded once; None while there are none)."""
        if self.matrix is None:
            self.matrix = dense_from_store(self.store, self.representation, max(1024, self.store.vectors.count(self.representation)))
        return self.matrix

    async def for_papers(self, texts: Sequence[PaperText]) -> dict[str, np.ndarray] | None:
        """Embeddings of these papers (cached ones reused, the rest fetched in batches and
        cached); None when any needed one cannot be had (the caller falls back)."""
        cached = self.store.vectors.vectors(self.representation, [t.paper_id for t in texts])
        found: dict[str, np.ndarray] = {}
        missing: list[PaperText] = []
        for text in texts:
            hit = cached.get(text.paper_id)
            if hit is not None and hit[0] == text.version:
                found[text.paper_id] = np.frombuffer(hit[1], dtype=np.float32)
            else:
                missing.append(text)
        batch = self.client.settings.embeddings_batch_size
        async with self._lock:
            for start in range(0, len(missing), batch):
                chunk = missing[start : start + batch]
                try:
                    vectors = await self.client.embed([paper_text(t.title, t.abstract) for t in chunk])
                except EmbeddingsUnavailable as exc:
                    log.warning("embeddings unavailable, using the offline representation: %s", exc)
                    return None
                self.store.vectors.put_vectors(
                    self.representation, [(t.paper_id, t.version, v.tobytes()) for t, v in zip(chunk, vectors, strict=True)]
                )
                matrix = self.load()
                if matrix is not None and matrix.dimensions == vectors.shape[1]:
                    matrix.add([t.paper_id for t in chunk], vectors, [seconds_of(t.when) for t in chunk])
                found.update({t.paper_id: v for t, v in zip(chunk, vectors, strict=True)})
        return found

    async def for_query(self, text: str) -> np.ndarray | None:
        """One query's embedding, or None (fall back)."""
        try:
            return (await self.client.embed([text]))[0]
        except EmbeddingsUnavailable as exc:
            log.warning("embeddings unavailable for a query, using the offline representation: %s", exc)
            return None

    async def backfill(self, limit: int) -> int:
        """Embed up to `limit` stored papers that have no embedding yet (newest first);
        returns how many were embedded (0 when the endpoint or the budget says no)."""
        newest = self.store.vectors.max_pk()
        texts = self.store.vectors.texts_by_pk(range(max(1, newest - 5 * limit), newest + 1))
        have = self.store.vectors.vectors(self.representation, [t.paper_id for t in texts])
        todo = [t for t in reversed(texts) if have.get(t.paper_id, (-1, b""))[0] != t.version][:limit]
        if not todo:
            return 0
        done = await self.for_papers(todo)
        return 0 if done is None else len(todo)
