"""Who may write: one process per SQLite store; on PostgreSQL, replicas that divide the work.

SQLite. Two bots delivering from one outbox would post every message twice, so a process that
delivers (`paperbot run`, `paperbot run --once`) first takes the store's writer lock:
`fcntl.flock` on `<database>.lock`. The kernel releases it whenever the holder's process ends,
kill -9 included, so a crash never leaves a stale lock behind. The file holds the holder's pid
and command, so a refusal names the process that holds it. The file itself is never deleted:
deleting it would let a newcomer lock a fresh file while the holder still locks the old one.
`paperbot run` refuses to start while another process holds the lock (`wait=0`); `run --once`
waits for it, up to STORE_LOCK_WAIT seconds, then gives up without sending anything.

PostgreSQL. Any number of `paperbot run` replicas share one database and no writer lock
(`ReplicaStore` grants it at once); they divide the work without a coordinator:

- the outbox: each due row is claimed by one replica with a lease it renews while sending
  (`FOR UPDATE SKIP LOCKED`, bot/store/outbox.py `claim_due`); a dead replica's leases expire
  and the others take its rows over, resuming at the part its bookkeeping recorded;
- the scheduler's steps (alert batches, pruning) and each source's fetch are done by one
  replica at a time: `AdvisoryLocks`, session advisory locks (`pg_try_advisory_lock`) on one
  connection per process, which the server releases when that connection ends (kill -9
  included: the server sees the socket close), so nothing stale is left; a replica that does
  not get a lock skips that work this time. The locks are leases too: the connection asks
  the server to end it after `lease_seconds` without a statement (`idle_session_timeout`), and
  the runtime sends one every third of that (`keep_alive`), so a replica that hangs with its
  socket open (a stopped process, an event loop stuck) loses its locks within the lease, as a
  dead one does at once;
- digests (channel, email and personal) are divided slot by slot: every replica builds at each
  tick, claiming each batch of due (channel, local date) slots with the same locks, one name
  per slot, many in one round trip (`try_lock_many`), and leaving the slots it did not get to
  their holders (bot/digests/claims.py). A killed builder's claims end with its connection,
  so the next tick of another replica builds what it had not committed. Within the work, the
  store's unique keys (one outbox row per digest key, one `digest_runs` row per channel and
  local date) keep a digest from being written twice even if two replicas ever raced;
- every replica's search index follows the store's search sequence (bot/store/search_index.py).

On SQLite the same calls are made and always granted (`ProcessLocks`): one process writes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
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


class ReplicaStore:
    """A PostgreSQL store: replicas divide the work, so the writer lock is always granted."""

    def acquire(self, command: str, *, wait: float = 0.0) -> None:
        """Nothing to take: claims, leases and advisory locks keep replicas apart."""

    def release(self) -> None:
        """Nothing to release."""


class WorkLocks(Protocol):
    """Named locks on work only one process may do at a time (a source's fetch, a scheduler
    step), released when the holding process dies."""

    def try_lock(self, name: str) -> bool: ...

    def unlock(self, name: str) -> None: ...

    def try_lock_many(self, names: Sequence[str]) -> list[str]: ...

    def unlock_many(self, names: Sequence[str]) -> None: ...

    def keep_alive(self) -> None: ...

    def close(self) -> None: ...


class ProcessLocks:
    """A store only this process writes (SQLite, under its writer lock): every lock is granted."""

    def try_lock(self, name: str) -> bool:
        """Always granted: no other process does this work."""
        return True

    def unlock(self, name: str) -> None:
        """Nothing to release."""

    def try_lock_many(self, names: Sequence[str]) -> list[str]:
        """Every one granted, in the order given (each name once)."""
        return list(dict.fromkeys(names))

    def unlock_many(self, names: Sequence[str]) -> None:
        """Nothing to release."""

    def keep_alive(self) -> None:
        """Nothing to renew."""

    def close(self) -> None:
        """Nothing to close."""


def advisory_key(name: str) -> int:
    """The signed 64-bit advisory lock key of a lock name (stable across processes)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


class AdvisoryLocks:
    """Session advisory locks (`pg_try_advisory_lock`) on one connection of this process's own
    (see the module): granted to one process at a time per database and name, released by the
    server when the process's connection ends (kill -9 included). The connection is opened on
    first use and reopened after it broke (a server restart, which released every lock).

    With `lease_seconds`, the server also ends the connection, and so releases its locks, once
    it has been idle that long: call `keep_alive` more often than that while the process works
    (the runtime does, every third of it). A server older than PostgreSQL 14 has no such
    setting: there the locks last as long as the connection, as without a lease."""

    def __init__(self, url: str, *, application_name: str = "", lease_seconds: float | None = None) -> None:
        self.url = url
        self.location = pg_location(url)
        self.application_name = (application_name or f"paperbot pid {os.getpid()} locks")[:63]
        self.lease_seconds = lease_seconds
        self._conn: Any = None
        self._held: set[str] = set()
        self._mutex = threading.Lock()  # the connection serves the event loop and worker threads

    def try_lock(self, name: str) -> bool:
        """Take the lock `name` unless another process holds it; returns whether it is held
        now. A server that cannot be reached raises StoreError."""
        return name in self.try_lock_many([name])

    def unlock(self, name: str) -> None:
        """Let go of the lock `name` (nothing happens when it is not held)."""
        self.unlock_many([name])

    def try_lock_many(self, names: Sequence[str]) -> list[str]:
        """Take each of the locks `names` that no other process holds, all in one round trip;
        returns those held now, in the order given (each name once). A server that cannot be
        reached raises StoreError."""
        wanted = list(dict.fromkeys(names))
        with self._mutex:
            # The server counts a session's locks: asking again for one held would need two
            # unlocks, so only the others are asked for.
            asking = [name for name in wanted if name not in self._held]
            if asking:
                rows = self._query(
                    "SELECT pg_try_advisory_lock(k) FROM unnest(%s::bigint[]) WITH ORDINALITY AS t(k, n) ORDER BY n",
                    [advisory_key(name) for name in asking],
                )
                self._held.update(name for name, (granted,) in zip(asking, rows, strict=True) if granted)
            return [name for name in wanted if name in self._held]

    def unlock_many(self, names: Sequence[str]) -> None:
        """Let go of each of the locks `names` this process holds (the others are left alone)."""
        import psycopg

        with self._mutex:
            releasing = [name for name in dict.fromkeys(names) if name in self._held]
            if not releasing:
                return
            self._held.difference_update(releasing)
            if self._conn is None or self._conn.closed:
                return  # the session ended, and its locks with it: nothing to reconnect for
            try:
                self._conn.execute(
                    "SELECT pg_advisory_unlock(k) FROM unnest(%s::bigint[]) AS k",
                    ([advisory_key(name) for name in releasing],),
                ).fetchall()
            except psycopg.Error:
                self._drop()  # the session is gone, and its locks with it

    def _query(self, sql: str, keys: list[int]) -> list[tuple[Any, ...]]:
        """Rows of `sql` over an array of lock keys, reconnecting once when the connection
        broke (a broken connection held nothing any more); call holding the mutex."""
        import psycopg

        for attempt in (1, 2):
            conn = self._connection()
            try:
                return list(conn.execute(sql, (keys,)).fetchall())
            except psycopg.OperationalError as exc:
                self._drop()
                if attempt == 2:
                    raise pg_fault(exc, self.location) from exc
            except psycopg.Error as exc:
                raise pg_fault(exc, self.location) from exc
        raise AssertionError("unreachable: the second attempt returns or raises")

    def keep_alive(self) -> None:
        """Renew the lease on the locks held: one statement on their connection, so the server
        does not end it as idle. A connection found broken held nothing any more (its locks
        ended with it): it is dropped, and the next lock asked for opens a new one."""
        import psycopg

        with self._mutex:
            if self._conn is None or self._conn.closed:
                return
            try:
                self._conn.execute("SELECT 1").fetchall()
            except psycopg.Error:
                self._drop()

    def close(self) -> None:
        """Release every lock by closing the connection."""
        with self._mutex:
            self._drop()

    def _connection(self) -> Any:
        import psycopg

        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(
                    self.url, autocommit=True, application_name=self.application_name, connect_timeout=10
                )
            except psycopg.Error as exc:
                raise pg_fault(exc, self.location) from exc
            self._held.clear()
            if self.lease_seconds is not None:
                # Before PostgreSQL 14 there is no such setting: the locks last as long as the connection.
                with contextlib.suppress(psycopg.errors.UndefinedObject):
                    self._conn.execute(f"SET idle_session_timeout = {max(1, round(self.lease_seconds * 1000))}")
        return self._conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._held.clear()
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


@contextlib.contextmanager
def holding(locks: WorkLocks, name: str) -> Iterator[bool]:
    """`with holding(locks, "source:arxiv") as mine:` runs the block with `mine` telling
    whether this process got the lock (skip the work when not); it is released after."""
    mine = locks.try_lock(name)
    try:
        yield mine
    finally:
        if mine:
            locks.unlock(name)


def work_locks(url: DatabaseURL, *, lease_seconds: float | None = None) -> WorkLocks:
    """The work locks of a store: advisory locks on PostgreSQL, where replicas share the
    database (leased for `lease_seconds` when given, see `AdvisoryLocks`); always granted on
    SQLite, which one process writes."""
    if url.scheme == "postgresql":
        return AdvisoryLocks(libpq_url(url.path), lease_seconds=lease_seconds)
    return ProcessLocks()


def writer_lock(url: DatabaseURL) -> WriterLock:
    """The writer lock of a store: a lock file for a SQLite file; none for PostgreSQL (its
    replicas divide the work, see the module) or a store in memory."""
    if url.scheme == "postgresql":
        return ReplicaStore()
    if url.path != ":memory:":
        return StoreFileLock(Path(url.path).expanduser().absolute())
    return SharedStore()
