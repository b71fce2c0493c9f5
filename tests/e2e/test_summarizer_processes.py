"""`paperbot run` with the offline summarizer's worker processes (SUMMARIZE_WORKERS): after
SIGTERM, and after SIGKILL (which closes nothing), no worker process is left behind."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.e2e.test_run_console import Bot, bot_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc"),
]


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None when there is none."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1])


def _workers_of(parent: int) -> list[int]:
    """The summarizer's worker processes of `parent` (spawned multiprocessing children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is None or stat[1] != parent or stat[0] == "Z":
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"spawn_main" in command:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def _started_bot(tmp_path: Path) -> tuple[Bot, list[int]]:
    """A bot whose background pass has started both summarizer processes."""
    env = bot_env(tmp_path, SUMMARIZE_BACKGROUND="true", SUMMARIZE_WORKERS="2")
    bot = Bot(["run", "--offline", "--console"], env)
    deadline = time.monotonic() + 180
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 2 and bot.process.poll() is None:
        time.sleep(0.2)
        workers = _workers_of(bot.process.pid)
    assert len(workers) == 2, "".join(bot.errors)[-3000:]
    return bot, workers


def _gone(pids: list[int], seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(_alive(pid) for pid in pids):
            return True
        time.sleep(0.1)
    return False


def test_sigterm_stops_the_summarizer_processes(tmp_path: Path) -> None:
    bot, workers = _started_bot(tmp_path)
    try:
        bot.send("/papers diffusion")
        bot.wait_for("papers for", timeout=120)
    finally:
        bot.process.send_signal(signal.SIGTERM)
        code = bot.exit_code(timeout=60)
    assert code == 0, "".join(bot.errors)[-3000:]
    assert _gone(workers)


def test_a_killed_bot_leaves_no_summarizer_process(tmp_path: Path) -> None:
    bot, workers = _started_bot(tmp_path)
    bot.process.send_signal(signal.SIGKILL)
    bot.process.wait(timeout=60)
    assert _gone(workers)
