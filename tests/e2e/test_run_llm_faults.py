"""`paperbot run` with SUMMARIZER=llm against a fake LLM on 127.0.0.1 that never answers (issue
#15, part 4): a command is answered at once with offline summaries while the LLM work it queued
hangs, and SIGTERM with that LLM work (and the background pass's) in flight exits 0 with no
traceback and no warning about it."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.e2e.test_run_console import Bot, bot_env
from tests.support.llm_api import FakeLLMServer, Reply, serve_in_thread, summary_json


@pytest.mark.slow
def test_a_hung_llm_neither_holds_answers_nor_spoils_the_stop(tmp_path: Path) -> None:
    server = FakeLLMServer("openai", [Reply(summary_json(), held=True)])
    with serve_in_thread(server) as url:
        env = bot_env(
            tmp_path, LOG_LEVEL="info", SUMMARIZER="llm", LLM_PROVIDER="openai", LLM_BASE_URL=url,
            LLM_MODEL="test-model", LLM_TIMEOUT="120", SUMMARIZE_BACKGROUND="true",
        )
        bot = Bot(["run", "--offline", "--console"], env)
        try:
            bot.send("/papers diffusion")
            bot.wait_for("papers for “diffusion”", timeout=60)  # answered while the LLM hangs
            deadline = time.monotonic() + 30
            while server.in_flight < 2:  # the queue's worker and the background pass wait on it
                assert time.monotonic() < deadline and bot.process.poll() is None, "".join(bot.errors)[-3000:]
                time.sleep(0.05)
            bot.process.send_signal(signal.SIGTERM)
            code = bot.exit_code(timeout=30)
        finally:
            if bot.process.poll() is None:
                bot.process.kill()
        log = "".join(bot.errors)
        assert code == 0, log[-3000:]
        assert "Traceback" not in log, log[-3000:]
        assert not [line for line in log.splitlines() if " WARNING " in line or " ERROR " in line], log[-3000:]
