"""Private answers kept for their feedback buttons: what a chat adapter sent someone privately,
so that a click on one of its buttons can redraw it, on whichever replica the click arrives.

Slack sends no blocks with a click on an ephemeral message, so the adapter keeps each private
answer that carries feedback buttons under a random token stamped into its buttons' block_ids,
for its owner alone (the Slack user it was shown to). Kept in the store, not in the process, a
click that a load balancer hands to another replica (or that arrives after a restart) finds it
too. Entries expire after a TTL; expired ones are pruned whenever one is kept and by retention.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core.clock import from_iso, to_iso
from bot.store.backend import Connection
from bot.store.db import transaction


class AnswerStore:
    """Private answers by (platform, token), for their owner, until they expire."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def keep(self, *, platform: str, token: str, owner: str, message: str, now: datetime, ttl: timedelta) -> None:
        """Keep `message` (the adapter's encoding) under `token` for `owner` until now + ttl
        (a token kept again is replaced: a redrawn answer); expired entries are pruned."""
        with transaction(self.conn):
            self.conn.execute("DELETE FROM private_answers WHERE expires_at <= ?", (to_iso(now),))
            self.conn.execute(
                """INSERT INTO private_answers (platform, token, owner, message, expires_at) VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (platform, token) DO UPDATE SET owner = excluded.owner,
                   message = excluded.message, expires_at = excluded.expires_at""",
                (platform, token, owner, message, to_iso(now + ttl)),
            )

    def recall(self, *, platform: str, token: str, owner: str, now: datetime) -> str | None:
        """The message kept under `token` for `owner`, unless it expired; None otherwise (an
        unknown or expired token, or one kept for somebody else)."""
        row = self.conn.execute(
            "SELECT owner, message, expires_at FROM private_answers WHERE platform = ? AND token = ?",
            (platform, token),
        ).fetchone()
        if row is None or row["owner"] != owner:
            return None
        expires = from_iso(row["expires_at"])
        if expires is None or expires <= now:
            return None
        return str(row["message"])

    def prune(self, now: datetime) -> int:
        """Delete every expired entry; returns how many went."""
        return int(self.conn.execute("DELETE FROM private_answers WHERE expires_at <= ?", (to_iso(now),)).rowcount)

    def count(self) -> int:
        """Entries kept now (tests, status)."""
        return int(self.conn.execute("SELECT COUNT(*) FROM private_answers").fetchone()[0])
