"""Opening the database: URL parsing, SQLite pragmas (WAL) or the PostgreSQL pool, migrations
applied at start, and storage faults turned into one clear error.

`connect` opens either backend behind one connection interface (bot/store/backend.py):
a `postgresql://` URL gives a `PgConnection` migrated with `PG_MIGRATIONS`
(bot/store/pg_schema.py), anything else a SQLite `StoreConnection` migrated with `MIGRATIONS`.
Both record the version in the same `schema_version` table and reach the same numbers.

A database paperbot cannot write (a read-only or immutable file, a directory without write
permission, a file it may not open) is refused when it is opened (`StoreReadOnly`), not on the
first command that writes. Every statement runs through `StoreConnection`, which turns SQLite's
"database or disk is full" (and an I/O error on a disk with no space left) into `StoreFull`
naming the path: the transaction is rolled back by SQLite, so nothing already stored is lost.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.errors import StoreError, StoreFull, StoreReadOnly
from bot.store.backend import Connection, PgConnection
from bot.store.pg_schema import PG_MIGRATIONS
from bot.store.schema import MIGRATIONS

# Held while a PostgreSQL database migrates, so that replicas starting together migrate once.
_MIGRATION_LOCK_KEY = 0x70617065  # "pape"

# Below this much free space an I/O error while writing is taken for a full disk: SQLite
# reports ENOSPC on the WAL or a journal as SQLITE_IOERR ("disk I/O error"), not SQLITE_FULL.
LOW_DISK_BYTES = 4 * 1024 * 1024


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


class StoreConnection(sqlite3.Connection):
    """A SQLite connection whose storage faults are clear errors (see the module docstring).

    `location` is the database path shown in those errors."""

    location: str = ""
    dialect = "sqlite"

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        """`sqlite3.Connection.execute`, with storage faults raised as StoreError subclasses."""
        try:
            return super().execute(sql, parameters)
        except sqlite3.OperationalError as exc:
            raise storage_fault(exc, self.location) from exc

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> sqlite3.Cursor:
        """`sqlite3.Connection.executemany`, with storage faults raised as StoreError subclasses."""
        try:
            return super().executemany(sql, parameters)
        except sqlite3.OperationalError as exc:
            raise storage_fault(exc, self.location) from exc


def storage_fault(exc: sqlite3.OperationalError, location: str) -> Exception:
    """The error to raise for `exc`: StoreFull for a full disk or database, StoreReadOnly for a
    database that cannot be written, `exc` itself for anything else (locks, SQL errors)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name == "SQLITE_FULL" or (name.startswith("SQLITE_IOERR") and _low_on_disk(location)):
        return StoreFull(
            f"disk full: cannot write to the database {location} ({exc}); the last change was "
            "rolled back and nothing already stored is lost; free some space and try again"
        )
    if name.startswith("SQLITE_READONLY"):
        return _read_only(location, str(exc))
    return exc


def _low_on_disk(location: str) -> bool:
    if location in ("", ":memory:"):
        return False
    try:
        return shutil.disk_usage(Path(location).expanduser().resolve().parent).free < LOW_DISK_BYTES
    except OSError:
        return False


def _read_only(location: str, reason: str) -> StoreReadOnly:
    return StoreReadOnly(
        f"the database {location} is read-only ({reason}); paperbot must be able to write it "
        "and its directory: fix the permissions or point PAPERBOT_DB elsewhere"
    )


def _open_sqlite(path: str) -> StoreConnection:
    """One SQLite connection to `path` with paperbot's pragmas (WAL, NORMAL sync, foreign keys,
    a 30 s busy timeout); no migration."""
    # isolation_level=None: we issue BEGIN/COMMIT ourselves so batches are one transaction.
    conn = sqlite3.connect(
        str(Path(path).expanduser()) if path != ":memory:" else ":memory:",
        isolation_level=None,
        check_same_thread=False,
        timeout=30,
        factory=StoreConnection,
    )
    assert isinstance(conn, StoreConnection)
    conn.location = path
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
    except BaseException:
        conn.close()
        raise
    return conn


class ThreadConnections:
    """A SQLite file store's connection as every thread sees it: the thread that opened the
    store uses the first connection (the one migrated), each other thread gets one of its own,
    opened on first use and closed with the store.

    So work moved off the event loop (searches, digest batches) can read and write in a worker
    thread: `transaction` asks `in_transaction` of the calling thread's connection, so two
    threads never join each other's transaction, and SQLite's file lock (with its busy timeout)
    orders their writes, as it does between processes.

    `close` closes the connections of threads that have ended (and the caller's own). Another
    live thread's connection is left to that thread: closing a SQLite connection while another
    thread runs a query on it crashes the process (a cancelled `asyncio.to_thread` keeps running
    after the bot has stopped), so that thread closes it on its next use, which raises
    StoreError, or when it ends."""

    dialect = "sqlite"

    def __init__(self, first: StoreConnection) -> None:
        self.location = first.location
        self._owner = threading.get_ident()
        self._first = first
        self._local = threading.local()
        self._others: list[tuple[threading.Thread, StoreConnection]] = []
        self._lock = threading.Lock()
        self._closed = False

    def current(self) -> StoreConnection:
        """The calling thread's connection (opened now on its first use)."""
        if threading.get_ident() == self._owner:
            return self._first
        conn: StoreConnection | None = getattr(self._local, "conn", None)
        if conn is not None and self._closed:  # left open by `close` for this thread to close
            self._local.conn = None
            conn.close()
            conn = None
        if conn is None:
            with self._lock:
                if self._closed:
                    raise StoreError(f"the database {self.location} is closed")
                conn = _open_sqlite(self.location)
                self._others.append((threading.current_thread(), conn))
            self._local.conn = conn
        return conn

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        """`execute` on the calling thread's connection."""
        return self.current().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> sqlite3.Cursor:
        """`executemany` on the calling thread's connection."""
        return self.current().executemany(sql, parameters)

    @property
    def in_transaction(self) -> bool:
        """Whether the calling thread's connection is inside a transaction."""
        return self.current().in_transaction

    @property
    def row_factory(self) -> Any:
        """The row factory (sqlite3.Row on every connection)."""
        return self._first.row_factory

    def close(self) -> None:
        """Close the connections of ended threads and the caller's, then the first (it
        checkpoints the WAL when it is the last); a live thread closes its own (see the class)."""
        with self._lock:
            self._closed = True
            others, self._others = self._others, []
        me = threading.current_thread()
        for thread, conn in others:
            if thread is me or not thread.is_alive():
                conn.close()
        self._first.close()


def connect(url: DatabaseURL, *, writable: bool = True) -> Connection:
    """Open the database (SQLite: switched to WAL; PostgreSQL: a connection pool) and apply
    pending migrations.

    With `writable` (the default) a database that cannot be written is refused at once with
    StoreReadOnly; commands that only read pass False. A PostgreSQL server that does not answer
    is a StoreError of one line naming the URL (its password removed).
    """
    if url.scheme == "postgresql":
        return _connect_postgres(url.path, writable=writable)
    if url.path != ":memory:":
        try:
            Path(url.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the database directory for {url.path}: {exc}") from exc
    try:
        conn = _open_sqlite(url.path)
    except sqlite3.Error as exc:
        raise _cannot_open(url.path, exc) from exc
    try:
        migrate(conn)
        if writable:
            _check_writable(conn)
    except StoreError:
        conn.close()
        raise
    except sqlite3.Error as exc:
        conn.close()
        raise _cannot_open(url.path, exc) from exc
    # In memory there is one database per connection: every thread shares the one.
    return conn if url.path == ":memory:" else ThreadConnections(conn)


def _connect_postgres(url: str, *, writable: bool) -> PgConnection:
    conn = PgConnection(libpq_url(url))
    try:
        migrate(conn)
        if writable and conn.execute("SHOW transaction_read_only").fetchone()[0] == "on":
            raise StoreReadOnly(
                f"the PostgreSQL database {conn.location} is read-only (a standby, or "
                "default_transaction_read_only); paperbot must be able to write it: point "
                "PAPERBOT_DB at the primary server"
            )
    except BaseException:
        conn.close()
        raise
    return conn


def libpq_url(url: str) -> str:
    """The URL as libpq reads it: `postgres://` is the same, SQLAlchemy's `postgresql+driver://`
    loses its driver part."""
    scheme, _, rest = url.partition("://")
    return f"postgresql://{rest}" if scheme.startswith("postgresql+") else url


def _check_writable(conn: StoreConnection) -> None:
    """Refuse a database SQLite opened read-only (it falls back silently when the file or its
    directory cannot be written): a write statement that changes nothing still needs write access."""
    with transaction(conn):
        conn.execute("INSERT INTO schema_version (version) SELECT version FROM schema_version WHERE 0")


def _cannot_open(location: str, exc: sqlite3.Error) -> StoreError:
    """A clear error for a database SQLite could not open or read."""
    if location != ":memory:":
        path = Path(location).expanduser()
        if path.exists() and not _can_open_for_writing(path):
            return _read_only(location, "no permission to write the file, or it is immutable")
        if not _directory_writable(path.parent):
            return _read_only(
                location, f"cannot write its directory {path.parent}, where SQLite keeps the -wal and -shm files"
            )
    if getattr(exc, "sqlite_errorname", "").startswith("SQLITE_READONLY"):
        return _read_only(location, str(exc))
    return StoreError(f"cannot open the database {location}: {exc}")


def _can_open_for_writing(path: Path) -> bool:
    # os.access ignores the immutable flag and answers True for root; opening tells the truth.
    try:
        os.close(os.open(path, os.O_RDWR))
    except OSError:
        return False
    return True


def _directory_writable(directory: Path) -> bool:
    try:
        with tempfile.TemporaryFile(dir=directory):
            return True
    except OSError:
        return False


def migrate(conn: Connection) -> int:
    """Apply every migration newer than the stored schema version; return the new version."""
    if isinstance(conn, PgConnection):
        return _migrate_postgres(conn)
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


def _migrate_postgres(conn: PgConnection) -> int:
    """`migrate` for PostgreSQL: the same versions from PG_MIGRATIONS, each in a transaction,
    all under an advisory lock so that two processes starting at once migrate only once. A
    database already at the current version is only read (a read-only one can be opened)."""
    if conn.execute("SELECT to_regclass('schema_version')").fetchone()[0] is None:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    with transaction(conn):
        conn.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK_KEY,))
        current = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
    if current > len(PG_MIGRATIONS):
        raise StoreError(
            f"the database schema is version {current}, newer than this paperbot ({len(PG_MIGRATIONS)})"
        )
    for number in range(current + 1, len(PG_MIGRATIONS) + 1):
        with transaction(conn):
            conn.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK_KEY,))
            if (conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0) >= number:
                continue  # another process applied it while we waited for the lock
            conn.run_script(PG_MIGRATIONS[number - 1])
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
    return len(PG_MIGRATIONS)


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
def transaction(conn: Connection) -> Iterator[Connection]:
    """One write transaction; inside an open transaction it simply joins it.

    The connection runs in autocommit mode (isolation_level=None), so statements outside a
    transaction commit one by one; several repositories writing together use this. On
    PostgreSQL the transaction belongs to the calling thread (see bot/store/backend.py).
    """
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        # SQLite has already rolled back after some errors (SQLITE_FULL among them); a second
        # ROLLBACK would raise and hide the error that matters.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # e.g. the disk filled up while the WAL was written
            conn.execute("ROLLBACK")
        raise
