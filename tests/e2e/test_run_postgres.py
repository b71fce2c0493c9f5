"""`paperbot run --offline --once` on PostgreSQL: the same digest as on SQLite.

The real process, as cron would start it, with PAPERBOT_DB pointing at the throwaway server of
tests/support/postgres.py: it migrates the empty database, ingests the bundled samples, tags and
summarizes them, builds the due digest and delivers it to the console, then exits. The digest
it prints must be the one the same run prints on a SQLite file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_run_console import bot_env

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _run_once(data_dir: Path, database: str, clock_start: str) -> str:
    channels = data_dir / "channels.json"
    channels.write_text('[{"platform": "console", "channel_id": "console", "time": "09:00", "timezone": "UTC", "days": "daily"}]')
    env = bot_env(data_dir, CHANNELS_FILE=str(channels), PAPERBOT_CLOCK_START=clock_start, PAPERBOT_DB=database)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--offline", "--once"],
        cwd=data_dir, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _digest(output: str) -> str:
    """The lines the console printed for the channel's digest."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if "[#console]" in line)
    return "\n".join(lines[start:])


def test_run_once_on_postgres_posts_the_digest_sqlite_posts(tmp_path: Path, postgres_url: str) -> None:
    outputs = {}
    for name, database in (("sqlite", str(tmp_path / "sqlite" / "paperbot.db")), ("postgresql", postgres_url)):
        data_dir = tmp_path / name
        data_dir.mkdir(exist_ok=True)
        # The channel file adds the channel at 10:00 on the samples' last day; the next
        # morning's run posts its first digest (test_run_console checks the same on SQLite).
        assert "[#console]" not in _run_once(data_dir, database, "2026-06-11T10:00:00Z")
        outputs[name] = _run_once(data_dir, database, "2026-06-12T09:30:00Z")
        assert outputs[name].count("[#console]") == 1
    # ... and a run after it posts nothing again: the digest run is recorded in PostgreSQL.
    assert "[#console]" not in _run_once(tmp_path / "postgresql", postgres_url, "2026-06-12T10:00:00Z")
    assert _digest(outputs["postgresql"]) == _digest(outputs["sqlite"])
    assert "https://arxiv.org/abs/" in _digest(outputs["postgresql"])


def test_run_on_postgres_that_does_not_answer_is_one_line_and_exit_1(tmp_path: Path) -> None:
    env = bot_env(tmp_path, PAPERBOT_DB="postgresql://bot:pa55word@/paperbot?host=/nonexistent-socket-dir")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--offline", "--once"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert errors == [errors[0]] and errors[0].startswith("paperbot: cannot reach the PostgreSQL database"), done.stderr
    assert "pa55word" not in done.stderr and "Traceback" not in done.stderr
