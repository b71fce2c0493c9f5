"""A fake LLM API (OpenAI-compatible chat completions and Anthropic Messages) on 127.0.0.1.

Used by the LLM, cache, CLI and fault tests. Each request pops the next scripted reply (the last
one repeats); every request body and header set is recorded, the number of requests in flight is
tracked, and each user message is checked for the <paper>...</paper> fence.

Scripted behaviours (`Reply`): an answer, an HTTP error status with headers (429 with
Retry-After, 500), a `delay` (released early by `close()`), `held` (answered only once the test
calls `release()`), `usage=False` (an answer without the `usage` object, as some servers send),
and `huge_bytes` (a 200 answer streamed in 64 KiB chunks until that many bytes are sent or the
client hangs up; `bytes_sent` counts what went out).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

GOOD_SUMMARY: dict[str, Any] = {
    "tldr": "Introduces a faster attention kernel that halves memory use.",
    "key_points": [
        "Fuses the softmax into the matmul to avoid materializing the attention matrix.",
        "Halves peak memory on 8k-token sequences.",
        "Matches baseline perplexity on language modeling benchmarks.",
    ],
    "summary": "Attention is memory-bound. The paper proposes a fused kernel.",
    "methodology": "A tiled kernel computes attention block by block.",
    "results": "2x less memory and 1.5x faster on A100 GPUs.",
    "implications": "Longer contexts fit on the same hardware.",
    "topics": ["efficient", "llm"],  # taxonomy ids, as the prompt asks
}


def summary_json(**overrides: Any) -> str:
    """A valid summary answer as JSON text, with fields replaced by `overrides`."""
    data = dict(GOOD_SUMMARY)
    data.update(overrides)
    return json.dumps(data)


# Answers that break one rule each (the summary shape of issue #14), as a model might write them.
# Each value is the override for `summary_json`; the LLM tests check what becomes of each.
RULE_BREAKERS: dict[str, dict[str, Any]] = {
    # repairable in place: no second request
    "first_person": {"tldr": "We propose a faster attention kernel that halves memory use."},
    "dangling_opener": {"key_points": [
        "This framework fuses the softmax into the matmul.",
        "Halves peak memory on 8k-token sequences.",
        "Matches baseline perplexity on language modeling benchmarks.",
    ]},
    "cut_with_ellipsis": {"key_points": [
        "Fuses the softmax into the matmul, so the attention matrix is never materialized and…",
        "Halves peak memory on 8k-token sequences.",
        "Matches baseline perplexity on language modeling benchmarks.",
    ]},
    "parenthetical_too_long": {"tldr": (
        "Introduces FlashFuse, a fused attention kernel that halves memory use (measured on A100 "
        "GPUs with 8k-token sequences, batch size 16, bf16 precision, three seeds each, against the "
        "unfused PyTorch baseline)."
    )},
    "section_in_first_person": {"methodology": "We tile the attention computation block by block."},
    "five_key_points": {"key_points": [
        "Fuses the softmax into the matmul.", "Halves peak memory.", "Matches baseline perplexity.",
        "Runs on A100 GPUs.", "Needs no retraining.",
    ]},
    # not repairable: named in one follow-up request
    "run_on_tldr": {"tldr": "kernel " * 60},
    "two_key_points": {"key_points": ["Fuses the softmax into the matmul.", "Halves peak memory."]},
    # topics: taxonomy ids only
    "topic_names_not_ids": {"topics": ["Efficient ML", "Large Language Models"]},
    "off_topic": {"topics": []},
}


@dataclass
class Reply:
    """One scripted answer. `content` is the model's text; `body` overrides the whole JSON body."""

    content: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: Any = None
    prompt_tokens: int = 120
    completion_tokens: int = 80
    usage: bool = True  # False: the answer has no `usage` object
    held: bool = False  # answered only after release()
    huge_bytes: int = 0  # stream a body this big instead of a JSON answer


def fenced(user_message: str) -> bool:
    """Whether the user message holds the paper inside exactly one <paper>...</paper> block."""
    start = user_message.find("<paper>")
    end = user_message.find("</paper>")
    return (
        user_message.count("<paper>") == 1
        and user_message.count("</paper>") == 1
        and 0 <= start < end
        and "<abstract>" in user_message[start:end]
    )


class FakeLLMServer:
    """An aiohttp server speaking the OpenAI (`/v1/chat/completions`) or Anthropic
    (`/v1/messages`) API with scripted replies."""

    def __init__(self, flavour: str, replies: list[Reply]) -> None:
        assert flavour in ("openai", "anthropic")
        self.flavour = flavour
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.fence_ok: list[bool] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.runner: web.AppRunner | None = None
        self.url = ""
        self.bytes_sent = 0
        self.arrived = asyncio.Event()  # set at every request's arrival (tests clear it)
        self._release = asyncio.Event()
        self._held = asyncio.Event()

    def release(self) -> None:
        """Answer the requests held by `Reply(held=True)` (and every later one at once)."""
        self._held.set()

    @property
    def count(self) -> int:
        """How many requests arrived."""
        return len(self.requests)

    def user_messages(self) -> list[str]:
        """The user message of every request, in order."""
        return [body["messages"][-1]["content"] for body in self.requests]

    def _next(self) -> Reply:
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        self.paths.append(request.path)
        self.fence_ok.append(fenced(body["messages"][-1]["content"]))
        reply = self._next()
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.arrived.set()
        try:
            if reply.held:
                await asyncio.wait({asyncio.ensure_future(self._held.wait()), asyncio.ensure_future(self._release.wait())},
                                   return_when=asyncio.FIRST_COMPLETED)
            if reply.delay:
                # Released early by close(), so a hung "model" does not slow the test teardown.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._release.wait(), reply.delay)
        finally:
            self.in_flight -= 1
        if reply.huge_bytes:
            return await self._stream_huge(request, reply.huge_bytes)
        if reply.body is not None:
            return web.json_response(reply.body, status=reply.status, headers=reply.headers)
        if reply.status != 200:
            return web.json_response({"error": {"message": "scripted error"}}, status=reply.status, headers=reply.headers)
        if self.flavour == "openai":
            payload = {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": body.get("model"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.content}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                          "total_tokens": reply.prompt_tokens + reply.completion_tokens},
            }
            if not reply.usage:
                del payload["usage"]
        else:
            payload = {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": body.get("model"),
                "content": [{"type": "text", "text": reply.content}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": reply.prompt_tokens, "output_tokens": reply.completion_tokens},
            }
            if not reply.usage:
                del payload["usage"]
        return web.json_response(payload, headers=reply.headers)

    async def _stream_huge(self, request: web.Request, size: int) -> web.StreamResponse:
        """A 200 answer of `size` bytes of JSON-looking text, sent until the client hangs up."""
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        chunk = b'{"pad": "' + b"x" * (64 * 1024 - 10) + b'"'
        try:
            while self.bytes_sent < size:
                await response.write(chunk)
                self.bytes_sent += len(chunk)
            await response.write_eof()
        except (ConnectionError, RuntimeError):
            pass  # the client stopped reading and closed the connection
        return response

    async def start(self) -> str:
        """Start on 127.0.0.1 port 0; return the base URL to configure (LLM_BASE_URL)."""
        self._release = asyncio.Event()  # bound to the loop that serves
        self._held = asyncio.Event()
        self.arrived = asyncio.Event()
        app = web.Application()
        route = "/v1/chat/completions" if self.flavour == "openai" else "/v1/messages"
        app.router.add_post(route, self._handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        root = f"http://127.0.0.1:{port}"
        self.url = root + "/v1" if self.flavour == "openai" else root
        return self.url

    async def close(self) -> None:
        """Stop the server."""
        self._release.set()
        if self.runner is not None:
            await self.runner.cleanup()


@contextmanager
def serve_in_thread(server: FakeLLMServer) -> Iterator[str]:
    """Run the fake server on its own event loop in a thread (for code that calls asyncio.run)."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    url: list[str] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        url.append(loop.run_until_complete(server.start()))
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield url[0]
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
