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
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol, TypedDict, runtime_checkable

from aiohttp import web

from bot.core.commands import Command
from bot.core.forms import DigestForm
from bot.core.home import Home
from bot.core.models import Actor, Installation, Paper, Place, Reply, Summary


class SourceHealth(TypedDict):
    """One source's fetch state as /healthz reports it (ISO times or None): whether it is
    configured now, whether it is failing and how many times in a row."""

    configured: bool
    failing: bool
    consecutive_failures: int
    last_success: str | None
    last_failure: str | None
    last_error: str
    next_fetch_at: str | None


class Health(TypedDict):
    """What /healthz answers: the store reachable, each adapter connected, each source's state."""

    ok: bool
    store: str
    adapters: dict[str, bool]
    sources: dict[str, SourceHealth]


HealthCheck = Callable[[], Health]

Part = Mapping[str, object]
"""One rendered platform message: a JSON object (stored in the outbox as JSON, sent later).

Each adapter renders its own precisely typed payloads (`adapters/slack/types.py`,
`adapters/discord/types.py`: TypedDicts) and the core only stores and hands them back, so the
neutral type is the read-only `Mapping[str, object]` every TypedDict already is; adapters read
a part they are given (maybe one rendered by an earlier version and loaded from the outbox)
through small accessors that check types (`isinstance`), never casts. A recursive
`Mapping[str, JSONValue]` would say "JSON" in the type, but no TypedDict is one (mypy treats a
TypedDict only as `Mapping[str, object]`), so every renderer would need a cast; what makes a part
JSON is the renderers building only str, int, float, bool, lists and dicts, checked by the
render tests and, for every adapter, by the contract suite (each part survives
`json.loads(json.dumps(part))` unchanged)."""


Progress = Callable[[Reply], Awaitable[None]]
"""How an adapter shows an interim reply (`Reply.interim`) at once, while a command's slow work
runs: a real chat message, which the final reply to the same command then replaces (Slack:
`respond` with replace_original; Discord: edit_original_response; console: printed first)."""


class ServiceAPI(Protocol):
    """What adapters may ask of the core (implemented by `bot.chat.service.BotService`)."""

    async def handle_command(
        self, command: str | Command, who: Actor, where: Place, *, progress: Progress | None = None
    ) -> Reply:
        """Run a `/papers` command (text or typed) and return the reply to show. Before slow
        work (looking a paper up on arXiv) the service calls `progress` with an interim reply."""
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

    async def home(self, who: Actor) -> Home:
        """What the person's home shows (Slack's App Home tab), platform-neutral."""
        ...

    def digest_form(self, who: Actor, where: Place) -> DigestForm:
        """The digest settings of a channel as a form (saved as a DigestOnCommand)."""
        ...

    async def keep_for_sharing(self, reply: Reply, who: Actor, where: Place) -> str:
        """A Share button's token for `reply` as it was shown to `who` in `where`: kept in the
        store for a while, good for one share, by that person, in that place (a write, made
        off the event loop)."""
        ...

    def take_shared(self, token: str, who: Actor, where: Place) -> Reply | None:
        """The reply a Share token was issued for, once, to the person and place it was issued
        to (ready to post publicly); None for a token that was forged, used, expired or issued
        to someone else or elsewhere."""
        ...


class PrivateAnswers(Protocol):
    """Private answers an adapter sent someone, kept (by the adapter's own encoding) under a
    token for their feedback buttons, so that a click can redraw the answer: in paperbot's store
    (`bot.app.workspaces.StorePrivateAnswers`), so that any replica behind a load balancer finds
    what another one sent. Entries expire."""

    async def keep(self, platform: str, token: str, owner: str, message: str) -> None:
        """Keep `message` under `token` for `owner` (the one person who may recall it): a write,
        made off the event loop."""
        ...

    def recall(self, platform: str, token: str, owner: str) -> str | None:
        """The message kept under `token` for `owner`; None when unknown, expired or not theirs."""
        ...


class Installations(Protocol):
    """What a distributed chat app (Slack with OAuth) keeps about the workspaces that installed
    it, in paperbot's store (implemented by `bot.app.workspaces.StoreInstallations`).

    Installations are found by (platform, workspace id); OAuth states are single use and expire.
    `forget_workspace` is the uninstall: the workspace's tokens and everything paperbot holds
    about its channels and people (digest settings and runs, subscriptions, queued alerts, user
    state, notices, outbox rows) go, so its digests and alerts stop and a reinstall starts clean.
    """

    def save_installation(self, installation: Installation) -> None:
        """Store an installation (replacing that installer's earlier one in the workspace)."""
        ...

    def find_installation(self, platform: str, workspace_id: str, installer_id: str | None = None) -> Installation | None:
        """The installer's installation, or (no installer given) the workspace's latest one."""
        ...

    def delete_installations(self, platform: str, workspace_id: str, installer_id: str | None = None) -> int:
        """Delete the installer's installation (or every one of the workspace); how many went."""
        ...

    def issue_state(self, platform: str, ttl_seconds: float) -> str:
        """A new random OAuth state, valid once for `ttl_seconds`."""
        ...

    def consume_state(self, platform: str, state: str) -> bool:
        """Whether `state` was issued and has not expired; it can never be used again."""
        ...

    def forget_workspace(self, platform: str, workspace_id: str) -> dict[str, int]:
        """Remove the workspace's tokens and all its data (see the class); counts by kind."""
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

    def render(self, reply: Reply) -> Sequence[Part]:
        """Pure: the reply as platform messages, split to respect every platform limit."""
        ...

    async def send(self, destination: str, part: Part) -> str:
        """Send one rendered part to a channel id; returns the platform's message id."""
        ...

    async def open_dm(self, user_id: str) -> str:
        """The channel id of the direct-message conversation with a user."""
        ...


@runtime_checkable
class Sharded(Protocol):
    """Optional for an adapter: the platform splits its workspaces between replicas (Discord's
    shards), and this process holds only some of them. The outbox leaves a channel's messages
    for the replica that holds its workspace; DMs may go from any replica."""

    def holds_workspace(self, workspace_id: str) -> bool:
        """Whether this process's connection receives the workspace's (guild's) events."""
        ...


@runtime_checkable
class HttpRoutes(Protocol):
    """Optional for an adapter: routes it serves on the bot's one HTTP server (bot.web), next
    to the site, /healthz and /readyz; e.g. Slack's `POST /slack/events` in HTTP mode.

    The web server mounts them as they are: they are not behind WEB_ACCESS_TOKEN (a platform
    authenticates its own requests, as Slack does with its signature) and their paths must not
    collide with the site's. They are asked for once, before the server starts.
    """

    def http_routes(self) -> Sequence[web.AbstractRouteDef]:
        """aiohttp route definitions (`web.post("/slack/events", handler)`, ...)."""
        ...


def adapter_routes(adapters: Sequence[ChatAdapter]) -> list[web.AbstractRouteDef]:
    """Every route the given adapters contribute to the web server."""
    routes: list[web.AbstractRouteDef] = []
    for adapter in adapters:
        if isinstance(adapter, HttpRoutes):
            routes.extend(adapter.http_routes())
    return routes


async def post(adapter: ChatAdapter, destination: str, reply: Reply) -> list[str]:
    """Render and send a whole reply to a channel; returns the message ids of every part."""
    return [await adapter.send(destination, part) for part in adapter.render(reply)]


async def send_dm(adapter: ChatAdapter, user_id: str, reply: Reply) -> list[str]:
    """Render and send a whole reply to a user's DMs; returns the message ids of every part."""
    destination = await adapter.open_dm(user_id)
    return await post(adapter, destination, reply)
