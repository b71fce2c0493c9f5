"""The Slack adapter against a fake Slack (Web API, response_url, Socket Mode websocket) on
127.0.0.1, with a small scripted ServiceAPI behind it: connection, acks, HTTP-mode signatures,
delivery, rate limits and error mapping. (tests/e2e/test_slack_runtime.py runs the same adapter
in front of the real core.)

No test measures time: "acks within 3 s" is shown structurally — the ack reaches Slack while the
command's work is still blocked, so the ack never waits for the work.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.parse
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.slack import SlackAdapter
from adapters.slack.listeners import ADMIN_CACHE_SECONDS, SORRY
from adapters.slack.render import DETAILS_ACTION, SHARE_ACTION
from bot.chat.grammar import Command
from bot.core.errors import ConfigError, PermanentDeliveryError, RetryAfter, TransientDeliveryError
from bot.core.forms import DigestForm
from bot.core.home import Home, HomeSection
from bot.core.metrics import Metrics
from bot.core.models import Actor, ItemGroup, PaperItem, Place, Reply, Summary
from bot.ports import Progress, post, send_dm
from bot.settings import Settings
from tests.support.factories import make_paper
from tests.support.slack_api import (
    BOT_USER_ID,
    TEAM_ID,
    FakeSlack,
    assert_slack_limits,
    block_action,
    event_callback,
    fake_slack,
    sign,
    slack_mention_is_inert,
    slash_command,
    visible_text,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
HOSTILE = "Zebrafish <!channel> @here *bold* _it_ ~gone~ `code` <https://evil.example|click> & <@U999>"


class Sleeps:
    """An injectable sleep that records waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def slack_settings(fake: FakeSlack, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings as a user would set them, pointing at the fake (Socket Mode unless overridden)."""
    values: dict[str, Any] = dict(
        data_dir=str(tmp_path),
        slack_bot_token="xoxb-test-token",
        slack_app_token="xapp-test-token",
        slack_signing_secret=SECRET,
        slack_api_url=fake.api_url,
        http_host="127.0.0.1",
        http_port=0,
        summarize_background=False,
    )
    return Settings(**(values | overrides))


class ScriptedService:
    """A ServiceAPI answering every command with `reply` (or raising `error` when set);
    clearing `release` holds answers back. `interim` is shown through `progress` before the
    answer, as the core does for a paper it looks up on arXiv. Share tokens are kept in memory
    the way the core keeps them in the store: one use, for the person and place issued to."""

    def __init__(self, reply: Reply | None = None) -> None:
        self.reply = reply or Reply(text="done", private=True)
        self.error: Exception | None = None
        self.interim: Reply | None = None
        self.release = asyncio.Event()
        self.release.set()
        self.seen: list[tuple[str | Command, Actor, Place]] = []
        self.kept: dict[str, tuple[Reply, Actor, Place]] = {}

    async def handle_command(
        self, command: str | Command, who: Actor, where: Place, *, progress: Progress | None = None
    ) -> Reply:
        self.seen.append((command, who, where))
        if self.interim is not None and progress is not None:
            await progress(self.interim)
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return self.reply

    async def keep_for_sharing(self, reply: Reply, who: Actor, where: Place) -> str:
        token = f"token-{len(self.kept) + 1}"
        self.kept[token] = (reply, who, where)
        return token

    def take_shared(self, token: str, who: Actor, where: Place) -> Reply | None:
        self.seen.append((f"share:{token}", who, where))
        if self.error is not None:
            raise self.error
        kept = self.kept.get(token)
        if kept is None or (kept[1].user_id, kept[2].channel_id) != (who.user_id, where.channel_id):
            return None
        del self.kept[token]
        return replace(kept[0], private=False, shareable=False)

    def topic_choices(self, prefix: str) -> list[tuple[str, str]]:
        return []

    def subscription_choices(self, who: Actor, prefix: str) -> list[tuple[str, str]]:
        return []

    async def home(self, who: Actor) -> Home:
        self.seen.append(("home", who, Place("slack", "")))
        return Home("paperbot", (HomeSection("papers", "New for you", empty="Nothing yet."),))

    def digest_form(self, who: Actor, where: Place) -> DigestForm:
        raise NotImplementedError("the scripted service has no digest form")


@dataclass
class Rig:
    fake: FakeSlack
    adapter: SlackAdapter
    service: ScriptedService
    sleeps: Sleeps


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with fake_slack() as fake:
        sleeps = Sleeps()
        service = ScriptedService()
        adapter = SlackAdapter(slack_settings(fake, tmp_path), sleep=sleeps)
        await adapter.start(service)
        try:
            yield Rig(fake, adapter, service, sleeps)
        finally:
            await adapter.stop()


def hostile_reply() -> Reply:
    paper = make_paper(
        paper_id="2504.99999", title=HOSTILE, abstract=HOSTILE,
        authors=("<@U1> *Eve*",), url="https://arxiv.org/abs/2504.99999?a=1&b=<x>|y",
    )
    summary = Summary(tldr=HOSTILE, key_points=(HOSTILE,), summary=HOSTILE, topics=("Safety & Alignment",))
    item = PaperItem(paper, summary, source_line=f"r/{HOSTILE}", why=HOSTILE)
    return Reply(header=HOSTILE, text=HOSTILE, groups=(ItemGroup(HOSTILE, (item,)),), footer=HOSTILE, private=False)


def assert_inert(message: dict[str, Any]) -> None:
    """What Slack received contains no live markup from the hostile text."""
    raw = json.dumps(message, ensure_ascii=False)
    for forbidden in ("<!channel>", "<https://evil", "<@U999>", "<@U1>", "*bold*", "_it_", "~gone~", "`code`"):
        assert forbidden not in raw, forbidden
    for text in (visible_text(message), message["text"]):
        assert slack_mention_is_inert(text), text
    assert "&lt;!channel&gt;" in visible_text(message)


# --- Socket Mode -------------------------------------------------------------------------------


async def test_socket_mode_uses_the_api_url_for_everything(rig: Rig) -> None:
    opened = rig.fake.calls_to("apps.connections.open")
    assert len(opened) == 1 and opened[0].headers["Authorization"] == "Bearer xapp-test-token"
    assert rig.fake.calls_to("auth.test")[0].headers["Authorization"] == "Bearer xoxb-test-token"
    assert rig.adapter.bot_user_id == BOT_USER_ID and rig.adapter.team_id == TEAM_ID
    assert rig.adapter.connected and rig.fake.ws_connections == 1
    assert rig.adapter.client.base_url == rig.fake.api_url + "/"
    assert rig.adapter.app.client.base_url == rig.fake.api_url + "/"


async def test_ack_is_sent_before_the_work_finishes(rig: Rig) -> None:
    rig.service.release.clear()
    payload = slash_command("diffusion &amp; &lt;b&gt;", response_url=rig.fake.response_url("slow"), channel_id="DUADA")
    envelope = await rig.fake.send_envelope("slash_commands", payload, accepts_response_payload=True)
    ack = await rig.fake.wait_for_ack(envelope)
    assert ack == {"envelope_id": envelope}  # an empty ack: nothing is shown until the answer
    assert rig.fake.responses_to("slow") == [] and not rig.service.release.is_set()
    rig.service.release.set()
    answer = await rig.fake.response("slow")
    assert answer["response_type"] == "ephemeral" and "done" in visible_text(answer)
    command, who, where = rig.service.seen[0]
    assert command == "diffusion & <b>"  # Slack's entities in command text are undone
    assert (who.platform, who.user_id, who.name, who.can_manage) == ("slack", "UADA", "uada", True)
    assert (where.platform, where.channel_id, where.workspace_id, where.is_dm) == ("slack", "DUADA", TEAM_ID, True)
    assert not rig.fake.calls_to("users.info")  # only asked with SLACK_ADMIN_ONLY


async def test_a_burst_is_acked_at_once_and_worked_on_a_few_at_a_time(rig: Rig) -> None:
    """More commands at once than there are work slots, answers held back: every one is acked,
    at most WORK_SLOTS are being worked on, and once released every one is answered."""
    from adapters.slack.listeners import WORK_SLOTS

    rig.service.release.clear()
    burst = WORK_SLOTS + 8
    names = [f"burst{i}" for i in range(burst)]
    envelopes = [
        await rig.fake.send_envelope("slash_commands", slash_command(f"q{i}", response_url=rig.fake.response_url(name)))
        for i, name in enumerate(names)
    ]
    for envelope in envelopes:
        await rig.fake.wait_for_ack(envelope)
    await rig.fake.wait_for(lambda: len(rig.service.seen) >= WORK_SLOTS)
    assert len(rig.service.seen) == WORK_SLOTS  # the rest wait for a slot, acked already
    rig.service.release.set()
    for name in names:
        assert "done" in visible_text(await rig.fake.response(name))
    assert sorted(str(command) for command, _, _ in rig.service.seen) == sorted(f"q{i}" for i in range(burst))


async def test_public_replies_go_in_channel_and_errors_stay_private(rig: Rig) -> None:
    rig.service.reply = Reply(text="Digest is on", private=False)
    payload = slash_command("digest on", response_url=rig.fake.response_url("pub"))
    await rig.fake.wait_for_ack(await rig.fake.send_envelope("slash_commands", payload))
    public = await rig.fake.response("pub")
    assert public["response_type"] == "in_channel"
    rig.service.reply = Reply(text="bad <@U1>", private=False, is_error=True)
    payload = slash_command("oops", response_url=rig.fake.response_url("err"))
    await rig.fake.wait_for_ack(await rig.fake.send_envelope("slash_commands", payload))
    error = await rig.fake.response("err")
    assert error["response_type"] == "ephemeral"
    assert [b["text"]["text"] for b in error["blocks"]] == [":warning: bad &lt;@U1&gt;"]


async def test_a_long_answer_is_cut_to_five_response_url_messages(rig: Rig) -> None:
    items = tuple(
        PaperItem(make_paper(i, paper_id=f"2501.{i:05d}", title=f"T{i}", url="https://arxiv.org"), Summary(tldr="x " * 280, key_points=("y " * 170,) * 4))
        for i in range(120)
    )
    rig.service.reply = Reply(header="Lots", groups=(ItemGroup("", items),), private=True)
    payload = slash_command("everything", response_url=rig.fake.response_url("big"))
    await rig.fake.wait_for_ack(await rig.fake.send_envelope("slash_commands", payload))
    await rig.fake.wait_for(lambda: len(rig.fake.responses_to("big")) == 5)
    answers = rig.fake.responses_to("big")
    assert len(rig.adapter.render(rig.service.reply)) > 5
    assert "cut here" in visible_text(answers[-1])
    for answer in answers:
        assert_slack_limits(answer)


def share_button_value(message: dict[str, Any]) -> str:
    """The value of the Share button on a message (the token the core issued)."""
    return next(e["value"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == SHARE_ACTION)


async def test_share_posts_the_answer_as_it_was_shown_in_channel_once(rig: Rig) -> None:
    rig.service.reply = Reply(header="Results", text="one paper", private=True, shareable=True)
    command = slash_command("gaussian splatting", response_url=rig.fake.response_url("c"))
    await rig.fake.wait_for_ack(await rig.fake.send_envelope("slash_commands", command))
    token = share_button_value(await rig.fake.response("c"))
    assert token == "token-1"  # the button carries the core's token, not the command
    rig.service.reply = Reply(text="a different answer now", private=True, shareable=True)
    payload = block_action(SHARE_ACTION, token, response_url=rig.fake.response_url("s"), ephemeral=True)
    await rig.fake.wait_for_ack(await rig.fake.send_envelope("interactive", payload))
    shared = await rig.fake.response("s")
    assert shared["response_type"] == "in_channel" and shared["replace_original"] is False
    assert visible_text(shared).startswith("Shared by <@UADA>")
    assert "one paper" in visible_text(shared) and "different" not in visible_text(shared)
    assert not any(b["type"] == "actions" for b in shared["blocks"])
    assert [c for c, _, _ in rig.service.seen] == ["gaussian splatting", f"share:{token}"]  # nothing re-run
    # The same button again (a replay): refused privately, nothing posted.
    again = block_action(SHARE_ACTION, token, response_url=rig.fake.response_url("again"), ephemeral=True)
    await rig.fake.wait_for_ack(await rig.fake.send_envelope("interactive", again))
    refused = await rig.fake.response("again")
    assert refused["response_type"] == "ephemeral" and "no longer works" in visible_text(refused)


@pytest.mark.parametrize("value", ["garbage", json.dumps({"c": "digest off"}), json.dumps({"p": "2504.17830"}), "token-999", "x" * 5000])
async def test_a_forged_share_value_gets_a_private_note_and_runs_nothing(rig: Rig, value: str) -> None:
    payload = block_action(SHARE_ACTION, value, response_url=rig.fake.response_url("g"))
    await rig.fake.wait_for_ack(await rig.fake.send_envelope("interactive", payload))
    note = await rig.fake.response("g")
    assert note["response_type"] == "ephemeral" and "no longer works" in visible_text(note)
    assert [c for c, _, _ in rig.service.seen] == [f"share:{value}"]  # no command ran
    assert rig.fake.posted() == []


async def test_a_share_token_works_only_for_whoever_was_shown_the_answer(rig: Rig) -> None:
    rig.service.reply = Reply(header="Results", text="one paper", private=True, shareable=True)
    command = slash_command("quantum", response_url=rig.fake.response_url("c"), user_id="UADA", channel_id="CLAB")
    await rig.fake.wait_for_ack(await rig.fake.send_envelope("slash_commands", command))
    token = share_button_value(await rig.fake.response("c"))
    for name, user, channel in (("other-user", "UEVE", "CLAB"), ("other-channel", "UADA", "CGENERAL")):
        click = block_action(SHARE_ACTION, token, response_url=rig.fake.response_url(name), user_id=user, channel_id=channel)
        await rig.fake.wait_for_ack(await rig.fake.send_envelope("interactive", click))
        assert (await rig.fake.response(name))["response_type"] == "ephemeral"
    # ...and still works for Ada where she was shown it.
    mine = block_action(SHARE_ACTION, token, response_url=rig.fake.response_url("mine"), user_id="UADA", channel_id="CLAB")
    await rig.fake.wait_for_ack(await rig.fake.send_envelope("interactive", mine))
    assert (await rig.fake.response("mine"))["response_type"] == "in_channel"


async def test_a_slow_command_shows_the_interim_reply_then_replaces_it(rig: Rig) -> None:
    rig.service.interim = Reply(text="Looking up 2512.00001 on arXiv…", private=True, interim=True)
    rig.service.reply = Reply(header="The paper", text="all about it", private=True, shareable=True)
    rig.service.release.clear()
    command = slash_command("paper 2512.00001", response_url=rig.fake.response_url("p"))
    await rig.fake.wait_for_ack(await rig.fake.send_envelope("slash_commands", command))
    interim = await rig.fake.response("p")  # shown while the work is still held
    assert interim["response_type"] == "ephemeral" and interim["replace_original"] is False
    assert visible_text(interim) == "Looking up 2512.00001 on arXiv…"
    assert not any(b["type"] == "actions" for b in interim["blocks"])
    rig.service.release.set()
    await rig.fake.wait_for(lambda: len(rig.fake.responses_to("p")) == 2)
    final = rig.fake.responses_to("p")[1]
    assert final["replace_original"] is True and final["response_type"] == "ephemeral"
    assert "all about it" in visible_text(final) and share_button_value(final) == "token-1"


async def test_admin_only_asks_users_info_and_caches_it(tmp_path: Path) -> None:
    async with fake_slack() as fake:
        fake.admins.add("UBOSS")
        adapter = SlackAdapter(slack_settings(fake, tmp_path, slack_admin_only=True))
        assert await adapter.can_manage("UBOSS") is True
        assert await adapter.can_manage("UNEW") is False
        assert await adapter.can_manage("UBOSS") is True
        assert [c.body["user"] for c in fake.calls_to("users.info")] == ["UBOSS", "UNEW"]
        fake.fail("users.info", "user_not_found")
        assert await adapter.can_manage("UGONE") is False  # fail closed


async def test_the_ack_does_not_wait_for_the_admin_check(tmp_path: Path) -> None:
    async with fake_slack() as fake:
        fake.admins.add("UBOSS")
        release = fake.hold("users.info")
        service = ScriptedService()
        adapter = SlackAdapter(slack_settings(fake, tmp_path, slack_admin_only=True), sleep=Sleeps())
        await adapter.start(service)
        try:
            payload = slash_command("digest on", response_url=fake.response_url("a"), user_id="UBOSS")
            envelope = await fake.send_envelope("slash_commands", payload)
            assert await fake.wait_for_ack(envelope) == {"envelope_id": envelope}
            # Acked before bolt even saw it (so before users.info was asked); the command then
            # asks, and waits for the answer.
            for _ in range(500):
                if fake.calls_to("users.info"):
                    break
                await asyncio.sleep(0.01)
            assert [c.body["user"] for c in fake.calls_to("users.info")] == ["UBOSS"]
            assert service.seen == [] and fake.responses_to("a") == []
            release.set()
            await fake.response("a")
            assert service.seen[0][1].can_manage is True
        finally:
            release.set()
            await adapter.stop()


async def test_the_middleware_resolves_who_and_where_once_per_request(tmp_path: Path) -> None:
    async with fake_slack() as fake:
        fake.admins.add("UBOSS")
        now = [1000.0]
        service = ScriptedService(Reply(text="done", private=True, shareable=True))
        adapter = SlackAdapter(slack_settings(fake, tmp_path, slack_admin_only=True), sleep=Sleeps(), monotonic=lambda: now[0])
        await adapter.start(service)
        try:
            command = slash_command("quantum", response_url=fake.response_url("c"), user_id="UBOSS", channel_id="CLAB")
            await fake.wait_for_ack(await fake.send_envelope("slash_commands", command))
            await fake.response("c")
            now[0] += ADMIN_CACHE_SECONDS + 1  # so each request below must ask users.info itself
            details = block_action(f"{DETAILS_ACTION}_1", "2501.00001", response_url=fake.response_url("d"), user_id="UBOSS", ephemeral=True)
            await fake.wait_for_ack(await fake.send_envelope("interactive", details))
            await fake.response("d")
            now[0] += ADMIN_CACHE_SECONDS + 1
            share = block_action(SHARE_ACTION, json.dumps({"c": "quantum"}), response_url=fake.response_url("s"), user_id="UNEW", channel_id="DUNEW")
            await fake.wait_for_ack(await fake.send_envelope("interactive", share))
            await fake.response("s")
        finally:
            await adapter.stop()
        assert [c.body["user"] for c in fake.calls_to("users.info")] == ["UBOSS", "UBOSS", "UNEW"]
        seen = [(who.user_id, who.name, who.can_manage, where.channel_id, where.workspace_id, where.is_dm) for _, who, where in service.seen]
        assert seen == [
            ("UBOSS", "uboss", True, "CLAB", TEAM_ID, False),
            ("UBOSS", "uboss", True, "CGENERAL", TEAM_ID, False),
            ("UNEW", "unew", False, "DUNEW", TEAM_ID, True),
        ]


@pytest.mark.parametrize("entry", ["command", "details", "share"])
async def test_a_failing_listener_gets_an_apology_not_a_traceback(rig: Rig, entry: str, caplog: pytest.LogCaptureFixture) -> None:
    rig.service.error = RuntimeError("boom: database is locked")
    url = rig.fake.response_url(entry)
    kind, payload = {
        "command": ("slash_commands", slash_command("quantum", response_url=url)),
        "details": ("interactive", block_action(f"{DETAILS_ACTION}_1", "2501.00001", response_url=url)),
        "share": ("interactive", block_action(SHARE_ACTION, json.dumps({"c": "quantum"}), response_url=url, ephemeral=True)),
    }[entry]
    with caplog.at_level(logging.ERROR, logger="adapters.slack"):
        envelope = await rig.fake.send_envelope(kind, payload)
        assert await rig.fake.wait_for_ack(envelope) == {"envelope_id": envelope}
        apology = await rig.fake.response(entry)
    assert apology["response_type"] == "ephemeral" and apology["replace_original"] is False
    assert visible_text(apology) == f":warning: {SORRY}"
    assert "boom" not in json.dumps(apology) and "Traceback" not in json.dumps(apology)
    assert rig.fake.posted() == []  # a failed Details click posts nothing in the thread
    logged = [r for r in caplog.records if r.name == "adapters.slack.listeners" and r.levelno == logging.ERROR]
    assert len(logged) == 1 and logged[0].exc_info is not None and logged[0].exc_info[1] is rig.service.error


async def test_an_error_before_the_ack_still_acks_and_apologises(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    payload = block_action(SHARE_ACTION, json.dumps({"c": "quantum"}), response_url=rig.fake.response_url("early"))
    payload["user"] = "UADA"  # a shape the who/where middleware cannot read: it raises before the ack
    with caplog.at_level(logging.ERROR, logger="adapters.slack"):
        envelope = await rig.fake.send_envelope("interactive", payload)
        assert await rig.fake.wait_for_ack(envelope) == {"envelope_id": envelope}
        apology = await rig.fake.response("early")
    assert visible_text(apology) == f":warning: {SORRY}" and rig.service.seen == []
    assert any(r.name == "adapters.slack.listeners" and r.exc_info for r in caplog.records)


async def test_a_429_from_the_response_url_is_waited_out(rig: Rig) -> None:
    rig.fake.fail_response("busy", 429, retry_after=2)
    payload = slash_command("quantum", response_url=rig.fake.response_url("busy"))
    await rig.fake.wait_for_ack(await rig.fake.send_envelope("slash_commands", payload))
    answer = await rig.fake.response("busy")
    assert "done" in visible_text(answer) and 2.0 in rig.sleeps.waits
    assert [body for _, body in rig.fake.refused] == [answer]  # the same message, sent again


async def test_as_your_own_app_an_uninstall_is_only_logged(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="adapters.slack"):
        envelope = await rig.fake.send_envelope("events_api", event_callback({"type": "app_uninstalled"}))
        await rig.fake.wait_for_ack(envelope)
    # Handled right after the ack, in the same task, before bolt sends the ack on.
    assert "app was uninstalled in workspace T0FAKE; SLACK_BOT_TOKEN no longer works" in caplog.text
    assert rig.service.seen == []


async def test_a_rejected_token_fails_the_start(tmp_path: Path) -> None:
    async with fake_slack() as fake:
        fake.fail("auth.test", "invalid_auth")
        adapter = SlackAdapter(slack_settings(fake, tmp_path))
        with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
            await adapter.start(ScriptedService())
        await adapter.stop()
        fake.fail("apps.connections.open", "invalid_auth")
        adapter = SlackAdapter(slack_settings(fake, tmp_path))
        with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
            await adapter.start(ScriptedService())
        await adapter.stop()


# --- HTTP mode ---------------------------------------------------------------------------------


async def test_http_mode_verifies_signatures_and_serves_healthz(tmp_path: Path) -> None:
    async with fake_slack() as fake:
        service = ScriptedService(Reply(text="signed answer", private=True, shareable=True))
        health = {"ok": True, "adapters": {"slack": True}}
        adapter = SlackAdapter(slack_settings(fake, tmp_path, slack_app_token=""), health=lambda: health)
        await adapter.start(service)
        try:
            assert not fake.calls_to("apps.connections.open") and adapter.http_port and adapter.connected
            url = f"http://127.0.0.1:{adapter.http_port}"
            body = urllib.parse.urlencode(slash_command("quantum", response_url=fake.response_url("h")))
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            async with aiohttp.ClientSession() as session:
                async with session.post(f"{url}/slack/events", data=body, headers={**form, **sign(SECRET, body)}) as good:
                    assert good.status == 200 and await good.text() == ""
                async with session.post(f"{url}/slack/events", data=body, headers={**form, **sign("wrong", body)}) as bad:
                    assert bad.status == 401
                stale = sign(SECRET, body, timestamp=1_000_000_000)
                async with session.post(f"{url}/slack/events", data=body, headers={**form, **stale}) as old:
                    assert old.status == 401
                async with session.post(f"{url}/slack/events", data=body, headers=form) as unsigned:
                    assert unsigned.status == 401
                async with session.get(f"{url}/healthz") as answer:
                    assert answer.status == 200 and await answer.json() == health
                health["ok"] = False
                async with session.get(f"{url}/healthz") as answer:
                    assert answer.status == 503
                token = share_button_value(await fake.response("h"))
                click = block_action(SHARE_ACTION, token, response_url=fake.response_url("hs"), ephemeral=True)
                click_body = urllib.parse.urlencode({"payload": json.dumps(click)})
                async with session.post(f"{url}/slack/events", data=click_body, headers={**form, **sign(SECRET, click_body)}) as clicked:
                    assert clicked.status == 200
            signed = await fake.response("h")
            assert "signed answer" in visible_text(signed)
            shared = await fake.response("hs")
            assert shared["response_type"] == "in_channel"
            assert len(service.seen) == 2  # the badly signed requests reached nothing
        finally:
            await adapter.stop()
        assert not adapter.connected


async def until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Wait until `condition()` holds (looked at every 10 ms), at most `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_http_mode_acks_a_slash_command_before_its_slow_answer(tmp_path: Path) -> None:
    async with fake_slack() as fake:
        service = ScriptedService(Reply(text="slow answer", private=True))
        service.release.clear()  # the answer is held back until the ack was seen
        adapter = SlackAdapter(slack_settings(fake, tmp_path, slack_app_token=""))
        await adapter.start(service)
        try:
            body = urllib.parse.urlencode(slash_command("quantum", response_url=fake.response_url("slow")))
            headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(SECRET, body)}
            url = f"http://127.0.0.1:{adapter.http_port}/slack/events"
            async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as acked:
                assert acked.status == 200 and await acked.read() == b""
            assert fake.responses_to("slow") == []  # acked while the listener's work is held
            await until(lambda: bool(service.seen))
            service.release.set()
            answer = await fake.response("slow")
            assert "slow answer" in visible_text(answer) and answer["response_type"] == "ephemeral"
            assert len(service.seen) == 1  # handled once
        finally:
            service.release.set()
            await adapter.stop()


async def test_socket_mode_acks_a_slash_command_envelope_before_its_slow_answer(tmp_path: Path) -> None:
    async with fake_slack() as fake:
        service = ScriptedService(Reply(text="slow answer", private=True))
        service.release.clear()
        adapter = SlackAdapter(slack_settings(fake, tmp_path))
        await adapter.start(service)
        try:
            payload = slash_command("quantum", response_url=fake.response_url("slow"))
            envelope = await fake.send_envelope("slash_commands", payload, accepts_response_payload=True)
            assert await fake.wait_for_ack(envelope) == {"envelope_id": envelope}  # an empty ack
            assert fake.responses_to("slow") == []
            await until(lambda: bool(service.seen))
            service.release.set()
            answer = await fake.response("slow")
            assert "slow answer" in visible_text(answer)
            assert len(service.seen) == 1 and [m["envelope_id"] for m in fake.received if "envelope_id" in m] == [envelope]
        finally:
            service.release.set()
            await adapter.stop()


async def test_a_burst_of_commands_asks_auth_test_once_in_all(tmp_path: Path) -> None:
    async with fake_slack() as fake:
        adapter = SlackAdapter(slack_settings(fake, tmp_path))
        await adapter.start(ScriptedService())
        try:
            names = [f"b{i}" for i in range(10)]
            for name in names:
                await fake.send_envelope("slash_commands", slash_command("quantum", response_url=fake.response_url(name)))
            for name in names:
                await fake.response(name)
            # The start check's answer serves bolt too: no auth.test per request of the burst.
            assert len(fake.calls_to("auth.test")) == 1
        finally:
            await adapter.stop()


async def test_the_answer_of_a_command_acked_early_is_awaited_by_stop(tmp_path: Path) -> None:
    async with fake_slack() as fake:
        service = ScriptedService(Reply(text="answer at stop", private=True))
        service.release.clear()
        adapter = SlackAdapter(slack_settings(fake, tmp_path, slack_app_token=""))
        await adapter.start(service)
        body = urllib.parse.urlencode(slash_command("quantum", response_url=fake.response_url("late")))
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(SECRET, body)}
        url = f"http://127.0.0.1:{adapter.http_port}/slack/events"
        async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as acked:
            assert acked.status == 200
        await until(lambda: bool(service.seen))
        asyncio.get_running_loop().call_later(0.2, service.release.set)
        await adapter.stop()  # waits for the answer in flight
        assert "answer at stop" in visible_text(fake.responses_to("late")[0])


# --- delivery ----------------------------------------------------------------------------------


async def test_hostile_text_arrives_inert_in_channel_posts_and_dms(rig: Rig) -> None:
    await post(rig.adapter, "CGENERAL", hostile_reply())
    await send_dm(rig.adapter, "UBOB", hostile_reply())
    assert [c.body["users"] for c in rig.fake.calls_to("conversations.open")] == ["UBOB"]
    posts = rig.fake.posted()
    assert [p["channel"] for p in posts] == ["CGENERAL", "DUBOB"]
    for part in posts:
        assert_slack_limits(part)
        assert_inert(part)
        assert part["unfurl_links"] is False and part["unfurl_media"] is False
    link = next(b["text"]["text"] for b in posts[0]["blocks"] if b["type"] == "section" and "arxiv.org" in b["text"]["text"])
    assert "<https://arxiv.org/abs/2504.99999?a=1&amp;b=%3Cx%3E%7Cy|Zebrafish" in link


async def test_hostile_text_arrives_inert_through_response_url(rig: Rig) -> None:
    rig.service.reply = replace(hostile_reply(), private=True, shareable=True)
    payload = slash_command("zebrafish", response_url=rig.fake.response_url("z"))
    await rig.fake.wait_for_ack(await rig.fake.send_envelope("slash_commands", payload))
    answer = await rig.fake.response("z")
    assert_slack_limits(answer)
    assert_inert(answer)


async def test_dm_channel_is_opened_once_per_user(rig: Rig) -> None:
    assert await rig.adapter.open_dm("UBOB") == await rig.adapter.open_dm("UBOB") == "DUBOB"
    assert len(rig.fake.calls_to("conversations.open")) == 1


async def test_a_429_is_retried_by_slack_sdk_then_succeeds(rig: Rig) -> None:
    rig.fake.fail_status("chat.postMessage", 429, retry_after=3)
    ts = await rig.adapter.send("CGENERAL", {"text": "hello", "blocks": []})
    assert ts and len(rig.fake.calls_to("chat.postMessage")) == 2
    assert 3.0 in rig.sleeps.waits


async def test_a_persisting_429_surfaces_as_retry_after(rig: Rig) -> None:
    rig.fake.fail_status("chat.postMessage", 429, retry_after=7, times=5)
    with pytest.raises(RetryAfter) as caught:
        await rig.adapter.send("CGENERAL", {"text": "hello"})
    assert caught.value.retry_after == 7.0
    assert len(rig.fake.calls_to("chat.postMessage")) == 3  # the first try and 2 retries


async def test_a_long_retry_after_goes_back_to_the_outbox(rig: Rig) -> None:
    rig.fake.fail_status("chat.postMessage", 429, retry_after=120)
    with pytest.raises(RetryAfter) as caught:
        await rig.adapter.send("CGENERAL", {"text": "hello"})
    assert caught.value.retry_after == 120.0 and len(rig.fake.calls_to("chat.postMessage")) == 1


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        ("not_in_channel", "not_in_channel"),
        ("channel_not_found", "channel_not_found"),
        ("is_archived", "is_archived"),
        ("user_not_found", "user_not_found"),
        ("cannot_dm_bot", "dm_blocked"),
    ],
)
async def test_permanent_errors(rig: Rig, error: str, reason: str) -> None:
    rig.fake.fail("chat.postMessage", error)
    with pytest.raises(PermanentDeliveryError) as caught:
        await rig.adapter.send("CGONE", {"text": "hello"})
    assert caught.value.reason == reason
    if error == "not_in_channel":
        assert caught.value.hint == "invite it with /invite @paperbot in that channel"


@pytest.mark.parametrize("error", ["account_inactive", "invalid_auth", "token_revoked", "missing_scope"])
async def test_a_broken_token_or_scope_is_transient_not_a_channel_failure(rig: Rig, error: str) -> None:
    rig.fake.fail("chat.postMessage", error)
    with pytest.raises(TransientDeliveryError, match=error):
        await rig.adapter.send("CGENERAL", {"text": "hello"})


async def test_open_dm_maps_errors_too(rig: Rig) -> None:
    rig.fake.fail("conversations.open", "user_not_found")
    with pytest.raises(PermanentDeliveryError) as caught:
        await rig.adapter.open_dm("UGONE")
    assert caught.value.reason == "user_not_found"


async def test_5xx_and_network_errors_are_transient(rig: Rig, unused_tcp_port: int) -> None:
    rig.fake.fail_status("chat.postMessage", 500)
    with pytest.raises(TransientDeliveryError):
        await rig.adapter.send("CGENERAL", {"text": "hello"})
    rig.fake.fail_status("chat.postMessage", 503)
    with pytest.raises(TransientDeliveryError):
        await rig.adapter.send("CGENERAL", {"text": "hello"})
    rig.adapter.client.base_url = f"http://127.0.0.1:{unused_tcp_port}/api/"
    with pytest.raises(TransientDeliveryError):
        await rig.adapter.send("CGENERAL", {"text": "hello"})


async def test_posts_to_one_channel_are_spaced(tmp_path: Path) -> None:
    async with fake_slack() as fake:
        now = [100.0]
        sleeps = Sleeps()
        adapter = SlackAdapter(slack_settings(fake, tmp_path), sleep=sleeps, monotonic=lambda: now[0])
        await adapter.send("C1", {"text": "one"})
        now[0] += 0.25
        await adapter.send("C1", {"text": "two"})
        await adapter.send("C2", {"text": "other channel"})
        now[0] += 5
        await adapter.send("C1", {"text": "later"})
        assert sleeps.waits == [pytest.approx(0.75)]
        assert [p["text"] for p in fake.posted()] == ["one", "two", "other channel", "later"]


async def test_thread_ts_in_a_part_makes_a_thread_reply(rig: Rig) -> None:
    await rig.adapter.send("CGENERAL", {"text": "in thread", "thread_ts": "1700000000.000123"})
    assert rig.fake.posted()[0]["thread_ts"] == "1700000000.000123"


async def test_the_ack_is_timed_into_the_metrics_from_the_middleware_on(tmp_path: Path) -> None:
    now = [100.0]
    metrics = Metrics()
    async with fake_slack() as fake:
        adapter = SlackAdapter(slack_settings(fake, tmp_path), sleep=Sleeps(), monotonic=lambda: now[0], metrics=metrics)
        await adapter.start(ScriptedService())
        try:
            payload = slash_command("diffusion", response_url=fake.response_url("timed"), channel_id="C1")
            envelope = await fake.send_envelope("slash_commands", payload, accepts_response_payload=True)
            await fake.wait_for_ack(envelope)
            await fake.response("timed")
        finally:
            await adapter.stop()
    assert metrics.registry.get_sample_value("paperbot_ack_seconds_count", {"platform": "slack"}) == 1
    assert metrics.registry.get_sample_value("paperbot_ack_seconds_sum", {"platform": "slack"}) == 0  # the fake clock did not move
