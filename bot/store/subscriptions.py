"""Subscriptions (standing queries for DM alerts) and the alert queue of matched papers.

Subscriptions carry a change feed: every write takes the next number of the `subscriptions`
sequence and stamps it on the rows it adds, pauses or resumes (`changed_seq`), or records it in
`subscription_removals` for each row it deletes. `changes_since` returns what changed after a
number, so a long-lived matcher keeps its index current, also for writes by another process
sharing the database (SQLite serializes writers, so numbers become visible in order).

Removal records are pruned (`prune_removals`) once every reader has applied them; the number
pruned up to is kept (the sequence `subscription_removals_pruned`), so a reader asking for
changes from before it learns that the feed no longer reaches back that far
(`SubscriptionChanges.complete` is False) and reloads instead of missing a removal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, repeat

from bot.core.clock import from_iso, to_iso
from bot.core.models import Subscription
from bot.store.backend import Connection, Row
from bot.store.db import transaction

# --- subscriptions ---------------------------------------------------------------------------


def _subscription(row: Row) -> Subscription:
    topics = row["topics"]
    return Subscription(
        id=row["id"],
        platform=row["platform"],
        user_id=row["user_id"],
        query=row["query"],
        topics=() if topics == "[]" else tuple(json.loads(topics)),  # most have none: skip the parser
        created_at=from_iso(row["created_at"]),
        paused_reason=row["paused_reason"],
    )


@dataclass(frozen=True, slots=True)
class SubscriptionChanges:
    """What changed after a change number, up to `seq` (pass it to the next call): the current
    rows of subscriptions added, paused or resumed, and the ids of those deleted. `complete`
    is False when removal records after the number asked for were pruned already: the reader
    must load every subscription again (`changed` and `removed` are then empty)."""

    seq: int
    changed: list[Subscription]
    removed: list[int]
    complete: bool = True


class SubscriptionStore:
    """Users' standing queries. A user's list is ordered by id, which is how it is numbered."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _next_seq(self) -> int:
        """The next change number (call inside the write's transaction: it is part of it)."""
        row = self.conn.execute(
            "UPDATE sequences SET value = value + 1 WHERE name = 'subscriptions' RETURNING value"
        ).fetchone()
        return int(row[0])

    def add(self, platform: str, user_id: str, query: str, topics: Sequence[str], now: datetime) -> Subscription:
        """Store a new subscription and return it."""
        with transaction(self.conn):
            cursor = self.conn.execute(
                """INSERT INTO subscriptions (platform, user_id, query, topics, created_at, changed_seq)
                   VALUES (?, ?, ?, ?, ?, ?) RETURNING id""",
                (platform, user_id, query, json.dumps(list(topics)), to_iso(now), self._next_seq()),
            )
            new_id = int(cursor.fetchone()[0])
        found = self.get(new_id)
        assert found is not None
        return found

    def add_many(self, rows: Iterable[tuple[str, str, str, Sequence[str]]], now: datetime) -> None:
        """Bulk insert (platform, user id, query, topics) rows in one transaction (benchmarks, imports)."""
        created = to_iso(now)
        with transaction(self.conn):
            seq = self._next_seq()
            self.conn.executemany(
                """INSERT INTO subscriptions (platform, user_id, query, topics, created_at, changed_seq)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                ((p, u, q, json.dumps(list(t)), created, seq) for p, u, q, t in rows),
            )

    def get(self, subscription_id: int) -> Subscription | None:
        """One subscription by id, or None."""
        row = self.conn.execute("SELECT * FROM subscriptions WHERE id = ?", (subscription_id,)).fetchone()
        return _subscription(row) if row else None

    def list_for_user(self, platform: str, user_id: str) -> list[Subscription]:
        """A user's subscriptions in the order they are numbered (oldest first)."""
        rows = self.conn.execute(
            "SELECT * FROM subscriptions WHERE platform = ? AND user_id = ? ORDER BY id", (platform, user_id)
        )
        return [_subscription(row) for row in rows]

    def active(self) -> list[Subscription]:
        """Every subscription that is not paused (what new papers are matched against)."""
        rows = self.conn.execute("SELECT * FROM subscriptions WHERE paused_reason = '' ORDER BY id")
        return [_subscription(row) for row in rows]

    def active_page(self, after_id: int, limit: int) -> list[Subscription]:
        """Up to `limit` active subscriptions with an id above `after_id`, by id (loading them
        all in pages keeps each read short)."""
        rows = self.conn.execute(
            "SELECT * FROM subscriptions WHERE id > ? AND paused_reason = '' ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [_subscription(row) for row in rows]

    def change_seq(self) -> int:
        """The number of the latest change to any subscription (0: none since the feed began)."""
        row = self.conn.execute("SELECT value FROM sequences WHERE name = 'subscriptions'").fetchone()
        return int(row[0])

    def changes_since(self, seq: int) -> SubscriptionChanges:
        """Subscriptions added, paused, resumed or deleted after change number `seq`.

        Read up to the latest number as of the call, so a write that commits meanwhile is left
        whole for the next call rather than half seen. A deleted id that is in `changed` too was
        reused by a newer row (SQLite can reuse the highest id): the row wins.
        """
        upto = self.change_seq()
        rows = self.conn.execute(
            "SELECT * FROM subscriptions WHERE changed_seq > ? AND changed_seq <= ? ORDER BY id", (seq, upto)
        )
        changed = [_subscription(row) for row in rows]
        removed = self.conn.execute(
            """SELECT subscription_id FROM subscription_removals
               WHERE changed_seq > ? AND changed_seq <= ? ORDER BY subscription_id""",
            (seq, upto),
        )
        removed_ids = [int(row[0]) for row in removed]
        # Read after the removals: a prune that commits after that read finds it complete, one
        # that committed before it is seen here.
        if seq < self.removals_pruned_upto():
            return SubscriptionChanges(upto, [], [], complete=False)
        return SubscriptionChanges(upto, changed, removed_ids)

    def removals_pruned_upto(self) -> int:
        """The change number up to which removal records were pruned (0: never)."""
        row = self.conn.execute("SELECT value FROM sequences WHERE name = 'subscription_removals_pruned'").fetchone()
        return int(row[0]) if row else 0

    def prune_removals(self, upto_seq: int) -> int:
        """Delete the removal records of changes up to `upto_seq` (call with a number every
        reader of the feed has applied, e.g. one a day old); returns how many were deleted.
        A reader still behind it is told to reload (`SubscriptionChanges.complete`)."""
        with transaction(self.conn):
            cursor = self.conn.execute("DELETE FROM subscription_removals WHERE changed_seq <= ?", (upto_seq,))
            self.conn.execute(
                """INSERT INTO sequences (name, value) VALUES ('subscription_removals_pruned', ?)
                   ON CONFLICT (name) DO UPDATE SET value = CASE WHEN excluded.value > sequences.value
                   THEN excluded.value ELSE sequences.value END""",
                (upto_seq,),
            )
        return cursor.rowcount

    def _record_removals(self, where: str, params: Sequence[object]) -> None:
        self.conn.execute(
            f"""INSERT INTO subscription_removals (subscription_id, changed_seq)
                SELECT id, ? FROM subscriptions WHERE {where}
                ON CONFLICT (subscription_id) DO UPDATE SET changed_seq = excluded.changed_seq""",
            (self._next_seq(), *params),
        )

    def remove(self, subscription_ids: Sequence[int]) -> int:
        """Delete subscriptions by id; returns how many were deleted."""
        if not subscription_ids:
            return 0
        marks = ",".join("?" * len(subscription_ids))
        with transaction(self.conn):
            self._record_removals(f"id IN ({marks})", list(subscription_ids))
            cursor = self.conn.execute(f"DELETE FROM subscriptions WHERE id IN ({marks})", list(subscription_ids))
        return cursor.rowcount

    def remove_all(self, platform: str, user_id: str) -> int:
        """Delete every subscription of a user; returns how many there were."""
        with transaction(self.conn):
            self._record_removals("platform = ? AND user_id = ?", (platform, user_id))
            cursor = self.conn.execute(
                "DELETE FROM subscriptions WHERE platform = ? AND user_id = ?", (platform, user_id)
            )
        return cursor.rowcount

    def pause_for_user(self, platform: str, user_id: str, reason: str) -> int:
        """Pause every active subscription of a user (e.g. DMs blocked); returns how many."""
        with transaction(self.conn):
            cursor = self.conn.execute(
                """UPDATE subscriptions SET paused_reason = ?, changed_seq = ?
                   WHERE platform = ? AND user_id = ? AND paused_reason = ''""",
                (reason or "paused", self._next_seq(), platform, user_id),
            )
        return cursor.rowcount

    def resume_for_user(self, platform: str, user_id: str) -> int:
        """Resume a user's paused subscriptions; returns how many were paused."""
        with transaction(self.conn):
            cursor = self.conn.execute(
                """UPDATE subscriptions SET paused_reason = '', changed_seq = ?
                   WHERE platform = ? AND user_id = ? AND paused_reason != ''""",
                (self._next_seq(), platform, user_id),
            )
        return cursor.rowcount

    def forget_prefix(self, platform: str, id_prefix: str) -> int:
        """Delete the subscriptions of every user whose id starts with `id_prefix` (a
        workspace's, see bot.core.ids.scoped_id); returns how many. Recorded in the change feed
        like every deletion, so a long-lived matcher stops alerting them."""
        where, params = "platform = ? AND substr(user_id, 1, ?) = ?", (platform, len(id_prefix), id_prefix)
        with transaction(self.conn):
            self._record_removals(where, params)
            cursor = self.conn.execute(f"DELETE FROM subscriptions WHERE {where}", params)
        return cursor.rowcount

    def count(self) -> int:
        """How many subscriptions exist."""
        return int(self.conn.execute("SELECT COUNT(*) FROM subscriptions").fetchone()[0])


# --- the alert queue -------------------------------------------------------------------------


_ROWS_PER_INSERT = 100


def _insert_rows(conn: Connection, head: str, row: str, tail: str, values: Sequence[object]) -> int:
    """Run `head VALUES row, row, ... tail` over flat `values` (one row's worth after another),
    _ROWS_PER_INSERT rows per statement: half the cost of one statement per row for the scan's
    millions. Returns how many rows were written."""
    width = row.count("?")
    whole = len(values) - len(values) % (width * _ROWS_PER_INSERT)
    written = 0
    if whole:
        many = f"{head} VALUES {', '.join([row] * _ROWS_PER_INSERT)} {tail}"
        cursor = conn.executemany(many, zip(*[iter(values[:whole])] * (width * _ROWS_PER_INSERT), strict=True))
        written += max(cursor.rowcount, 0)
    if whole < len(values):
        cursor = conn.executemany(f"{head} VALUES {row} {tail}", zip(*[iter(values[whole:])] * width, strict=True))
        written += max(cursor.rowcount, 0)
    return written


def _id_list(ids: Sequence[int]) -> str:
    """The JSON list of subscription ids, as json.dumps writes it ("[3, 17]"), without its cost."""
    return "[" + ", ".join(map(str, ids)) + "]"


@dataclass(frozen=True, slots=True)
class QueuedAlert:
    """A paper matched for a user and not yet put in a DM."""

    paper_id: str
    subscription_ids: tuple[int, ...]
    matched_at: datetime


class AlertQueue:
    """Papers matched per user, waiting for that user's next alert window; the count of
    matches beyond what a DM lists (kept in user_state); and the scan watermark."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def watermark(self, name: str) -> datetime | None:
        """A named point in time (e.g. how far new papers were matched), or None."""
        row = self.conn.execute("SELECT value FROM watermarks WHERE name = ?", (name,)).fetchone()
        return from_iso(row[0]) if row else None

    def set_watermark(self, name: str, value: datetime) -> None:
        """Move a named watermark."""
        self.conn.execute(
            "INSERT INTO watermarks (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, to_iso(value)),
        )

    def seq_watermark(self, name: str) -> int | None:
        """A named point in a sequence (e.g. up to which search sequence number new papers were
        matched), or None."""
        row = self.conn.execute("SELECT value FROM watermarks WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else None

    def advance_seq_watermark(self, name: str, expected: int | None, value: int) -> bool:
        """Move a sequence watermark from `expected` (None: not set yet) to `value`, only if it
        still is `expected`; returns whether it moved. Compare-and-set: of two writers that read
        the same value, the second (waiting for the first's row lock, then reading its commit)
        moves nothing."""
        if expected is None:
            cursor = self.conn.execute(
                "INSERT INTO watermarks (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", (name, str(value))
            )
        else:
            cursor = self.conn.execute(
                "UPDATE watermarks SET value = ? WHERE name = ? AND value = ?", (str(value), name, str(expected))
            )
        return cursor.rowcount == 1

    def add(self, matches: Iterable[tuple[str, str, str, Sequence[int]]], now: datetime) -> int:
        """Queue (platform, user, paper id, subscription ids) matches; a paper already queued or
        alerted for that user is ignored (a user never gets the same paper twice)."""
        matched_at = to_iso(now)
        # Streamed, not listed first: a scan over a million subscriptions queues millions.
        cursor = self.conn.executemany(
            """INSERT INTO alert_queue (platform, user_id, paper_id, subscription_ids, matched_at)
               VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING""",
            ((p, u, pid, _id_list(ids), matched_at) for p, u, pid, ids in matches),
        )
        return max(cursor.rowcount, 0)

    def add_columns(
        self,
        platforms: Iterable[str],
        user_ids: Iterable[str],
        paper_ids: Iterable[str],
        subscription_ids: Iterable[int],
        now: datetime,
    ) -> int:
        """`add` for rows given as columns, each matched by ONE subscription: the alert scan's
        millions of rows go to SQLite zipped, with no Python code run per row, many rows per
        statement (`_insert_rows`)."""
        values = list(chain.from_iterable(zip(platforms, user_ids, paper_ids, subscription_ids, repeat(to_iso(now)))))
        return _insert_rows(
            self.conn,
            "INSERT INTO alert_queue (platform, user_id, paper_id, subscription_ids, matched_at)",
            "(?, ?, ?, '[' || ? || ']', ?)",  # SQLite writes the JSON list of the one id
            "ON CONFLICT DO NOTHING",
            values,
        )

    def waiting_users(self) -> list[tuple[str, str]]:
        """(platform, user) pairs with queued papers, in a stable order."""
        rows = self.conn.execute(
            "SELECT DISTINCT platform, user_id FROM alert_queue WHERE outbox_key IS NULL ORDER BY platform, user_id"
        )
        return [(row[0], row[1]) for row in rows]

    def waiting(self, platform: str, user_id: str) -> list[QueuedAlert]:
        """A user's queued papers, oldest match first."""
        rows = self.conn.execute(
            """SELECT paper_id, subscription_ids, matched_at FROM alert_queue
               WHERE platform = ? AND user_id = ? AND outbox_key IS NULL ORDER BY matched_at, rowid""",
            (platform, user_id),
        )
        return [
            QueuedAlert(row[0], tuple(json.loads(row[1])), from_iso(row[2]))  # type: ignore[arg-type]
            for row in rows
        ]

    def assign(self, platform: str, user_id: str, paper_ids: Sequence[str], outbox_key: str) -> None:
        """Mark queued papers as handled by one alert DM (its outbox key)."""
        self.conn.executemany(
            "UPDATE alert_queue SET outbox_key = ? WHERE platform = ? AND user_id = ? AND paper_id = ?",
            [(outbox_key, platform, user_id, pid) for pid in paper_ids],
        )

    def claim(self, platform: str, user_id: str, paper_ids: Sequence[str], outbox_key: str) -> bool:
        """Mark a user's queued papers as handled by one alert DM, only if every one of them is
        still waiting; returns whether all were (else the caller must roll back: another
        replica cut a batch from them first). Run it in the transaction that enqueues the DM.

        On PostgreSQL each row taken is locked until the transaction ends; a concurrent claim of
        the same rows waits, then reads them taken. The ids are claimed in sorted order, so two
        claims of overlapping sets lock in the same order."""
        wanted = sorted(set(paper_ids))
        claimed = 0
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            cursor = self.conn.execute(
                f"""UPDATE alert_queue SET outbox_key = ? WHERE platform = ? AND user_id = ?
                    AND outbox_key IS NULL AND paper_id IN ({','.join('?' * len(chunk))})""",
                (outbox_key, platform, user_id, *chunk),
            )
            claimed += max(cursor.rowcount, 0)
        return claimed == len(wanted)

    def add_overflow(self, counts: Mapping[tuple[str, str], int]) -> None:
        """Count matches that were not queued because a user's batch was already full."""
        _insert_rows(
            self.conn,
            "INSERT INTO user_state (platform, user_id, alert_overflow)",
            "(?, ?, ?)",
            """ON CONFLICT (platform, user_id) DO UPDATE SET
               alert_overflow = user_state.alert_overflow + excluded.alert_overflow""",
            [value for (platform, user_id), count in counts.items() if count for value in (platform, user_id, count)],
        )

    def overflow(self, platform: str, user_id: str) -> int:
        """How many of a user's matches were counted but not queued since their last DM."""
        row = self.conn.execute(
            "SELECT alert_overflow FROM user_state WHERE platform = ? AND user_id = ?", (platform, user_id)
        ).fetchone()
        return int(row[0]) if row else 0

    def consume_overflow(self, platform: str, user_id: str, counted: int) -> None:
        """Subtract the `counted` matches a DM reported as "+N more" (a scan may have counted
        more since the DM read the count; those stay for the next DM)."""
        self.conn.execute(
            """UPDATE user_state SET alert_overflow = CASE WHEN alert_overflow > ? THEN alert_overflow - ? ELSE 0 END
               WHERE platform = ? AND user_id = ?""",
            (counted, counted, platform, user_id),
        )

    def reset_overflow(self, platform: str, user_id: str) -> None:
        """Start counting afresh (the count went into a DM, or the user unsubscribed)."""
        self.conn.execute(
            "UPDATE user_state SET alert_overflow = 0 WHERE platform = ? AND user_id = ?", (platform, user_id)
        )

    def forget_prefix(self, platform: str, id_prefix: str) -> int:
        """Delete every queued alert (waiting or assigned) of users whose id starts with
        `id_prefix`; returns how many."""
        cursor = self.conn.execute(
            "DELETE FROM alert_queue WHERE platform = ? AND substr(user_id, 1, ?) = ?",
            (platform, len(id_prefix), id_prefix),
        )
        return cursor.rowcount

    def drop_user(self, platform: str, user_id: str) -> int:
        """Forget a user's queued papers (they unsubscribed from everything)."""
        cursor = self.conn.execute(
            "DELETE FROM alert_queue WHERE platform = ? AND user_id = ? AND outbox_key IS NULL",
            (platform, user_id),
        )
        self.reset_overflow(platform, user_id)
        return cursor.rowcount
