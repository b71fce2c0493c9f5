"""The scheduler tick: due digests, alert batches, personal digests, then delivery of the outbox.

No in-memory timers: each tick reads the store and works out what is due, so a restart simply
ticks again and finds the same answer. Digests are the digest job's (bot.digests.job); alerts
match new papers into the alert queue, then put one DM per user whose window is open in the
outbox (bot.alerts.alerts). A failure in one step is logged and does not stop the others.

With replicas on one PostgreSQL database every replica ticks. The digest steps (channel and
email digests, personal digests) run on every replica, which divide the due slots by claiming
each batch of them before building it (bot.digests.claims). The other steps (alert batches,
pruning) are run by one replica at a time, under their work lock (bot.store.lock): a replica
that does not get it skips the step this tick. Either way, if a holder dies the server
releases its locks, so the next tick of another replica goes on where the dead one's committed
work ends (each digest batch and alert batch is its own transaction). Delivery is shared row
by row (outbox claims, bot.delivery.outbox).

The one in-memory thing is a cache: the alert matcher (bot.alerts.matcher), which holds every
active subscription compiled and indexed. It is built here, loaded once (`prepare_alerts`, which
the runtime starts with the bot), and after that only applies the store's subscription change
feed at each tick; a restart loads it again from the store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta

from bot.alerts.alerts import cut_batches, scan_new_papers
from bot.alerts.matcher import AlertMatcher
from bot.core.clock import Clock, ensure_utc
from bot.delivery.outbox import Delivery
from bot.digests.job import DigestJob
from bot.digests.personal import PersonalDigests
from bot.digests.selection import FIRST_WINDOW
from bot.ports import SummaryProvider
from bot.rank.ranking import Ranker
from bot.settings import Settings
from bot.store import Retention, Store
from bot.store.lock import ProcessLocks, WorkLocks, holding

log = logging.getLogger(__name__)

PRUNE_EVERY = timedelta(hours=1)
# Steps that divide their own work between replicas (claims per digest slot) and so run on
# every replica at every tick instead of under a step-wide lock.
DIVIDED_STEPS = frozenset({"digests", "personal digests"})
PRUNE_WATERMARK = "retention.pruned_at"


class Scheduler:
    """One tick of everything time-driven, in order: digests, alerts, delivery."""

    def __init__(
        self,
        *,
        digests: DigestJob,
        store: Store,
        settings: Settings,
        summaries: SummaryProvider,
        delivery: Delivery,
        clock: Clock,
        ranker: Ranker | None = None,
        personal: PersonalDigests | None = None,
        locks: WorkLocks | None = None,
    ) -> None:
        self.digests = digests
        self.locks = locks if locks is not None else ProcessLocks()
        self.ranker = ranker
        self.personal = personal
        self.store = store
        self.settings = settings
        self.summaries = summaries
        self.delivery = delivery
        self.clock = clock
        self.alert_matcher = AlertMatcher()
        self._alert_lock = asyncio.Lock()

    async def tick(self, now: datetime | None = None) -> dict[str, int]:
        """One pass: due digests, alert batches, then delivery of the outbox. `failed` counts
        what went wrong in this pass: steps that raised, digests that could not be written and
        failed delivery attempts (a 429 is not a failure: the row just waits)."""
        now = ensure_utc(now or self.clock())
        result = {"digests": 0, "alerts": 0, "sent": 0, "failed": 0}
        failures_before = self.digests.failures + self.delivery.failures
        steps: list[tuple[str, Callable[[datetime], Awaitable[int]]]] = [
            ("digests", self.digests.run_due),
            ("alerts", self.run_alerts),
        ]
        if self.personal is not None:
            result["personal digests"] = 0
            steps.append(("personal digests", self.personal.run_due))
        for name, step in steps:
            if self.delivery.stopping.is_set():
                return result  # shutting down: start nothing new
            try:
                with self._step_lock(name) as mine:
                    if mine:  # else another replica runs this step now
                        result[name] = await step(now)
            except Exception:
                result["failed"] += 1
                log.exception("scheduler step %s failed; the next tick tries again", name)
        try:
            result["sent"] = await self.delivery.deliver(now)
        except Exception:
            result["failed"] += 1
            log.exception("delivery failed; the next tick tries again")
        try:
            # Thousands of deletes on a large store: off the event loop on PostgreSQL.
            with holding(self.locks, "scheduler:prune") as mine:
                result["pruned"] = await self.store.run_blocking(self.prune_if_due, now) if mine else 0
        except Exception:
            log.exception("pruning old history failed; the next tick tries again")
        result["failed"] += self.digests.failures + self.delivery.failures - failures_before
        return result

    def _step_lock(self, name: str) -> AbstractContextManager[bool]:
        """The lock a step runs under: none for the digest steps, whose builders claim each
        slot (bot.digests.claims), so that every replica builds; the step's work lock for
        the others (one replica at a time)."""
        if name in DIVIDED_STEPS:
            return nullcontext(True)
        return holding(self.locks, f"scheduler:{name}")

    def prune_if_due(self, now: datetime) -> int:
        """Apply the retention policy at most once per PRUNE_EVERY; returns rows deleted."""
        last = self.store.alert_queue.watermark(PRUNE_WATERMARK)
        if last is not None and now - last < PRUNE_EVERY:
            return 0
        settings = self.settings
        policy = Retention(
            outbox_days=settings.retention_outbox_days,
            history_days=settings.retention_history_days,
            waiting_days=settings.retention_waiting_days,
        )
        deleted = self.store.retention.prune(now, policy)
        self.store.alert_queue.set_watermark(PRUNE_WATERMARK, now)
        total = sum(deleted.values())
        if total:
            log.info("pruned %d rows of old history: %s", total, ", ".join(f"{k} {v}" for k, v in deleted.items() if v))
        return total

    async def prepare_alerts(self, now: datetime | None = None) -> None:
        """Load the alert matcher (every active subscription) ahead of the first tick; reading
        is paged and compiling runs in a worker thread, so the event loop stays responsive."""
        async with self._alert_lock:
            await self.alert_matcher.refresh(self.store, ensure_utc(now or self.clock()))

    async def run_alerts(self, now: datetime) -> int:
        """Match new papers against every subscription, then enqueue one DM per user whose
        alert window is open; returns how many DMs were enqueued."""
        now = ensure_utc(now)
        async with self._alert_lock:
            await scan_new_papers(
                self.store,
                now,
                keep_per_user=self.settings.alert_max_items,
                first_window=FIRST_WINDOW,
                matcher=self.alert_matcher,
            )
            return await cut_batches(self.store, self.summaries, self.settings, now, self.ranker)
