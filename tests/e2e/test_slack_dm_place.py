"""Where a slash command was typed, on Slack, in front of the REAL core and the fake Slack on
127.0.0.1, with signed HTTP requests: a `D...` conversation is the caller's DM only when
conversations.info (asked after the ack, remembered) says it is paperbot's IM with them. In a
direct message between other people, or a group DM paperbot is not in, a command that would
post there (`digest on`, `digest now`, `digest edit`) is answered with where paperbot can post,
and nothing is set up; other commands are answered as usual."""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

pytest.importorskip("bot.search.engine", reason="the real core needs bot.search.engine")

from tests.e2e.test_slack_adapter import SECRET  # noqa: E402
from tests.e2e.test_slack_runtime import Bot, start_bot  # noqa: E402
from tests.support.slack_api import FakeSlack, fake_slack, sign, slash_command, visible_text  # noqa: E402


@dataclass
class HttpBot:
    bot: Bot

    @property
    def fake(self) -> FakeSlack:
        return self.bot.fake

    async def command(self, text: str, *, name: str, channel_id: str, user_id: str = "UADA", channel_name: str = "") -> dict[str, Any]:
        """A signed `/papers <text>` over HTTP mode, acked with an empty 200; the first answer
        posted to its response_url."""
        fields = slash_command(text, response_url=self.fake.response_url(name), user_id=user_id, channel_id=channel_id, channel_name=channel_name)
        body = urllib.parse.urlencode(fields)
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(SECRET, body)}
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{self.bot.adapter.http_port}/slack/events"
            async with session.post(url, data=body, headers=headers) as acked:
                assert acked.status == 200 and await acked.text() == ""
        return await self.fake.response(name)

    def settings_of(self, channel_id: str) -> object:
        return self.bot.runtime.store.channels.get(f"slack:{channel_id}")


@pytest.fixture
async def http_bot(tmp_path: Path) -> AsyncIterator[HttpBot]:
    async with fake_slack() as fake:
        bot = await start_bot(fake, tmp_path, slack_app_token="")  # no app token: HTTP mode
        try:
            yield HttpBot(bot)
        finally:
            await bot.adapter.stop()
            await bot.runtime.close()


async def test_a_digest_in_a_dm_between_other_people_is_refused_with_where_paperbot_can_post(http_bot: HttpBot) -> None:
    # DOTHERS is Ada's DM with Bob: paperbot is not part of it, so its token cannot see it.
    answer = await http_bot.command("digest on 09:00 tz:Europe/Berlin", name="on", channel_id="DOTHERS")
    text = visible_text(answer)
    assert answer["response_type"] == "ephemeral" and ":warning:" in text
    assert "cannot post in this conversation" in text and "/papers digest me on" in text
    assert http_bot.settings_of("DOTHERS") is None  # nothing was set up
    now = await http_bot.command("digest now", name="now", channel_id="DOTHERS")
    assert "cannot post in this conversation" in visible_text(now)
    edit = await http_bot.command("digest edit", name="edit", channel_id="DOTHERS")
    assert "cannot post in this conversation" in visible_text(edit) and not http_bot.fake.calls_to("views.open")
    # Other commands still answer (privately, through the response_url, which works anywhere).
    search = await http_bot.command("diffusion", name="q", channel_id="DOTHERS")
    assert search["response_type"] == "ephemeral" and "papers for" in visible_text(search)
    # The personal digest is the person's own, by DM: it may be turned on from anywhere.
    personal = await http_bot.command("digest me on 08:00", name="me", channel_id="DOTHERS")
    assert ":warning:" not in visible_text(personal)
    # conversations.info was asked once for that conversation, then remembered.
    asked = [c.body.get("channel") for c in http_bot.fake.calls_to("conversations.info")]
    assert asked == ["DOTHERS"]


async def test_the_callers_own_dm_sets_their_dm_digest(http_bot: HttpBot) -> None:
    own = await http_bot.command("digest on 09:00", name="own", channel_id="DUADA")
    assert ":warning:" not in visible_text(own) and "your DMs" in visible_text(own)
    assert http_bot.settings_of("DUADA") is not None
    # Bob typing in Ada's DM with paperbot cannot happen on Slack; if conversations.info says
    # the IM is someone else's, it is not his DM and paperbot does not post there for him.
    http_bot.fake.add_conversation("DUCY", {"is_im": True, "user": "UCY"})
    other = await http_bot.command("digest on 09:00", name="other", user_id="UBOB", channel_id="DUCY")
    assert "cannot post in this conversation" in visible_text(other)
    assert http_bot.settings_of("DUCY") is None


async def test_a_group_dm_is_a_channel_when_paperbot_is_in_it(http_bot: HttpBot) -> None:
    http_bot.fake.add_conversation("GMEMBER", {"is_mpim": True, "is_member": True, "name": "mpdm-ada--bob-1"})
    http_bot.fake.add_conversation("GOUTSIDE", None)
    inside = await http_bot.command("digest on 09:00", name="in", channel_id="GMEMBER", channel_name="mpdm-ada--bob-1")
    assert ":warning:" not in visible_text(inside) and "this channel" in visible_text(inside)
    outside = await http_bot.command("digest on 09:00", name="out", channel_id="GOUTSIDE", channel_name="mpdm-ada--cy-1")
    assert "cannot post in this conversation" in visible_text(outside)
    assert http_bot.settings_of("GMEMBER") is not None and http_bot.settings_of("GOUTSIDE") is None


async def test_when_conversations_info_fails_the_dm_prefix_is_trusted_and_asked_again(http_bot: HttpBot) -> None:
    http_bot.fake.fail("conversations.info", "internal_error")
    own = await http_bot.command("digest on 09:00", name="own", channel_id="DUADA")
    assert ":warning:" not in visible_text(own) and "your DMs" in visible_text(own)
    # A failure is not remembered: the next command asks again, and the answer is kept.
    await http_bot.command("digest show", name="show", channel_id="DUADA")
    await http_bot.command("digest show", name="again", channel_id="DUADA")
    assert len(http_bot.fake.calls_to("conversations.info")) == 2


async def test_a_channel_command_asks_nothing(http_bot: HttpBot) -> None:
    answer = await http_bot.command("digest on 09:00", name="c", channel_id="CGENERAL")
    assert ":warning:" not in visible_text(answer)
    assert http_bot.fake.calls_to("conversations.info") == []
