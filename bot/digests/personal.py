"""A person's own daily digest by DM (`/papers digest me on 08:00`), built from `/papers foryou`.

It follows the channel digest's rules: a slot per local date in the person's time zone on
arXiv's announcement days (bot.digests.schedule), handled exactly once (`digest_runs`, under
the key `platform:@user_id`), written with its outbox row in one transaction under
`personal_digest_key`; replicas on one PostgreSQL database divide the people between them,
claiming each person's slot before writing it (bot.digests.claims). Its papers are the
person's `for_you` ranking since their previous digest; with a relevance threshold a quiet day
brings fewer papers, or a one-line "nothing relevant today".
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime, time, timedelta

import bot.chat.grammar as cmd
from bot.chat.feedback import record_shown
from bot.chat.present import make_items
from bot.core.clock import Clock, ensure_utc
from bot.core.models import Actor, ChannelSettings, ItemGroup, Reply
from bot.core.outbox import OutboxKind, personal_digest_key
from bot.delivery.outbox import enqueue
from bot.digests.claims import SlotClaims
from bot.digests.schedule import describe_local, latest_slot, next_slot
from bot.ports import SummaryProvider
from bot.rank.ranking import Ranker
from bot.store import Store
from bot.store.db import transaction
from bot.store.feedback import PersonalDigest
from bot.store.lock import ProcessLocks, WorkLocks

log = logging.getLogger(__name__)

FIRST_WINDOW = timedelta(hours=24)
MAX_WINDOW = timedelta(days=7)
DEFAULT_TIME = time(8, 0)


def schedule_of(digest: PersonalDigest) -> ChannelSettings:
    """The person's digest as schedule settings (weekdays, their time and zone); its key,
    `platform:@user_id`, names its runs and can never be a channel's."""
    return ChannelSettings(
        platform=digest.platform,
        channel_id=f"@{digest.user_id}",
        time_of_day=digest.time_of_day,
        timezone=digest.timezone,
        max_items=digest.max_items,
        last_digest_at=digest.last_digest_at,
    )


class PersonalDigests:
    """`digest me on|off|show` and the job that writes each person's DM digest once a day."""

    def __init__(
        self, *, store: Store, ranker: Ranker, summaries: SummaryProvider, clock: Clock, locks: WorkLocks | None = None
    ) -> None:
        self.store = store
        # Replicas on one PostgreSQL database claim each person's slot first (bot.digests.claims).
        self.claims = SlotClaims(store, locks if locks is not None else ProcessLocks())
        self.ranker = ranker
        self.summaries = summaries
        self.clock = clock

    # --- the command -------------------------------------------------------------------------

    def handle(self, command: cmd.DigestMeCommand, who: Actor) -> Reply:
        """Turn the person's digest on (or change it), off, or show it."""
        now = self.clock()
        current = self.store.feedback.personal_digest(who.platform, who.user_id)
        if command.action == "off":
            if current is None or not current.enabled:
                return Reply(text="Your personal digest is not on. /papers digest me on 08:00 starts it.", private=True)
            self.store.feedback.save_personal_digest(replace(current, enabled=False), now)
            return Reply(text="Your personal digest is off. /papers digest me on brings it back.", private=True)
        if command.action == "show":
            if current is None:
                return Reply(
                    text="You have no personal digest. /papers digest me on 08:00 tz:Europe/Berlin sends one by DM.",
                    private=True,
                )
            return Reply(header="Your personal digest", text="\n".join(self._describe(current, now)), private=True)
        base = current or PersonalDigest(who.platform, who.user_id, time_of_day=DEFAULT_TIME)
        threshold = base.threshold
        if command.threshold is not None:
            threshold = command.threshold or None
        updated = replace(
            base,
            enabled=True,
            time_of_day=command.at or base.time_of_day,
            timezone=cmd.parse_timezone(command.timezone) if command.timezone else base.timezone,
            max_items=command.max_items or base.max_items,
            threshold=threshold,
        )
        self.store.feedback.save_personal_digest(updated, now)
        saved = self.store.feedback.personal_digest(who.platform, who.user_id) or updated
        lines = ["Your personal digest is on: papers ranked for you, by DM.", *self._describe(saved, now)]
        return Reply(text="\n".join(lines), private=True)

    def _describe(self, digest: PersonalDigest, now: datetime) -> list[str]:
        lines = [
            f"State: {'on' if digest.enabled else 'off'} · Time: {digest.time_of_day.strftime('%H:%M')} "
            f"{digest.timezone} on arXiv announcement days · Max items: {digest.max_items}",
            "Threshold: " + (f"{digest.threshold:g} (only papers at least this relevant to you)" if digest.threshold else "none"),
        ]
        if digest.enabled:
            settings = schedule_of(digest)
            handled = {run.local_date for run in self.store.channels.runs(settings.key, 10)}
            upcoming = next_slot(settings, now, handled)
            if upcoming is not None:
                lines.append(f"Next digest: {describe_local(upcoming.due_at, digest.timezone)}")
        return lines

    # --- the job -----------------------------------------------------------------------------

    async def run_due(self, now: datetime) -> int:
        """Write every personal digest that is due and not handled yet; returns how many DMs
        were put in the outbox."""
        now = ensure_utc(now)
        latest = []
        for digest in self.store.feedback.active_personal_digests():
            settings = schedule_of(digest)
            try:
                slot = latest_slot(settings, now, not_before=digest.updated_at)
            except Exception:
                log.exception("personal digest for %s failed; retried next tick", settings.key)
                continue
            if slot is not None:
                latest.append((digest, settings, slot))
        # One read for everyone, not one per person: every replica asks at every tick.
        handled = self.store.channels.handled_slots([(settings.key, slot.key) for _, settings, slot in latest])
        enqueued = 0
        for digest, settings, slot in latest:
            if (settings.key, slot.key) in handled:
                continue
            try:
                if not await self.store.run_blocking(self.claims.take_one, (settings, slot)):
                    continue  # another replica writes it, or has written it
                try:
                    enqueued += await self._write(digest, settings, slot.key, now)
                finally:
                    await self.store.run_blocking(self.claims.release, [(settings, slot)])
            except Exception:
                log.exception("personal digest for %s failed; retried next tick", settings.key)
        return enqueued

    async def _write(self, digest: PersonalDigest, settings: ChannelSettings, local_date: str, now: datetime) -> int:
        since = max(digest.last_digest_at or now - FIRST_WINDOW, now - MAX_WINDOW)
        ranked = await self.ranker.for_you(digest.platform, digest.user_id, since, digest.max_items, digest.threshold)
        day = date.fromisoformat(local_date).strftime("%a %d %b %Y")
        key = personal_digest_key(digest.platform, digest.user_id, local_date)
        reply: Reply | None = None
        if ranked:
            papers = [r.paper for r in ranked]
            items = make_items(papers, await self.summaries.get_many(papers), now, {r.paper.id: r.why for r in ranked})
            reply = Reply(
                header=f"{day} · {len(items)} paper{'s' if len(items) != 1 else ''} for you",
                groups=(ItemGroup(title="", items=items),),
                footer="Teach it with /papers like <n> and /papers dislike <n>; /papers digest me off stops it.",
                private=False,
                offers_feedback=True,
            )
        elif digest.threshold:
            reply = Reply(text=f"{day}: nothing relevant to you today (threshold {digest.threshold:g}).", private=False)
        with transaction(self.store.conn):
            if self.store.channels.run_for(settings.key, local_date) is not None:
                return 0
            if reply is None:
                self.store.channels.record_run(settings.key, local_date, "empty", None, 0, now)
                self.store.feedback.set_personal_digest_at(digest.platform, digest.user_id, now)
                return 0
            added = enqueue(self.store, key, OutboxKind.PERSONAL_DIGEST, digest.platform, digest.user_id, reply, now)
            ids = [item.paper.id for item in reply.items]
            self.store.channels.record_run(settings.key, local_date, "posted" if ids else "quiet", key, len(ids), now)
            self.store.feedback.set_personal_digest_at(digest.platform, digest.user_id, now)
            if ids:
                record_shown(self.store, Actor(digest.platform, digest.user_id), ids, "digest", now)
        return int(added)
