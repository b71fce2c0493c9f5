"""Harnesses for the adapter contract suite (tests/contract/test_adapter_contract.py).

Every chat adapter must pass the same suite. A *harness* puts one adapter in front of a
platform it can inspect (the in-memory platform here; fake Slack / Discord servers on
127.0.0.1 for the real adapters) and exposes:

    adapter            a ChatAdapter ready to render(), send() and open_dm() (started if needed)
    destination        a channel id the adapter may post to
    user_id            a user id whose DMs can be opened
    await delivered()  the plain text that actually ARRIVED at the platform, one string per
                       message, in order, channel messages and DMs alike. Use what users see
                       (blocks / embeds / content), not a notification fallback that repeats it,
                       so "every title exactly once" can be checked.
    fail_next(status)  make the platform answer `status` (429 or 500) to the next delivery
                       attempt. For 500 the whole attempt must fail, including any retries the
                       client library makes by itself (discord.py retries 5xx: fail all of
                       them), so the failure reaches the outbox. For 429 a client that retries
                       by itself may absorb it; the suite accepts either.
    mention_is_inert(text) -> bool
                       whether a delivered message contains no live mention FOR THIS PLATFORM
                       (e.g. Slack: no raw <!channel>, <!here>, <@U..>; Discord: no raw
                       @everyone/@here and mentions disabled via allowed_mentions).

A harness factory is a zero-argument callable returning an async context manager that yields
such an object and cleans up (stops servers) on exit. Register it in HARNESSES; the Slack and
Discord adapters add theirs here next to "memory".
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from bot.core.errors import DeliveryError, RetryAfter, TransientDeliveryError
from bot.ports import ChatAdapter
from tests.support.memory import InMemoryAdapter
from tests.support.memory import mention_is_inert as memory_mention_is_inert


class Harness(Protocol):
    """What the contract suite needs from a harness (see the module docstring)."""

    # Read-only, so a harness may hold a concrete adapter class that satisfies ChatAdapter.
    @property
    def adapter(self) -> ChatAdapter: ...
    @property
    def destination(self) -> str: ...
    @property
    def user_id(self) -> str: ...

    async def delivered(self) -> list[str]:
        """Plain text of every message that arrived at the platform, in order."""
        ...

    def fail_next(self, status: int) -> None:
        """Make the platform answer `status` (429 or 500) to the next delivery attempt."""
        ...

    def mention_is_inert(self, text: str) -> bool:
        """Whether a delivered message has no live mention on this platform."""
        ...


HarnessFactory = Callable[[], AbstractAsyncContextManager[Harness]]


class MemoryHarness:
    """The in-memory platform: what arrived is what the adapter recorded."""

    def __init__(self) -> None:
        self.memory = InMemoryAdapter(platform="memory", max_items_per_part=10)
        self.adapter: ChatAdapter = self.memory
        self.destination = "C-contract"
        self.user_id = "U-contract"

    async def delivered(self) -> list[str]:
        """Every recorded part's text."""
        return self.memory.texts()

    def fail_next(self, status: int) -> None:
        """429 -> RetryAfter(1 s); 5xx -> TransientDeliveryError (as the real adapters map them)."""
        error: DeliveryError = (
            RetryAfter(1.0) if status == 429 else TransientDeliveryError(f"HTTP {status} from the platform")
        )
        self.memory.fail_next(error)

    def mention_is_inert(self, text: str) -> bool:
        """No raw @everyone/@here/<!...>/<@...> left."""
        return memory_mention_is_inert(text)


@asynccontextmanager
async def memory_harness() -> AsyncIterator[Harness]:
    """The in-memory adapter's harness (nothing to start or stop)."""
    yield MemoryHarness()


@asynccontextmanager
async def discord_harness() -> AsyncIterator[Harness]:
    """The real Discord adapter against the fake Discord on 127.0.0.1 (tests/support/discord_harness.py)."""
    from tests.support.discord_harness import discord_harness as start_discord

    async with start_discord() as harness:
        yield harness


@asynccontextmanager
async def slack_harness() -> AsyncIterator[Harness]:
    """The real Slack adapter against the fake Slack Web API on 127.0.0.1 (tests/support/slack_api.py)."""
    from tests.support.slack_api import slack_harness as start_slack

    async with start_slack() as harness:
        yield harness


HARNESSES: dict[str, HarnessFactory] = {
    "memory": memory_harness,
    "slack": slack_harness,
    "discord": discord_harness,
}
