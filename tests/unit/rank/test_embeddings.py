"""Optional embeddings from an OpenAI-compatible /v1/embeddings endpoint, against a fake server
on 127.0.0.1 port 0: used and cached per paper version when it answers; the offline
representation when it is slow, failing, or the daily token budget is spent."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import numpy as np
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from bot.rank.embeddings import EmbeddingClient, Embeddings
from bot.rank.ranking import Ranker
from bot.rank.representation import paper_text
from bot.rank.similar import semantic_candidates
from bot.store import Store
from tests.support.factories import app_settings
from tests.support.relevance import SPECULATIVE, about, make_rig

DIMENSIONS = 32


def fake_embedding(text: str) -> list[float]:
    """Words hashed into 32 numbers: texts sharing words get close vectors."""
    vector = np.zeros(DIMENSIONS)
    for word in text.lower().split():
        vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % DIMENSIONS] += 1.0
    return vector.tolist()


@dataclass
class FakeEmbeddings:
    """An OpenAI-compatible embeddings server: `mode` is good, slow or failing."""

    mode: str = "good"
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    server: TestServer | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        if self.mode == "slow":
            await asyncio.sleep(2)
        if self.mode == "failing":
            return web.Response(status=500, text="upstream exploded")
        data = [{"object": "embedding", "index": i, "embedding": fake_embedding(t)} for i, t in enumerate(body["input"])]
        data.reverse()  # servers may answer out of order; `index` says which is which
        tokens = sum(len(t.split()) for t in body["input"])
        return web.json_response({"object": "list", "data": data, "model": body["model"], "usage": {"total_tokens": tokens}})

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/v1"))


@pytest.fixture
async def endpoint() -> AsyncIterator[FakeEmbeddings]:
    fake = FakeEmbeddings()
    app = web.Application()
    app.router.add_post("/v1/embeddings", fake.handle)
    fake.server = TestServer(app, host="127.0.0.1", port=0)
    await fake.server.start_server()
    yield fake
    await fake.server.close()


async def _ranker(store: Store, session: aiohttp.ClientSession, endpoint: FakeEmbeddings, **overrides: Any) -> tuple[Ranker, Any]:
    rig = await make_rig(store)
    settings = app_settings(
        embeddings_base_url=endpoint.base_url,
        embeddings_model="fake-embed",
        embeddings_api_key=SecretStr("sk-test"),
        embeddings_batch_size=16,
        **overrides,
    )
    embeddings = Embeddings(EmbeddingClient(session, settings, store, rig.clock), store)
    return Ranker(store, rig.clock, index=rig.ranker.index, embeddings=embeddings), rig


async def test_papers_are_embedded_once_per_version_and_used(
    store: Store, session: aiohttp.ClientSession, endpoint: FakeEmbeddings
) -> None:
    ranker, rig = await _ranker(store, session, endpoint)
    await ranker.refresh()
    assert endpoint.requests and all(len(r["input"]) <= 16 for r in endpoint.requests)
    assert endpoint.headers[0]["Authorization"] == "Bearer sk-test"
    assert endpoint.requests[0]["model"] == "fake-embed"
    cached = store.vectors.vectors("emb:fake-embed", [p.id for p in rig.papers])
    assert len(cached) == len(rig.papers) and all(version == 1 for version, _ in cached.values())
    assert store.vectors.embedding_tokens_on(rig.clock()) > 0
    sent = len(endpoint.requests)
    await ranker.refresh()
    assert len(endpoint.requests) == sent  # nothing new to embed

    speculative = next(p for p in rig.papers if "speculative" in p.title.lower())
    found = await ranker.similar(speculative, 5)
    assert len(endpoint.requests) == sent  # the paper's embedding came from the cache
    vector = np.frombuffer(cached[speculative.id][1], dtype=np.float32)
    expected = np.array(fake_embedding(paper_text(speculative.title, speculative.abstract)))
    assert np.allclose(vector, expected / np.linalg.norm(expected), atol=1e-5)
    assert speculative.id not in [n.paper_id for n in found] and len(found) == 5

    hits = await ranker.meaning("speculative decoding draft model", 5)
    assert endpoint.requests[-1]["input"] == ["speculative decoding draft model"]
    assert sum(about(store.papers.get(n.paper_id), SPECULATIVE) for n in hits) >= 3  # type: ignore[arg-type]

    # A new version of a paper is embedded again.
    store.papers.ingest([replace(speculative, version=2, abstract=speculative.abstract + " Revised.")], rig.clock())
    await ranker.refresh()
    assert store.vectors.vectors("emb:fake-embed", [speculative.id])[speculative.id][0] == 2


@pytest.mark.parametrize("mode", ["slow", "failing"])
async def test_a_slow_or_failing_endpoint_falls_back_to_the_offline_representation(
    store: Store, session: aiohttp.ClientSession, endpoint: FakeEmbeddings, mode: str
) -> None:
    endpoint.mode = mode
    ranker, rig = await _ranker(store, session, endpoint, embeddings_timeout=0.2)
    await ranker.refresh()  # the backfill fails quietly
    assert endpoint.requests
    assert store.vectors.vectors("emb:fake-embed", [p.id for p in rig.papers]) == {}
    query = "making LLM inference faster"
    hits = await ranker.meaning(query, 5)
    offline = semantic_candidates(ranker.index, query, 5)
    assert [n.paper_id for n in hits] == [n.paper_id for n in offline]
    speculative = next(p for p in rig.papers if "speculative" in p.title.lower())
    assert len(await ranker.similar(speculative, 5)) == 5
    failed = store.conn.execute("SELECT COUNT(*) FROM embedding_usage WHERE ok = 0").fetchone()[0]
    assert failed >= 1


async def test_a_spent_budget_sends_nothing_and_falls_back(
    store: Store, session: aiohttp.ClientSession, endpoint: FakeEmbeddings
) -> None:
    ranker, rig = await _ranker(store, session, endpoint, embeddings_daily_token_budget=50)
    await ranker.refresh()
    assert endpoint.requests == []  # 16 abstracts need far more than 50 tokens: never sent
    hits = await ranker.meaning("segmentation of tumours", 3)
    assert endpoint.requests == [] or all(len(r["input"]) == 1 for r in endpoint.requests)
    assert [n.paper_id for n in hits] == [n.paper_id for n in semantic_candidates(ranker.index, "segmentation of tumours", 3)]


async def test_a_malformed_answer_is_a_fallback_not_a_crash(store: Store, session: aiohttp.ClientSession) -> None:
    async def nonsense(request: web.Request) -> web.Response:
        return web.Response(text=json.dumps({"data": [{"index": 0, "embedding": "not numbers"}]}))

    app = web.Application()
    app.router.add_post("/v1/embeddings", nonsense)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        rig = await make_rig(store)
        settings = app_settings(embeddings_base_url=str(server.make_url("/v1")), embeddings_model="m")
        embeddings = Embeddings(EmbeddingClient(session, settings, store, rig.clock), store)
        assert await embeddings.for_query("anything") is None
        assert await embeddings.backfill(4) == 0
    finally:
        await server.close()
