"""Running `paperbot run` as a subprocess for end-to-end tests against the fake platforms."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port nothing listens on now, for the bot's web server (a subprocess cannot report
    the port 0 picked for it before its URL is logged, and 3000 may be taken)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def child_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """A clean environment for the bot: no live sources, no background summaries, info logs."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR")}
    extra_path = os.environ.get("PYTHONPATH", "")
    return keep | {
        "PYTHONPATH": str(REPO) + (os.pathsep + extra_path if extra_path else ""),
        "PAPERBOT_DATA_DIR": str(data_dir),
        "ARXIV_ENABLED": "false",
        "HF_ENABLED": "false",
        "REDDIT_ENABLED": "false",
        "SUMMARIZE_BACKGROUND": "false",
        "LOG_LEVEL": "info",
        "HTTP_PORT": str(free_port()),
        **settings,
    }


@dataclass
class RunningBot:
    """A `paperbot` subprocess and the log lines it has written to stderr so far."""

    process: asyncio.subprocess.Process
    log_lines: list[str] = field(default_factory=list)
    running: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def log(self) -> str:
        return "".join(self.log_lines)

    async def _read_log(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            self.log_lines.append(raw.decode(errors="replace"))
            if "paperbot running" in self.log_lines[-1]:
                self.running.set()


@asynccontextmanager
async def paperbot(args: list[str], *, cwd: Path, env: dict[str, str]) -> AsyncIterator[RunningBot]:
    """Start `python -m bot <args>`; on exit send SIGTERM (if still running) and wait for it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        cwd=cwd, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    bot = RunningBot(process)
    reader = asyncio.create_task(bot._read_log())
    try:
        yield bot
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=60)
        except TimeoutError:
            # Say what the process was doing instead of only that it hung (and do not leave it).
            process.kill()
            await process.wait()
            await reader
            raise AssertionError(f"paperbot did not exit within 60 s of SIGTERM; its log:\n{bot.log[-4000:]}") from None
        await reader


class RunQueueWait:
    """How long a process's threads have stood runnable, waiting for a CPU that other processes
    held, since this was made (Linux: /proc/<pid>/task/<tid>/schedstat, field 2, in ns).

    A time limit on a subprocess (say, "exits within 10 s of SIGTERM") is about what the process
    does: sleeping, waiting for an answer, its own CPU work. On a machine shared with many busy
    processes a CPU-bound second can take ten on the wall clock; subtracting this wait from the
    wall time leaves the part the process is answerable for. Call `sample()` often while the
    process runs (a thread's wait is read per thread, so one that ends between samples keeps
    what was last read of it; what comes after the last sample is not subtracted, so the result
    errs on the strict side). Where schedstat cannot be read it stays 0: the plain wall time."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._start = self._read()
        self._last = dict(self._start)

    def _read(self) -> dict[str, int]:
        waits: dict[str, int] = {}
        try:
            threads = os.listdir(f"/proc/{self.pid}/task")
        except OSError:
            return waits
        for tid in threads:
            try:
                with open(f"/proc/{self.pid}/task/{tid}/schedstat") as stat:
                    waits[tid] = int(stat.read().split()[1])
            except (OSError, IndexError, ValueError):
                continue  # the thread ended meanwhile
        return waits

    def sample(self) -> None:
        """Read every thread's wait so far (a no-op once the process has gone)."""
        self._last.update(self._read())

    @property
    def seconds(self) -> float:
        """Seconds waited for a CPU since this was made, over all threads, as last sampled."""
        return sum(wait - self._start.get(tid, 0) for tid, wait in self._last.items()) / 1e9
