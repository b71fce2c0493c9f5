"""Per-user state (quiet hours, alert windows, blocked DMs) and notices waiting for a user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from bot.core.clock import from_iso, to_iso
from bot.store.backend import Connection
from bot.store.db import transaction

# --- per-user state --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserState:
    """What paperbot remembers about one user for alerts."""

    platform: str
    user_id: str
    dm_blocked: bool = False
    quiet_start: time | None = None
    quiet_end: time | None = None
    timezone: str = "UTC"
    last_alert_at: datetime | None = None


def _parse_hhmm(text: str | None) -> time | None:
    if not text:
        return None
    hour, minute = (int(part) for part in text.split(":")[:2])
    return time(hour, minute)


class UserStateStore:
    """Quiet hours, blocked DMs and the last alert time, per (platform, user)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, platform: str, user_id: str) -> UserState:
        """A user's state (defaults when nothing was recorded)."""
        row = self.conn.execute(
            "SELECT * FROM user_state WHERE platform = ? AND user_id = ?", (platform, user_id)
        ).fetchone()
        if row is None:
            return UserState(platform, user_id)
        return UserState(
            platform=platform,
            user_id=user_id,
            dm_blocked=bool(row["dm_blocked"]),
            quiet_start=_parse_hhmm(row["quiet_start"]),
            quiet_end=_parse_hhmm(row["quiet_end"]),
            timezone=row["timezone"],
            last_alert_at=from_iso(row["last_alert_at"]),
        )

    def _ensure(self, platform: str, user_id: str) -> None:
        self.conn.execute(
            "INSERT INTO user_state (platform, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (platform, user_id),
        )

    def set_quiet_hours(
        self, platform: str, user_id: str, start: time | None, end: time | None, timezone: str
    ) -> None:
        """Set (or with None, clear) the daily span in which no alert DM is sent."""
        self._ensure(platform, user_id)
        self.conn.execute(
            "UPDATE user_state SET quiet_start = ?, quiet_end = ?, timezone = ? WHERE platform = ? AND user_id = ?",
            (
                start.strftime("%H:%M") if start else None,
                end.strftime("%H:%M") if end else None,
                timezone,
                platform,
                user_id,
            ),
        )

    def set_dm_blocked(self, platform: str, user_id: str, blocked: bool) -> None:
        """Remember that a user does (not) accept DMs from paperbot."""
        self._ensure(platform, user_id)
        self.conn.execute(
            "UPDATE user_state SET dm_blocked = ? WHERE platform = ? AND user_id = ?",
            (int(blocked), platform, user_id),
        )

    def set_last_alert_at(self, platform: str, user_id: str, when: datetime) -> None:
        """Record when the user's latest alert batch was cut (the next waits an interval)."""
        self._ensure(platform, user_id)
        self.conn.execute(
            "UPDATE user_state SET last_alert_at = ? WHERE platform = ? AND user_id = ?",
            (to_iso(when), platform, user_id),
        )

    def claim_alert_window(self, platform: str, user_id: str, expected: datetime | None, when: datetime) -> bool:
        """Record `when` as the user's latest alert batch, only if the latest is still
        `expected` (what the caller read before deciding the window was open); returns whether
        it was. Compare-and-set, in the transaction that cuts the batch: of two replicas
        cutting a batch for one user at once, the second waits for the first's row lock, reads
        its commit and records nothing (it must roll back), so a user gets one DM per window."""
        self._ensure(platform, user_id)
        if expected is None:
            cursor = self.conn.execute(
                "UPDATE user_state SET last_alert_at = ? WHERE platform = ? AND user_id = ? AND last_alert_at IS NULL",
                (to_iso(when), platform, user_id),
            )
        else:
            cursor = self.conn.execute(
                "UPDATE user_state SET last_alert_at = ? WHERE platform = ? AND user_id = ? AND last_alert_at = ?",
                (to_iso(when), platform, user_id, to_iso(expected)),
            )
        return cursor.rowcount == 1

    def forget_prefix(self, platform: str, id_prefix: str) -> int:
        """Delete the state of every user whose id starts with `id_prefix`; returns how many."""
        cursor = self.conn.execute(
            "DELETE FROM user_state WHERE platform = ? AND substr(user_id, 1, ?) = ?",
            (platform, len(id_prefix), id_prefix),
        )
        return cursor.rowcount


# --- notices ---------------------------------------------------------------------------------


class NoticeStore:
    """One-line messages for a user, shown with the answer to their next command."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, platform: str, user_id: str, text: str, now: datetime) -> bool:
        """Queue a notice; an identical one still waiting is not added twice."""
        if not user_id:
            return False
        exists = self.conn.execute(
            "SELECT 1 FROM notices WHERE platform = ? AND user_id = ? AND text = ? AND shown_at IS NULL",
            (platform, user_id, text),
        ).fetchone()
        if exists:
            return False
        self.conn.execute(
            "INSERT INTO notices (platform, user_id, text, created_at) VALUES (?, ?, ?, ?)",
            (platform, user_id, text, to_iso(now)),
        )
        return True

    def pending(self, platform: str, user_id: str) -> list[str]:
        """Notices waiting for a user, oldest first (without marking them shown)."""
        rows = self.conn.execute(
            "SELECT text FROM notices WHERE platform = ? AND user_id = ? AND shown_at IS NULL ORDER BY id",
            (platform, user_id),
        )
        return [row[0] for row in rows]

    def pop(self, platform: str, user_id: str, now: datetime) -> list[str]:
        """Notices waiting for a user, oldest first, marked shown so they appear once."""
        # Read first, outside a write transaction: almost every answer finds none, and taking
        # the write lock (BEGIN IMMEDIATE) for nothing waited on a digest batch's transaction,
        # with the event loop held.
        waiting = self.conn.execute(
            "SELECT 1 FROM notices WHERE platform = ? AND user_id = ? AND shown_at IS NULL LIMIT 1", (platform, user_id)
        ).fetchone()
        if waiting is None:
            return []
        with transaction(self.conn):
            rows = self.conn.execute(
                "SELECT id, text FROM notices WHERE platform = ? AND user_id = ? AND shown_at IS NULL ORDER BY id",
                (platform, user_id),
            ).fetchall()
            if rows:
                marks = ",".join("?" * len(rows))
                self.conn.execute(
                    f"UPDATE notices SET shown_at = ? WHERE id IN ({marks})",
                    [to_iso(now), *(row[0] for row in rows)],
                )
        return [row[1] for row in rows]

    def forget_prefix(self, platform: str, id_prefix: str) -> int:
        """Delete every notice of users whose id starts with `id_prefix`; returns how many."""
        cursor = self.conn.execute(
            "DELETE FROM notices WHERE platform = ? AND substr(user_id, 1, ?) = ?",
            (platform, len(id_prefix), id_prefix),
        )
        return cursor.rowcount
