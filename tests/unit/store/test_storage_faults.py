"""Storage faults are clear: a read-only database is refused when it is opened, a full disk is
"disk full" with the path, the command that hit it fails cleanly, and nothing stored is lost."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import pytest

import bot.cli.main as cli
import bot.store.db as db
from bot.core.errors import StoreError, StoreFull, StoreReadOnly
from bot.fetch.ingest import ingest_payload
from bot.store import Store
from tests.conftest import FIXTURES, REPO
from tests.support.factories import T0
from tests.support.faults import cap_growth, read_only_file

LISTING = FIXTURES / "arxiv_rss_new_quant-ph_2025-04-28.xml"
API_PAGE = FIXTURES / "arxiv_api_query_testing_m10.xml"


def seeded(path: Path) -> int:
    store = Store.open(str(path))
    try:
        ingest_payload(store, "arxiv-api", API_PAGE.read_bytes(), T0)
        return store.papers.count()
    finally:
        store.close()


# --- read-only ------------------------------------------------------------------------------


def test_a_read_only_database_is_refused_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "paperbot.db"
    seeded(path)
    with read_only_file(path), pytest.raises(StoreReadOnly) as info:
        Store.open(str(path))
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "read-only" in message


def test_commands_that_only_read_still_open_it(tmp_path: Path) -> None:
    path = tmp_path / "paperbot.db"
    papers = seeded(path)
    with read_only_file(path):
        store = Store.open(str(path), writable=False)
        try:
            assert store.papers.count() == papers
            with pytest.raises(StoreReadOnly, match="read-only"):
                ingest_payload(store, "arxiv-rss", LISTING.read_bytes(), T0)
        finally:
            store.close()


def test_a_directory_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "paperbot.db"
    seeded(path)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with read_only_file(folder), pytest.raises(StoreReadOnly) as info:
        Store.open(str(path))
    assert str(folder) in str(info.value) and "-wal" in str(info.value)


def test_paperbot_run_refuses_a_read_only_store_with_one_line_and_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "paperbot.db"
    seeded(path)
    env = {
        "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "PAPERBOT_DB": str(path), "LOG_LEVEL": "warning",
        "ARXIV_ENABLED": "false", "HF_ENABLED": "false", "REDDIT_ENABLED": "false",
    }
    with read_only_file(path):
        for args in (["run", "--console"], ["run", "--once"]):
            done = subprocess.run(
                [sys.executable, "-m", "bot", *args], env=env, cwd=tmp_path,
                capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
            )
            assert done.returncode == 1, (args, done.stderr)
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1, done.stderr
            assert lines[0].startswith(f"paperbot: the database {path} is read-only")


# --- disk full ------------------------------------------------------------------------------


def test_a_full_database_is_disk_full_with_the_path_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "paperbot.db"
    before = seeded(path)
    store = Store.open(str(path))
    try:
        ids_before = [p.id for p in store.papers.changed(limit=1000)]
        cap_growth(store.conn, spare_pages=2)
        with pytest.raises(StoreFull) as info:
            ingest_payload(store, "arxiv-rss", LISTING.read_bytes(), T0)
        message = str(info.value)
        assert message.startswith("disk full:") and str(path) in message and "\n" not in message
        # The failed batch was rolled back whole; what was stored before is intact.
        assert not store.conn.in_transaction
        assert [p.id for p in store.papers.changed(limit=1000)] == ids_before
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # With space again the same payload goes in (it was not marked as ingested).
        cap_growth(store.conn, spare_pages=100_000)
        counts = ingest_payload(store, "arxiv-rss", LISTING.read_bytes(), T0)
        assert counts.new > 0 and store.papers.count() == before + counts.new
    finally:
        store.close()


def test_paperbot_ingest_on_a_full_disk_fails_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "paperbot.db"
    before = seeded(path)
    monkeypatch.setenv("PAPERBOT_DB", str(path))
    monkeypatch.setenv("LOG_LEVEL", "warning")
    opened = Store.open

    def open_full(location: object, *, writable: bool = True) -> Store:
        store = opened(location, writable=writable)  # type: ignore[arg-type]
        cap_growth(store.conn, spare_pages=1)
        return store

    monkeypatch.setattr(Store, "open", staticmethod(open_full))
    code = cli.main(["ingest", str(LISTING), "--source", "arxiv-rss"])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.startswith(f"paperbot: {LISTING}: disk full: cannot write to the database {path}")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    monkeypatch.undo()
    assert seeded(path) == before  # reopening and re-ingesting the same page adds nothing


def test_an_io_error_on_a_disk_without_space_is_reported_as_disk_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = sqlite3.OperationalError("disk I/O error")
    error.sqlite_errorname = "SQLITE_IOERR_WRITE"  # type: ignore[attr-defined]
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(db.shutil, "disk_usage", lambda _path: usage(10**9, 10**9, 0))
    fault = db.storage_fault(error, str(tmp_path / "paperbot.db"))
    assert isinstance(fault, StoreFull) and "disk full" in str(fault)
    # With space to spare an I/O error stays what it is.
    monkeypatch.setattr(db.shutil, "disk_usage", lambda _path: usage(10**12, 0, 10**12))
    assert db.storage_fault(error, str(tmp_path / "paperbot.db")) is error


def test_other_sqlite_errors_are_left_alone(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "paperbot.db"))
    try:
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            store.conn.execute("SELECT * FROM no_such_table")
        assert not isinstance(StoreFull("x"), sqlite3.Error) and issubclass(StoreFull, StoreError)
    finally:
        store.close()
