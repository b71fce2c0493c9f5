"""The Slack adapter in front of the REAL core, as `paperbot run --offline` wires it:
`build_runtime(settings, offline=True)`, the bundled sample papers ingested, the adapter built as
`SlackAdapter(settings, health=runtime.health)`, registered with the outbox and started with
`runtime.service`. Slack is the fake on 127.0.0.1 (Web API, response_url, Socket Mode).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("bot.search.engine", reason="the real core needs bot.search.engine")

from adapters.slack import SlackAdapter  # noqa: E402
from adapters.slack.render import DETAILS_ACTION, FEEDBACK_ACTION, SHARE_ACTION  # noqa: E402
from bot.app.runtime import Runtime, build_runtime, fetch_due  # noqa: E402
from bot.app.samples import SAMPLE_NOW  # noqa: E402
from bot.app.workspaces import StorePrivateAnswers  # noqa: E402
from bot.core.clock import ScaledClock  # noqa: E402
from bot.core.models import Paper, SourceKind  # noqa: E402
from tests.e2e.test_slack_adapter import HOSTILE, Sleeps, assert_inert, slack_settings  # noqa: E402
from tests.support.slack_api import (  # noqa: E402
    FakeSlack,
    assert_slack_limits,
    block_action,
    fake_slack,
    slash_command,
    visible_text,
)


@dataclass
class Bot:
    fake: FakeSlack
    runtime: Runtime
    adapter: SlackAdapter

    async def command(self, text: str, *, name: str, user_id: str = "UADA", channel_id: str = "CGENERAL") -> dict[str, Any]:
        """Send `/papers <text>` over Socket Mode; returns the first response_url message."""
        payload = slash_command(text, response_url=self.fake.response_url(name), user_id=user_id, channel_id=channel_id)
        await self.fake.wait_for_ack(await self.fake.send_envelope("slash_commands", payload, accepts_response_payload=True))
        return await self.fake.response(name)

    async def click(self, payload: dict[str, Any]) -> None:
        """A button click (block_actions) over Socket Mode, waiting for its ack."""
        await self.fake.wait_for_ack(await self.fake.send_envelope("interactive", payload))


async def start_bot(fake: FakeSlack, tmp_path: Path, **overrides: Any) -> Bot:
    settings = slack_settings(fake, tmp_path, **overrides)
    runtime = await build_runtime(settings, clock=ScaledClock(SAMPLE_NOW), offline=True)
    await fetch_due(runtime)
    # As bot.app.wiring builds it: private answers kept in the store.
    answers = StorePrivateAnswers(runtime.store, runtime.clock)
    adapter = SlackAdapter(settings, health=runtime.health, sleep=Sleeps(), private_answers=answers)
    runtime.adapters[adapter.platform] = adapter
    runtime.delivery.adapters[adapter.platform] = adapter
    await adapter.start(runtime.service)
    return Bot(fake, runtime, adapter)


@asynccontextmanager
async def running_bot(tmp_path: Path, **overrides: Any) -> AsyncIterator[Bot]:
    """The real runtime and Slack adapter against a fake Slack (settings changed by `overrides`),
    stopped on the way out."""
    async with fake_slack() as fake:
        started = await start_bot(fake, tmp_path, **overrides)
        try:
            yield started
        finally:
            await started.adapter.stop()
            await started.runtime.close()


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    async with running_bot(tmp_path) as started:
        yield started


def first_paper_id(answer: dict[str, Any]) -> str:
    return next(b["accessory"]["value"] for b in answer["blocks"] if "accessory" in b)


async def test_a_search_is_answered_privately_with_details_and_share_buttons(bot: Bot) -> None:
    answer = await bot.command("diffusion", name="q")
    assert answer["response_type"] == "ephemeral"
    assert_slack_limits(answer)
    assert "papers for" in visible_text(answer)
    assert "https://arxiv.org/abs/" in json.dumps(answer["blocks"])
    actions = [e["action_id"] for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [a for a in actions if not a.startswith(FEEDBACK_ACTION)] == [SHARE_ACTION]
    details = [b["accessory"] for b in answer["blocks"] if "accessory" in b]
    assert details and all(d["action_id"].startswith(DETAILS_ACTION) for d in details)


async def test_help_and_bad_input(bot: Bot) -> None:
    help_ = await bot.command("help", name="h")
    assert "/papers subscribe" in visible_text(help_)
    assert_slack_limits(help_)
    bad = await bot.command("since:forever", name="bad")
    assert bad["response_type"] == "ephemeral"
    assert len(bad["blocks"]) == 1 and bad["blocks"][0]["text"]["text"].startswith(":warning:")


async def test_details_button_answers_in_the_thread(bot: Bot) -> None:
    paper_id = first_paper_id(await bot.command("diffusion", name="q"))
    await bot.click(block_action(f"{DETAILS_ACTION}_1", paper_id, response_url=bot.fake.response_url("d"), message_ts="1700000000.000777"))
    posts = await bot.fake.wait_for(bot.fake.posted)
    assert posts[0]["channel"] == "CGENERAL" and posts[0]["thread_ts"] == "1700000000.000777"
    assert_slack_limits(posts[0])
    assert any(label in visible_text(posts[0]) for label in ("*Summary*", "*Abstract*"))
    assert not any("accessory" in b or b["type"] == "actions" for b in posts[0]["blocks"])


async def test_details_of_an_ephemeral_message_stay_ephemeral(bot: Bot) -> None:
    paper_id = first_paper_id(await bot.command("diffusion", name="q"))
    await bot.click(block_action(f"{DETAILS_ACTION}_2", paper_id, response_url=bot.fake.response_url("d"), ephemeral=True))
    details = await bot.fake.response("d")
    assert details["response_type"] == "ephemeral" and details["replace_original"] is False
    assert_slack_limits(details)
    assert bot.fake.posted() == []


async def test_details_fall_back_to_ephemeral_when_the_bot_cannot_post(bot: Bot) -> None:
    paper_id = first_paper_id(await bot.command("diffusion", name="q"))
    bot.fake.fail("chat.postMessage", "not_in_channel")
    await bot.click(block_action(f"{DETAILS_ACTION}_1", paper_id, response_url=bot.fake.response_url("d")))
    details = await bot.fake.response("d")
    assert details["response_type"] == "ephemeral"


async def test_share_button_posts_in_channel_shared_by_the_user(bot: Bot) -> None:
    answer = await bot.command("diffusion", name="q")
    value = next(e["value"] for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == SHARE_ACTION)
    await bot.click(block_action(SHARE_ACTION, value, response_url=bot.fake.response_url("s"), ephemeral=True))
    shared = await bot.fake.response("s")
    assert shared["response_type"] == "in_channel"
    assert shared["blocks"][0] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "Shared by <@UADA>", "verbatim": True}],
    }
    assert not any(b["type"] == "actions" for b in shared["blocks"])
    assert_slack_limits(shared)


async def test_admin_only_lets_only_admins_change_the_digest(tmp_path: Path) -> None:
    async with fake_slack() as fake:
        bot = await start_bot(fake, tmp_path, slack_admin_only=True)
        try:
            fake.admins.add("UBOSS")
            denied = await bot.command("digest on 09:00 tz:Europe/Berlin", name="n", user_id="UNEW")
            assert denied["response_type"] == "ephemeral" and ":warning:" in visible_text(denied)
            assert bot.runtime.store.channels.get("slack:CGENERAL") is None
            allowed = await bot.command("digest on 09:00 tz:Europe/Berlin", name="a", user_id="UBOSS")
            assert ":warning:" not in visible_text(allowed) and "09:00" in visible_text(allowed)
            assert bot.runtime.store.channels.get("slack:CGENERAL") is not None
            # In a DM the user manages their own digest, admin or not.
            own = await bot.command("digest on 08:00", name="dm", user_id="UNEW", channel_id="DUNEW")
            assert ":warning:" not in visible_text(own)
        finally:
            await bot.adapter.stop()
            await bot.runtime.close()


async def test_digest_now_posts_to_the_channel_through_the_outbox(bot: Bot) -> None:
    on = await bot.command("digest on 09:00 tz:Europe/Berlin", name="on")
    assert ":warning:" not in visible_text(on)
    now = await bot.command("digest now", name="now")
    assert "Posting a digest" in visible_text(now), visible_text(now)
    await bot.fake.wait_for(bot.fake.posted)
    await bot.runtime.service.digests.wait_idle()  # type: ignore[attr-defined]
    posts = bot.fake.posted()
    assert posts and all(p["channel"] == "CGENERAL" for p in posts)
    for part in posts:
        assert_slack_limits(part)
    state = bot.runtime.store.conn.execute("SELECT state FROM outbox WHERE kind = 'digest-now'").fetchone()[0]
    assert state == "sent"


async def test_a_digest_for_a_channel_without_the_bot_fails_permanently(bot: Bot) -> None:
    await bot.command("digest on 09:00", name="on", channel_id="CPRIVATE")
    bot.fake.fail("chat.postMessage", "not_in_channel", times=10)
    await bot.command("digest now", name="now", channel_id="CPRIVATE")
    await bot.fake.wait_for(lambda: bot.fake.calls_to("chat.postMessage"))
    await bot.runtime.service.digests.wait_idle()  # type: ignore[attr-defined]
    row = bot.runtime.store.conn.execute("SELECT state, last_error FROM outbox WHERE kind = 'digest-now'").fetchone()
    assert (row[0], row[1]) == ("failed", "permanent: not_in_channel")
    paused = bot.runtime.store.channels.get("slack:CPRIVATE")
    assert paused is not None and paused.paused_reason


async def test_hostile_titles_found_by_a_command_arrive_inert(bot: Bot) -> None:
    hostile = Paper(id="2504.99999", title=HOSTILE, abstract=HOSTILE, version=1, url="https://arxiv.org/abs/2504.99999", source=SourceKind.ARXIV)
    bot.runtime.store.papers.ingest([hostile], bot.runtime.clock())
    answer = await bot.command("zebrafish", name="z")
    assert "Zebrafish" in visible_text(answer)
    assert_slack_limits(answer)
    assert_inert(answer)


async def test_http_mode_is_served_by_the_one_web_server_beside_the_site(tmp_path: Path) -> None:
    """Slack HTTP mode and the site share HTTP_HOST:HTTP_PORT: the runtime's web server mounts
    the adapter's /slack/events, and the adapter opens no port of its own."""
    import socket
    import urllib.parse

    import aiohttp

    from tests.e2e.test_slack_adapter import SECRET
    from tests.support.slack_api import sign, slash_command

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with fake_slack() as fake:
        settings = slack_settings(fake, tmp_path, slack_app_token="", http_port=port, web_enabled=True)
        runtime = await build_runtime(settings, clock=ScaledClock(SAMPLE_NOW), offline=True)
        await fetch_due(runtime)
        adapter = SlackAdapter(settings, health=runtime.health, sleep=Sleeps())
        try:
            await runtime.start([adapter])
            assert adapter._runner is None and adapter.connected  # no second server
            url = f"http://127.0.0.1:{port}"
            body = urllib.parse.urlencode(slash_command("diffusion", response_url=fake.response_url("w")))
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            async with aiohttp.ClientSession() as session:
                async with session.post(f"{url}/slack/events", data=body, headers={**form, **sign(SECRET, body)}) as acked:
                    assert acked.status == 200
                async with session.post(f"{url}/slack/events", data=body, headers=form) as unsigned:
                    assert unsigned.status == 401
                # Malformed bodies are refused before parsing on the shared server too.
                garbage = "payload=%7Bnot+json"
                async with session.post(f"{url}/slack/events", data=garbage, headers=form) as refused:
                    assert refused.status == 401
                async with session.post(f"{url}/slack/events", data=garbage, headers={**form, **sign(SECRET, garbage)}) as bad:
                    assert bad.status == 400
                async with session.get(f"{url}/healthz") as health:
                    assert (await health.json())["adapters"] == {"slack": True}
                async with session.get(f"{url}/") as page:
                    assert page.status == 200 and "paperbot" in await page.text()
            answer = await fake.response("w")
            assert "diffusion" in json.dumps(answer).lower()
        finally:
            await runtime.stop()
            await runtime.shutdown()
