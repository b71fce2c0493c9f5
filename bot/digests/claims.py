"""Claims on digest slots: how replicas on one PostgreSQL database divide digest building.

Every replica's scheduler builds the digests due at its tick; before building a batch of due
(channel, local date) slots it claims them, one work lock per slot (bot.store.lock, session
advisory locks on PostgreSQL, taken many in one round trip), and builds only the slots it got
that are still unhandled. A slot another replica holds is left to it; one handled meanwhile
(its `digest_runs` row committed) is let go at once. The claims are released after the batch's
transaction committed, so a slot is never free while its digest is half written.

A builder killed while holding claims loses them with its connection (the server sees the
socket close), and the next tick of another replica builds what it had not committed; what it
had committed is handled, and the store's unique keys (one `digest_runs` row per channel and
local date, one outbox row per digest key) keep a digest from ever being written twice.

On SQLite (one process, `ProcessLocks`) every claim is granted, so the batches are exactly the
due list cut in order, as before replicas.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from bot.core.models import ChannelSettings
from bot.digests.schedule import Slot
from bot.store import Store
from bot.store.lock import WorkLocks

Due = tuple[ChannelSettings, Slot]  # a channel's (or person's) due slot


def claim_name(key: str, local_date: str) -> str:
    """The work lock that claims building the slot of one channel (or person, `platform:@user`)
    on one local date."""
    return f"digest:{key}:{local_date}"


def _name(entry: Due) -> str:
    settings, slot = entry
    return claim_name(settings.key, slot.key)


class SlotClaims:
    """Claims and releases due digest slots for one builder (see the module)."""

    def __init__(self, store: Store, locks: WorkLocks) -> None:
        self.store = store
        self.locks = locks

    def take(self, pending: Sequence[Due], size: int) -> tuple[list[Due], list[Due]]:
        """Claim up to `size` of the `pending` slots, in order: returns the claimed ones that
        are still unhandled, and the pending ones not tried yet. Slots another builder holds
        are skipped (left to it); with every claim granted (SQLite) the first `size` unhandled
        ones are taken. Blocking: call in a worker thread where the store allows it."""
        claimed: list[Due] = []
        rest = list(pending)
        try:
            while rest and len(claimed) < size:
                tried, rest = rest[: size - len(claimed)], rest[size - len(claimed) :]
                granted = set(self.locks.try_lock_many([_name(entry) for entry in tried]))
                mine = [entry for entry in tried if _name(entry) in granted]
                claimed += mine
                handled = self.store.channels.handled_slots([(s.key, slot.key) for s, slot in mine])
                done = [entry for entry in mine if (entry[0].key, entry[1].key) in handled]
                self.release(done)  # written by another builder since our due list was read
                claimed = [entry for entry in claimed if (entry[0].key, entry[1].key) not in handled]
        except BaseException:
            # A claim nobody builds would keep the other replicas off its slot until we exit.
            with contextlib.suppress(Exception):
                self.release(claimed)
            raise
        return claimed, rest

    def take_one(self, entry: Due) -> bool:
        """Claim one slot: whether it is this builder's now and still unhandled."""
        claimed, _ = self.take([entry], 1)
        return bool(claimed)

    def release(self, entries: Sequence[Due]) -> None:
        """Let go of claimed slots (after their transaction committed, or on giving up)."""
        if entries:
            self.locks.unlock_many([_name(entry) for entry in entries])
