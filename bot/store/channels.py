"""Channel digest settings and the runs that record each (channel, local date) handled."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time

from bot.core.clock import from_iso, to_iso
from bot.core.models import CatchUp, ChannelSettings, SourceKind
from bot.store.backend import Connection, Row

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
        **({"threshold": settings.threshold} if settings.threshold is not None else {}),
        "workspace_id": settings.workspace_id,
        "created_by": settings.created_by,
    }


def _settings_from_row(row: Row) -> ChannelSettings:
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
        rank=row["rank"],
        threshold=data.get("threshold"),
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

    def __init__(self, conn: Connection) -> None:
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
            "SELECT data, enabled, paused_reason, rank FROM channel_settings WHERE key = ?", (settings.key,)
        ).fetchone()
        if row is not None and (row["data"], bool(row["enabled"]), row["paused_reason"], row["rank"]) == (
            data,
            settings.enabled,
            settings.paused_reason,
            settings.rank,
        ):
            return False
        self.conn.execute(
            """INSERT INTO channel_settings (key, platform, channel_id, enabled, data,
               last_digest_at, paused_reason, updated_at, rank) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?)
               ON CONFLICT (key) DO UPDATE SET enabled = excluded.enabled, data = excluded.data,
               paused_reason = excluded.paused_reason, updated_at = excluded.updated_at,
               rank = excluded.rank""",
            (
                settings.key, settings.platform, settings.channel_id, int(settings.enabled), data,
                settings.paused_reason, to_iso(now), settings.rank,
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

    def active_with_changes(self) -> list[tuple[ChannelSettings, datetime | None]]:
        """`active()`, each channel with when its settings last changed (`changed_at`), in one
        read: the digest job asks at every tick on every replica."""
        rows = self.conn.execute(
            "SELECT * FROM channel_settings WHERE enabled = 1 AND paused_reason = '' ORDER BY key"
        )
        return [(_settings_from_row(row), from_iso(row["updated_at"])) for row in rows]

    def count_enabled(self) -> int:
        """How many channels have their digest switched on (paused ones included)."""
        return int(self.conn.execute("SELECT COUNT(*) FROM channel_settings WHERE enabled = 1").fetchone()[0])

    def all(self) -> list[ChannelSettings]:
        """Every channel that ever had digest settings, by key."""
        return [_settings_from_row(r) for r in self.conn.execute("SELECT * FROM channel_settings ORDER BY key")]

    def owned_by(self, platform: str, owner: str) -> list[ChannelSettings]:
        """The channels of one platform that `owner` set up (an email digest's chat user), by key."""
        rows = self.conn.execute(
            "SELECT * FROM channel_settings WHERE platform = ? ORDER BY key", (platform,)
        )
        return [s for s in (_settings_from_row(row) for row in rows) if s.created_by == owner]

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

    def forget_prefix(self, platform: str, id_prefix: str) -> int:
        """Delete the settings and handled slots of every channel whose id starts with
        `id_prefix` (a workspace's, see bot.core.ids.scoped_id); returns how many channels."""
        key_prefix = f"{platform}:{id_prefix}"
        self.conn.execute(
            "DELETE FROM digest_runs WHERE substr(channel_key, 1, ?) = ?", (len(key_prefix), key_prefix)
        )
        cursor = self.conn.execute(
            "DELETE FROM channel_settings WHERE platform = ? AND substr(channel_id, 1, ?) = ?",
            (platform, len(id_prefix), id_prefix),
        )
        return cursor.rowcount

    def set_up_by(self, platform: str, user_id: str) -> list[ChannelSettings]:
        """The channels whose digest a user set up (switched on last), by key."""
        rows = self.conn.execute(
            """SELECT * FROM channel_settings WHERE platform = ? AND json_extract(data, '$.created_by') = ?
               ORDER BY key""",
            (platform, user_id),
        )
        return [_settings_from_row(row) for row in rows]

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

    def record_runs(self, runs: Sequence[tuple[str, str, str, str | None, int]], now: datetime) -> None:
        """`record_run` for many slots, one statement: (key, local date, status, outbox key,
        papers) each."""
        at = to_iso(now)
        self.conn.executemany(
            """INSERT INTO digest_runs (channel_key, local_date, status, outbox_key, papers, at)
               VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel_key, local_date) DO NOTHING""",
            [(*run, at) for run in runs],
        )

    def set_last_digests_at(self, keys: Sequence[str], when: datetime) -> None:
        """`set_last_digest_at` for many channels, one statement."""
        at = to_iso(when)
        self.conn.executemany(
            "UPDATE channel_settings SET last_digest_at = ? WHERE key = ?", [(at, key) for key in keys]
        )

    def handled(self, slots: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Those of the (channel key, local date) slots that were handled: `run_for` for many
        slots, one query per 500 channels (a batch's slots share one or two local dates)."""
        found: set[tuple[str, str]] = set()
        wanted = set(slots)
        keys = sorted({key for key, _ in wanted})
        dates = sorted({local_date for _, local_date in wanted})
        date_marks = ",".join("?" * len(dates))
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = self.conn.execute(
                f"""SELECT channel_key, local_date FROM digest_runs
                    WHERE channel_key IN ({",".join("?" * len(chunk))}) AND local_date IN ({date_marks})""",
                [*chunk, *dates],
            )
            found.update(pair for pair in ((str(row[0]), str(row[1])) for row in rows) if pair in wanted)
        return found

    def run_for(self, key: str, local_date: str) -> DigestRun | None:
        """How the slot of one local date was handled, or None when it was not."""
        row = self.conn.execute(
            "SELECT * FROM digest_runs WHERE channel_key = ? AND local_date = ?", (key, local_date)
        ).fetchone()
        return _run(row) if row else None

    def handled_slots(self, slots: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of the (channel key, local date) slots were handled already."""
        found: set[tuple[str, str]] = set()
        wanted = set(slots)
        keys = sorted({key for key, _ in wanted})
        days = sorted({day for _, day in wanted})
        for start in range(0, len(keys), 500):  # SQLite's bound on parameters
            chunk = keys[start : start + 500]
            rows = self.conn.execute(
                f"""SELECT channel_key, local_date FROM digest_runs WHERE channel_key IN ({",".join("?" * len(chunk))})
                    AND local_date IN ({",".join("?" * len(days))})""",
                (*chunk, *days),
            )
            found.update((row[0], row[1]) for row in rows)
        return found & wanted

    def runs(self, key: str, limit: int = 30) -> list[DigestRun]:
        """The latest handled slots of a channel, newest local date first."""
        rows = self.conn.execute(
            "SELECT * FROM digest_runs WHERE channel_key = ? ORDER BY local_date DESC LIMIT ?", (key, limit)
        )
        return [_run(row) for row in rows]


def _run(row: Row) -> DigestRun:
    return DigestRun(
        channel_key=row["channel_key"],
        local_date=row["local_date"],
        status=row["status"],
        outbox_key=row["outbox_key"],
        papers=row["papers"],
        at=from_iso(row["at"]),  # type: ignore[arg-type]
    )
