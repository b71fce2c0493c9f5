"""`paperbot run --offline --console` as a user starts it: a subprocess driven through stdin.

The bot's clock is accelerated (PAPERBOT_CLOCK_START/SPEED) so a scheduled digest becomes due
within seconds of real time; nothing in these tests waits on wall-clock minutes.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.processes import RunQueueWait, free_port

REPO = Path(__file__).resolve().parents[2]


class Bot:
    """A running `paperbot` subprocess whose stdout is collected in the background."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            cwd=env["PAPERBOT_DATA_DIR"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.errors: list[str] = []
        self.pumps = [
            threading.Thread(target=self._pump, args=(self.process.stdout, self.lines), daemon=True),
            threading.Thread(target=self._pump, args=(self.process.stderr, self.errors), daemon=True),
        ]
        for pump in self.pumps:
            pump.start()

    @staticmethod
    def _pump(stream, sink: list[str]) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            sink.append(line)

    def exit_code(self, timeout: float) -> int:
        """Wait for the process to end and for everything it wrote to be collected (a crash's
        stack dump comes last on stderr); its exit status."""
        code = self.process.wait(timeout=timeout)
        for pump in self.pumps:
            pump.join(10)
        return code

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def send_and_wait(self, line: str, text: str, timeout: float = 60.0) -> str:
        """Send `line`; wait until `text` appears in what the bot writes after it; return that."""
        before = len(self.output)
        self.send(line)
        return self.wait_for(text, timeout, since=before)[before:]

    def wait_for(self, text: str, timeout: float = 30.0, *, since: int = 0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output[since:]:
                return self.output
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} never appeared.\nstdout:\n{self.output}\nstderr:\n{''.join(self.errors)[-3000:]}")


def bot_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "LLM_", "PAPERBOT_"))}
    env.update(
        PAPERBOT_DATA_DIR=str(tmp_path),
        PYTHONPATH=str(REPO),
        CONSOLE_USER="ada",
        SCHEDULER_TICK="0.2",
        LOG_LEVEL="warning",
        SUMMARIZE_BACKGROUND="false",
        HTTP_PORT=str(free_port()),
        PYTHONFAULTHANDLER="1",  # a crash in the bot prints every thread's stack to its stderr
    )
    env.update(extra)
    return env


CLOCK_START = datetime(2026, 6, 11, 8, 58, tzinfo=UTC)  # the samples' last announcement day
CLOCK_SPEED = 30  # bot seconds per real second


class BotClockBound:
    """An upper bound of a subprocess's accelerated clock: it cannot read later than its start
    plus the real time since the process was spawned (its clock starts a little after that)."""

    def __init__(self, start: datetime, speed: float) -> None:
        self.start, self.speed, self.spawned = start, speed, time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self.spawned) * self.speed)


def digest_slot_after(latest: datetime) -> str:
    """The first whole minute after `latest` (a bot-clock bound), as `digest on` takes it."""
    return (latest.replace(second=0, microsecond=0) + timedelta(minutes=1)).strftime("%H:%M")


@pytest.mark.slow
def test_console_session_query_subscribe_digest_and_sigterm(tmp_path: Path) -> None:
    # The bot's clock starts at 08:58 and runs 30 times faster. The digest's time is not fixed
    # in advance: a loaded machine can take longer than any fixed gap to start the bot and
    # answer the first commands. It is chosen when `digest on` is sent, later than the bot's
    # clock can read by then plus a margin of three times the slowest answer so far (at 30x),
    # and the bot's "Next digest:" line confirms the slot is still today's; should a stall
    # have let the bot's clock pass it anyway, `digest on` is sent again with a later slot.
    env = bot_env(tmp_path, PAPERBOT_CLOCK_START=CLOCK_START.isoformat(), PAPERBOT_CLOCK_SPEED=str(CLOCK_SPEED))
    bot_clock = BotClockBound(CLOCK_START, CLOCK_SPEED)
    bot = Bot(["run", "--offline", "--console"], env)
    try:
        bot.send("/papers diffusion")
        bot.wait_for("papers for", timeout=120)  # the first answer waits for the first fetch
        bot.wait_for("https://arxiv.org/abs/")
        sent = time.monotonic()
        bot.send_and_wait("/papers subscribe diffusion", "last 7 days")
        slowest = time.monotonic() - sent
        for _attempt in range(5):
            margin = timedelta(seconds=CLOCK_SPEED * 3 * max(slowest, 1.0))
            slot = digest_slot_after(bot_clock() + margin)
            sent = time.monotonic()
            answer = bot.send_and_wait(f"/papers digest on {slot} tz:UTC days:daily", "Next digest:")
            slowest = max(slowest, time.monotonic() - sent)
            if f"Next digest: Thu 11 Jun 2026 {slot} UTC" in answer:
                break
        else:
            raise AssertionError(f"the bot's clock passed every slot offered:\n{bot.output}")
        out = bot.wait_for("[#console]", timeout=60)
        assert "[DM]" in bot.wait_for("[DM]", timeout=60)
        assert "Traceback" not in out + "".join(bot.errors)
    finally:
        bot.process.send_signal(signal.SIGTERM)
        code = bot.exit_code(timeout=30)
    assert code == 0, "".join(bot.errors)[-3000:]
    db = sqlite3.connect(tmp_path / "paperbot.db")
    states = dict(db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())
    assert states.get("sent", 0) >= 2  # the digest and the DM alert
    assert not states.get("failed") and not states.get("sending")


@pytest.mark.slow
def test_end_of_input_finishes_and_exits_zero(tmp_path: Path) -> None:
    bot = Bot(["run", "--offline", "--console"], bot_env(tmp_path))
    assert bot.process.stdin is not None
    bot.process.stdin.write("/papers help\n/papers topics\n")
    bot.process.stdin.close()
    assert bot.exit_code(timeout=60) == 0, "".join(bot.errors)[-3000:]
    assert "/papers subscribe" in bot.output and "Large Language Models" in bot.output


@pytest.mark.slow
def test_once_is_idempotent(tmp_path: Path) -> None:
    channels = tmp_path / "channels.json"
    channels.write_text('[{"platform": "console", "channel_id": "console", "time": "09:00", "timezone": "UTC", "days": "daily"}]')

    def run_once(clock_start: str) -> str:
        env = bot_env(tmp_path, CHANNELS_FILE=str(channels), PAPERBOT_CLOCK_START=clock_start)
        done = subprocess.run(
            [sys.executable, "-m", "bot", "run", "--offline", "--once"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    # The file adds the channel at 10:00 on the bot's clock (the samples' last announcement
    # day): that day's 09:00 slot came before the channel existed, so the first digest is the
    # next morning's, posted exactly once.
    assert "[#console]" not in run_once("2026-06-11T10:00:00Z")
    assert run_once("2026-06-12T09:30:00Z").count("[#console]") == 1
    assert "[#console]" not in run_once("2026-06-12T10:00:00Z")


@pytest.mark.slow
def test_sigterm_during_the_first_fetch_exits_cleanly(tmp_path: Path) -> None:
    # An upstream that accepts connections and never answers: the first fetch hangs.
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    env = bot_env(
        tmp_path, LOG_LEVEL="info", ARXIV_RSS_URL=url, HF_ENABLED="false", REDDIT_ENABLED="false", HTTP_TIMEOUT="60"
    )
    bot = Bot(["run", "--console"], env)
    try:
        deadline = time.monotonic() + 30
        while "fetching papers for the first time" not in "".join(bot.errors):
            assert time.monotonic() < deadline and bot.process.poll() is None, "".join(bot.errors)[-3000:]
            time.sleep(0.05)
        time.sleep(0.3)  # the request is in flight
        cpu_wait = RunQueueWait(bot.process.pid)
        started = time.monotonic()
        bot.process.send_signal(signal.SIGTERM)
        while bot.process.poll() is None and time.monotonic() - started < 30:
            cpu_wait.sample()
            time.sleep(0.02)
        code = bot.process.wait(timeout=1)
        assert code == 0, "".join(bot.errors)[-3000:]
        # Within 10 s on its own time: less what it waited for a CPU on a shared machine.
        assert time.monotonic() - started - cpu_wait.seconds < 10
        assert "Traceback" not in "".join(bot.errors)
    finally:
        if bot.process.poll() is None:
            bot.process.kill()
        silent.close()


@pytest.mark.slow
def test_offline_first_run_reads_as_the_samples_day(tmp_path: Path) -> None:
    """No clock settings at all: the offline clock starts on the samples' last announcement
    day, so `since:7d` finds the bundled papers and their ages read as that day."""
    bot = Bot(["run", "--offline", "--console"], bot_env(tmp_path))
    assert bot.process.stdin is not None
    bot.process.stdin.write("/papers diffusion since:7d\n")
    bot.process.stdin.close()
    assert bot.exit_code(timeout=60) == 0, "".join(bot.errors)[-3000:]
    out = bot.output
    assert "papers for" in out.lower() and "https://arxiv.org/abs/26" in out
    # Ages relative to 2026-06-11 ("2d ago"); against today's date they would print as dates.
    assert "d ago" in out or "h ago" in out
    assert "arXiv cs.CV · 2026-" not in out and "arXiv cs.CL · 2026-" not in out


@pytest.mark.slow
def test_without_network_a_first_run_uses_the_samples(tmp_path: Path) -> None:
    """Source hosts that do not resolve (`.invalid` never does): offline mode, said once."""
    env = bot_env(
        tmp_path, LOG_LEVEL="warning", ARXIV_RSS_URL="http://arxiv.invalid/rss",
        HF_API_URL="http://hf.invalid/api/daily_papers", REDDIT_ENABLED="false",
    )
    bot = Bot(["run", "--console"], env)
    assert bot.process.stdin is not None
    bot.process.stdin.write("/papers diffusion since:7d\n")
    bot.process.stdin.close()
    assert bot.exit_code(timeout=60) == 0, "".join(bot.errors)[-3000:]
    assert "no network" in "".join(bot.errors) and "bundled samples" in "".join(bot.errors)
    assert "https://arxiv.org/abs/26" in bot.output
