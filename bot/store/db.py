"""Opening the database: URL parsing, SQLite pragmas (WAL), and migrations applied at start."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.core.errors import StoreError, UnsupportedDatabase
from bot.store.schema import MIGRATIONS


@dataclass(frozen=True, slots=True)
class DatabaseURL:
    """A parsed `PAPERBOT_DB` value."""

    scheme: str  # "sqlite" or "postgresql"
    path: str  # SQLite file path or ":memory:"; the full URL for other schemes


def parse_database_url(value: str) -> DatabaseURL:
    """Parse a path, `sqlite:///path`, `sqlite://:memory:` or `postgresql://...` value.

    Raises ValueError with a one-line reason for anything else.
    """
    value = value.strip()
    if not value:
        raise ValueError("empty database location")
    if value.startswith(("postgresql://", "postgres://", "postgresql+")):
        return DatabaseURL("postgresql", value)
    if value.startswith("sqlite:"):
        rest = value[len("sqlite:") :]
        if rest in ("", "//", "///", "//:memory:", "///:memory:", ":memory:"):
            return DatabaseURL("sqlite", ":memory:")
        if not rest.startswith("///"):
            raise ValueError("SQLite URLs look like sqlite:///relative/path.db or sqlite:////abs/path.db")
        return DatabaseURL("sqlite", rest[3:])
    if "://" in value:
        scheme = value.split("://", 1)[0]
        raise ValueError(f"unknown database scheme {scheme!r} (use a file path, sqlite:/// or postgresql://)")
    return DatabaseURL("sqlite", value)


def connect(url: DatabaseURL) -> sqlite3.Connection:
    """Open the database, switch SQLite to WAL, and apply pending migrations."""
    if url.scheme == "postgresql":
        raise UnsupportedDatabase(
            "PostgreSQL is not supported yet; set PAPERBOT_DB to a file path or sqlite:/// URL"
        )
    if url.path != ":memory:":
        try:
            Path(url.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the database directory for {url.path}: {exc}") from exc
    try:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves so batches are one transaction.
        conn = sqlite3.connect(
            str(Path(url.path).expanduser()) if url.path != ":memory:" else ":memory:",
            isolation_level=None,
            check_same_thread=False,
            timeout=30,
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        migrate(conn)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the database {url.path}: {exc}") from exc
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every migration newer than the stored schema version; return the new version."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    current = row[0] or 0
    if current > len(MIGRATIONS):
        raise StoreError(
            f"the database schema is version {current}, newer than this paperbot ({len(MIGRATIONS)})"
        )
    for number, sql in enumerate(MIGRATIONS[current:], start=current + 1):
        with transaction(conn):
            for statement in _split_sql(sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
    return len(MIGRATIONS)


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit our transaction)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction; inside an open transaction it simply joins it.

    The connection runs in autocommit mode (isolation_level=None), so statements outside a
    transaction commit one by one; several repositories writing together use this.
    """
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
