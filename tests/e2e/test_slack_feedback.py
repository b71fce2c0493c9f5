"""Feedback buttons on Slack, in front of the REAL core (as tests/e2e/test_slack_runtime.py wires
it) and the fake Slack on 127.0.0.1: every paper of an answer that offers feedback carries a row
of 👍 Relevant / 👎 Not for me / 🔖 Save / More like this; a click is acked at once, recorded in
the store for whoever clicked, and shown to them alone: their own message (an ephemeral answer,
their DM) is redrawn with the choice marked through the click's response_url, a channel message
is left alone and the clicker gets a private confirmation. Clicks arrive over Socket Mode and, in
one test, as signed HTTP requests."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

pytest.importorskip("bot.search.engine", reason="the real core needs bot.search.engine")

from adapters.slack.render import FEEDBACK_ACTION  # noqa: E402
from bot.chat.view import ItemAction  # noqa: E402
from bot.store.feedback import Choice  # noqa: E402
from tests.e2e.test_slack_adapter import SECRET  # noqa: E402
from tests.e2e.test_slack_runtime import Bot, running_bot, start_bot  # noqa: E402
from tests.support.slack_api import (  # noqa: E402
    assert_slack_limits,
    block_action,
    fake_slack,
    sign,
    visible_text,
)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    async with running_bot(tmp_path) as started:
        yield started


def feedback_rows(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The message's actions blocks made of feedback buttons."""
    return [
        b for b in message["blocks"]
        if b["type"] == "actions" and all(e["action_id"].startswith(FEEDBACK_ACTION) for e in b["elements"])
    ]


def button_of(message: dict[str, Any], action: ItemAction, paper_id: str) -> dict[str, Any]:
    """The button of one action on one paper (the block it sits in is in `block_id`)."""
    for row in feedback_rows(message):
        for element in row["elements"]:
            if element["value"] == paper_id and element["action_id"].startswith(f"{FEEDBACK_ACTION}{action.value}_"):
                return {**element, "block_id": row["block_id"]}
    raise AssertionError(f"no {action} button for {paper_id}")


def click_on(message: dict[str, Any], action: ItemAction, paper_id: str, *, ephemeral: bool, **kw: Any) -> dict[str, Any]:
    """The block_actions payload Slack sends for a click on that button of that message (an
    ephemeral message's blocks are not in the payload, as in Slack)."""
    pressed = button_of(message, action, paper_id)
    payload = block_action(pressed["action_id"], pressed["value"], response_url=kw.pop("response_url"), ephemeral=ephemeral, **kw)
    payload["actions"][0]["block_id"] = pressed["block_id"]
    if "message" in payload:
        payload["message"]["blocks"] = message["blocks"]
    return payload


async def search(bot: Bot, user_id: str = "UADA") -> tuple[dict[str, Any], list[str]]:
    answer = await bot.command("diffusion", name=f"q-{user_id}", user_id=user_id)
    ids = [row["elements"][0]["value"] for row in feedback_rows(answer)]
    return answer, ids


async def test_every_paper_of_a_search_answer_carries_the_four_actions(bot: Bot) -> None:
    answer, ids = await search(bot)
    assert answer["response_type"] == "ephemeral"
    assert_slack_limits(answer)
    papers = [b for b in answer["blocks"] if b["type"] == "section" and "accessory" in b]
    assert len(ids) == len(papers) >= 2
    for row in feedback_rows(answer):
        labels = [e["text"]["text"] for e in row["elements"]]
        assert labels == ["👍 Relevant", "👎 Not for me", "🔖 Save", "More like this"]
        assert len({e["value"] for e in row["elements"]}) == 1


async def test_a_like_on_a_private_answer_is_stored_and_redraws_it_for_the_clicker(bot: Bot) -> None:
    answer, ids = await search(bot)
    first, second = ids[0], ids[1]
    await bot.click(click_on(answer, ItemAction.LIKE, second, ephemeral=True, response_url=bot.fake.response_url("l")))
    redrawn = await bot.fake.response("l")
    assert redrawn["replace_original"] is True and redrawn["response_type"] == "ephemeral"
    assert_slack_limits(redrawn)
    chosen = button_of(redrawn, ItemAction.LIKE, second)
    assert chosen["text"]["text"] == "👍 Relevant ✓" and chosen["style"] == "primary"
    assert "✓" not in json.dumps([r for r in feedback_rows(redrawn) if r["elements"][0]["value"] == first], ensure_ascii=False)
    # The redrawn message keeps everything else, and its changed row has a new block_id.
    assert visible_text(redrawn) == visible_text(answer)
    assert button_of(redrawn, ItemAction.LIKE, second)["block_id"] != button_of(answer, ItemAction.LIKE, second)["block_id"]
    store = bot.runtime.store
    assert store.feedback.choice("slack", "UADA", second) == Choice.RELEVANT

    # Changing one's mind on the redrawn message: not for me replaces the like, then a save.
    await bot.click(click_on(redrawn, ItemAction.DISLIKE, second, ephemeral=True, response_url=bot.fake.response_url("d")))
    again = await bot.fake.response("d")
    assert button_of(again, ItemAction.DISLIKE, second)["style"] == "danger"
    assert button_of(again, ItemAction.LIKE, second)["text"]["text"] == "👍 Relevant" and "style" not in button_of(again, ItemAction.LIKE, second)
    assert store.feedback.choice("slack", "UADA", second) == Choice.NOT_RELEVANT
    await bot.click(click_on(again, ItemAction.SAVE, first, ephemeral=True, response_url=bot.fake.response_url("s")))
    saved = await bot.fake.response("s")
    assert button_of(saved, ItemAction.SAVE, first)["text"]["text"] == "🔖 Saved ✓"
    assert button_of(saved, ItemAction.DISLIKE, second)["style"] == "danger"  # earlier marks stay
    assert store.feedback.saved("slack", "UADA") == [first]


async def test_a_click_on_a_channel_message_is_confirmed_privately_and_the_message_left_alone(bot: Bot) -> None:
    answer, ids = await search(bot)
    channel_message = answer  # the same blocks, as a message in #general (a digest, a shared answer)
    # Ada likes a paper of a message everyone in #general sees; Bob dislikes the same paper there.
    await bot.click(click_on(channel_message, ItemAction.LIKE, ids[0], ephemeral=False, response_url=bot.fake.response_url("a")))
    await bot.click(
        click_on(channel_message, ItemAction.DISLIKE, ids[0], ephemeral=False, user_id="UBOB", response_url=bot.fake.response_url("b"))
    )
    ada, bob = await bot.fake.response("a"), await bot.fake.response("b")
    for note in (ada, bob):
        assert note["response_type"] == "ephemeral" and note["replace_original"] is False
        assert not feedback_rows(note)  # a confirmation, not a copy of the message
    assert "Noted: more like" in visible_text(ada) and "Noted: fewer like" in visible_text(bob)
    assert not bot.fake.calls_to("chat.update") and not bot.fake.posted()
    assert not any(r.get("replace_original") for _, r in bot.fake.responses)
    store = bot.runtime.store
    assert store.feedback.choice("slack", "UADA", ids[0]) == Choice.RELEVANT
    assert store.feedback.choice("slack", "UBOB", ids[0]) == Choice.NOT_RELEVANT


async def test_another_persons_click_never_redraws_someone_elses_answer(bot: Bot) -> None:
    ada_answer, ids = await search(bot, "UADA")
    # A click claiming Ada's message but sent by Bob (Slack never does this; the adapter must
    # not redraw what it remembered for Ada): recorded for Bob, confirmed privately to Bob.
    forged = click_on(ada_answer, ItemAction.LIKE, ids[0], ephemeral=True, user_id="UBOB", response_url=bot.fake.response_url("x"))
    await bot.click(forged)
    note = await bot.fake.response("x")
    assert note["replace_original"] is False and "Noted" in visible_text(note)
    assert bot.runtime.store.feedback.choice("slack", "UBOB", ids[0]) == Choice.RELEVANT
    assert bot.runtime.store.feedback.choice("slack", "UADA", ids[0]) is None
    # Ada's own click still redraws hers, showing her choice only.
    await bot.click(click_on(ada_answer, ItemAction.SAVE, ids[0], ephemeral=True, response_url=bot.fake.response_url("y")))
    mine = await bot.fake.response("y")
    assert mine["replace_original"] is True
    assert button_of(mine, ItemAction.SAVE, ids[0])["text"]["text"] == "🔖 Saved ✓"
    assert "✓" not in button_of(mine, ItemAction.LIKE, ids[0])["text"]["text"]  # Bob's like is not shown to Ada


async def test_a_dm_message_is_redrawn_from_the_blocks_slack_sends(bot: Bot) -> None:
    answer, ids = await search(bot)
    dm = click_on(answer, ItemAction.LIKE, ids[0], ephemeral=False, channel_id="DUADA", response_url=bot.fake.response_url("dm"))
    await bot.click(dm)
    redrawn = await bot.fake.response("dm")
    assert redrawn["replace_original"] is True and "response_type" not in redrawn
    assert button_of(redrawn, ItemAction.LIKE, ids[0])["text"]["text"] == "👍 Relevant ✓"


async def test_more_like_this_answers_privately_with_papers_that_carry_actions(bot: Bot) -> None:
    answer, ids = await search(bot)
    await bot.click(click_on(answer, ItemAction.SIMILAR, ids[0], ephemeral=True, response_url=bot.fake.response_url("m")))
    similar = await bot.fake.response("m")
    assert similar["response_type"] == "ephemeral" and similar["replace_original"] is False
    assert "papers like" in visible_text(similar)
    assert_slack_limits(similar)
    assert feedback_rows(similar) and ids[0] not in [r["elements"][0]["value"] for r in feedback_rows(similar)]


async def test_an_unknown_paper_or_action_gets_a_private_error(bot: Bot) -> None:
    await bot.click(block_action(f"{FEEDBACK_ACTION}like_1", "2511.99999", response_url=bot.fake.response_url("e"), ephemeral=True))
    error = await bot.fake.response("e")
    assert error["response_type"] == "ephemeral" and ":warning:" in visible_text(error)
    await bot.click(block_action(f"{FEEDBACK_ACTION}explode_1", "2511.99999", response_url=bot.fake.response_url("f"), ephemeral=True))
    broken = await bot.fake.response("f")
    assert "no longer works" in visible_text(broken)


async def test_a_signed_http_click_is_recorded_and_redraws_the_answer(tmp_path: Path) -> None:
    async with fake_slack() as fake:
        bot = await start_bot(fake, tmp_path, slack_app_token="")
        try:
            answer, ids = await search_http(bot)
            click = click_on(answer, ItemAction.LIKE, ids[0], ephemeral=True, response_url=fake.response_url("h"))
            body = urllib.parse.urlencode({"payload": json.dumps(click)})
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            url = f"http://127.0.0.1:{bot.adapter.http_port}/slack/events"
            async with aiohttp.ClientSession() as session:
                async with session.post(url, data=body, headers={**form, **sign("wrong", body)}) as forged:
                    assert forged.status == 401
                async with session.post(url, data=body, headers={**form, **sign(SECRET, body)}) as acked:
                    assert acked.status == 200 and await acked.text() == ""
            redrawn = await fake.response("h")
            assert redrawn["replace_original"] is True
            assert bot.runtime.store.feedback.choice("slack", "UADA", ids[0]) == Choice.RELEVANT
            assert len([r for name, r in fake.responses if name == "h"]) == 1  # the forged click did nothing
        finally:
            await bot.adapter.stop()
            await bot.runtime.close()


async def search_http(bot: Bot) -> tuple[dict[str, Any], list[str]]:
    """A signed `/papers diffusion` over HTTP mode; the answer and its papers' ids."""
    from tests.support.slack_api import slash_command

    body = urllib.parse.urlencode(slash_command("diffusion", response_url=bot.fake.response_url("hq")))
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{bot.adapter.http_port}/slack/events"
        async with session.post(url, data=body, headers={**form, **sign(SECRET, body)}) as acked:
            assert acked.status == 200
    answer = await bot.fake.response("hq")
    return answer, [row["elements"][0]["value"] for row in feedback_rows(answer)]


@pytest.mark.postgres
async def test_behind_a_load_balancer_a_click_on_another_replica_redraws_the_answer(tmp_path: Path, postgres_url: str) -> None:
    """Two runtimes (two replicas) with their Slack apps on one PostgreSQL store: the search is
    answered by the first; the click on its private answer reaches the second, which redraws the
    answer from the store (Slack sends no blocks with a click on an ephemeral message)."""
    async with fake_slack() as fake:
        first = await start_bot(fake, tmp_path / "a", database=postgres_url)
        try:
            answer, ids = await search(first)
            await first.adapter.stop()  # the next request goes to the other replica
            second = await start_bot(fake, tmp_path / "b", database=postgres_url)
            try:
                await second.click(click_on(answer, ItemAction.SAVE, ids[0], ephemeral=True, response_url=fake.response_url("s")))
                redrawn = await fake.response("s")
                assert redrawn["replace_original"] is True and redrawn["response_type"] == "ephemeral"
                assert button_of(redrawn, ItemAction.SAVE, ids[0])["text"]["text"] == "🔖 Saved ✓"
                assert visible_text(redrawn) == visible_text(answer)
                assert first.runtime.store.feedback.saved("slack", "UADA") == [ids[0]]
            finally:
                await second.adapter.stop()
                await second.runtime.close()
        finally:
            await first.runtime.close()
