"""Hostile HTTP requests to Slack's `POST /slack/events` are cheap and inert (issue #15, part 5).

The real SlackAdapter in HTTP mode, on its own server and on the runtime's one web server,
in front of a scripted service, with the fake Slack on 127.0.0.1. The signature is checked on
the raw body before anything parses it: unsigned or badly signed requests get 401, signed but
malformed ones 400, an oversized body 413 without being read; all of them reach no listener and
leave at most one short log line per LOG_EVERY seconds, never a traceback. A well-signed request
still works.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from adapters.slack import SlackAdapter
from adapters.slack.guard import LOG_EVERY, MAX_BODY_BYTES
from bot.core.models import Reply
from tests.e2e.test_slack_adapter import SECRET, ScriptedService, Sleeps, slack_settings
from tests.support.slack_api import FakeSlack, block_action, fake_slack, sign, slash_command

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}


@dataclass
class Door:
    fake: FakeSlack
    adapter: SlackAdapter
    service: ScriptedService
    url: str
    clock: list[float]


@pytest.fixture
async def door(tmp_path: Path) -> AsyncIterator[Door]:
    async with fake_slack() as fake:
        now = [1000.0]
        service = ScriptedService(Reply(text="signed answer", private=True))
        adapter = SlackAdapter(slack_settings(fake, tmp_path, slack_app_token=""), sleep=Sleeps(), monotonic=lambda: now[0])
        await adapter.start(service)
        try:
            yield Door(fake, adapter, service, f"http://127.0.0.1:{adapter.http_port}/slack/events", now)
        finally:
            await adapter.stop()


def command_body(text: str = "quantum", name: str = "h") -> str:
    return urllib.parse.urlencode(slash_command(text, response_url=f"http://127.0.0.1:1/response/{name}"))


def hostile_requests() -> dict[str, tuple[dict[str, str], str | bytes, int]]:
    """name: (headers, body, the status expected). Built when a test runs: a signature carries
    the time it was made, and one made at collection would be stale minutes later."""
    return {
        "unsigned": (FORM, command_body(), 401),
        "unsigned, malformed payload": (FORM, "payload=%7Bnot+json", 401),
        "unsigned, binary garbage": (FORM, b"\xff\xfe\x00payload=\x80\x81", 401),
        "wrong secret": ({**FORM, **sign("wrong", command_body())}, command_body(), 401),
        "stale timestamp": ({**FORM, **sign(SECRET, command_body(), timestamp=1_000_000_000)}, command_body(), 401),
        "signature of another body": ({**FORM, **sign(SECRET, command_body("other"))}, command_body(), 401),
        "timestamp not a number": ({**FORM, "X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}, command_body(), 401),
        "signed, payload not JSON": ({**FORM, **sign(SECRET, "payload=%7Bnot+json")}, "payload=%7Bnot+json", 400),
        "signed, payload a JSON list": ({**FORM, **sign(SECRET, "payload=%5B1%5D")}, "payload=%5B1%5D", 400),
        "signed, JSON body not JSON": ({**JSON, **sign(SECRET, "{oops")}, "{oops", 400),
        # slack_sdk checks signatures over text: bytes that are not UTF-8 cannot be Slack's
        "signed, not UTF-8": ({**FORM, **sign(SECRET, b"payload=\xff\xfe")}, b"payload=\xff\xfe", 401),
        "signed, empty": ({**FORM, **sign(SECRET, "")}, "", 400),
    }


@pytest.mark.parametrize("case", list(hostile_requests()))
async def test_a_hostile_request_is_refused_before_parsing_and_logged_briefly(
    door: Door, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    headers, body, status = hostile_requests()[case]
    caplog.set_level(logging.DEBUG)
    async with aiohttp.ClientSession() as session, session.post(door.url, data=body, headers=headers) as answer:
        assert answer.status == status
        assert len(await answer.read()) < 100
    assert door.service.seen == []
    lines = [r for r in caplog.records if r.levelno >= logging.INFO and r.name.startswith(("adapters", "slack", "aiohttp"))]
    assert len(lines) <= 1 and not any(r.exc_info for r in caplog.records), [r.getMessage() for r in lines]
    assert all(len(r.getMessage()) < 200 for r in lines)


async def test_a_flood_of_bad_requests_logs_one_line_per_interval(door: Door, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with aiohttp.ClientSession() as session:
        for _ in range(50):
            async with session.post(door.url, data="payload=%7Bnot+json", headers=FORM) as answer:
                assert answer.status == 401
        door.clock[0] += LOG_EVERY + 1
        async with session.post(door.url, data=command_body(), headers={**FORM, **sign("wrong", command_body())}) as answer:
            assert answer.status == 401
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO and r.name.startswith(("adapters", "slack", "aiohttp"))]
    assert len(lines) == 2, lines
    assert "49 more" in lines[1] or "50" in lines[1]  # the second line counts what the first interval held back
    assert not any(r.exc_info for r in caplog.records)


async def test_an_oversized_body_is_refused_without_being_read(door: Door) -> None:
    big = b"payload=" + b"x" * (MAX_BODY_BYTES + 1)
    async with aiohttp.ClientSession() as session:
        async with session.post(door.url, data=big, headers={**FORM, **sign(SECRET, big.decode())}) as answer:
            assert answer.status == 413

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
            for _ in range(MAX_BODY_BYTES // 65536 + 2):
                yield b"x" * 65536

        async with session.post(door.url, data=chunks(), headers=FORM) as answer:
            assert answer.status == 413
    assert door.service.seen == []


async def test_a_well_signed_request_still_works(door: Door) -> None:
    body = urllib.parse.urlencode(slash_command("quantum", response_url=door.fake.response_url("ok")))
    click = block_action("paperbot_details_1", "2501.00001", response_url=door.fake.response_url("d"), ephemeral=True)
    click_body = urllib.parse.urlencode({"payload": json.dumps(click)})
    async with aiohttp.ClientSession() as session:
        async with session.post(door.url, data=body, headers={**FORM, **sign(SECRET, body)}) as answer:
            assert answer.status == 200
        async with session.post(door.url, data=click_body, headers={**FORM, **sign(SECRET, click_body)}) as answer:
            assert answer.status == 200
    assert (await door.fake.response("ok"))["response_type"] == "ephemeral"
    await door.fake.response("d")
    assert [c for c, _, _ in door.service.seen][0] == "quantum"


async def test_without_a_signing_secret_every_request_is_refused() -> None:
    """Socket Mode has no signing secret (and gets no HTTP requests): the guard still builds,
    and refuses whatever might reach it."""
    from aiohttp.test_utils import make_mocked_request

    from adapters.slack.guard import RequestGuard

    guard = RequestGuard("")
    request = make_mocked_request("POST", "/slack/events", headers={**FORM, **sign("", command_body())})
    refusal = await guard.check(request)
    assert not isinstance(refusal, str) and refusal.status == 401
