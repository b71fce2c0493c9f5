"""SIGTERM while `paperbot run` fits the relevance projection: the process exits at once.

At start the rank loop indexes the store and fits the dense projection (bot/rank/index.py), a
minute of CPU on a large store and a loaded machine. The fit used to run in asyncio's executor,
which both `asyncio.run` and the interpreter wait for at exit: "paperbot stopped" was logged,
then the process lingered until the fit ended. Here the real `paperbot run --offline` (bundled
samples, more papers than a projection needs) runs as a subprocess whose fit never ends on its
own (`fit_projection` is replaced by one that blocks for ten minutes, standing for a slow fit);
SIGTERM once it has started must still end the process cleanly within a few seconds.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.test_run_console import bot_env
from tests.support.processes import REPO

# The bot, with a fit that blocks (standing for a slow one) and says when it starts.
SLOW_FIT = """
import sys, threading
import bot.rank.index

def blocking_fit(*args, **kwargs):
    print("fit started", file=sys.stderr, flush=True)
    threading.Event().wait(600)
    raise RuntimeError("the fit was never meant to end")

bot.rank.index.fit_projection = blocking_fit
from bot.cli.main import main
raise SystemExit(main(["run", "--offline"]))
"""

# The promise (a container runtime's stop timeout is 10 s), not a speed target: without the
# fix the process waits for the ten-minute fit.
STOP_WITHIN_SECONDS = 20


@pytest.mark.slow
async def test_sigterm_during_the_projection_fit_exits_without_waiting_for_it(tmp_path: Path) -> None:
    env = bot_env(tmp_path, LOG_LEVEL="info")
    # The console adapter reads stdin: a pipe kept open (and empty) keeps the bot running.
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SLOW_FIT,
        cwd=REPO, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    log: list[str] = []
    try:
        async def until(marker: str) -> None:
            assert process.stderr is not None
            while not any(marker in line for line in log):
                raw = await process.stderr.readline()
                assert raw, "".join(log)[-3000:]  # the process ended first
                log.append(raw.decode(errors="replace"))

        # Signal handlers are in place once "paperbot running" is logged; the fit starts in the
        # rank loop right after it (or during the start, for a small store).
        await asyncio.wait_for(until("paperbot running"), 240)
        await asyncio.wait_for(until("fit started"), 240)
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(process.communicate(), STOP_WITHIN_SECONDS)
        took = time.monotonic() - signalled
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = "".join(log) + rest.decode(errors="replace")
    assert process.returncode == 0, text[-3000:]
    assert "paperbot stopped" in text
    assert "Traceback" not in text, text[-3000:]
    print(f"\nstop during the fit: exit {process.returncode} {took:.1f} s after SIGTERM")
