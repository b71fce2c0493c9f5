"""One writer per SQLite store: an OS-level lock next to the database.

Two bots delivering from one outbox would post every message twice, so a process that delivers
(`paperbot run`, `paperbot run --once`) first takes the store's writer lock: `fcntl.flock` on
`<database>.lock`. The kernel releases it whenever the holder's process ends, kill -9 included,
so a crash never leaves a stale lock behind. The file holds the holder's pid and command, so a
refusal names the process that holds it. The file itself is never deleted: deleting it would
let a newcomer lock a fresh file while the holder still locks the old one.

`paperbot run` refuses to start while another process holds the lock (`wait=0`); `run --once`
waits for it, up to STORE_LOCK_WAIT seconds, then gives up without sending anything.

PostgreSQL (later): several replicas share one database on purpose and claim outbox rows with
leases in the store instead. `writer_lock()` then returns `SharedStore`, which is always granted,
so the callers stay as they are.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from bot.core.clock import system_monotonic
from bot.core.errors import StoreError, StoreLocked, StoreReadOnly
from bot.store.db import DatabaseURL

POLL_SECONDS = 0.2


class WriterLock(Protocol):
    """The right to deliver from a store; `acquire` raises StoreLocked when it is not granted."""

    def acquire(self, command: str, *, wait: float = 0.0) -> None: ...

    def release(self) -> None: ...


class SharedStore:
    """A store that several processes may deliver from (in memory, or later PostgreSQL with
    leases): the lock is always granted."""

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


def writer_lock(url: DatabaseURL) -> WriterLock:
    """The writer lock of a store: a lock file for a SQLite file, none for a store in memory."""
    if url.scheme == "sqlite" and url.path != ":memory:":
        return StoreFileLock(Path(url.path).expanduser().absolute())
    return SharedStore()
