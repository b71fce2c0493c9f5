"""A hostile or broken LLM server cannot blow the budget or the memory (issue #15, part 4).

Against the fake OpenAI-compatible and Anthropic servers on 127.0.0.1 (tests/support/llm_api.py):
an answer without `usage` is counted from its text; calls that failed, and the tries before a
retried call succeeded, count the prompt they sent; the daily budget holds (a call is made only
when its prompt and the longest answer fit in what is left); an answer body is read up to
MAX_RESPONSE_BYTES, never whole.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from datetime import UTC, datetime

import aiohttp
import pytest

from bot.core.clock import FakeClock
from bot.core.errors import BudgetExhausted, SummarizerError
from bot.core.models import Paper
from bot.enrich.summarize import Summaries
from bot.enrich.summarize.llm import (
    MAX_OUTPUT_TOKENS,
    MAX_RESPONSE_BYTES,
    SYSTEM_PROMPT,
    AnthropicClient,
    LLMSummarizer,
    OpenAIChatClient,
    build_user_prompt,
    estimate_tokens,
)
from bot.store import Store
from tests.support.llm_api import FakeLLMServer, Reply, summary_json

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
HUGE = 50 * 1024 * 1024


def _paper(number: int) -> Paper:
    return Paper(
        id=f"2503.{number:05d}", version=1, title=f"FlashFuse {number}: fused attention kernels",
        abstract="Attention is memory-bound. FlashFuse fuses the kernel and halves peak memory on A100 GPUs.",
        categories=("cs.LG",),
    )


async def _no_sleep(_seconds: float) -> None:
    return None


async def _server(flavour: str, replies: list[Reply]) -> FakeLLMServer:
    server = FakeLLMServer(flavour, replies)
    await server.start()
    return server


def _llm(server: FakeLLMServer, session: aiohttp.ClientSession, store: Store, *, budget: int = 0, concurrency: int = 2) -> LLMSummarizer:
    cls = OpenAIChatClient if server.flavour == "openai" else AnthropicClient
    client = cls(session, base_url=server.url, api_key="sk-test", model="test-model", timeout=10.0, sleep=_no_sleep)
    return LLMSummarizer(client, store.summaries, FakeClock(NOW), daily_budget=budget, concurrency=concurrency)


def _prompt_estimate(paper: Paper) -> int:
    return estimate_tokens(SYSTEM_PROMPT) + estimate_tokens(build_user_prompt(paper))


def _usage(store: Store) -> list[tuple[int, int, int]]:
    rows = store.conn.execute("SELECT prompt_tokens, completion_tokens, ok FROM llm_usage ORDER BY id")
    return [(int(r[0]), int(r[1]), int(r[2])) for r in rows]


@pytest.mark.parametrize("flavour", ["openai", "anthropic"])
async def test_an_answer_without_usage_is_counted_from_its_text(flavour: str, store: Store, session: aiohttp.ClientSession) -> None:
    server = await _server(flavour, [Reply(summary_json(), usage=False)])
    try:
        summary = await _llm(server, session, store).summarize(_paper(1))
    finally:
        await server.close()
    assert summary.summarizer == "llm"
    ((prompt, completion, ok),) = _usage(store)
    assert ok == 1
    assert prompt == _prompt_estimate(_paper(1))
    assert completion == estimate_tokens(summary_json())
    assert store.summaries.tokens_on(NOW) == prompt + completion > 0


async def test_the_budget_holds_when_the_server_never_reports_usage(store: Store, session: aiohttp.ClientSession) -> None:
    budget = 6000
    server = await _server("openai", [Reply(summary_json(), usage=False)])
    try:
        summaries = Summaries(store, llm=_llm(server, session, store, budget=budget), clock=FakeClock(NOW))
        made = [await summaries.get(_paper(n)) for n in range(20)]
    finally:
        await server.close()
    spent = store.summaries.tokens_on(NOW)
    assert spent <= budget, f"{server.count} requests spent {spent} tokens of {budget}"
    assert 0 < server.count < 20
    assert [s.summarizer for s in made].count("llm") == server.count  # the rest are offline summaries


async def test_concurrent_calls_cannot_overrun_the_budget_together(store: Store, session: aiohttp.ClientSession) -> None:
    # Each call fits alone; together they would not: calls in flight hold their share.
    one_call = _prompt_estimate(_paper(1)) + MAX_OUTPUT_TOKENS
    budget = one_call * 2 + 10
    server = await _server("openai", [Reply(summary_json(), usage=False, delay=0.05)])
    try:
        llm = _llm(server, session, store, budget=budget, concurrency=8)
        results = await asyncio.gather(*(llm.summarize(_paper(n)) for n in range(8)), return_exceptions=True)
    finally:
        await server.close()
    assert server.count == 2
    assert sum(isinstance(r, BudgetExhausted) for r in results) == 6
    assert store.summaries.tokens_on(NOW) <= budget


async def test_retried_tries_count_the_prompt_they_sent(store: Store, session: aiohttp.ClientSession) -> None:
    replies = [Reply(status=429, headers={"Retry-After": "0"}), Reply(status=500), Reply(summary_json(), prompt_tokens=120, completion_tokens=80)]
    server = await _server("openai", replies)
    try:
        await _llm(server, session, store).summarize(_paper(1))
    finally:
        await server.close()
    assert server.count == 3
    assert _usage(store) == [(120 + 2 * _prompt_estimate(_paper(1)), 80, 1)]


async def test_a_failed_call_counts_every_try_it_sent(store: Store, session: aiohttp.ClientSession) -> None:
    server = await _server("anthropic", [Reply(status=429, headers={"Retry-After": "0"})])
    try:
        with pytest.raises(SummarizerError, match="HTTP 429"):
            await _llm(server, session, store).summarize(_paper(1))
    finally:
        await server.close()
    assert server.count == 4  # the first try and three retries
    assert _usage(store) == [(4 * _prompt_estimate(_paper(1)), 0, 0)]


@pytest.mark.parametrize("flavour", ["openai", "anthropic"])
async def test_a_huge_answer_is_not_read_past_the_cap(flavour: str, store: Store, session: aiohttp.ClientSession) -> None:
    server = await _server(flavour, [Reply(huge_bytes=HUGE)])
    tracemalloc.start()
    try:
        with pytest.raises(SummarizerError, match="larger than"):
            await _llm(server, session, store).summarize(_paper(1))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await server.close()
    # What the client held at most: about the cap, not the 50 MB the server offered (the
    # server may have pushed a few MB more into the loopback socket's buffers before the
    # client hung up).
    assert peak < 4 * MAX_RESPONSE_BYTES, f"peak {peak} bytes"
    assert server.bytes_sent < HUGE // 2, f"the server sent {server.bytes_sent} bytes"
    ((prompt, completion, ok),) = _usage(store)
    assert (prompt, completion, ok) == (_prompt_estimate(_paper(1)), 0, 0)
