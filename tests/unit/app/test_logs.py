"""Logging: text and JSON lines, and no configured secret ever printed, tracebacks included."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.app.logs import setup_logging
from bot.settings import Settings

TOKEN = "xoxb-1234-abcdefSECRET"
KEY = "sk-live-0123456789"


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def logged(log_format: str) -> io.StringIO:
    stream = io.StringIO()
    # A bot token alone is HTTP mode, which needs a signing secret to be valid settings.
    settings = Settings(slack_bot_token=TOKEN, slack_signing_secret="signing-secret", llm_api_key=KEY, log_format=log_format, log_level="info")
    setup_logging(settings, stream)
    log = logging.getLogger("paperbot.test")
    log.info("calling https://api.example/v1?key=%s with %s", KEY, TOKEN)
    try:
        raise RuntimeError(f"401 for Authorization: Bearer {TOKEN}")
    except RuntimeError:
        log.exception("request failed")
    return stream


def test_text_lines_redact_messages_and_tracebacks() -> None:
    out = logged("text").getvalue()
    assert TOKEN not in out and KEY not in out
    assert "key=*** with ***" in out and "Bearer ***" in out and "Traceback" in out


def test_json_lines_redact_and_parse() -> None:
    lines = [json.loads(line) for line in logged("json").getvalue().splitlines() if line.startswith("{")]
    assert [entry["level"] for entry in lines] == ["info", "error"]
    assert lines[0]["logger"] == "paperbot.test" and lines[0]["message"].endswith("key=*** with ***")
    assert "Bearer ***" in lines[1]["exception"] and TOKEN not in json.dumps(lines)
