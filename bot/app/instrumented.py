"""The service adapters talk to, measured: each command is counted by kind and outcome, timed,
and handled inside a log context naming it (a fresh command id, its kind and its channel);
at debug level each command also logs one line when answered.

`InstrumentedService` wraps `bot.chat.service.BotService` and implements the same
`bot.ports.ServiceAPI`, so adapters cannot tell the difference; the runtime hands it to every
adapter it starts.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable

from bot.chat.grammar import parse_command
from bot.core.clock import system_monotonic
from bot.core.commands import Command
from bot.core.errors import UserInputError
from bot.core.forms import DigestForm
from bot.core.home import Home
from bot.core.logcontext import log_context
from bot.core.metrics import Metrics
from bot.core.models import Actor, Place, Reply
from bot.ports import Progress, ServiceAPI

_Run = Callable[[], Awaitable[Reply]]

log = logging.getLogger(__name__)


def command_kind(command: str | Command) -> str:
    """A command's kind for metrics: `SearchCommand` -> "search", `DigestOnCommand` ->
    "digest_on"; typed text is parsed the same way the service parses it ("invalid" when it
    does not parse). A small, fixed set of values: safe as a Prometheus label."""
    if isinstance(command, str):
        try:
            command = parse_command(command)
        except UserInputError:
            return "invalid"
    name = type(command).__name__.removesuffix("Command")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() or "unknown"


def new_command_id() -> str:
    """A short random id that ties together the log lines of one command."""
    return f"cmd-{secrets.token_hex(6)}"


class InstrumentedService:
    """`ServiceAPI` over another one, recording metrics and log context (see the module)."""

    def __init__(self, inner: ServiceAPI, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics

    async def handle_command(
        self, command: str | Command, who: Actor, where: Place, *, progress: Progress | None = None
    ) -> Reply:
        """Run the command through the wrapped service, counted, timed and logged with its ids."""
        return await self._measured(command_kind(command), who, where, lambda: self.inner.handle_command(command, who, where, progress=progress))

    async def item_action(self, action: str, paper_id: str, who: Actor, where: Place) -> Reply:
        """A feedback click, measured like a command of kind `action_<action>`."""
        kind = "action_" + re.sub(r"[^a-z_]", "", action.lower())[:20]
        return await self._measured(kind, who, where, lambda: self.inner.item_action(action, paper_id, who, where))

    async def _measured(self, kind: str, who: Actor, where: Place, run: _Run) -> Reply:
        channel = f"{where.platform}:{where.channel_id}"
        started = system_monotonic()
        outcome = "error"
        with log_context(command=new_command_id(), command_kind=kind, channel=channel):
            try:
                reply = await run()
                outcome = "error" if reply.is_error else "ok"
                return reply
            finally:
                elapsed = system_monotonic() - started
                self.metrics.command_seconds.labels(kind=kind).observe(elapsed)
                self.metrics.commands.labels(platform=who.platform, kind=kind, outcome=outcome).inc()
                # Debug: at info, every command would interleave with the console's own output.
                log.debug("command %s answered in %.3f s (%s)", kind, elapsed, outcome)

    def topic_choices(self, prefix: str) -> list[tuple[str, str]]:
        """Autocomplete for topics (not measured: it runs on every key press)."""
        return self.inner.topic_choices(prefix)

    def subscription_choices(self, who: Actor, prefix: str) -> list[tuple[str, str]]:
        """Autocomplete for the user's own subscriptions (not measured)."""
        return self.inner.subscription_choices(who, prefix)

    async def home(self, who: Actor) -> Home:
        """The person's home, from the wrapped service."""
        return await self.inner.home(who)

    def digest_form(self, who: Actor, where: Place) -> DigestForm:
        """A channel's digest settings form, from the wrapped service."""
        return self.inner.digest_form(who, where)

    async def keep_for_sharing(self, reply: Reply, who: Actor, where: Place) -> str:
        """A Share token for `reply` as shown, from the wrapped service."""
        return await self.inner.keep_for_sharing(reply, who, where)

    def take_shared(self, token: str, who: Actor, where: Place) -> Reply | None:
        """The reply a Share token was issued for, from the wrapped service."""
        return self.inner.take_shared(token, who, where)
