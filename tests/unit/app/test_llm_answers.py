"""Answers never wait for the LLM (issue #15, part 4), in the real runtime as `paperbot run
--offline` builds it, with SUMMARIZER=llm pointing at the fake LLM on 127.0.0.1.

The fake holds every LLM request until the test releases it, so "answered without waiting" is
shown structurally: the answer arrives while the LLM request it caused is still unanswered.
Waits are bounded (a failure here must not hang the suite); nothing is timed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app.runtime import Runtime, build_runtime, fetch_due
from bot.app.samples import SAMPLE_NOW
from bot.core.clock import ScaledClock
from bot.core.models import Actor, Place, Reply
from bot.settings import Settings
from tests.support.llm_api import FakeLLMServer, summary_json
from tests.support.llm_api import Reply as LLMReply

WHO = Actor("console", "ada", "ada")
WHERE = Place("console", "console")
BOUND = 120.0  # seconds a wait may take before the test fails (never reached when it passes; the CI machine is loaded)


def llm_settings(tmp_path: Path, url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        data_dir=str(tmp_path), summarizer="llm", llm_provider="openai", llm_base_url=url,
        llm_model="test-model", llm_timeout=60.0, summarize_background=False, web_enabled=False,
    )
    return Settings(**(values | overrides))


@pytest.fixture
async def held_llm() -> AsyncIterator[FakeLLMServer]:
    server = FakeLLMServer("openai", [LLMReply(summary_json(), held=True)])
    await server.start()
    yield server
    await server.close()


async def started(tmp_path: Path, server: FakeLLMServer, **overrides: Any) -> Runtime:
    runtime = await build_runtime(llm_settings(tmp_path, server.url, **overrides), clock=ScaledClock(SAMPLE_NOW), offline=True)
    await fetch_due(runtime)
    await runtime.start([])
    return runtime


def summarizers(reply: Reply) -> list[str]:
    return [item.summary.summarizer if item.summary else "" for item in reply.items]


async def test_a_search_answers_with_offline_summaries_while_the_llm_is_held(tmp_path: Path, held_llm: FakeLLMServer) -> None:
    runtime = await started(tmp_path, held_llm)
    try:
        first = await asyncio.wait_for(runtime.service.handle_command("diffusion", WHO, WHERE), BOUND)
        assert first.items and set(summarizers(first)) == {"offline"}
        # The LLM work it queued runs in the background, on the queue's own worker.
        await asyncio.wait_for(held_llm.arrived.wait(), BOUND)
        assert held_llm.in_flight == 1 and held_llm.max_in_flight == 1  # LLM_BACKGROUND_CONCURRENCY=1
        held_llm.release()
        await asyncio.wait_for(runtime.summaries.drained(), BOUND)
        # A later view shows the LLM version (each paper of the first answer, by id: the LLM's
        # texts are indexed with the papers, so the same search may now rank them differently).
        for item in first.items:
            later = await asyncio.wait_for(runtime.service.handle_command(f"paper {item.paper.id}", WHO, WHERE), BOUND)
            assert summarizers(later) == ["llm"], item.paper.id
        assert held_llm.count == len(first.items)  # one LLM call per paper, none for the later views
    finally:
        await runtime.stop()
        await runtime.shutdown()


async def test_the_queue_has_its_own_concurrency(tmp_path: Path, held_llm: FakeLLMServer) -> None:
    runtime = await started(tmp_path, held_llm, llm_background_concurrency=2, llm_concurrency=4)
    try:
        reply = await asyncio.wait_for(runtime.service.handle_command("diffusion", WHO, WHERE), BOUND)
        assert len(reply.items) >= 3
        for _ in range(200):  # bounded: until both workers hold a request
            if held_llm.in_flight == 2:
                break
            await asyncio.sleep(0.02)
        assert held_llm.in_flight == 2
        assert runtime.summaries.queued == len(reply.items) - 2
    finally:
        await runtime.stop()
        await runtime.shutdown()
    assert held_llm.max_in_flight == 2


async def test_a_rate_limited_llm_does_not_hold_the_answer(tmp_path: Path) -> None:
    server = FakeLLMServer("openai", [LLMReply(status=429, headers={"Retry-After": "30"})])
    await server.start()
    runtime = await started(tmp_path, server)
    try:
        reply = await asyncio.wait_for(runtime.service.handle_command("diffusion", WHO, WHERE), BOUND)
        assert reply.items and set(summarizers(reply)) == {"offline"}
        await asyncio.wait_for(server.arrived.wait(), BOUND)  # the queue met the 429 and waits it out
    finally:
        await runtime.stop()
        await runtime.shutdown()
        await server.close()


async def test_stopping_with_llm_work_in_flight_logs_no_traceback(
    tmp_path: Path, held_llm: FakeLLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = await started(tmp_path, held_llm, llm_background_concurrency=2)
    caplog.set_level(logging.DEBUG)
    try:
        await asyncio.wait_for(runtime.service.handle_command("diffusion", WHO, WHERE), BOUND)
        # A digest-like caller waiting for the LLM too (the background pass, `digest now`).
        paper = runtime.store.papers.get_many(runtime.store.summaries.missing([runtime.summaries.key], 1))[0]
        waiting = asyncio.ensure_future(runtime.summaries.get(paper))
        for _ in range(200):
            if held_llm.in_flight >= 2:
                break
            await asyncio.sleep(0.02)
        assert held_llm.in_flight >= 2
        await asyncio.wait_for(runtime.stop(), BOUND)
        await asyncio.wait({waiting}, timeout=BOUND)
    finally:
        await runtime.shutdown()
    await asyncio.sleep(0.05)  # let anything the loop would still complain about run
    noisy = [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING or r.name == "asyncio"]
    assert noisy == [], [f"{r.name}: {r.getMessage()}" for r in noisy]
    assert not runtime._tasks and not runtime.summaries._inflight


async def test_stopping_during_the_background_pass_logs_nothing(
    tmp_path: Path, held_llm: FakeLLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Before: the cancelled pass left its LLM calls running; closing the session under them
    # logged 88 tracebacks and 150 warnings for the sample papers.
    caplog.set_level(logging.DEBUG)
    runtime = await started(tmp_path, held_llm, summarize_background=True)
    try:
        for _ in range(500):
            if held_llm.in_flight == 2:  # LLM_CONCURRENCY
                break
            await asyncio.sleep(0.02)
        assert held_llm.in_flight == 2
        await asyncio.wait_for(runtime.stop(), BOUND)
    finally:
        await runtime.shutdown()
    await asyncio.sleep(0.05)
    noisy = [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING or r.name == "asyncio"]
    assert noisy == [], [f"{r.name}: {r.getMessage()}" for r in noisy[:5]]
