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

Claims (several replicas on one PostgreSQL database)
    `claim_due` hands each due row to one holder (a replica id) until `lease_until`: one
    `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING *`, so two replicas
    claiming at the same moment never get the same row (SQLite has no SKIP LOCKED and needs
    none: one process writes a SQLite store). The holder renews its leases while it sends
    (`renew`); a holder that dies stops renewing, its leases expire and any replica's next
    `claim_due` takes the rows over, resuming at the part the dead holder's bookkeeping says.
    Every per-row write of a sending replica (`start_sending`, `start_part`, `record_part`,
    `mark_sent`, `reschedule`, `mark_failed`) may name its `holder`: it then changes the row
    only while that holder still holds the claim, and says whether it did, so a replica whose
    lease expired cannot record over the new holder. Rescheduling or failing a row releases it.
    Lease times on PostgreSQL are the database server's clock (`statement_timestamp()`), not a
    replica's: replicas' clocks may disagree by more than a lease (and `PAPERBOT_CLOCK_START`
    moves one on purpose), which would let one take over another's live claims. On SQLite they
    are the injected clock (one process). Whether a row is due stays on the bot's clock.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.core.clock import from_iso, to_iso
from bot.core.outbox import OutboxKind, digest_key, digest_now_prefix
from bot.store.backend import Connection, Row, is_postgres
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
    claimed_by: str | None = None  # the replica that holds (or last held) the row
    lease_until: datetime | None = None  # when that claim lapses unless renewed

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
        claimed_by=row["claimed_by"],
        lease_until=from_iso(row["lease_until"]),
    )


# PostgreSQL's own time as `to_iso` writes it (microseconds always shown; the text still sorts
# in time order against values without them: "+" sorts before ".").
_PG_ISO = "to_char(({}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
_PG_NOW = _PG_ISO.format("statement_timestamp()")
_PG_LEASE_END = _PG_ISO.format("statement_timestamp() + make_interval(secs => ?)")


def _lease_clock(conn: Connection, now: datetime, lease: timedelta) -> tuple[str, tuple[Any, ...], str, tuple[Any, ...]]:
    """The SQL for "now" and for "now + lease" in lease comparisons, each with its parameters.

    On PostgreSQL both are the database server's clock, whatever the replica's clock says: each
    replica has its own (and `PAPERBOT_CLOCK_START` moves it), so a replica whose clock runs
    ahead by more than a lease would take over every live claim. On SQLite (one process) they
    are the injected clock, `now`."""
    if is_postgres(conn):
        return _PG_NOW, (), _PG_LEASE_END, (lease.total_seconds(),)
    return "?", (to_iso(now),), "?", (to_iso(now + lease),)


def _held_by(holder: str | None) -> tuple[str, tuple[str, ...]]:
    """The WHERE clause (and its parameter) that limits a write to rows `holder` holds; none
    when no holder is named (a single process, tests and tools)."""
    return (" AND claimed_by = ?", (holder,)) if holder is not None else ("", ())


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

    # --- claims (see the module) ---------------------------------------------------------------

    def claim_due(
        self,
        holder: str,
        now: datetime,
        lease: timedelta,
        limit: int = 100,
        *,
        platforms: Collection[str],
        keys: Collection[str] | None = None,
        after_id: int = 0,
    ) -> list[OutboxRow]:
        """Claim for `holder`, until now + lease, up to `limit` rows that `due` would return and
        that no other holder's unexpired lease covers (rows `holder` already holds are claimed
        again, with a fresh lease); returns them oldest first. On PostgreSQL rows another
        transaction is claiming at this moment are skipped (`FOR UPDATE SKIP LOCKED`), so
        concurrent claims never return the same row.

        What is due is decided by `now` (the bot's clock schedules digests and retries); when a
        lease ends is decided, on PostgreSQL, by the database's clock (`statement_timestamp()`),
        the one clock every replica shares, and on SQLite by `now` (`_lease_clock`)."""
        if not platforms or (keys is not None and not keys):
            return []
        lease_now, now_params, lease_end, end_params = _lease_clock(self.conn, now, lease)
        where = (
            "state IN ('pending', 'sending') AND next_attempt_at <= ? AND id > ? "
            f"AND platform IN ({','.join('?' * len(platforms))}) "
            f"AND (lease_until IS NULL OR lease_until < {lease_now} OR claimed_by = ?)"
        )
        params: list[Any] = [*end_params, to_iso(now), after_id, *platforms, *now_params, holder]
        if keys is not None:
            where += f" AND key IN ({','.join('?' * len(keys))})"
            params.extend(keys)
        skip_locked = " FOR UPDATE SKIP LOCKED" if is_postgres(self.conn) else ""
        params.append(limit)
        rows = self.conn.execute(
            f"""UPDATE outbox SET claimed_by = ?, lease_until = {lease_end} WHERE id IN
                (SELECT id FROM outbox WHERE {where} ORDER BY id LIMIT ?{skip_locked}) RETURNING *""",
            [holder, *params],
        ).fetchall()
        return sorted((_row(row) for row in rows), key=lambda row: row.id)

    def renew(self, holder: str, now: datetime, lease: timedelta) -> int:
        """Extend every unexpired lease `holder` holds on an unfinished row to now + lease (the
        heartbeat of a replica that is sending); returns how many rows it still holds. On
        PostgreSQL "now" is the database's clock, not `now` (see `claim_due`)."""
        lease_now, now_params, lease_end, end_params = _lease_clock(self.conn, now, lease)
        cursor = self.conn.execute(
            f"""UPDATE outbox SET lease_until = {lease_end} WHERE claimed_by = ? AND lease_until >= {lease_now}
               AND state IN ('pending', 'sending')""",
            (*end_params, holder, *now_params),
        )
        return int(cursor.rowcount)

    def release(self, holder: str, row_id: int | None = None) -> int:
        """Give up `holder`'s claims on unfinished rows (one row, or all of them), so that any
        replica may take them at once; returns how many were released."""
        sql = (
            "UPDATE outbox SET claimed_by = NULL, lease_until = NULL WHERE claimed_by = ? "
            "AND state IN ('pending', 'sending')"
        )
        params: list[Any] = [holder]
        if row_id is not None:
            sql += " AND id = ?"
            params.append(row_id)
        return int(self.conn.execute(sql, params).rowcount)

    # --- sending one row (each write guarded by the holder's claim when one is named) -----------

    def start_sending(
        self, row_id: int, parts: Sequence[dict[str, Any]], now: datetime, *, holder: str | None = None
    ) -> bool:
        """Mark a row as being sent, keeping its rendered parts (rendered once, on first use);
        False when `holder` no longer holds it."""
        held, param = _held_by(holder)
        cursor = self.conn.execute(
            f"UPDATE outbox SET state = 'sending', parts = COALESCE(parts, ?), updated_at = ? WHERE id = ?{held}",
            (json.dumps(list(parts), ensure_ascii=False), to_iso(now), row_id, *param),
        )
        return cursor.rowcount == 1

    def start_part(self, row_id: int, index: int, sends: int, now: datetime, *, holder: str | None = None) -> bool:
        """Record, before its request goes out, that the send number `sends` of part `index`
        starts (committed at once: a crash right after it must find it); False, recording
        nothing, when `holder` no longer holds the row (the part must then not be sent)."""
        held, param = _held_by(holder)
        cursor = self.conn.execute(
            f"UPDATE outbox SET unanswered_part = ?, unanswered_sends = ?, updated_at = ? WHERE id = ?{held}",
            (index, sends, to_iso(now), row_id, *param),
        )
        return cursor.rowcount == 1

    def record_part(
        self, row_id: int, index: int, message_id: str, now: datetime, *, holder: str | None = None
    ) -> bool:
        """Record that part `index` reached the platform as `message_id` (committed at once),
        which also clears its unanswered send; returns whether it was recorded.

        Guarded by the expected `parts_sent`, so recording the same part twice changes nothing,
        and by the claim when `holder` is named: a holder whose lease was taken over records
        nothing (the new holder finds the part unanswered and sends it once more).
        """
        held, param = _held_by(holder)
        with transaction(self.conn):
            row = self.conn.execute(
                "SELECT parts_sent, delivery_ids FROM outbox WHERE id = ?", (row_id,)
            ).fetchone()
            if row is None or row["parts_sent"] != index:
                return False
            ids = json.loads(row["delivery_ids"]) + [message_id]
            cursor = self.conn.execute(
                f"""UPDATE outbox SET parts_sent = ?, delivery_ids = ?, unanswered_part = NULL,
                   unanswered_sends = 0, updated_at = ? WHERE id = ? AND parts_sent = ?{held}""",
                (index + 1, json.dumps(ids), to_iso(now), row_id, index, *param),
            )
            return cursor.rowcount == 1

    def mark_sent(self, row_id: int, now: datetime, *, holder: str | None = None) -> bool:
        """Every part arrived: the row is done and never sent again (its lease ends; the
        holder's name stays, for the record). False when `holder` no longer holds it."""
        held, param = _held_by(holder)
        cursor = self.conn.execute(
            f"""UPDATE outbox SET state = 'sent', last_error = '', lease_until = NULL, updated_at = ?
                WHERE id = ?{held}""",
            (to_iso(now), row_id, *param),
        )
        return cursor.rowcount == 1

    def reschedule(
        self,
        row_id: int,
        next_attempt_at: datetime,
        error: str,
        now: datetime,
        *,
        count_attempt: bool,
        holder: str | None = None,
    ) -> int:
        """Put a row back to pending for a later attempt, released for any replica; returns the
        attempts counted so far. Changes nothing when `holder` no longer holds it.

        Rate limiting does not count as an attempt (`count_attempt=False`); failures do. A
        failure is an answer, so the part it was about is no longer unanswered.
        """
        held, param = _held_by(holder)
        self.conn.execute(
            f"""UPDATE outbox SET state = 'pending', attempts = attempts + ?, next_attempt_at = ?,
               last_error = ?, unanswered_part = NULL, unanswered_sends = 0, claimed_by = NULL,
               lease_until = NULL, updated_at = ? WHERE id = ?{held}""",
            (1 if count_attempt else 0, to_iso(next_attempt_at), error[:500], to_iso(now), row_id, *param),
        )
        row = self.conn.execute("SELECT attempts FROM outbox WHERE id = ?", (row_id,)).fetchone()
        return int(row[0]) if row else 0

    def mark_failed(
        self, row_id: int, error: str, now: datetime, *, count_attempt: bool = True, holder: str | None = None
    ) -> bool:
        """Give up on a row; it stays in the table with its error (never dropped silently).
        False, changing nothing, when `holder` no longer holds it."""
        held, param = _held_by(holder)
        cursor = self.conn.execute(
            f"""UPDATE outbox SET state = 'failed', attempts = attempts + ?, last_error = ?,
               unanswered_part = NULL, unanswered_sends = 0, lease_until = NULL, updated_at = ?
               WHERE id = ?{held}""",
            (1 if count_attempt else 0, error[:500], to_iso(now), row_id, *param),
        )
        return cursor.rowcount == 1

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
        self.record_delivered_rows([(channel_key, paper_id, local_date, version) for paper_id, version in papers])

    def record_delivered_rows(self, rows: Sequence[tuple[str, str, str, int]]) -> None:
        """`record_delivered` for many channels at once, one statement: (channel key, paper
        id, local date, version) each."""
        self.conn.executemany(
            """INSERT INTO delivered_papers (channel_key, paper_id, local_date, version)
               VALUES (?, ?, ?, ?)
               ON CONFLICT (channel_key, paper_id) DO UPDATE SET
               version = CASE WHEN excluded.version > delivered_papers.version
                         THEN excluded.version ELSE delivered_papers.version END,
               local_date = excluded.local_date""",
            rows,
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
