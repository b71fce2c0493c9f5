"""One writer per SQLite store: an OS-level lock next to the database.

Two bots delivering from one outbox would post every message twice, so a process that delivers
(`paperbot run`, `paperbot run --once`) first takes the store's writer lock: `fcntl.flock` on
`<database>.lock`. The kernel releases it whenever the holder's process ends, kill -9 included,
so a crash never leaves a stale lock behind. The file holds the holder's pid and command, so a
refusal names the process that holds it. The file itself is never deleted: deleting it would
let a newcomer lock a fresh file while the holder still locks the old one.

`paperbot run` refuses to start while another process holds the lock (`wait=0`); `run --once`
waits for it, up to STORE_LOCK_WAIT seconds, then gives up without sending anything.

PostgreSQL: the same promise with a session-level advisory lock (`StoreAdvisoryLock`):
`pg_try_advisory_lock` on a connection of its own, held for as long as the process runs. The
server releases it when that connection ends, which a killed process's does (kill -9 included:
the server sees the socket close), so nothing stale is left either. The holder is named from
`pg_stat_activity`: the lock's connection carries `paperbot pid <n> (<command>)` as its
application_name. One process delivers per database, as on SQLite; replicas that divide the
work between them (outbox leases, `FOR UPDATE SKIP LOCKED`) are not built yet (issue #19 part 2).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from bot.core.clock import system_monotonic
from bot.core.errors import StoreError, StoreLocked, StoreReadOnly
from bot.store.backend import pg_fault, pg_location
from bot.store.db import DatabaseURL, libpq_url

POLL_SECONDS = 0.2


class WriterLock(Protocol):
    """The right to deliver from a store; `acquire` raises StoreLocked when it is not granted."""

    def acquire(self, command: str, *, wait: float = 0.0) -> None: ...

    def release(self) -> None: ...


class SharedStore:
    """A store no other process can reach (in memory): the lock is always granted."""

    def acquire(self, command: str, *, wait: float = 0.0) -> None:
        """Nothing to wait for."""

    def release(self) -> None:
        """Nothing to release."""


class StoreFileLock:
    """`fcntl.flock` on `<database>.lock`, holding `<pid> <command>` (see the module)."""

    def __init__(
        self,
        database: Path,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = system_monotonic,
    ) -> None:
        self.database = database
        self.path = database.with_name(database.name + ".lock")
        self._sleep = sleep
        self._monotonic = monotonic
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self, command: str, *, wait: float = 0.0) -> None:
        """Take the lock, waiting up to `wait` seconds for its holder to let go; raises
        StoreLocked naming the holder when it stays taken, StoreError when the lock file cannot
        be created."""
        if self._fd is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # O_APPEND-free, no truncation: the holder's pid must survive a newcomer's open().
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StoreReadOnly(
                f"cannot create the lock file {self.path} ({exc.strerror or exc}); paperbot must be "
                f"able to write the directory of the store {self.database}"
            ) from exc
        deadline = self._monotonic() + max(0.0, wait)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if self._monotonic() >= deadline:
                    holder = self._holder(fd)
                    os.close(fd)
                    raise StoreLocked(self._refusal(holder, wait), holder=holder) from None
                self._sleep(POLL_SECONDS)
            except OSError as exc:
                os.close(fd)
                raise StoreError(f"cannot lock {self.path}: {exc.strerror or exc}") from exc
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {command}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Let go of the lock (also done by the kernel when the process ends)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def holder(self) -> str:
        """`pid <n> (<command>)` of the process holding the lock as its file says, or ''."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return ""
        try:
            return self._holder(fd)
        finally:
            os.close(fd)

    @staticmethod
    def _holder(fd: int) -> str:
        text = os.pread(fd, 512, 0).decode("utf-8", "replace").strip()
        pid, _, command = text.partition(" ")
        if not pid.isdigit():
            return ""
        return f"pid {pid} ({command})" if command else f"pid {pid}"

    def _refusal(self, holder: str, waited: float) -> str:
        who = f"another paperbot ({holder})" if holder else "another paperbot"
        if waited > 0:
            return (
                f"{who} is using the store {self.database} and did not finish within {waited:g} s; "
                "nothing was sent, so nothing can be sent twice: the running bot delivers on its "
                "own, so drop this cron job while it runs (or raise STORE_LOCK_WAIT)"
            )
        return (
            f"{who} is already running on the store {self.database}; two bots on one store would "
            "post everything twice: stop it first, or give this one its own PAPERBOT_DB"
        )


# The advisory lock's key (one per database: advisory locks are scoped to their database).
ADVISORY_KEY = 0x7062_7772  # "pbwr"


class StoreAdvisoryLock:
    """A PostgreSQL session advisory lock on a connection of its own (see the module)."""

    def __init__(
        self,
        url: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = system_monotonic,
    ) -> None:
        self.url = url
        self.location = pg_location(url)
        self._sleep = sleep
        self._monotonic = monotonic
        self._conn: Any = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._conn is not None

    def acquire(self, command: str, *, wait: float = 0.0) -> None:
        """Take the lock, waiting up to `wait` seconds; raises StoreLocked naming the holder
        when it stays taken, StoreError when the server cannot be reached."""
        import psycopg

        if self._conn is not None:
            return
        name = f"paperbot pid {os.getpid()} ({command})"[:63]  # application_name's limit
        try:
            conn = psycopg.connect(self.url, autocommit=True, application_name=name, connect_timeout=10)
        except psycopg.Error as exc:
            raise pg_fault(exc, self.location) from exc
        deadline = self._monotonic() + max(0.0, wait)
        try:
            while not self._try_lock(conn):
                if self._monotonic() >= deadline:
                    holder = self._holder(conn)
                    conn.close()
                    raise StoreLocked(self._refusal(holder, wait), holder=holder)
                self._sleep(POLL_SECONDS)
        except psycopg.Error as exc:
            conn.close()
            raise pg_fault(exc, self.location) from exc
        self._conn = conn

    @staticmethod
    def _try_lock(conn: Any) -> bool:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_KEY,)).fetchone()
        return bool(row and row[0])

    def release(self) -> None:
        """Let go of the lock now (closing the connection alone would release it only once the
        server has ended that session, a moment later)."""
        import psycopg

        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        try:
            conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_KEY,))
        except psycopg.Error:
            pass  # the session is gone, and the lock with it
        finally:
            conn.close()

    def holder(self) -> str:
        """`pid <n> (<command>)` of the process holding the lock, or ''."""
        import psycopg

        try:
            with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
                return self._holder(conn)
        except psycopg.Error:
            return ""

    @staticmethod
    def _holder(conn: Any) -> str:
        row = conn.execute(
            """SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
               WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = %s
               AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())""",
            (ADVISORY_KEY,),
        ).fetchone()
        name = str(row[0]) if row else ""
        return name.removeprefix("paperbot ") if name.startswith("paperbot pid ") else ""

    def _refusal(self, holder: str, waited: float) -> str:
        who = f"another paperbot ({holder})" if holder else "another paperbot"
        if waited > 0:
            return (
                f"{who} is using the store {self.location} and did not finish within {waited:g} s; "
                "nothing was sent, so nothing can be sent twice: the running bot delivers on its "
                "own, so drop this cron job while it runs (or raise STORE_LOCK_WAIT)"
            )
        return (
            f"{who} is already running on the store {self.location}; two bots on one store would "
            "post everything twice: stop it first, or give this one its own PAPERBOT_DB"
        )


def writer_lock(url: DatabaseURL) -> WriterLock:
    """The writer lock of a store: a lock file for a SQLite file, an advisory lock for
    PostgreSQL, none for a store in memory."""
    if url.scheme == "postgresql":
        return StoreAdvisoryLock(libpq_url(url.path))
    if url.path != ":memory:":
        return StoreFileLock(Path(url.path).expanduser().absolute())
    return SharedStore()
