"""`/papers digest on|off|show|now` for the channel the command was typed in."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from typing import Any

import bot.chat.grammar as cmd
from bot.chat.forms import PERMISSION_TEXT, may_change_digest
from bot.core.clock import Clock
from bot.core.errors import PermissionDenied, UserInputError
from bot.core.models import Actor, CatchUp, ChannelSettings, Place, Reply
from bot.delivery.outbox import Delivery
from bot.digests.email import EmailDigests
from bot.digests.job import DigestJob, default_settings
from bot.digests.personal import PersonalDigests
from bot.digests.schedule import describe_days, describe_local, next_slot
from bot.digests.selection import effective_rank, topic_label
from bot.settings import Settings
from bot.store import Store
from bot.store.db import transaction


def describe_settings(settings: ChannelSettings) -> list[str]:
    """The settings, one readable line each."""
    topics = ", ".join(topic_label(t) for t in settings.topics) or "all"
    sources = ", ".join(s.value for s in settings.sources) or "all"
    return [
        f"Time: {settings.time_of_day.strftime('%H:%M')} {settings.timezone} · Days: {describe_days(settings.days)}",
        f"Topics: {topics} · Query: {settings.query or '—'} · Sources: {sources}",
        f"Max items: {settings.max_items} · Min score: {settings.min_score} · "
        f"Updated versions: {'shown' if settings.show_updated else 'hidden'} · "
        f"Ranked by: {'what is trending' if effective_rank(settings) == 'trending' else 'topic match'}",
        f"Note on quiet days: {'yes' if settings.quiet_note else 'no'} · After downtime: "
        + ("post the latest missed digest, marked delayed" if settings.catch_up == CatchUp.POST else "skip it with a note"),
        *(
            [f"Relevance threshold: {settings.threshold:g} (once people here gave feedback; fewer papers on quiet days)"]
            if settings.threshold is not None
            else []
        ),
    ]


class DigestCommands:
    """`digest on|off|show|now` for the channel the command was typed in."""

    def __init__(
        self,
        *,
        store: Store,
        settings: Settings,
        clock: Clock,
        job: DigestJob,
        delivery: Delivery | None = None,
        email: EmailDigests | None = None,
        personal: PersonalDigests | None = None,
    ) -> None:
        self.store = store
        self.email = email
        self.settings = settings
        self.clock = clock
        self.job = job
        self.delivery = delivery
        self.personal = personal
        self._tasks: set[asyncio.Task[int]] = set()

    async def handle(self, command: cmd.Command, who: Actor, where: Place) -> Reply:
        """Run one digest command."""
        if isinstance(command, cmd.DigestOnCommand):
            self._check(who, where)
            return self.turn_on(command, who, where)
        if isinstance(command, cmd.DigestOffCommand):
            self._check(who, where)
            return self.turn_off(where)
        if isinstance(command, cmd.DigestShowCommand):
            return self.show(where)
        if isinstance(command, cmd.DigestNowCommand):
            self._check(who, where)
            return await self.post_now(who, where)
        if isinstance(command, cmd.EmailDigestCommand):
            return self._email(command, who)
        if isinstance(command, cmd.DigestMeCommand):
            if self.personal is None:
                raise UserInputError("personal digests are not available on this paperbot")
            return self.personal.handle(command, who)
        raise UserInputError("that is not a digest command; use digest on, off, show or now")

    @staticmethod
    def _check(who: Actor, where: Place) -> None:
        # One rule for the command and the settings form (bot.chat.forms).
        if not may_change_digest(who, where):
            raise PermissionDenied(PERMISSION_TEXT)

    def turn_on(self, command: cmd.DigestOnCommand, who: Actor, where: Place) -> Reply:
        """Create or change the channel's digest settings and switch it on."""
        now = self.clock()
        current = self.store.channels.get(where.key) or default_settings(where.platform, where.channel_id, self.settings)
        changes: dict[str, Any] = {
            "enabled": True,
            "paused_reason": "",
            "created_by": who.user_id,
            "workspace_id": where.workspace_id or current.workspace_id,
        }
        for name, attr in (
            ("at", "time_of_day"), ("timezone", "timezone"), ("topics", "topics"), ("max_items", "max_items"),
            ("sources", "sources"), ("days", "days"), ("query", "query"), ("min_score", "min_score"),
            ("show_updated", "show_updated"), ("quiet_note", "quiet_note"), ("rank", "rank"),
        ):
            value = getattr(command, name)
            if value is not None:
                changes[attr] = value
        if command.catch_up is not None:
            changes["catch_up"] = CatchUp(command.catch_up)
        if command.threshold is not None:
            changes["threshold"] = command.threshold or None  # 0 turns the threshold off
        if command.timezone is not None:
            changes["timezone"] = cmd.parse_timezone(command.timezone)  # typed options skip the parser
        updated = replace(current, **changes)
        if not updated.days:
            raise UserInputError("a digest needs at least one day, e.g. days:weekdays")
        with transaction(self.store.conn):
            self.store.channels.save(updated, now)
        lines = [f"Daily digest is on for {'your DMs' if where.is_dm else 'this channel'}."]
        lines += describe_settings(updated)
        lines.append(self._next_line(updated, now))
        return Reply(text="\n".join(lines), private=True)

    def _email(self, command: cmd.EmailDigestCommand, who: Actor) -> Reply:
        """`/papers email <address>|off`: the person's own digest by email (bot.digests.email)."""
        if self.email is None:
            return Reply(text="Email digests are not set up on this paperbot (its operator sets SMTP_HOST).", private=True)
        if command.off:
            return self.email.turn_off(who)
        return self.email.request(command.address, who)

    def turn_off(self, where: Place) -> Reply:
        """Switch the channel's digest off (settings are kept for the next `digest on`)."""
        if not self.store.channels.disable(where.key, self.clock()):
            return Reply(text="This channel has no digest switched on. Start one with /papers digest on 09:00", private=True)
        return Reply(text="Daily digest is off for this channel. /papers digest on brings it back.", private=True)

    def show(self, where: Place) -> Reply:
        """The channel's settings and when the next digest is due, in the channel's zone."""
        settings = self.store.channels.get(where.key)
        if settings is None:
            return Reply(
                text="This channel has no digest. Start one with /papers digest on 09:00 tz:Europe/Berlin topics:llm",
                private=True,
            )
        now = self.clock()
        state = "on" if settings.enabled else "off"
        if settings.paused_reason:
            state = f"paused ({settings.paused_reason}); /papers digest on resumes it"
        lines = [f"Digest: {state}", *describe_settings(settings)]
        if settings.enabled and not settings.paused_reason:
            lines.append(self._next_line(settings, now))
        if settings.last_digest_at:
            lines.append(f"Last digest: {describe_local(settings.last_digest_at, settings.timezone)}")
        return Reply(header="Digest settings", text="\n".join(lines), private=True)

    def _next_line(self, settings: ChannelSettings, now: datetime) -> str:
        handled = {run.local_date for run in self.store.channels.runs(settings.key, 10)}
        slot = next_slot(settings, now, handled)
        if slot is None:
            return "Next digest: none scheduled"
        return f"Next digest: {describe_local(slot.due_at, settings.timezone)}"

    async def post_now(self, who: Actor, where: Place) -> Reply:
        """Build the digest now and post it through the outbox (it does not replace the daily
        one; its papers are not repeated there)."""
        settings = self.store.channels.get(where.key) or default_settings(where.platform, where.channel_id, self.settings)
        posted = await self.job.post_now(settings, self.clock())
        if posted is None:
            return Reply(text="Nothing new for this channel since its last digest.", private=True)
        digest, key = posted
        count = len(digest.paper_ids)
        if self.delivery is not None:
            # Sent in the background: the command answers at once, the outbox does the rest.
            task = asyncio.create_task(self.delivery.deliver(keys=[key]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return Reply(text=f"Posting a digest of {count} paper{'s' if count != 1 else ''} here now.", private=True)

    async def wait_idle(self) -> None:
        """Wait for background deliveries started by `digest now` (tests, shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
