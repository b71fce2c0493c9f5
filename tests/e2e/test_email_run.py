"""`paperbot run --offline` with only SMTP settings (no Slack, no Discord, no console) is a whole
deployment: the CHANNELS_FILE's `email:<address>` gets its daily trending digest by SMTP (a
local aiosmtpd on 127.0.0.1), once, and the run stops cleanly on SIGTERM.

The bot's clock starts at 08:58 on the samples' last announcement day and runs 30x, so the
09:00 digest is due within seconds of real time.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP as SMTPServer

from tests.support.processes import child_env, paperbot


class Mailbox:
    """Keeps every message the bot sends."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.arrived = asyncio.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope.content)
        self.arrived.set()
        return "250 OK"


@pytest.mark.slow
async def test_paperbot_run_with_only_smtp_settings_emails_the_digest_once(tmp_path: Path) -> None:
    mailbox = Mailbox()
    server = await asyncio.get_running_loop().create_server(lambda: SMTPServer(mailbox), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    channels = tmp_path / "channels.json"
    channels.write_text(json.dumps([{"channel": "email:ada@example.org", "time": "09:00", "timezone": "UTC"}]))
    env = child_env(
        tmp_path / "data",
        SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_SECURITY="none", SMTP_FROM="papers@example.org",
        PUBLIC_BASE_URL="https://papers.example.org", CHANNELS_FILE=str(channels),
        PAPERBOT_CLOCK_START="2026-06-11T08:58:00Z", PAPERBOT_CLOCK_SPEED="30", SCHEDULER_TICK="0.2",
    )
    try:
        async with paperbot(["run", "--offline"], cwd=tmp_path, env=env) as bot:
            await asyncio.wait_for(bot.running.wait(), timeout=120)
            assert "adapters email" in bot.log  # email alone: no console
            await asyncio.wait_for(mailbox.arrived.wait(), timeout=90)
            await asyncio.sleep(2)  # more ticks: nothing is sent twice
        assert bot.process.returncode == 0, bot.log[-3000:]
    finally:
        server.close()
        await server.wait_closed()
    assert len(mailbox.received) == 1
    message = email.message_from_bytes(mailbox.received[0], policy=email.policy.default)
    assert message["To"] == "ada@example.org" and message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    body = message.get_body(("plain",))
    assert body is not None and "https://arxiv.org/abs/" in body.get_content()
    assert "Traceback" not in bot.log
