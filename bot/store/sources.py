"""Per-source fetch state (last success/failure, next fetch) and HTTP validators (ETag, Last-Modified)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime

from bot.clock import from_iso, to_iso


@dataclass(slots=True)
class SourceState:
    """What we know about fetching one configured source."""

    name: str
    last_success: datetime | None = None
    last_failure: datetime | None = None
    last_error: str = ""
    consecutive_failures: int = 0
    next_fetch_at: datetime | None = None
    last_counts: dict[str, int] = field(default_factory=dict)

    @property
    def failing(self) -> bool:
        """Whether the most recent attempt failed."""
        return self.consecutive_failures > 0


class SourceStateStore:
    """Reads and writes fetch state and HTTP cache validators."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def get(self, name: str) -> SourceState:
        """The state of one source (a fresh state if it was never fetched)."""
        row = self.conn.execute("SELECT * FROM source_state WHERE name = ?", (name,)).fetchone()
        if row is None:
            return SourceState(name=name)
        return SourceState(
            name=row["name"],
            last_success=from_iso(row["last_success"]),
            last_failure=from_iso(row["last_failure"]),
            last_error=row["last_error"],
            consecutive_failures=row["consecutive_failures"],
            next_fetch_at=from_iso(row["next_fetch_at"]),
            last_counts=json.loads(row["last_counts"]),
        )

    def all(self) -> list[SourceState]:
        """Every source that has a recorded state, by name."""
        names = [r[0] for r in self.conn.execute("SELECT name FROM source_state ORDER BY name")]
        return [self.get(name) for name in names]

    def save(self, state: SourceState) -> None:
        """Insert or replace a source's state."""
        self.conn.execute(
            """INSERT INTO source_state (name, last_success, last_failure, last_error,
               consecutive_failures, next_fetch_at, last_counts) VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (name) DO UPDATE SET last_success = excluded.last_success,
               last_failure = excluded.last_failure, last_error = excluded.last_error,
               consecutive_failures = excluded.consecutive_failures,
               next_fetch_at = excluded.next_fetch_at, last_counts = excluded.last_counts""",
            (
                state.name, to_iso(state.last_success), to_iso(state.last_failure), state.last_error,
                state.consecutive_failures, to_iso(state.next_fetch_at), json.dumps(state.last_counts),
            ),
        )

    def get_validators(self, url: str) -> tuple[str | None, str | None]:
        """The stored (ETag, Last-Modified) of a URL, for a conditional GET."""
        row = self.conn.execute("SELECT etag, last_modified FROM http_cache WHERE url = ?", (url,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def save_validators(self, url: str, etag: str | None, last_modified: str | None, now: datetime) -> None:
        """Remember a URL's validators so a restart still sends them."""
        if not etag and not last_modified:
            return
        self.conn.execute(
            """INSERT INTO http_cache (url, etag, last_modified, updated_at) VALUES (?, ?, ?, ?)
               ON CONFLICT (url) DO UPDATE SET etag = excluded.etag,
               last_modified = excluded.last_modified, updated_at = excluded.updated_at""",
            (url, etag, last_modified, to_iso(now)),
        )

    def forget_validators(self, url: str) -> None:
        """Drop a URL's validators (e.g. when its body could not be parsed, so we fetch it whole again)."""
        self.conn.execute("DELETE FROM http_cache WHERE url = ?", (url,))
