"""Per-source fetch state (last success/failure, next fetch), HTTP validators (ETag,
Last-Modified, body digest) and the digests of payload files already ingested."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.clock import from_iso, to_iso
from bot.store.backend import Connection


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """What is kept of a URL's last successfully ingested response."""

    etag: str | None = None
    last_modified: str | None = None
    body_sha256: str | None = None


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

    def __init__(self, conn: Connection) -> None:
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

    def get_validators(self, url: str) -> CachedResponse | None:
        """What we kept of a URL's last ingested response, for a conditional GET."""
        row = self.conn.execute(
            "SELECT etag, last_modified, body_sha256 FROM http_cache WHERE url = ?", (url,)
        ).fetchone()
        return CachedResponse(row[0], row[1], row[2]) if row else None

    def save_validators(self, url: str, cached: CachedResponse, now: datetime) -> None:
        """Remember a URL's validators so a restart still sends them."""
        if not (cached.etag or cached.last_modified or cached.body_sha256):
            return
        self.conn.execute(
            """INSERT INTO http_cache (url, etag, last_modified, body_sha256, updated_at)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (url) DO UPDATE SET etag = excluded.etag,
               last_modified = excluded.last_modified, body_sha256 = excluded.body_sha256,
               updated_at = excluded.updated_at""",
            (url, cached.etag, cached.last_modified, cached.body_sha256, to_iso(now)),
        )

    def payload_items(self, kind: str, sha256: str) -> int | None:
        """How many items an identical payload of this kind gave when it was ingested, or None."""
        row = self.conn.execute(
            "SELECT items FROM ingested_payloads WHERE kind = ? AND sha256 = ?", (kind, sha256)
        ).fetchone()
        return int(row[0]) if row else None

    def record_payload(self, kind: str, sha256: str, items: int, now: datetime) -> None:
        """Remember that a payload was ingested whole, so the same bytes are not parsed again."""
        self.conn.execute(
            "INSERT INTO ingested_payloads (kind, sha256, items, ingested_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (kind, sha256) DO UPDATE SET items = excluded.items, ingested_at = excluded.ingested_at",
            (kind, sha256, items, to_iso(now)),
        )
