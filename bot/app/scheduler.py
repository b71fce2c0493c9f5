"""The scheduler: on every tick, read the store, work out what is due, put it in the outbox,
and deliver. No in-memory timers: a restart simply ticks again and finds the same answer.

Digests: for each active channel, the latest slot (bot.digests.schedule) is due unless its local date
was already handled (`digest_runs`). Handling a slot (posting the digest, a quiet-day note, a
skip note, or nothing) is recorded in the same transaction as the outbox row and the delivered
papers, so each (channel, local date) is handled exactly once. A slot handled long after it
was due (paperbot was down) is posted marked "delayed: paperbot was offline" or skipped with a
one-line note, per the channel's `catch_up`; only the latest missed slot is considered.

Alerts: new papers are matched into the alert queue, then one DM per user whose window is
open is put in the outbox (bot.alerts.alerts).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime
from typing import Any

from bot.alerts.alerts import cut_batches, scan_new_papers
from bot.core.clock import Clock, ensure_utc
from bot.core.errors import ConfigError
from bot.core.localtime import zone
from bot.core.models import CatchUp, ChannelSettings, Digest, Reply
from bot.delivery.outbox import Delivery, enqueue
from bot.digests.digest import (
    FIRST_WINDOW,
    Pool,
    build_digest,
    default_settings,
    load_pool,
    quiet_reply,
    record_digest,
    versions_of,
    window_start,
)
from bot.digests.schedule import (
    Slot,
    describe_local,
    grace_for_tick,
    is_late,
    latest_slot,
    missed_slots,
    next_slot,
)
from bot.ports import SummaryProvider
from bot.settings import Settings
from bot.store import Store
from bot.store.db import transaction

log = logging.getLogger(__name__)


class Scheduler:
    """Computes what is due from the store and enqueues it; `tick` also delivers."""

    def __init__(
        self,
        *,
        store: Store,
        settings: Settings,
        clock: Clock,
        summaries: SummaryProvider,
        delivery: Delivery,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.summaries = summaries
        self.delivery = delivery
        self.grace = grace_for_tick(settings.scheduler_tick)
        self._digest_lock = asyncio.Lock()
        self._alert_lock = asyncio.Lock()

    async def tick(self, now: datetime | None = None) -> dict[str, int]:
        """One scheduler pass: due digests, alert batches, then delivery of the outbox.

        A failure in one step is logged and does not stop the others (the outbox still drains).
        """
        now = ensure_utc(now or self.clock())
        result = {"digests": 0, "alerts": 0, "sent": 0}
        for name, step in (("digests", self.run_due_digests), ("alerts", self.run_alerts)):
            try:
                result[name] = await step(now)
            except Exception:
                log.exception("scheduler step %s failed; the next tick tries again", name)
        try:
            result["sent"] = await self.delivery.deliver(now)
        except Exception:
            log.exception("delivery failed; the next tick tries again")
        return result

    # --- digests ---------------------------------------------------------------------------

    def due_channels(self, now: datetime) -> list[tuple[ChannelSettings, Slot]]:
        """Active channels whose latest slot is due now and not handled yet."""
        due = []
        for settings in self.store.channels.active():
            try:
                slot = latest_slot(settings, now, not_before=self.store.channels.changed_at(settings.key))
            except Exception:  # a broken row (e.g. a zone removed from tzdata) must not stop the rest
                log.exception("cannot compute the schedule of %s", settings.key)
                continue
            if slot is not None and self.store.channels.run_for(settings.key, slot.key) is None:
                due.append((settings, slot))
        return due

    async def run_due_digests(self, now: datetime) -> int:
        """Handle every due digest slot; returns how many messages were put in the outbox."""
        now = ensure_utc(now)
        async with self._digest_lock:
            due = self.due_channels(now)
            if not due:
                return 0
            # One pool of candidate papers for every channel due now (from the earliest window).
            since = min(window_start(settings, now) for settings, _ in due)
            pool = load_pool(self.store, since, now)
            enqueued = 0
            for settings, slot in due:
                try:
                    enqueued += await self._handle_slot(settings, slot, now, pool)
                except Exception:
                    log.exception("digest for %s (%s) failed; retried next tick", settings.key, slot.key)
            return enqueued

    async def _handle_slot(self, settings: ChannelSettings, slot: Slot, now: datetime, pool: Pool) -> int:
        key = f"digest:{settings.key}:{slot.key}"
        late = is_late(slot, now, self.grace)
        if late and settings.catch_up == CatchUp.SKIP:
            return self._skip(settings, slot, key, now)
        delayed_note = ""
        if late:
            handled = {run.local_date for run in self.store.channels.runs(settings.key, 30)}
            missed = len(missed_slots(settings, now, handled, self.store.channels.changed_at(settings.key)))
            delayed_note = (
                f"delayed: paperbot was offline at {describe_local(slot.due_at, settings.timezone)}"
                + (f"; this digest covers the {missed} missed ones" if missed > 1 else "")
            )
        digest = await build_digest(
            self.store, settings, self.summaries, now, slot.key, pool=pool, delayed_note=delayed_note
        )
        with transaction(self.store.conn):
            if self.store.channels.run_for(settings.key, slot.key) is not None:
                return 0  # handled meanwhile (another tick or process)
            if digest is not None:
                return self._enqueue_digest(settings, digest, key, now, "delayed" if late else "posted")
            if settings.quiet_note:
                reply = quiet_reply(self.store, settings, slot.key, window_start(settings, now), now)
                added = enqueue(self.store, key, "digest-note", settings.platform, settings.channel_id, reply, now)
                self.store.channels.record_run(settings.key, slot.key, "quiet", key, 0, now)
                return int(added)
            self.store.channels.record_run(settings.key, slot.key, "empty", None, 0, now)
            return 0

    def _enqueue_digest(self, settings: ChannelSettings, digest: Digest, key: str, now: datetime, status: str) -> int:
        added = enqueue(self.store, key, "digest", settings.platform, settings.channel_id, digest.reply, now)
        if added:
            record_digest(self.store, digest, versions_of(digest))
            self.store.channels.set_last_digest_at(settings.key, now)
        self.store.channels.record_run(settings.key, digest.local_date, status, key, len(digest.paper_ids), now)
        return int(added)

    def _skip(self, settings: ChannelSettings, slot: Slot, key: str, now: datetime) -> int:
        handled = {slot.key}
        upcoming = next_slot(settings, now, handled)
        later = f" The next one comes {describe_local(upcoming.due_at, settings.timezone)}." if upcoming else ""
        reply = Reply(
            text=(
                f"Skipped the digest of {date.fromisoformat(slot.key).strftime('%a %d %b')}: paperbot was "
                f"offline at {describe_local(slot.due_at, settings.timezone)}.{later}"
            ),
            private=False,
        )
        with transaction(self.store.conn):
            if self.store.channels.run_for(settings.key, slot.key) is not None:
                return 0
            added = enqueue(self.store, key, "digest-note", settings.platform, settings.channel_id, reply, now)
            # Skipping moves the window on: the next digest is a normal day's, not a backlog.
            self.store.channels.set_last_digest_at(settings.key, now)
            self.store.channels.record_run(settings.key, slot.key, "skipped", key, 0, now)
        return int(added)

    async def preview_digest(self, channel_key: str, date_text: str | None, now: datetime) -> Digest | None:
        """What a channel's digest would hold now, without posting or recording anything
        (`paperbot digest --print`). Unknown channels get the default settings."""
        platform, _, channel_id = channel_key.partition(":")
        if not platform or not channel_id:
            raise ConfigError([f"{channel_key!r} is not a channel key like slack:C0123"])
        settings = self.store.channels.get(channel_key) or default_settings(platform, channel_id, self.settings)
        if date_text:
            try:
                local_date = date.fromisoformat(date_text).isoformat()
            except ValueError:
                raise ConfigError([f"--date {date_text!r} is not a date like 2026-11-23"]) from None
        else:
            local_date = ensure_utc(now).astimezone(zone(settings.timezone)).date().isoformat()
        return await build_digest(self.store, settings, self.summaries, now, local_date)

    # --- alerts ------------------------------------------------------------------------------

    async def run_alerts(self, now: datetime) -> int:
        """Match new papers against every subscription, then enqueue one DM per user whose
        alert window is open; returns how many DMs were enqueued."""
        now = ensure_utc(now)
        async with self._alert_lock:
            await scan_new_papers(
                self.store, now, keep_per_user=self.settings.alert_max_items, first_window=FIRST_WINDOW
            )
            return await cut_batches(self.store, self.summaries, self.settings, now)

    def status(self) -> dict[str, Any]:
        """Counts for status pages: channels, subscriptions, outbox states."""
        return {
            "channels": len(self.store.channels.active()),
            "subscriptions": self.store.subscriptions.count(),
            "outbox": self.store.outbox.counts(),
        }
