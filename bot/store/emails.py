"""Email addresses waiting for their owner's confirmation (double opt-in), and the
deployment's stored secrets (the key that signs unsubscribe links when none is configured)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.core.clock import from_iso, to_iso
from bot.store.backend import Connection, Row


@dataclass(frozen=True, slots=True)
class EmailConfirmation:
    """One `/papers email <address>` request: who asked, for which address, and whether the
    link sent to that address was followed."""

    token: str
    address: str
    platform: str
    user_id: str
    created_at: datetime
    confirmed_at: datetime | None


def _confirmation(row: Row) -> EmailConfirmation:
    return EmailConfirmation(
        token=row["token"],
        address=row["address"],
        platform=row["platform"],
        user_id=row["user_id"],
        created_at=from_iso(row["created_at"]),  # type: ignore[arg-type]
        confirmed_at=from_iso(row["confirmed_at"]),
    )


class EmailConfirmationStore:
    """Pending and confirmed email addresses, by their confirmation token."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, token: str, address: str, platform: str, user_id: str, now: datetime) -> None:
        """Remember a request to send digests to `address` for a chat user, until confirmed."""
        self.conn.execute(
            """INSERT INTO email_confirmations (token, address, platform, user_id, created_at)
               VALUES (?, ?, ?, ?, ?)""",
            (token, address, platform, user_id, to_iso(now)),
        )

    def get(self, token: str) -> EmailConfirmation | None:
        """The request with this token, or None."""
        row = self.conn.execute("SELECT * FROM email_confirmations WHERE token = ?", (token,)).fetchone()
        return _confirmation(row) if row else None

    def confirm(self, token: str, now: datetime) -> bool:
        """Mark a request confirmed; False when it was already (or never existed)."""
        cursor = self.conn.execute(
            "UPDATE email_confirmations SET confirmed_at = ? WHERE token = ? AND confirmed_at IS NULL",
            (to_iso(now), token),
        )
        return cursor.rowcount == 1

    def drop_pending(self, platform: str, user_id: str) -> int:
        """Forget a user's unconfirmed requests (`/papers email off`); returns how many."""
        cursor = self.conn.execute(
            "DELETE FROM email_confirmations WHERE platform = ? AND user_id = ? AND confirmed_at IS NULL",
            (platform, user_id),
        )
        return cursor.rowcount

    def requests_since(self, platform: str, user_id: str, since: datetime) -> int:
        """How many confirmation requests a user made since `since` (a daily cap)."""
        row = self.conn.execute(
            "SELECT COUNT(*) FROM email_confirmations WHERE platform = ? AND user_id = ? AND created_at >= ?",
            (platform, user_id, to_iso(since)),
        ).fetchone()
        return int(row[0])

    def stored_secret(self, name: str, make: Callable[[], str]) -> str:
        """A secret kept in the database under `name`, made by `make()` the first time."""
        self.conn.execute(
            "INSERT INTO watermarks (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
            (f"secret.{name}", make()),
        )
        row = self.conn.execute("SELECT value FROM watermarks WHERE name = ?", (f"secret.{name}",)).fetchone()
        return str(row[0])
