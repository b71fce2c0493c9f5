"""The one job that writes a digest: the digest, its outbox row and its ledger entries in one
transaction, for the scheduler's tick and for `digest now` alike.

On every tick, for each active channel, the latest slot (bot.digests.schedule) is due unless its
local date was already handled (`digest_runs`). Handling a slot (posting the digest, a
quiet-day note, a skip note, or nothing) is recorded in the same transaction as the outbox row
and the delivered papers, so each (channel, local date) is handled exactly once. A slot handled
long after it was due (paperbot was down) is posted marked "delayed: paperbot was offline" or
skipped with a one-line note, per the channel's `catch_up`; only the latest missed slot is
considered. No in-memory timers: a restart simply ticks again and finds the same answer.

A run over thousands of channels keeps the event loop free: the due channels are read, the
on-time channels' papers chosen, their digests rendered and written in worker threads, a batch
of BATCH_CHANNELS at a time, each batch in one transaction (each channel still checks
`digest_runs` inside it, so exactly-once holds), with the loop running between batches. In
that transaction the handled slots are read with one query, each outbox row is added in turn,
and the batch's ledger rows, shown lists, window starts and runs are written with one statement
per table.

Replicas on one PostgreSQL database all run this job at each tick and divide the due slots:
each batch (and each slot handled on its own) is claimed first (bot.digests.claims), so every
replica builds different channels, and a slot claimed by a replica that dies is built by the
next tick of another.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial

import bot.chat.grammar as cmd
from bot.core.clock import ensure_utc
from bot.core.errors import ConfigError
from bot.core.localtime import zone
from bot.core.models import CatchUp, ChannelSettings, Digest, Reply, Summary
from bot.core.outbox import OutboxKind, digest_key, digest_now_key
from bot.delivery.outbox import enqueue
from bot.digests.claims import SlotClaims
from bot.digests.compose import build_digest, compose_digest, quiet_reply
from bot.digests.schedule import (
    Slot,
    describe_local,
    grace_for_tick,
    is_late,
    latest_slot,
    missed_slots,
    next_slot,
)
from bot.digests.selection import Pool, Ranked, load_pool_off_loop, select_top, window_start
from bot.ports import SummaryProvider
from bot.rank.ranking import Ranker
from bot.settings import Settings
from bot.store import Store
from bot.store.db import transaction
from bot.store.feedback import channel_scope
from bot.store.lock import ProcessLocks, WorkLocks

log = logging.getLogger(__name__)

# On-time channels handled together: one worker-thread call to choose, one summaries call, one
# transaction. Large enough that a commit is a small share of the work, small enough that the
# loop is never without a turn for long and a failed batch is cheap to write again singly.
BATCH_CHANNELS = 100


def record_digest(store: Store, digest: Digest, versions: Mapping[str, int]) -> None:
    """Remember the digest's papers as delivered to its channel (call inside the enqueue
    transaction so a digest and its ledger entries are written together)."""
    store.outbox.record_delivered(
        digest.channel_key, [(pid, versions.get(pid, 0)) for pid in digest.paper_ids], digest.local_date
    )


def versions_of(digest: Digest) -> dict[str, int]:
    """Paper id -> version for the papers of a digest."""
    return {item.paper.id: item.paper.version for item in digest.reply.items}


def default_settings(place_platform: str, channel_id: str, app: Settings) -> ChannelSettings:
    """A new channel's settings: the deployment's default time and zone, everything else the
    model's defaults (Mon-Fri, all topics and sources, 10 items)."""
    return ChannelSettings(
        platform=place_platform,
        channel_id=channel_id,
        time_of_day=cmd.parse_time_of_day(app.digest_default_time),
        timezone=app.digest_default_tz,
    )


@dataclass(slots=True)
class _SlotWrites:
    """The rows a batch of on-time slots writes after their outbox rows, gathered to be
    written with one statement per table (`write`)."""

    delivered: list[tuple[str, str, str, int]] = field(default_factory=list)  # channel, paper, date, version
    shown: list[tuple[str, str, Sequence[str]]] = field(default_factory=list)  # platform, scope, paper ids
    posted: list[str] = field(default_factory=list)  # channels whose next window starts now
    runs: list[tuple[str, str, str, str | None, int]] = field(default_factory=list)

    def digest_added(self, settings: ChannelSettings, digest: Digest) -> None:
        """What `DigestJob._write` writes once a daily digest's outbox row was added."""
        versions = versions_of(digest)
        self.delivered.extend(
            (digest.channel_key, pid, digest.local_date, versions.get(pid, 0)) for pid in digest.paper_ids
        )
        # Everyone in the channel was shown it: `like 3` there means its third paper.
        self.shown.append((settings.platform, channel_scope(settings.channel_id), digest.paper_ids))
        self.posted.append(settings.key)

    def write(self, store: Store, now: datetime) -> None:
        """Every gathered row (call inside the transaction that added the outbox rows)."""
        if self.delivered:
            store.outbox.record_delivered_rows(self.delivered)
        if self.shown:
            store.feedback.record_shown_lists(self.shown, "digest", now)
        if self.posted:
            store.channels.set_last_digests_at(self.posted, now)
        if self.runs:
            store.channels.record_runs(self.runs, now)


class DigestJob:
    """Works out which digests are due and writes each one exactly once (see the module)."""

    def __init__(
        self,
        *,
        store: Store,
        settings: Settings,
        summaries: SummaryProvider,
        ranker: Ranker | None = None,
        locks: WorkLocks | None = None,
    ) -> None:
        self.store = store
        # Replicas on one PostgreSQL database claim the slots they build (bot.digests.claims).
        self.claims = SlotClaims(store, locks if locks is not None else ProcessLocks())
        self.settings = settings
        self.summaries = summaries
        self.ranker = ranker
        self.grace = grace_for_tick(settings.scheduler_tick)
        # Digests link to the site only where readers can reach it (PUBLIC_BASE_URL).
        self.site_url = settings.public_base_url
        # Channels whose digest failed to be written, since this job was built (run --once).
        self.failures = 0
        self._lock = asyncio.Lock()

    def due_channels(self, now: datetime) -> list[tuple[ChannelSettings, Slot]]:
        """Active channels whose latest slot is due now and not handled yet."""
        latest = []
        # Two reads in all, not two per channel: every replica asks at every tick.
        for settings, changed_at in self.store.channels.active_with_changes():
            try:
                slot = latest_slot(settings, now, not_before=changed_at)
            except Exception:  # a broken row (e.g. a zone removed from tzdata) must not stop the rest
                self.failures += 1
                log.exception("cannot compute the schedule of %s", settings.key)
                continue
            if slot is not None:
                latest.append((settings, slot))
        handled = self.store.channels.handled_slots([(settings.key, slot.key) for settings, slot in latest])
        return [(settings, slot) for settings, slot in latest if (settings.key, slot.key) not in handled]

    async def run_due(self, now: datetime) -> int:
        """Handle every due digest slot this builder claims (all of them, but for those another
        replica holds: bot.digests.claims); returns how many messages were put in the outbox."""
        now = ensure_utc(now)
        async with self._lock:
            # Thousands of channels' schedules: off the event loop.
            due = await self.store.run_blocking(self.due_channels, now)
            if not due:
                return 0
            judged = self.store.feedback.channels_with_feedback() if self.ranker is not None else None
            enqueued = 0
            # Most channels take the batched path; a late slot or a channel whose model re-ranks
            # its digest (async, and rare) is handled on its own.
            # Split in one pass: testing `entry in batched` for each entry compared dataclasses
            # n²/2 times (50 million comparisons at 10,000 channels).
            own = [self._needs_own_handling(c, s, now, judged) for c, s in due]
            batched = [entry for entry, alone in zip(due, own, strict=True) if not alone]
            # One pool of candidate papers for every channel due now (from the earliest window),
            # loaded once this builder has claimed something to build.
            pool: Pool | None = None
            built = 0  # slots this builder claimed and handled
            for settings, slot in (entry for entry, alone in zip(due, own, strict=True) if alone):
                if not await self.store.run_blocking(self.claims.take_one, (settings, slot)):
                    continue  # another replica builds it, or has built it
                built += 1
                try:
                    if pool is None:
                        pool = await self._load_pool(due, now)
                    try:
                        enqueued += await self._handle_slot(settings, slot, now, pool, judged)
                    except Exception:
                        self.failures += 1
                        log.exception("digest for %s (%s) failed; retried next tick", settings.key, slot.key)
                finally:
                    await self.store.run_blocking(self.claims.release, [(settings, slot)])
                await asyncio.sleep(0)
            made: dict[str, Summary] = {}  # summaries given during this run, by paper id
            pending = batched
            while pending:
                batch, pending = await self.store.run_blocking(self.claims.take, pending, BATCH_CHANNELS)
                if not batch:
                    break  # the rest is other replicas' (or handled)
                built += len(batch)
                try:
                    if pool is None:
                        pool = await self._load_pool(due, now)
                    enqueued += await self._handle_batch(batch, now, pool, made)
                finally:
                    # Only now, its transaction committed: a slot is never free half written.
                    await self.store.run_blocking(self.claims.release, batch)
                # Between batches the event loop runs whatever waits (acks, commands).
                await asyncio.sleep(0)
            if built:
                # With replicas, each one's share of the tick (the others built the rest).
                log.info("built %d of %d due digest slots (%d messages into the outbox)", built, len(due), enqueued)
            return enqueued

    async def _load_pool(self, due: list[tuple[ChannelSettings, Slot]], now: datetime) -> Pool:
        """The candidate papers of every due channel, from the earliest window."""
        return await load_pool_off_loop(self.store, min(window_start(settings, now) for settings, _ in due), now)

    async def post_now(self, settings: ChannelSettings, now: datetime) -> tuple[Digest, str] | None:
        """`digest now`: build the channel's digest at once and put it in the outbox under its
        own key (it does not replace the daily one; its papers are not repeated there).
        Returns the digest and its outbox key, or None when there is nothing new."""
        # The pool (thousands of papers read, the untagged ones tagged) is read in a worker
        # thread, as a scheduled run's is: built here it held the event loop for a second.
        pool = await load_pool_off_loop(self.store, window_start(settings, now), now)
        digest = await build_digest(
            self.store, settings, self.summaries, now, self.local_date(settings, now), site_url=self.site_url,
            ranker=self.ranker, pool=pool,
        )
        if digest is None:
            return None
        key = digest_now_key(settings.key, now)
        with transaction(self.store.conn):
            self._write(settings, digest, key, OutboxKind.DIGEST_NOW, now)
        return digest, key

    async def preview(self, channel_key: str, date_text: str | None, now: datetime) -> Digest | None:
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
            local_date = self.local_date(settings, now)
        return await build_digest(
            self.store, settings, self.summaries, now, local_date, site_url=self.site_url, ranker=self.ranker
        )

    @staticmethod
    def local_date(settings: ChannelSettings, now: datetime) -> str:
        """The channel's local date at `now` (YYYY-MM-DD)."""
        return ensure_utc(now).astimezone(zone(settings.timezone)).date().isoformat()

    # --- handling many slots at once ------------------------------------------------------

    def _needs_own_handling(
        self, settings: ChannelSettings, slot: Slot, now: datetime, judged: set[str] | None
    ) -> bool:
        """Whether a slot is late (a skip or a delayed note) or the channel's model may re-rank
        its digest: those go through `_handle_slot`, one at a time."""
        if is_late(slot, now, self.grace):
            return True
        return self.ranker is not None and (judged is None or settings.key in judged)

    async def _handle_batch(
        self, due: list[tuple[ChannelSettings, Slot]], now: datetime, pool: Pool, made: dict[str, Summary]
    ) -> int:
        """Digests for many on-time channels without a channel model: each channel's selection
        in a worker thread (`select_top`), the summaries of all their papers in one call, then
        every reply rendered and written in one transaction (in the worker thread again), so a
        batch costs one commit and the event loop is free meanwhile. What each channel gets is
        `_handle_slot`'s answer, channel for channel; a batch whose transaction fails is written
        again one channel per transaction, so one bad channel cannot hold back the others.
        `made` holds the summaries given to earlier batches of the run (many channels show the
        same papers): only the others are asked for, and added to it."""
        chosen = await self.store.run_blocking(self._select_batch, due, now, pool)
        wanted = {r.paper.id: r.paper for _, _, ranked, _ in chosen for r in ranked if r.paper.id not in made}
        if wanted:
            made.update(await self.summaries.get_many(list(wanted.values())))
        try:
            return await self.store.run_blocking(self._write_batch, chosen, now, pool, made, True)
        except Exception:
            log.exception("writing a batch of %d digests failed; writing them one by one", len(chosen))
            return await self.store.run_blocking(self._write_batch, chosen, now, pool, made, False)

    def _select_batch(
        self, due: list[tuple[ChannelSettings, Slot]], now: datetime, pool: Pool
    ) -> list[tuple[ChannelSettings, Slot, list[Ranked], int]]:
        """Each channel's chosen papers and its window's candidate count (call in a worker
        thread); a channel whose selection fails is logged, counted and left for the next tick."""
        chosen = []
        for settings, slot in due:
            try:
                since = window_start(settings, now)
                total = pool.candidate_count(since)
                ranked = (
                    select_top(settings, pool, since, partial(self.store.outbox.delivered_versions, settings.key))
                    if total
                    else []
                )
            except Exception:
                self.failures += 1
                log.exception("digest for %s (%s) failed; retried next tick", settings.key, slot.key)
                continue
            chosen.append((settings, slot, ranked, total))
        return chosen

    def _write_batch(
        self,
        chosen: list[tuple[ChannelSettings, Slot, list[Ranked], int]],
        now: datetime,
        pool: Pool,
        made: Mapping[str, Summary],
        together: bool,
    ) -> int:
        """Render, then write, the batch's digests (call in a worker thread): rendering first,
        so the write transaction is short (the event loop's own writes wait for it); in one
        transaction when `together`, else one per channel with each failure logged and counted."""
        planned = []
        for settings, slot, ranked, total in chosen:
            try:
                planned.append((settings, slot, self._render_slot(settings, slot, ranked, total, now, pool, made)))
            except Exception:
                self.failures += 1
                log.exception("digest for %s (%s) failed; retried next tick", settings.key, slot.key)
        if together:
            with transaction(self.store.conn):
                return self._write_slots(planned, now)
        added = 0
        for entry in planned:
            settings, slot, _ = entry
            try:
                with transaction(self.store.conn):
                    added += self._write_slots([entry], now)
            except Exception:
                self.failures += 1
                log.exception("digest for %s (%s) failed; retried next tick", settings.key, slot.key)
        return added

    def _render_slot(
        self,
        settings: ChannelSettings,
        slot: Slot,
        ranked: list[Ranked],
        total: int,
        now: datetime,
        pool: Pool,
        made: Mapping[str, Summary],
    ) -> Digest | Reply | None:
        """What an on-time slot posts, as `_handle_slot` decides it: the digest, the quiet
        note (for channels that opted in), or nothing."""
        if ranked:
            return compose_digest(self.store, settings, ranked, made, total, now, slot.key, pool, site_url=self.site_url)
        if settings.quiet_note:
            return quiet_reply(self.store, settings, slot.key, window_start(settings, now), now, pool.source_states(self.store))
        return None

    def _write_slots(self, planned: list[tuple[ChannelSettings, Slot, Digest | Reply | None]], now: datetime) -> int:
        """Rendered on-time slots, written as `_handle_slot` writes them, with one statement
        per kind of row (call inside a transaction): which slots were handled meanwhile is read
        at once, each outbox row is added in turn (whether it was added decides its other rows),
        then every ledger row, shown list, window start and handled slot goes in together."""
        handled = self.store.channels.handled([(settings.key, slot.key) for settings, slot, _ in planned])
        writes = _SlotWrites()
        added = 0
        for settings, slot, content in planned:
            if (settings.key, slot.key) not in handled:  # else handled meanwhile (another tick or process)
                added += self._write_slot(settings, slot, content, now, writes)
        writes.write(self.store, now)
        return added

    def _write_slot(
        self, settings: ChannelSettings, slot: Slot, content: Digest | Reply | None, now: datetime, writes: _SlotWrites
    ) -> int:
        """One rendered on-time slot of the batch: its outbox row now, its other rows into
        `writes` (what `_write` and `record_run` would write for it)."""
        key = digest_key(settings.key, slot.key)
        if isinstance(content, Digest):
            added = enqueue(self.store, key, OutboxKind.DIGEST, settings.platform, settings.channel_id, content.reply, now)
            if added:
                writes.digest_added(settings, content)
            writes.runs.append((settings.key, slot.key, "posted", key, len(content.paper_ids)))
            return int(added)
        if content is not None:
            added = enqueue(self.store, key, OutboxKind.DIGEST_NOTE, settings.platform, settings.channel_id, content, now)
            writes.runs.append((settings.key, slot.key, "quiet", key, 0))
            return int(added)
        writes.runs.append((settings.key, slot.key, "empty", None, 0))
        return 0

    # --- handling one slot -----------------------------------------------------------------

    async def _handle_slot(
        self, settings: ChannelSettings, slot: Slot, now: datetime, pool: Pool, judged: set[str] | None
    ) -> int:
        key = digest_key(settings.key, slot.key)
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
            self.store, settings, self.summaries, now, slot.key, pool=pool, delayed_note=delayed_note,
            site_url=self.site_url, ranker=self.ranker, judged=judged,
        )
        with transaction(self.store.conn):
            if self.store.channels.run_for(settings.key, slot.key) is not None:
                return 0  # handled meanwhile (another tick or process)
            if digest is not None and not digest.paper_ids:
                # Nothing reached the channel's relevance threshold: one line, and the window moves on.
                noted = enqueue(self.store, key, OutboxKind.DIGEST_NOTE, settings.platform, settings.channel_id, digest.reply, now)
                self.store.channels.set_last_digest_at(settings.key, now)
                self.store.channels.record_run(settings.key, slot.key, "quiet", key, 0, now)
                return int(noted)
            if digest is not None:
                added = self._write(settings, digest, key, OutboxKind.DIGEST, now)
                self.store.channels.record_run(
                    settings.key, slot.key, "delayed" if late else "posted", key, len(digest.paper_ids), now
                )
                return added
            if settings.quiet_note:
                reply = quiet_reply(self.store, settings, slot.key, window_start(settings, now), now)
                added = enqueue(self.store, key, OutboxKind.DIGEST_NOTE, settings.platform, settings.channel_id, reply, now)
                self.store.channels.record_run(settings.key, slot.key, "quiet", key, 0, now)
                return int(added)
            self.store.channels.record_run(settings.key, slot.key, "empty", None, 0, now)
            return 0

    def _write(self, settings: ChannelSettings, digest: Digest, key: str, kind: OutboxKind, now: datetime) -> int:
        """The digest's outbox row and its ledger entries; call inside a transaction. A key
        already in the outbox writes nothing (returns 0)."""
        added = enqueue(self.store, key, kind, settings.platform, settings.channel_id, digest.reply, now)
        if added:
            record_digest(self.store, digest, versions_of(digest))
            # Everyone in the channel was shown it: `like 3` there means its third paper.
            self.store.feedback.record_shown(
                settings.platform, channel_scope(settings.channel_id), digest.paper_ids, "digest", now
            )
            if kind is OutboxKind.DIGEST:
                self.store.channels.set_last_digest_at(settings.key, now)
        return int(added)

    def _skip(self, settings: ChannelSettings, slot: Slot, key: str, now: datetime) -> int:
        upcoming = next_slot(settings, now, {slot.key})
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
            added = enqueue(self.store, key, OutboxKind.DIGEST_NOTE, settings.platform, settings.channel_id, reply, now)
            # Skipping moves the window on: the next digest is a normal day's, not a backlog.
            self.store.channels.set_last_digest_at(settings.key, now)
            self.store.channels.record_run(settings.key, slot.key, "skipped", key, 0, now)
        return int(added)


