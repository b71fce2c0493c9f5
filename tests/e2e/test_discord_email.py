"""`/papers email` on Discord (issue #17): the app command is synced with its `address` option,
and a real INTERACTION_CREATE from the fake Discord is answered privately, always: the answer
names the address, so neither a reply the core marks public nor a Share button may show it to
the channel. With the real core behind the adapter the confirmation email is put in the outbox
for that address and nothing is posted anywhere else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import bot.chat.grammar as cmd
from bot.app.runtime import build_runtime, fetch_due
from bot.app.samples import SAMPLE_NOW
from bot.core.clock import FakeClock
from bot.core.outbox import OutboxKind
from bot.settings import Settings
from tests.support.discord_api import (
    EPHEMERAL,
    GUILD_ID,
    USER_ID,
    FakeDiscord,
    assert_discord_limits,
)
from tests.support.discord_harness import answers, started_adapter
from tests.support.discord_service import FakeService

ADDRESS = "ada@example.org"


def shown(message: dict[str, Any]) -> str:
    """A message's text as read (the renderer puts a zero-width space after each @, so that
    nothing in it can mention anyone)."""
    return str(message.get("content") or "").replace("\u200b", "")


async def test_the_email_command_is_synced_with_its_address_option(fake: FakeDiscord) -> None:
    async with started_adapter(fake, FakeService()):
        (papers,) = fake.synced[GUILD_ID]
        email = next(o for o in papers["options"] if o["name"] == "email")
        assert email["type"] == 1 and "email" in email["description"]
        (address,) = email["options"]
        assert (address["name"], address["type"], address["required"]) == ("address", 3, True)
        assert address["max_length"] == 254 and "only you see" in address["description"]


async def test_the_answer_stays_private_even_when_the_core_says_public(fake: FakeDiscord) -> None:
    service = FakeService(public_email_answer=True)
    async with started_adapter(fake, service):
        payload = await fake.interact(fake.slash(["email"], {"address": "  ada@Example.ORG "}))
        (answer,) = await answers(fake, payload, 1)
        assert fake.callbacks_for(payload) == [{"type": 5, "data": {"flags": EPHEMERAL}}]  # deferred privately
        assert answer["flags"] & EPHEMERAL and f"Check {ADDRESS}" in shown(answer)
        assert not answer.get("components")  # no Share button to post it publicly
        assert_discord_limits(answer)
        assert fake.messages == []  # nothing in the channel
        command, who, where = service.calls[-1]
        assert command == cmd.EmailDigestCommand(address=ADDRESS)
        assert (who.user_id, where.workspace_id) == (USER_ID, GUILD_ID)

        off = await fake.interact(fake.slash(["email"], {"address": "off"}))
        (stopped,) = await answers(fake, off, 1)
        assert stopped["flags"] & EPHEMERAL and service.calls[-1][0] == cmd.EmailDigestCommand(off=True)

        # A bad address is refused privately by the grammar, before the core.
        bad = await fake.interact(fake.slash(["email"], {"address": "ada at example"}))
        await fake.wait_for(lambda: fake.callbacks_for(bad), what="the refusal")
        (refusal,) = fake.callbacks_for(bad)
        assert refusal["type"] == 4 and refusal["data"]["flags"] & EPHEMERAL
        assert "not an email address" in refusal["data"]["content"]
        assert len(service.calls) == 2 and fake.messages == []


async def test_with_the_real_core_the_confirmation_is_queued_and_the_answer_is_private(fake: FakeDiscord, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=str(tmp_path), smtp_host="127.0.0.1", smtp_from="paperbot@papers.example", http_port=0, summarize_background=False, public_base_url="https://papers.example"
    )
    runtime = await build_runtime(settings, clock=FakeClock(SAMPLE_NOW), offline=True)
    await fetch_due(runtime)
    try:
        async with started_adapter(fake, runtime.service):
            payload = await fake.interact(fake.slash(["email"], {"address": ADDRESS}))
            (answer,) = await answers(fake, payload, 1)
            assert answer["flags"] & EPHEMERAL and ADDRESS in shown(answer) and "confirmation link" in shown(answer)
            rows = runtime.store.outbox.rows(kind=OutboxKind.NOTICE.value)
            assert [(r.platform, r.destination) for r in rows] == [("email", ADDRESS)]
            assert runtime.store.emails.requests_since("discord", USER_ID, SAMPLE_NOW.replace(year=2000)) == 1
            assert fake.messages == []  # nothing was posted to any channel or DM
            assert ADDRESS not in json.dumps(fake.messages)

            off = await fake.interact(fake.slash(["email"], {"address": "off"}))
            (cancelled,) = await answers(fake, off, 1)
            assert cancelled["flags"] & EPHEMERAL and "cancelled" in cancelled["content"]
            assert fake.messages == []
    finally:
        await runtime.close()
