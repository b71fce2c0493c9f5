"""Storage faults for tests: a read-only database file and a database that is full.

A read-only file is made immutable (`chattr +i`) when the tests run as root, who may write any
file whatever its mode, and read-only by mode otherwise. A full disk is SQLite's
`PRAGMA max_page_count`: the database may not grow past its current size plus `spare_pages`,
and SQLite answers SQLITE_FULL ("database or disk is full") exactly as on a full disk.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def read_only_file(path: Path) -> Iterator[None]:
    """Make `path` impossible to write for this process for the duration of the block."""
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"root cannot be kept from writing without chattr +i: {done.stderr.strip()}")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(mode)


def cap_growth(conn: sqlite3.Connection, spare_pages: int = 0) -> int:
    """Let the database on `conn` grow by at most `spare_pages` pages; returns the cap."""
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    return int(conn.execute(f"PRAGMA max_page_count = {pages + spare_pages}").fetchone()[0])
