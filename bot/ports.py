"""The one small interface every chat platform implements, and what adapters may call on the core.

The core decides what to send and when; an adapter decides how it looks and how it reaches the
platform. Rendering is a pure function from a `Reply` to a list of JSON-serializable message
payloads ("parts"), split so each part respects the platform's limits; delivery sends parts one
by one so the outbox can resume a half-sent digest after a crash without repeating parts.

Delivery failures are raised as `bot.core.errors` classes: `RetryAfter` (rate limited),
`TransientDeliveryError` (5xx, network: retried later), `PermanentDeliveryError(reason)`
(channel gone, bot not in channel, DMs blocked: never retried).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from bot.core.commands import Command
from bot.core.models import Actor, Paper, Place, Reply, Summary

Part = dict[str, Any]
"""One rendered platform message, JSON-serializable (stored in the outbox)."""


class ServiceAPI(Protocol):
    """What adapters may ask of the core (implemented by `bot.chat.service.BotService`)."""

    async def handle_command(self, command: str | Command, who: Actor, where: Place) -> Reply:
        """Run a `/papers` command (text or typed) and return the reply to show."""
        ...

    def topic_choices(self, prefix: str) -> list[tuple[str, str]]:
        """Autocomplete for topics: (label, value) pairs matching `prefix`."""
        ...

    def subscription_choices(self, who: Actor, prefix: str) -> list[tuple[str, str]]:
        """Autocomplete for the user's own subscriptions: (label, value) pairs."""
        ...

    async def item_action(self, action: str, paper_id: str, who: Actor, where: Place) -> Reply:
        """A click on one paper's feedback action (like, dislike, save, similar); the reply is
        for the person who clicked alone."""
        ...


class SummaryProvider(Protocol):
    """Summaries by paper id (implemented by `bot.enrich.summarize.Summaries`); what digests,
    alerts and the chat service need from enrichment."""

    async def get_many(self, papers: Sequence[Paper]) -> dict[str, Summary]:
        """The summaries of `papers` (made and cached as needed), by paper id."""
        ...


@runtime_checkable
class ChatAdapter(Protocol):
    """A chat platform. `platform` is the key used in channel and user ids ("slack", ...)."""

    platform: str
    finished: asyncio.Event
    """Set when the adapter has ended by itself (the console at the end of its input); the
    platform adapters never set it. `paperbot run` stops when any adapter has finished."""

    @property
    def connected(self) -> bool:
        """Whether the platform connection is up now (reported at /healthz)."""
        ...

    async def start(self, service: ServiceAPI) -> None:
        """Connect and begin handling commands; returns once connected (runs in the background)."""
        ...

    async def stop(self) -> None:
        """Stop taking new work, finish in-flight sends, close connections."""
        ...

    def render(self, reply: Reply) -> list[Part]:
        """Pure: the reply as platform messages, split to respect every platform limit."""
        ...

    async def send(self, destination: str, part: Part) -> str:
        """Send one rendered part to a channel id; returns the platform's message id."""
        ...

    async def open_dm(self, user_id: str) -> str:
        """The channel id of the direct-message conversation with a user."""
        ...


async def post(adapter: ChatAdapter, destination: str, reply: Reply) -> list[str]:
    """Render and send a whole reply to a channel; returns the message ids of every part."""
    return [await adapter.send(destination, part) for part in adapter.render(reply)]


async def send_dm(adapter: ChatAdapter, user_id: str, reply: Reply) -> list[str]:
    """Render and send a whole reply to a user's DMs; returns the message ids of every part."""
    destination = await adapter.open_dm(user_id)
    return await post(adapter, destination, reply)
