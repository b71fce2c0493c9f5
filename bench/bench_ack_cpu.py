"""CPU time per slash-command ack, HTTP mode and Socket Mode. Prints one JSON list.

The real SlackAdapter against the fake Slack (tests/support/slack_api.py), in one process: a
burst of `n` signed commands (HTTP: concurrent POSTs; Socket Mode: envelopes), with every
answer held back until each ack is in, so what is timed is the ack path alone (accept, read,
guard, bolt or not, the ack). `ack_phase_cpu_ms` is the whole process's CPU time over the burst
(the adapter, plus the fake and the HTTP client, which cost the same on either branch), so
compare two checkouts back to back; it does not depend on how busy the machine is, the wall
time beside it does. Three runs per mode.

    PYTHONPATH=. .venv/bin/python -m bench.bench_ack_cpu [n]
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
import urllib.parse
from typing import Any

import aiohttp

from adapters.slack import SlackAdapter
from bot.core.models import Actor, Place, Reply
from bot.settings import Settings
from tests.support.slack_api import FakeSlack, sign, slash_command

SECRET = "bench-secret"


class HeldService:
    """Answers every command with "ok", once `release` is set."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def handle_command(self, command: object, who: Actor, where: Place, *, progress: object = None) -> Reply:
        """The held answer."""
        await self.release.wait()
        return Reply(text="ok", private=True)


async def burst(mode: str, n: int) -> dict[str, Any]:
    """One burst of `n` commands in `mode` ("http" or "socket"): CPU and wall time until acked."""
    fake = await FakeSlack().start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=tmp, slack_bot_token="xoxb-bench", slack_app_token="xapp-bench" if mode == "socket" else "",
            slack_signing_secret=SECRET, slack_api_url=fake.api_url, http_host="127.0.0.1", http_port=0,
            summarize_background=False, web_enabled=False,
        )
        service = HeldService()
        adapter = SlackAdapter(settings)
        await adapter.start(service)  # type: ignore[arg-type]
        if mode == "socket":
            await fake.wait_connected(30)
        bodies = [slash_command(f"q{i}", response_url=fake.response_url(f"c{i}"), user_id=f"U{i}") for i in range(n)]
        cpu, wall = time.process_time(), time.perf_counter()
        if mode == "socket":
            ids = [await fake.send_envelope("slash_commands", body, accepts_response_payload=True) for body in bodies]
            await fake.wait_for(lambda: all(fake.acked(i) for i in ids) or None, 120)
        else:
            url = f"http://127.0.0.1:{adapter.http_port}/slack/events"
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

                async def post(fields: dict[str, str]) -> None:
                    body = urllib.parse.urlencode(fields)
                    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(SECRET, body)}
                    async with session.post(url, data=body, headers=headers) as answer:
                        assert answer.status == 200, answer.status

                await asyncio.gather(*(post(body) for body in bodies))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        service.release.set()
        for i in range(n):
            await fake.response(f"c{i}", 60)
        await adapter.stop()
    await fake.close()
    return {
        "mode": mode, "commands": n, "ack_phase_cpu_ms": round(cpu * 1000, 1),
        "cpu_ms_per_ack": round(cpu * 1000 / n, 2), "ack_phase_wall_ms": round(wall * 1000, 1),
    }


def main() -> None:
    """Three bursts per mode; one JSON list."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    print(json.dumps([asyncio.run(burst(mode, n)) for mode in ("http", "socket") for _ in range(3)]))


if __name__ == "__main__":
    main()
