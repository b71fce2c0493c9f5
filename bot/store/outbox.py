"""The outbox (every digest message and alert DM, keyed for exactly-once delivery) and the
ledger of papers already posted to each channel (`delivered_papers`).

An outbox row moves pending -> sending -> sent, or to failed. `parts` holds the rendered
platform messages once the first attempt rendered them, and `parts_sent` / `delivery_ids` grow
after each part the platform accepted, so a resumed row continues at the next part. Before each
part's request goes out, `start_part` commits `unanswered_part` (its index) and
`unanswered_sends` (how many sends of it have started without an answer); recording the part,
or any answer (an error included), clears them. A row read back with them set was interrupted
mid-send by a crash or a stop. The policy (retries, backoff, pausing, how often an unanswered
part may be resent) lives in `bot.delivery.outbox`; this module only reads and writes rows.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.core.clock import from_iso, to_iso
from bot.core.outbox import OutboxKind, digest_key, digest_now_prefix
from bot.store.backend import Connection, Row
from bot.store.db import transaction

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
STATES = (PENDING, SENDING, SENT, FAILED)


@dataclass(slots=True)
class OutboxRow:
    """One message (possibly several platform parts) waiting for, or done with, delivery."""

    id: int
    key: str
    kind: str  # an OutboxKind value (stored as text)
    platform: str
    destination: str  # a channel id; for alert and notice rows, the user id to DM
    payload: str  # the Reply as JSON (bot.delivery.outbox.reply_to_json)
    state: str
    attempts: int
    next_attempt_at: datetime
    parts_sent: int
    delivery_ids: list[str] = field(default_factory=list)
    last_error: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    parts: list[dict[str, Any]] | None = None
    unanswered_part: int | None = None  # a part whose send started but whose answer is unknown
    unanswered_sends: int = 0  # how many sends of that part started without an answer

    def unanswered_sends_of(self, index: int) -> int:
        """How many sends of part `index` started without their answer being recorded."""
        return self.unanswered_sends if self.unanswered_part == index else 0

    @property
    def is_dm(self) -> bool:
        """Whether the destination is a user to DM rather than a channel."""
        return OutboxKind(self.kind).is_dm


def _row(row: Row) -> OutboxRow:
    return OutboxRow(
        id=row["id"],
        key=row["key"],
        kind=row["kind"],
        platform=row["platform"],
        destination=row["destination"],
        payload=row["payload"],
        state=row["state"],
        attempts=row["attempts"],
        next_attempt_at=from_iso(row["next_attempt_at"]),  # type: ignore[arg-type]
        parts_sent=row["parts_sent"],
        delivery_ids=json.loads(row["delivery_ids"]),
        last_error=row["last_error"],
        created_at=from_iso(row["created_at"]),
        updated_at=from_iso(row["updated_at"]),
        parts=json.loads(row["parts"]) if row["parts"] else None,
        unanswered_part=row["unanswered_part"],
        unanswered_sends=row["unanswered_sends"],
    )


class OutboxStore:
    """Reads and writes outbox rows and the delivered-papers ledger."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- the outbox ----------------------------------------------------------------------------

    def enqueue(
        self, key: str, kind: str, platform: str, destination: str, payload: str, now: datetime
    ) -> bool:
        """Add a row unless one with this key exists; returns whether a row was added.

        The key is the idempotency key: enqueueing the same digest or alert batch again is a
        no-op, whatever state the first row is in.
        """
        now_iso = to_iso(now)
        cursor = self.conn.execute(
            """INSERT INTO outbox (key, kind, platform, destination, payload, state, attempts,
               next_attempt_at, parts_sent, delivery_ids, last_error, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, 0, '[]', '', ?, ?)
               ON CONFLICT (key) DO NOTHING""",
            (key, kind, platform, destination, payload, now_iso, now_iso, now_iso),
        )
        return cursor.rowcount == 1

    def get(self, key: str) -> OutboxRow | None:
        """The row with this idempotency key, or None."""
        row = self.conn.execute("SELECT * FROM outbox WHERE key = ?", (key,)).fetchone()
        return _row(row) if row else None

    def get_by_id(self, row_id: int) -> OutboxRow | None:
        """The row with this id, or None."""
        row = self.conn.execute("SELECT * FROM outbox WHERE id = ?", (row_id,)).fetchone()
        return _row(row) if row else None

    def due(
        self,
        now: datetime,
        platforms: Collection[str],
        *,
        keys: Collection[str] | None = None,
        after_id: int = 0,
        limit: int = 100,
    ) -> list[OutboxRow]:
        """Rows to (re)try now, oldest first: pending or sending (a send interrupted by a crash
        or a cancelled task), whose next attempt time has come, on the given platforms; only
        rows after `after_id` (to page through them)."""
        if not platforms:
            return []
        marks = ",".join("?" * len(platforms))
        sql = (
            f"SELECT * FROM outbox WHERE state IN ('pending', 'sending') AND next_attempt_at <= ? "
            f"AND id > ? AND platform IN ({marks})"
        )
        params: list[Any] = [to_iso(now), after_id, *platforms]
        if keys is not None:
            if not keys:
                return []
            sql += f" AND key IN ({','.join('?' * len(keys))})"
            params.extend(keys)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        return [_row(row) for row in self.conn.execute(sql, params)]

    def start_sending(self, row_id: int, parts: Sequence[dict[str, Any]], now: datetime) -> None:
        """Mark a row as being sent, keeping its rendered parts (rendered once, on first use)."""
        self.conn.execute(
            "UPDATE outbox SET state = 'sending', parts = COALESCE(parts, ?), updated_at = ? WHERE id = ?",
            (json.dumps(list(parts), ensure_ascii=False), to_iso(now), row_id),
        )

    def start_part(self, row_id: int, index: int, sends: int, now: datetime) -> None:
        """Record, before its request goes out, that the send number `sends` of part `index`
        starts (committed at once: a crash right after it must find it)."""
        self.conn.execute(
            "UPDATE outbox SET unanswered_part = ?, unanswered_sends = ?, updated_at = ? WHERE id = ?",
            (index, sends, to_iso(now), row_id),
        )

    def record_part(self, row_id: int, index: int, message_id: str, now: datetime) -> None:
        """Record that part `index` reached the platform as `message_id` (committed at once),
        which also clears its unanswered send.

        Guarded by the expected `parts_sent`, so recording the same part twice changes nothing.
        """
        with transaction(self.conn):
            row = self.conn.execute(
                "SELECT parts_sent, delivery_ids FROM outbox WHERE id = ?", (row_id,)
            ).fetchone()
            if row is None or row["parts_sent"] != index:
                return
            ids = json.loads(row["delivery_ids"]) + [message_id]
            self.conn.execute(
                """UPDATE outbox SET parts_sent = ?, delivery_ids = ?, unanswered_part = NULL,
                   unanswered_sends = 0, updated_at = ? WHERE id = ?""",
                (index + 1, json.dumps(ids), to_iso(now), row_id),
            )

    def mark_sent(self, row_id: int, now: datetime) -> None:
        """Every part arrived: the row is done and never sent again."""
        self.conn.execute(
            "UPDATE outbox SET state = 'sent', last_error = '', updated_at = ? WHERE id = ?",
            (to_iso(now), row_id),
        )

    def reschedule(
        self, row_id: int, next_attempt_at: datetime, error: str, now: datetime, *, count_attempt: bool
    ) -> int:
        """Put a row back to pending for a later attempt; returns the attempts counted so far.

        Rate limiting does not count as an attempt (`count_attempt=False`); failures do. A
        failure is an answer, so the part it was about is no longer unanswered.
        """
        self.conn.execute(
            """UPDATE outbox SET state = 'pending', attempts = attempts + ?, next_attempt_at = ?,
               last_error = ?, unanswered_part = NULL, unanswered_sends = 0, updated_at = ?
               WHERE id = ?""",
            (1 if count_attempt else 0, to_iso(next_attempt_at), error[:500], to_iso(now), row_id),
        )
        row = self.conn.execute("SELECT attempts FROM outbox WHERE id = ?", (row_id,)).fetchone()
        return int(row[0]) if row else 0

    def mark_failed(self, row_id: int, error: str, now: datetime, *, count_attempt: bool = True) -> None:
        """Give up on a row; it stays in the table with its error (never dropped silently)."""
        self.conn.execute(
            """UPDATE outbox SET state = 'failed', attempts = attempts + ?, last_error = ?,
               unanswered_part = NULL, unanswered_sends = 0, updated_at = ? WHERE id = ?""",
            (1 if count_attempt else 0, error[:500], to_iso(now), row_id),
        )

    def rows(self, *, state: str | None = None, kind: str | None = None, limit: int = 1000) -> list[OutboxRow]:
        """Rows, oldest first, optionally of one state and/or kind."""
        clauses, params = [], []
        if state is not None:
            clauses.append("state = ?")
            params.append(state)
        if kind is not None:
            clauses.append("kind = ?")
            params.append(kind)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT * FROM outbox {where} ORDER BY id LIMIT ?"
        return [_row(row) for row in self.conn.execute(sql, [*params, limit])]

    def digest_payload(self, channel_key: str, local_date: str) -> str | None:
        """The Reply JSON that one channel's digest of one local date posted: the scheduled
        digest, else the latest `digest now` posted that (UTC) day; only rows fully sent. None
        when there is none (never posted, not sent yet, or pruned by retention)."""
        scheduled = self.conn.execute(
            "SELECT payload FROM outbox WHERE key = ? AND kind = ? AND state = 'sent'",
            (digest_key(channel_key, local_date), OutboxKind.DIGEST.value),
        ).fetchone()
        if scheduled is not None:
            return str(scheduled[0])
        prefix = digest_now_prefix(channel_key, local_date)
        latest = self.conn.execute(
            """SELECT payload FROM outbox WHERE kind = ? AND state = 'sent' AND substr(key, 1, ?) = ?
               ORDER BY id DESC LIMIT 1""",
            (OutboxKind.DIGEST_NOW.value, len(prefix), prefix),
        ).fetchone()
        return str(latest[0]) if latest is not None else None

    def waiting(self) -> tuple[int, datetime | None]:
        """How many rows wait for delivery (pending or being sent) and when the oldest of them
        was written (None when none waits). Read through the `outbox_due` index, so it costs
        what waits, not the whole history (what /metrics reads at every scrape)."""
        row = self.conn.execute(
            "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE state IN (?, ?)", (PENDING, SENDING)
        ).fetchone()
        return int(row[0]), from_iso(row[1])

    def counts(self) -> dict[str, int]:
        """How many rows are in each state."""
        found = dict(self.conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())
        return {state: int(found.get(state, 0)) for state in STATES}

    def forget_prefix(self, platform: str, id_prefix: str) -> int:
        """Delete every row, in any state, whose destination (a channel or user id) starts
        with `id_prefix`, and those channels' delivered-papers ledger; returns how many rows
        were still pending or being sent (what will now never be delivered)."""
        key_prefix = f"{platform}:{id_prefix}"
        self.conn.execute(
            "DELETE FROM delivered_papers WHERE substr(channel_key, 1, ?) = ?", (len(key_prefix), key_prefix)
        )
        match = "platform = ? AND substr(destination, 1, ?) = ?"
        params = (platform, len(id_prefix), id_prefix)
        undelivered = self.conn.execute(
            f"SELECT COUNT(*) FROM outbox WHERE {match} AND state IN ('pending', 'sending')", params
        ).fetchone()[0]
        self.conn.execute(f"DELETE FROM outbox WHERE {match}", params)
        return int(undelivered)

    # --- papers already posted to a channel ----------------------------------------------------

    def record_delivered(
        self, channel_key: str, papers: Iterable[tuple[str, int]], local_date: str
    ) -> None:
        """Remember that these (paper id, version) pairs were posted to a channel."""
        self.conn.executemany(
            """INSERT INTO delivered_papers (channel_key, paper_id, local_date, version)
               VALUES (?, ?, ?, ?)
               ON CONFLICT (channel_key, paper_id) DO UPDATE SET
               version = CASE WHEN excluded.version > delivered_papers.version
                         THEN excluded.version ELSE delivered_papers.version END,
               local_date = excluded.local_date""",
            [(channel_key, paper_id, local_date, version) for paper_id, version in papers],
        )

    def delivered_versions(self, channel_key: str, paper_ids: Sequence[str]) -> dict[str, int]:
        """For those of `paper_ids` already posted to the channel: the highest version posted."""
        found: dict[str, int] = {}
        for start in range(0, len(paper_ids), 500):
            chunk = list(paper_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                f"SELECT paper_id, version FROM delivered_papers WHERE channel_key = ? AND paper_id IN ({marks})",
                [channel_key, *chunk],
            ):
                found[row[0]] = int(row[1])
        return found
