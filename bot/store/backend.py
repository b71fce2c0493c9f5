"""The backend seam: one connection interface over SQLite and PostgreSQL.

Every repository takes a `Connection`: `execute` / `executemany` returning a `Cursor`
(`fetchone`, `fetchall`, `fetchmany`, iteration, `rowcount`), `in_transaction`, `close`. Rows
answer by position and by column name on both backends. SQLite's `StoreConnection`
(bot/store/db.py) is that interface as sqlite3 defines it; `PgConnection` here gives the same
interface over psycopg 3 and a psycopg-pool connection pool.

Portable SQL first
    Repositories write one statement for both backends wherever SQL allows: `?` placeholders,
    `INSERT ... ON CONFLICT ... DO NOTHING / DO UPDATE SET x = excluded.x`, `RETURNING` instead
    of `lastrowid`, ISO 8601 text for times (so no date functions), `CASE` instead of two-argument
    MIN/MAX. The PostgreSQL schema (bot/store/pg_schema.py) adds the few SQLite functions the
    statements use (`instr`, `json_extract` with a `$.key` path, `group_concat`) and an explicit
    `rowid` column on the tables whose insertion order is read. Where a statement must differ
    (the full-text index), the branch is next to the statement: `is_postgres(conn)`.

Placeholders, once, centrally
    `PgConnection` rewrites `?` to `%s` and doubles every `%` (psycopg's own placeholder marker),
    leaving `?` inside string literals, quoted identifiers and comments alone (`pg_sql`, cached).

Transactions and the pool
    Outside a transaction each statement borrows a pooled connection (autocommit) and returns it
    with every row already fetched. `BEGIN` pins one pooled connection to the calling thread until
    `COMMIT` or `ROLLBACK`, so `bot.store.db.transaction` works unchanged and threads (the runtime
    calling the store from worker threads) never share a transaction. `BEGIN IMMEDIATE` (SQLite:
    take the write lock now) is a plain READ COMMITTED `BEGIN`; a bare `BEGIN` (SQLite: a read
    snapshot, as the search index's catch-up uses) is `BEGIN ISOLATION LEVEL REPEATABLE READ`,
    PostgreSQL's consistent snapshot.

    Each connection is checked as it is taken from the pool (`check_connection`), so one the
    server dropped (a restart, a failover, an idle timeout) is replaced, not handed out broken.

Errors
    Every psycopg error leaves as a StoreError (chained): no space left (SQLSTATE 53100) is
    StoreFull, a read-only server or transaction (25006) is StoreReadOnly, and a server that does
    not answer is one line naming the (redacted) URL.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import urlsplit

from bot.core.errors import StoreError, StoreFull, StoreReadOnly
from bot.core.redact import redact_url

POSTGRESQL = "postgresql"
SQLITE = "sqlite"

# Connections per process. The runtime calls the store from the event loop thread and a few
# worker threads; each open transaction holds one connection.
POOL_MIN = 1
POOL_MAX = 8
CONNECT_TIMEOUT_SECONDS = 10
PING_TIMEOUT_SECONDS = 3.0


class Cursor(Protocol):
    """What a statement returns: its rows and how many rows it changed."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchmany(self, size: int = ...) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...

    def close(self) -> None: ...


class Connection(Protocol):
    """One database as the repositories see it (sqlite3's connection API, the part we use)."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Any: ...

    @property
    def in_transaction(self) -> bool: ...

    def close(self) -> None: ...


# A row of either backend: both answer row[0] and row["column"].
Row = Any


def dialect_of(conn: object) -> str:
    """"postgresql" for a PgConnection, "sqlite" for anything else (a sqlite3 connection)."""
    return str(getattr(conn, "dialect", SQLITE))


def is_postgres(conn: object) -> bool:
    """Whether `conn` talks to PostgreSQL."""
    return dialect_of(conn) == POSTGRESQL


# --- SQL text -------------------------------------------------------------------------------

_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|\?|%")


@lru_cache(maxsize=4096)
def pg_sql(sql: str) -> str:
    """`sql` with `?` placeholders as psycopg's `%s` and every literal `%` doubled; `?` inside
    string literals, quoted identifiers and comments is left as it is."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        return token.replace("%", "%%")  # a literal or comment: only its % needs doubling

    return _TOKENS.sub(replace, sql)


def _bindable(parameters: Any) -> Sequence[Any]:
    """Parameters as psycopg binds them: booleans as 0/1 (the schema stores flags as integers,
    as SQLite does); text with NUL characters, which PostgreSQL's text cannot hold (SQLite's
    can), with each NUL as U+FFFD (a lookup by such text then finds nothing, as it would on
    SQLite, and stored text keeps its other characters)."""
    if parameters is None:
        return ()
    if isinstance(parameters, dict):
        raise TypeError("named parameters are not used by the store; pass a sequence")
    return tuple(_bindable_value(p) for p in parameters)


def _bindable_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


def pg_location(url: str) -> str:
    """The URL to show in messages: the password (and any secret query parameter) removed, the
    user kept, `//` kept even with no host (a Unix socket given as `?host=/path`)."""
    try:
        user = urlsplit(url).username
    except ValueError:
        user = None
    parts = urlsplit(redact_url(url))
    netloc = f"{user}@{parts.netloc}" if user else parts.netloc
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}://{netloc}{parts.path}{query}"


# --- rows and cursors -----------------------------------------------------------------------


class PgRow(tuple):  # type: ignore[type-arg]
    """A row that answers by position and by column name, like sqlite3.Row."""

    _index: dict[str, int]

    def __new__(cls, index: dict[str, int], values: Sequence[Any]) -> PgRow:
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._index[key])
            except KeyError:
                raise IndexError(f"no such column: {key}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """Column names in order (what dict(row) reads, as with sqlite3.Row)."""
        return sorted(self._index, key=self._index.__getitem__)


class PgCursor:
    """A statement's answer, fetched in full before its connection went back to the pool."""

    def __init__(self, rows: list[PgRow], rowcount: int, lastrowid: int | None = None) -> None:
        self._rows = rows
        self._next = 0
        self._rowcount = rowcount
        # sqlite3 compatibility only: PostgreSQL has no lastrowid; statements use RETURNING.
        self.lastrowid = lastrowid

    @property
    def rowcount(self) -> int:
        """Rows the statement changed (or returned, for a SELECT)."""
        return self._rowcount

    def fetchone(self) -> Any:
        """The next row (a PgRow), or None."""
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchmany(self, size: int = 1) -> list[PgRow]:
        """Up to `size` next rows."""
        rows = self._rows[self._next : self._next + size]
        self._next += len(rows)
        return rows

    def fetchall(self) -> list[PgRow]:
        """Every remaining row."""
        rows = self._rows[self._next :]
        self._next = len(self._rows)
        return rows

    def __iter__(self) -> Iterator[PgRow]:
        while (row := self.fetchone()) is not None:
            yield row

    def close(self) -> None:
        """Drop the rows (nothing is held on the server)."""
        self._rows = []


# --- errors -----------------------------------------------------------------------------------


def pg_fault(exc: Exception, location: str) -> StoreError:
    """The StoreError for a psycopg error (see the module docstring)."""
    import psycopg

    state = getattr(exc, "sqlstate", None) or ""
    if state == "53100":
        return StoreFull(
            f"disk full: the PostgreSQL server of {location} cannot write ({exc}); the last change "
            "was rolled back and nothing already stored is lost; free some space and try again"
        )
    if state == "25006":
        return StoreReadOnly(
            f"the PostgreSQL database {location} is read-only ({exc}); paperbot must be able to "
            "write it: point PAPERBOT_DB at the primary server"
        )
    if isinstance(exc, psycopg.OperationalError) and not state:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return StoreError(f"cannot reach the PostgreSQL database {location}: {reason}")
    return StoreError(f"PostgreSQL error on {location}: {' '.join(str(exc).split())}")


# --- the connection ---------------------------------------------------------------------------


def _configure(conn: Any) -> None:
    """Per pooled connection: rows as PgRow, NUMERIC (what SUM over integers gives) as int or
    float like SQLite's, autocommit (transactions are explicit)."""
    from psycopg.adapt import Loader

    class NumberLoader(Loader):
        def load(self, data: Any) -> int | float:
            text = bytes(data).decode()
            try:
                return int(text)
            except ValueError:
                return float(text)

    conn.adapters.register_loader("numeric", NumberLoader)
    conn.row_factory = _row_factory
    conn.autocommit = True


def _row_factory(cursor: Any) -> Any:
    description = cursor.description
    index: dict[str, int] = {}
    for position, column in enumerate(description or ()):
        index.setdefault(column.name, position)

    def make(values: Sequence[Any]) -> PgRow:
        return PgRow(index, values)

    return make


_BEGIN = {"BEGIN": "BEGIN ISOLATION LEVEL REPEATABLE READ", "BEGIN IMMEDIATE": "BEGIN", "BEGIN DEFERRED": "BEGIN"}
_END = {"COMMIT", "ROLLBACK", "END"}


class PgConnection:
    """The store's connection to PostgreSQL: a psycopg-pool pool behind sqlite3's API (see the
    module docstring). `location` is the URL with any password removed, for messages."""

    dialect = POSTGRESQL

    def __init__(self, url: str, *, min_size: int = POOL_MIN, max_size: int = POOL_MAX) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        self.url = url
        self.location = pg_location(url)
        self._local = threading.local()
        # One direct attempt first: a server that is down is one clear error at once, where the
        # pool would keep retrying in the background until its timeout.
        try:
            psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_SECONDS).close()
        except psycopg.Error as exc:
            raise pg_fault(exc, self.location) from exc
        self._pool = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            kwargs={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
            configure=_configure,
            # Checked on every checkout (a round trip of `SELECT 1`-like cost): after a server
            # restart or a dropped connection, the pool replaces the dead connection instead of
            # handing it out to fail its next statement.
            check=ConnectionPool.check_connection,
            open=False,
            name="paperbot-store",
        )
        try:
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS + 5)
        except Exception as exc:
            self._pool.close()
            raise StoreError(f"cannot reach the PostgreSQL database {self.location}: {exc}") from exc

    @property
    def in_transaction(self) -> bool:
        """Whether this thread has an open transaction."""
        return getattr(self._local, "conn", None) is not None

    def execute(self, sql: str, parameters: Any = (), /) -> PgCursor:
        """Run one statement (see the module docstring for BEGIN/COMMIT/ROLLBACK)."""
        command = " ".join(sql.split()).upper().rstrip(";")
        if command in _BEGIN:
            return self._begin(_BEGIN[command])
        if command in _END:
            return self._end("ROLLBACK" if command == "ROLLBACK" else "COMMIT")
        return self._on_connection(lambda conn: self._run(conn, sql, parameters))

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> PgCursor:
        """Run one statement once per parameter row."""
        rows = [_bindable(p) for p in parameters]
        return self._on_connection(lambda conn: self._run_many(conn, sql, rows))

    def _on_connection(self, run: Callable[[Any], PgCursor]) -> PgCursor:
        """`run(conn)` on this thread's transaction connection, or else on one from the pool
        for just this statement; a psycopg error becomes the store's own (pg_fault)."""
        import psycopg

        pinned = getattr(self._local, "conn", None)
        try:
            if pinned is not None:
                return run(pinned)
            with self._pool.connection() as conn:
                return run(conn)
        except psycopg.Error as exc:
            raise pg_fault(exc, self.location) from exc

    @staticmethod
    def _run(conn: Any, sql: str, parameters: Any) -> PgCursor:
        with conn.cursor() as cursor:
            cursor.execute(pg_sql(sql), _bindable(parameters))
            rows = cursor.fetchall() if cursor.description is not None else []
            return PgCursor(rows, cursor.rowcount)

    @staticmethod
    def _run_many(conn: Any, sql: str, rows: list[Sequence[Any]]) -> PgCursor:
        if not rows:
            return PgCursor([], 0)
        with conn.cursor() as cursor:
            cursor.executemany(pg_sql(sql), rows)
            return PgCursor([], cursor.rowcount)

    def _begin(self, statement: str) -> PgCursor:
        import psycopg

        if self.in_transaction:
            raise StoreError("a transaction is already open on this thread")
        conn = self._pool.getconn()
        try:
            conn.execute(statement)
        except psycopg.Error as exc:
            self._pool.putconn(conn)
            raise pg_fault(exc, self.location) from exc
        self._local.conn = conn
        return PgCursor([], -1)

    def _end(self, statement: str) -> PgCursor:
        import psycopg

        conn = getattr(self._local, "conn", None)
        if conn is None:
            return PgCursor([], -1)
        self._local.conn = None
        try:
            conn.execute(statement)
        except psycopg.Error as exc:
            raise pg_fault(exc, self.location) from exc
        finally:
            self._pool.putconn(conn)
        return PgCursor([], -1)

    def ping(self, timeout: float = PING_TIMEOUT_SECONDS) -> bool:
        """Whether the server answers `SELECT 1` within about `timeout` seconds (for /healthz,
        which must not hang on a pool waiting for a server that is gone)."""
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self._pool.connection(timeout=timeout) as conn:
                conn.execute("SELECT 1").fetchone()
            return True
        except (psycopg.Error, PoolTimeout):
            return False

    def run_script(self, script: str) -> None:
        """Run several statements as one (migrations), in this thread's transaction if open."""
        import psycopg

        pinned = getattr(self._local, "conn", None)
        try:
            if pinned is not None:
                pinned.execute(script)  # no parameters: psycopg sends the text as it is
            else:
                with self._pool.connection() as conn:
                    conn.execute(script)
        except psycopg.Error as exc:
            raise pg_fault(exc, self.location) from exc

    def close(self) -> None:
        """Close every pooled connection."""
        self._pool.close()
