"""Logging: text and JSON lines, and no configured secret ever printed, tracebacks included; JSON
lines written during a delivery or a command carry its ids."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.app.instrumented import InstrumentedService
from bot.app.logs import setup_logging
from bot.core.clock import FakeClock
from bot.core.commands import Command
from bot.core.errors import TransientDeliveryError
from bot.core.forms import DigestForm
from bot.core.home import Home
from bot.core.logcontext import log_context
from bot.core.metrics import Metrics
from bot.core.models import Actor, Place, Reply
from bot.core.outbox import OutboxKind
from bot.delivery.outbox import Delivery, enqueue
from bot.ports import Part, Progress
from bot.settings import Settings
from tests.support.factories import T0, new_store
from tests.support.memory import InMemoryAdapter

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


# --- the ids of the work in progress ------------------------------------------------------------


class LoggingAdapter(InMemoryAdapter):
    """An in-memory platform that logs each send, as the real adapters' HTTP layers do."""

    async def send(self, destination: str, part: Part) -> str:
        logging.getLogger("paperbot.test.adapter").info("posting to %s", destination)
        return await super().send(destination, part)


class LoggingService:
    """The least ServiceAPI: answers every command and logs while doing it."""

    async def handle_command(self, command: str | Command, who: Actor, where: Place, *, progress: Progress | None = None) -> Reply:
        logging.getLogger("paperbot.test.service").info("handling %s", command)
        return Reply(text="done")

    async def item_action(self, action: str, paper_id: str, who: Actor, where: Place) -> Reply:
        return Reply(text="noted")

    def topic_choices(self, prefix: str) -> list[tuple[str, str]]:
        return []

    def subscription_choices(self, who: Actor, prefix: str) -> list[tuple[str, str]]:
        return []

    async def home(self, who: Actor) -> Home:
        raise NotImplementedError

    def digest_form(self, who: Actor, where: Place) -> DigestForm:
        raise NotImplementedError


def json_lines(stream: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


async def test_json_lines_of_a_delivery_carry_the_outbox_part_and_channel() -> None:
    stream = io.StringIO()
    setup_logging(Settings(log_format="json", slack_bot_token=TOKEN, slack_signing_secret="signing-secret"), stream)
    store, clock, adapter = new_store(), FakeClock(T0), LoggingAdapter()
    delivery = Delivery(store, {"memory": adapter}, clock)
    enqueue(store, "notice:1", OutboxKind.NOTICE, "memory", "C7", Reply(text="hello", private=False), T0)
    adapter.fail_next(TransientDeliveryError(f"503 for Bearer {TOKEN}"))
    await delivery.deliver(T0)  # the attempt fails and is logged
    clock.advance(hours=1)
    await delivery.deliver(clock())  # the part is sent
    lines = json_lines(stream)
    failed = next(line for line in lines if "attempt 1 failed" in line["message"])
    posted = next(line for line in lines if line["message"] == "posting to D-C7")  # a notice is a DM
    for line in (failed, posted):
        assert line["outbox_part"] == "notice:1#1" and line["channel"] == "memory:C7"
    assert TOKEN not in stream.getvalue() and "Bearer ***" in failed["message"]  # still redacted
    logging.getLogger("paperbot.test").info("after the delivery")
    assert "outbox_part" not in json_lines(stream)[-1]  # the context ended with the work


async def test_json_lines_of_a_command_carry_its_id_kind_and_channel() -> None:
    stream = io.StringIO()
    setup_logging(Settings(log_format="json"), stream)
    service = InstrumentedService(LoggingService(), Metrics())
    who, where = Actor(platform="discord", user_id="42"), Place(platform="discord", channel_id="1300")
    await service.handle_command("search diffusion", who, where)
    await service.handle_command("topics", who, where)
    first, second = (line for line in json_lines(stream) if line["message"].startswith("handling"))
    assert first["command_kind"] == "search" and second["command_kind"] == "topics"
    assert first["channel"] == second["channel"] == "discord:1300"
    assert first["command"].startswith("cmd-") and second["command"].startswith("cmd-")
    assert first["command"] != second["command"]  # one id per command


def test_a_calls_own_extra_ids_are_carried_too() -> None:
    stream = io.StringIO()
    setup_logging(Settings(log_format="json"), stream)
    with log_context(channel="slack:C1"):
        logging.getLogger("paperbot.test").info("one", extra={"command": "cmd-given"})
    (line,) = json_lines(stream)
    assert line["channel"] == "slack:C1" and line["command"] == "cmd-given"
