"""Installations of a distributed chat app (one per workspace and installer) and the OAuth
states of installs in progress.

An installation's record is the platform's own (Slack's: tokens, scopes, bot user, team name)
kept as JSON; the store only keys it by (platform, workspace, installer). Tokens are stored as
they came, like the database's other contents: protect the database file.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta

from bot.core.clock import from_iso, to_iso
from bot.core.models import Installation
from bot.store.backend import Connection, Row
from bot.store.db import transaction


def _installation(row: Row) -> Installation:
    return Installation(
        platform=row["platform"],
        workspace_id=row["workspace_id"],
        installer_id=row["installer_id"],
        record=json.loads(row["record"]),
        installed_at=from_iso(row["installed_at"]),
    )


class InstallationStore:
    """Installations by (platform, workspace id, installer) and single-use OAuth states."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- installations -------------------------------------------------------------------------

    def save(self, installation: Installation, now: datetime) -> None:
        """Insert or replace the installer's installation in that workspace."""
        self.conn.execute(
            """INSERT INTO installations (platform, workspace_id, installer_id, record, installed_at)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (platform, workspace_id, installer_id) DO UPDATE SET
               record = excluded.record, installed_at = excluded.installed_at""",
            (
                installation.platform,
                installation.workspace_id,
                installation.installer_id,
                json.dumps(dict(installation.record), ensure_ascii=False, sort_keys=True),
                to_iso(installation.installed_at or now),
            ),
        )

    def find(self, platform: str, workspace_id: str, installer_id: str | None = None) -> Installation | None:
        """The installer's installation, or (installer None) the workspace's latest one."""
        if installer_id is None:
            row = self.conn.execute(
                """SELECT * FROM installations WHERE platform = ? AND workspace_id = ?
                   ORDER BY installed_at DESC, rowid DESC LIMIT 1""",
                (platform, workspace_id),
            ).fetchone()
        else:
            row = self.conn.execute(
                "SELECT * FROM installations WHERE platform = ? AND workspace_id = ? AND installer_id = ?",
                (platform, workspace_id, installer_id),
            ).fetchone()
        return _installation(row) if row else None

    def delete(self, platform: str, workspace_id: str, installer_id: str | None = None) -> int:
        """Delete the installer's installation, or (installer None) all of the workspace's."""
        if installer_id is None:
            cursor = self.conn.execute(
                "DELETE FROM installations WHERE platform = ? AND workspace_id = ?", (platform, workspace_id)
            )
        else:
            cursor = self.conn.execute(
                "DELETE FROM installations WHERE platform = ? AND workspace_id = ? AND installer_id = ?",
                (platform, workspace_id, installer_id),
            )
        return cursor.rowcount

    def workspaces(self, platform: str) -> list[str]:
        """The workspaces with an installation, sorted."""
        rows = self.conn.execute(
            "SELECT DISTINCT workspace_id FROM installations WHERE platform = ? ORDER BY workspace_id", (platform,)
        )
        return [row[0] for row in rows]

    # --- OAuth states --------------------------------------------------------------------------

    def issue_state(self, platform: str, now: datetime, ttl: timedelta) -> str:
        """A new unguessable state valid until now + ttl (expired states are pruned here)."""
        state = secrets.token_urlsafe(24)
        with transaction(self.conn):
            self.conn.execute("DELETE FROM oauth_states WHERE expires_at <= ?", (to_iso(now),))
            self.conn.execute(
                "INSERT INTO oauth_states (state, platform, expires_at) VALUES (?, ?, ?)",
                (state, platform, to_iso(now + ttl)),
            )
        return state

    def consume_state(self, platform: str, state: str, now: datetime) -> bool:
        """Whether the state was issued for `platform` and is still valid; deleted either way,
        so a replayed state is refused."""
        with transaction(self.conn):
            row = self.conn.execute(
                "SELECT expires_at FROM oauth_states WHERE state = ? AND platform = ?", (state, platform)
            ).fetchone()
            if row is None:
                return False
            self.conn.execute("DELETE FROM oauth_states WHERE state = ?", (state,))
        expires = from_iso(row[0])
        return expires is not None and now < expires
