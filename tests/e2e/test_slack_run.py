"""End to end: `paperbot run --offline` as a subprocess, configured only through SLACK_*
environment variables pointing at the fake Slack on 127.0.0.1. It connects in Socket Mode
(apps.connections.open through SLACK_API_URL), answers a slash command through the real core
(ack, then response_url), posts `digest now` through the real outbox, and exits 0 on SIGTERM.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.support.processes import child_env, paperbot
from tests.support.slack_api import assert_slack_limits, fake_slack, slash_command, visible_text


@pytest.mark.slow
async def test_paperbot_run_serves_slack_in_socket_mode(tmp_path: Path) -> None:
    async with fake_slack() as fake:
        env = child_env(
            tmp_path / "data",
            SLACK_BOT_TOKEN="xoxb-run-test",
            SLACK_APP_TOKEN="xapp-run-test",
            SLACK_API_URL=fake.api_url,
        )
        async with paperbot(["run", "--offline"], cwd=tmp_path, env=env) as bot:
            proc = bot.process
            await fake.wait_for(lambda: proc.returncode is not None or fake.ws_connections, timeout=90)
            assert proc.returncode is None, bot.log[-3000:]
            opened = fake.calls_to("apps.connections.open")
            assert opened and opened[0].headers["Authorization"] == "Bearer xapp-run-test"

            payload = slash_command("diffusion", response_url=fake.response_url("q"))
            envelope = await fake.send_envelope("slash_commands", payload, accepts_response_payload=True)
            assert await fake.wait_for_ack(envelope, timeout=60) == {"envelope_id": envelope}
            answer = await fake.response("q", timeout=60)
            assert answer["response_type"] == "ephemeral" and "papers for" in visible_text(answer)
            assert_slack_limits(answer)

            for name, text in (("on", "digest on 09:00 tz:Europe/Berlin"), ("now", "digest now")):
                payload = slash_command(text, response_url=fake.response_url(name))
                await fake.wait_for_ack(await fake.send_envelope("slash_commands", payload), timeout=60)
                await fake.response(name, timeout=60)
            # The offline samples were ingested just now, so a first digest always has papers.
            reply = visible_text(fake.responses_to("now")[0])
            assert "Posting a digest" in reply, reply
            posts = await fake.wait_for(fake.posted, timeout=60)
            assert posts[0]["channel"] == "CGENERAL"
            for part in posts:
                assert_slack_limits(part)
            # SIGTERM is handled once `paperbot run` has logged "paperbot running".
            await asyncio.wait_for(bot.running.wait(), timeout=60)
        assert proc.returncode == 0, bot.log[-3000:]
        assert "paperbot stopped" in bot.log
        assert "Traceback" not in bot.log, bot.log[-3000:]
