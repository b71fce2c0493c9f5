"""What users set up and what the delivery side remembers about them: channel digest settings
(with one row per handled digest slot), subscriptions, per-user state (quiet hours, blocked
DMs, last alert), notices waiting for a user, and the alert queue with its scan watermark.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time

from bot.core.clock import from_iso, to_iso
from bot.core.models import CatchUp, ChannelSettings, SourceKind, Subscription
from bot.store.db import transaction

# --- channel settings ------------------------------------------------------------------------

def _settings_data(settings: ChannelSettings) -> dict[str, object]:
    return {
        "time_of_day": settings.time_of_day.strftime("%H:%M"),
        "timezone": settings.timezone,
        "days": list(settings.days),
        "topics": list(settings.topics),
        "query": settings.query,
        "sources": [s.value for s in settings.sources],
        "max_items": settings.max_items,
        "min_score": settings.min_score,
        "show_updated": settings.show_updated,
        "quiet_note": settings.quiet_note,
        "catch_up": settings.catch_up.value,
        "workspace_id": settings.workspace_id,
        "created_by": settings.created_by,
    }


def _settings_from_row(row: sqlite3.Row) -> ChannelSettings:
    data = json.loads(row["data"])
    hour, minute = (int(part) for part in data["time_of_day"].split(":"))
    return ChannelSettings(
        platform=row["platform"],
        channel_id=row["channel_id"],
        enabled=bool(row["enabled"]),
        time_of_day=time(hour, minute),
        timezone=data["timezone"],
        days=tuple(data["days"]),
        topics=tuple(data["topics"]),
        query=data["query"],
        sources=tuple(SourceKind(s) for s in data["sources"]),
        max_items=data["max_items"],
        min_score=data["min_score"],
        show_updated=data["show_updated"],
        quiet_note=data["quiet_note"],
        catch_up=CatchUp(data["catch_up"]),
        workspace_id=data.get("workspace_id", ""),
        created_by=data.get("created_by", ""),
        paused_reason=row["paused_reason"],
        last_digest_at=from_iso(row["last_digest_at"]),
    )


@dataclass(frozen=True, slots=True)
class DigestRun:
    """How one channel's digest slot (one local date) was handled."""

    channel_key: str
    local_date: str
    status: str  # posted | delayed | empty | quiet | skipped
    outbox_key: str | None
    papers: int
    at: datetime


class ChannelStore:
    """Digest settings per channel (`platform:channel_id`) and the slots already handled."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def get(self, key: str) -> ChannelSettings | None:
        """The settings of one channel, or None when it never had a digest."""
        row = self.conn.execute("SELECT * FROM channel_settings WHERE key = ?", (key,)).fetchone()
        return _settings_from_row(row) if row else None

    def save(self, settings: ChannelSettings, now: datetime) -> bool:
        """Insert or update a channel's settings; returns whether anything changed.

        `updated_at` moves only on a real change: it is the moment from which digest slots
        count (a slot earlier than the last change is never "missed"), so re-applying the same
        settings file at every start must not move it. `last_digest_at` is left alone.
        """
        data = json.dumps(_settings_data(settings), sort_keys=True)
        row = self.conn.execute(
            "SELECT data, enabled, paused_reason FROM channel_settings WHERE key = ?", (settings.key,)
        ).fetchone()
        if row is not None and (row["data"], bool(row["enabled"]), row["paused_reason"]) == (
            data,
            settings.enabled,
            settings.paused_reason,
        ):
            return False
        self.conn.execute(
            """INSERT INTO channel_settings (key, platform, channel_id, enabled, data,
               last_digest_at, paused_reason, updated_at) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)
               ON CONFLICT (key) DO UPDATE SET enabled = excluded.enabled, data = excluded.data,
               paused_reason = excluded.paused_reason, updated_at = excluded.updated_at""",
            (
                settings.key, settings.platform, settings.channel_id, int(settings.enabled), data,
                settings.paused_reason, to_iso(now),
            ),
        )
        return True

    def changed_at(self, key: str) -> datetime | None:
        """When the channel's settings last changed (digest slots before it are not due)."""
        row = self.conn.execute("SELECT updated_at FROM channel_settings WHERE key = ?", (key,)).fetchone()
        return from_iso(row[0]) if row else None

    def active(self) -> list[ChannelSettings]:
        """Channels with a digest that is on and not paused, by key."""
        rows = self.conn.execute(
            "SELECT * FROM channel_settings WHERE enabled = 1 AND paused_reason = '' ORDER BY key"
        )
        return [_settings_from_row(row) for row in rows]

    def count_enabled(self) -> int:
        """How many channels have their digest switched on (paused ones included)."""
        return int(self.conn.execute("SELECT COUNT(*) FROM channel_settings WHERE enabled = 1").fetchone()[0])

    def all(self) -> list[ChannelSettings]:
        """Every channel that ever had digest settings, by key."""
        return [_settings_from_row(r) for r in self.conn.execute("SELECT * FROM channel_settings ORDER BY key")]

    def disable(self, key: str, now: datetime) -> bool:
        """Turn a channel's digest off; returns whether it was on."""
        settings = self.get(key)
        if settings is None or not settings.enabled:
            return False
        return self.save(replace(settings, enabled=False), now)

    def pause(self, key: str, reason: str) -> ChannelSettings | None:
        """Stop a channel's digest after a permanent delivery failure; returns its settings."""
        self.conn.execute(
            "UPDATE channel_settings SET paused_reason = ? WHERE key = ?", (reason or "paused", key)
        )
        return self.get(key)

    def set_last_digest_at(self, key: str, when: datetime) -> None:
        """Record when the channel's latest digest was built (the next one starts there)."""
        self.conn.execute(
            "UPDATE channel_settings SET last_digest_at = ? WHERE key = ?", (to_iso(when), key)
        )

    # --- handled slots -------------------------------------------------------------------------

    def record_run(
        self, key: str, local_date: str, status: str, outbox_key: str | None, papers: int, now: datetime
    ) -> bool:
        """Mark one (channel, local date) slot as handled; False if it already was."""
        cursor = self.conn.execute(
            """INSERT INTO digest_runs (channel_key, local_date, status, outbox_key, papers, at)
               VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel_key, local_date) DO NOTHING""",
            (key, local_date, status, outbox_key, papers, to_iso(now)),
        )
        return cursor.rowcount == 1

    def run_for(self, key: str, local_date: str) -> DigestRun | None:
        """How the slot of one local date was handled, or None when it was not."""
        row = self.conn.execute(
            "SELECT * FROM digest_runs WHERE channel_key = ? AND local_date = ?", (key, local_date)
        ).fetchone()
        return _run(row) if row else None

    def runs(self, key: str, limit: int = 30) -> list[DigestRun]:
        """The latest handled slots of a channel, newest local date first."""
        rows = self.conn.execute(
            "SELECT * FROM digest_runs WHERE channel_key = ? ORDER BY local_date DESC LIMIT ?", (key, limit)
        )
        return [_run(row) for row in rows]


def _run(row: sqlite3.Row) -> DigestRun:
    return DigestRun(
        channel_key=row["channel_key"],
        local_date=row["local_date"],
        status=row["status"],
        outbox_key=row["outbox_key"],
        papers=row["papers"],
        at=from_iso(row["at"]),  # type: ignore[arg-type]
    )


# --- subscriptions ---------------------------------------------------------------------------


def _subscription(row: sqlite3.Row) -> Subscription:
    return Subscription(
        id=row["id"],
        platform=row["platform"],
        user_id=row["user_id"],
        query=row["query"],
        topics=tuple(json.loads(row["topics"])),
        created_at=from_iso(row["created_at"]),
        paused_reason=row["paused_reason"],
    )


class SubscriptionStore:
    """Users' standing queries. A user's list is ordered by id, which is how it is numbered."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def add(self, platform: str, user_id: str, query: str, topics: Sequence[str], now: datetime) -> Subscription:
        """Store a new subscription and return it."""
        cursor = self.conn.execute(
            "INSERT INTO subscriptions (platform, user_id, query, topics, created_at) VALUES (?, ?, ?, ?, ?)",
            (platform, user_id, query, json.dumps(list(topics)), to_iso(now)),
        )
        found = self.get(int(cursor.lastrowid or 0))
        assert found is not None
        return found

    def add_many(self, rows: Iterable[tuple[str, str, str, Sequence[str]]], now: datetime) -> None:
        """Bulk insert (platform, user id, query, topics) rows in one transaction (benchmarks, imports)."""
        with transaction(self.conn):
            self.conn.executemany(
                "INSERT INTO subscriptions (platform, user_id, query, topics, created_at) VALUES (?, ?, ?, ?, ?)",
                [(p, u, q, json.dumps(list(t)), to_iso(now)) for p, u, q, t in rows],
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

    def remove(self, subscription_ids: Sequence[int]) -> int:
        """Delete subscriptions by id; returns how many were deleted."""
        if not subscription_ids:
            return 0
        marks = ",".join("?" * len(subscription_ids))
        cursor = self.conn.execute(f"DELETE FROM subscriptions WHERE id IN ({marks})", list(subscription_ids))
        return cursor.rowcount

    def remove_all(self, platform: str, user_id: str) -> int:
        """Delete every subscription of a user; returns how many there were."""
        cursor = self.conn.execute(
            "DELETE FROM subscriptions WHERE platform = ? AND user_id = ?", (platform, user_id)
        )
        return cursor.rowcount

    def pause_for_user(self, platform: str, user_id: str, reason: str) -> int:
        """Pause every active subscription of a user (e.g. DMs blocked); returns how many."""
        cursor = self.conn.execute(
            "UPDATE subscriptions SET paused_reason = ? WHERE platform = ? AND user_id = ? AND paused_reason = ''",
            (reason or "paused", platform, user_id),
        )
        return cursor.rowcount

    def resume_for_user(self, platform: str, user_id: str) -> int:
        """Resume a user's paused subscriptions; returns how many were paused."""
        cursor = self.conn.execute(
            "UPDATE subscriptions SET paused_reason = '' WHERE platform = ? AND user_id = ? AND paused_reason != ''",
            (platform, user_id),
        )
        return cursor.rowcount

    def count(self) -> int:
        """How many subscriptions exist."""
        return int(self.conn.execute("SELECT COUNT(*) FROM subscriptions").fetchone()[0])


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

    def __init__(self, conn: sqlite3.Connection) -> None:
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


# --- notices ---------------------------------------------------------------------------------


class NoticeStore:
    """One-line messages for a user, shown with the answer to their next command."""

    def __init__(self, conn: sqlite3.Connection) -> None:
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


# --- the alert queue -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueuedAlert:
    """A paper matched for a user and not yet put in a DM."""

    paper_id: str
    subscription_ids: tuple[int, ...]
    matched_at: datetime


class AlertQueue:
    """Papers matched per user, waiting for that user's next alert window; the count of
    matches beyond what a DM lists (kept in user_state); and the scan watermark."""

    def __init__(self, conn: sqlite3.Connection) -> None:
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

    def add(self, matches: Iterable[tuple[str, str, str, Sequence[int]]], now: datetime) -> int:
        """Queue (platform, user, paper id, subscription ids) matches; a paper already queued or
        alerted for that user is ignored (a user never gets the same paper twice)."""
        cursor = self.conn.executemany(
            """INSERT INTO alert_queue (platform, user_id, paper_id, subscription_ids, matched_at)
               VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING""",
            [(p, u, pid, json.dumps(list(ids)), to_iso(now)) for p, u, pid, ids in matches],
        )
        return max(cursor.rowcount, 0)

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

    def add_overflow(self, counts: Mapping[tuple[str, str], int]) -> None:
        """Count matches that were not queued because a user's batch was already full."""
        self.conn.executemany(
            """INSERT INTO user_state (platform, user_id, alert_overflow) VALUES (?, ?, ?)
               ON CONFLICT (platform, user_id) DO UPDATE SET
               alert_overflow = alert_overflow + excluded.alert_overflow""",
            [(platform, user_id, count) for (platform, user_id), count in counts.items() if count],
        )

    def overflow(self, platform: str, user_id: str) -> int:
        """How many of a user's matches were counted but not queued since their last DM."""
        row = self.conn.execute(
            "SELECT alert_overflow FROM user_state WHERE platform = ? AND user_id = ?", (platform, user_id)
        ).fetchone()
        return int(row[0]) if row else 0

    def reset_overflow(self, platform: str, user_id: str) -> None:
        """Start counting afresh (the count went into a DM, or the user unsubscribed)."""
        self.conn.execute(
            "UPDATE user_state SET alert_overflow = 0 WHERE platform = ? AND user_id = ?", (platform, user_id)
        )

    def drop_user(self, platform: str, user_id: str) -> int:
        """Forget a user's queued papers (they unsubscribed from everything)."""
        cursor = self.conn.execute(
            "DELETE FROM alert_queue WHERE platform = ? AND user_id = ? AND outbox_key IS NULL",
            (platform, user_id),
        )
        self.reset_overflow(platform, user_id)
        return cursor.rowcount
