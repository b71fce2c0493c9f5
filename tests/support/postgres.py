"""A throwaway PostgreSQL server for tests: initdb + pg_ctl in a temporary directory.

`PostgresServer.start()` runs Debian's binaries (found under /usr/lib/postgresql/*/bin, on PATH
or in PAPERBOT_PG_BIN) as an unprivileged user: the current one, or `postgres` (else `nobody`)
when the tests run as root, since PostgreSQL refuses to run as root. The server listens only on
a Unix socket inside its directory (no TCP port, so nothing else on the machine can reach it),
with fsync off: it is thrown away afterwards. `new_database()` hands out an empty database per
test (CREATE DATABASE is a file copy of template0: tens of milliseconds).

When the binaries are missing the tests that need a server are skipped with the reason, unless
PAPERBOT_TEST_POSTGRES=required (which `.ci/run` exports): then they fail, so CI cannot pass by
silently skipping the PostgreSQL half of the suite.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

REQUIRED_ENV = "PAPERBOT_TEST_POSTGRES"
BIN_ENV = "PAPERBOT_PG_BIN"
SUPERUSER = "paperbot"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine (the reason says where we looked)."""


def postgres_required() -> bool:
    """Whether a missing server must fail the tests instead of skipping them."""
    return os.environ.get(REQUIRED_ENV, "").strip().lower() == "required"


def find_bin_dir() -> Path:
    """The directory holding initdb, pg_ctl and postgres; PostgresUnavailable when there is none."""
    candidates: list[str] = []
    if os.environ.get(BIN_ENV):
        candidates.append(os.environ[BIN_ENV])
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for candidate in candidates:
        directory = Path(candidate)
        if all((directory / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return directory
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in "
        f"{BIN_ENV}, /usr/lib/postgresql/*/bin or PATH; install Debian's `postgresql` package"
    )


def _server_user() -> str | None:
    """Who runs the server: None (ourselves) unless we are root, who may not run it."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise PostgresUnavailable("running as root and neither a `postgres` nor a `nobody` user exists")


@dataclass
class PostgresServer:
    """One running throwaway cluster; `stop()` ends it and removes its directory."""

    bin_dir: Path
    root: Path
    user: str | None
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def socket_dir(self) -> Path:
        """The directory of the server's Unix socket (libpq's `host`)."""
        return self.root / "socket"

    @classmethod
    def start(cls) -> PostgresServer:
        """initdb a cluster in a new temporary directory and start it; raises
        PostgresUnavailable without binaries and RuntimeError (with the server log) on failure."""
        bin_dir = find_bin_dir()
        user = _server_user()
        # Short path: a Unix socket path may not exceed 107 bytes.
        root = Path(tempfile.mkdtemp(prefix="pbpg-", dir="/tmp"))
        server = cls(bin_dir, root, user)
        try:
            (root / "socket").mkdir()
            if user is not None:
                entry = pwd.getpwnam(user)
                for path in (root, root / "socket"):
                    os.chown(path, entry.pw_uid, entry.pw_gid)
            server._run(
                "initdb", "-D", str(root / "data"), "-U", SUPERUSER, "--auth=trust",
                "--encoding=UTF8", "--locale=C", "--no-sync",
            )
            server._start()
        except BaseException:
            server.stop()
            raise
        return server

    def _start(self) -> None:
        options = (
            f"-k {self.root / 'socket'} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB "
            # The server always logs a deadlock with both statements; waits of over 200 ms are
            # logged too, so the log shows which rows replicas queue on before a deadlock.
            "-c log_lock_waits=on -c deadlock_timeout=200ms"
        )
        self._run(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.root / "data"),
            "-l", str(self.root / "server.log"), "-o", options,
        )

    def log_text(self) -> str:
        """The server's log so far ('' before it started)."""
        log = self.root / "server.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def restart(self) -> None:
        """Stop the server (every client connection is cut, open transactions rolled back) and
        start it again, with its data: what a restart or a failover looks like to paperbot.
        `fast`, not `immediate`: this throwaway server runs with synchronous_commit off, so an
        immediate stop could lose the last committed rows, which is not what is being tested."""
        self._run("pg_ctl", "stop", "-m", "fast", "-w", "-D", str(self.root / "data"))
        self._start()

    def _run(self, program: str, *args: str) -> None:
        try:
            subprocess.run(
                [str(self.bin_dir / program), *args],
                check=True, capture_output=True, text=True, user=self.user, cwd=self.root, timeout=120,
            )
        except subprocess.CalledProcessError as exc:
            tail = self.log_text()[-2000:]
            raise RuntimeError(f"{program} failed: {exc.stderr or exc.stdout}\n{tail}") from exc

    def url(self, database: str = "postgres") -> str:
        """A libpq URL for `database` on this server, over its Unix socket."""
        return f"postgresql://{SUPERUSER}@/{database}?host={quote(str(self.socket_dir), safe='/')}"

    def new_database(self, prefix: str = "t") -> str:
        """Create an empty database and return its URL."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server at once (nothing in it is worth a clean shutdown) and delete it."""
        if (self.root / "data" / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self._run("pg_ctl", "stop", "-m", "immediate", "-w", "-D", str(self.root / "data"))
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class ResettableDatabase:
    """One migrated database reused by many tests: `reset()` empties every table and puts back
    the rows the migrations seeded (sequence counters), which is far quicker than a new
    database per test on a loaded machine."""

    url: str
    tables: list[str]
    seeded: dict[str, list[tuple[object, ...]]]

    @classmethod
    def create(cls, server: PostgresServer) -> ResettableDatabase:
        """A new database, migrated by paperbot itself, and what its migrations left in it."""
        import psycopg

        from bot.store import Store

        url = server.new_database("shared")
        Store.open(url).close()
        with psycopg.connect(url, autocommit=True) as conn:
            tables = [
                row[0] for row in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                    "AND table_type = 'BASE TABLE' AND table_name != 'schema_version' ORDER BY table_name"
                )
            ]
            seeded = {}
            for table in tables:
                rows = conn.execute(f'SELECT * FROM "{table}"').fetchall()
                if rows:
                    seeded[table] = rows
        return cls(url, tables, seeded)

    def reset(self) -> None:
        """Every table as the migrations left it; identity counters restart at 1."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            # A store an earlier test left open (failed mid-transaction, say) would hold locks
            # that TRUNCATE waits for: its connections go first.
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        with psycopg.connect(self.url, autocommit=True) as conn, conn.transaction():
            conn.execute(
                "TRUNCATE " + ", ".join(f'"{table}"' for table in self.tables) + " RESTART IDENTITY"
            )
            for table, rows in self.seeded.items():
                marks = ", ".join(["%s"] * len(rows[0]))
                with conn.cursor() as cursor:
                    cursor.executemany(f'INSERT INTO "{table}" VALUES ({marks})', rows)
