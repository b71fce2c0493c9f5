"""Share tokens: a private answer kept as it was shown, for its Share button (one use).

A token is issued when a private, shareable answer is shown to someone; the button carries only
the token. Sharing takes the answer back, exactly as it was shown, and only for the person and
the place it was issued to, before it expires; it can never be used again. The answer is kept as
the outbox keeps replies (the caller encodes it). Expired tokens are pruned whenever one is
issued.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from bot.core.clock import from_iso, to_iso
from bot.store.backend import Connection
from bot.store.db import transaction

TOKEN_BYTES = 18  # 24 URL-safe characters: unguessable, and short for a button's value


class ShareStore:
    """Share tokens by (platform, user, channel): issue, then take once."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def issue(self, *, platform: str, user_id: str, channel_id: str, reply_json: str, now: datetime, ttl: timedelta) -> str:
        """A new token for the encoded reply, valid until now + ttl (expired ones are pruned)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with transaction(self.conn):
            self.conn.execute("DELETE FROM share_tokens WHERE expires_at <= ?", (to_iso(now),))
            self.conn.execute(
                "INSERT INTO share_tokens (token, platform, user_id, channel_id, reply, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (token, platform, user_id, channel_id, reply_json, to_iso(now + ttl)),
            )
        return token

    def take(self, token: str, *, platform: str, user_id: str, channel_id: str, now: datetime) -> str | None:
        """The encoded reply of a token issued to this person in this place and not expired;
        the token is used up. None otherwise: an unknown or expired token (an expired one is
        deleted), or one issued to someone else or elsewhere (left for its owner)."""
        with transaction(self.conn):
            row = self.conn.execute(
                "SELECT platform, user_id, channel_id, reply, expires_at FROM share_tokens WHERE token = ?", (token,)
            ).fetchone()
            if row is None:
                return None
            expires = from_iso(row["expires_at"])
            if expires is None or expires <= now:
                self.conn.execute("DELETE FROM share_tokens WHERE token = ?", (token,))
                return None
            if (row["platform"], row["user_id"], row["channel_id"]) != (platform, user_id, channel_id):
                return None
            self.conn.execute("DELETE FROM share_tokens WHERE token = ?", (token,))
        return str(row["reply"])

    def count(self) -> int:
        """Tokens kept now (tests, status)."""
        return int(self.conn.execute("SELECT COUNT(*) FROM share_tokens").fetchone()[0])
