"""Feedback buttons on Discord, against the fake Discord API: every paper of a reply that offers
feedback gets a row of 👍 / 👎 / 🔖 / More like this (custom_ids that survive restarts); a click
is answered at once (no deferral) and privately, the clicker's own message is updated to show
the choice, a public message is left alone, and More like this answers with papers."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.discord import DiscordAdapter
from adapters.discord.render import SHARE_ID, action_from_custom_id, render_reply
from bot.chat.view import ItemAction
from bot.core.models import ItemGroup, Reply
from tests.support.discord_api import CHANNEL_ID, EPHEMERAL, FakeDiscord, assert_discord_limits
from tests.support.discord_harness import answers
from tests.support.discord_service import FakeService, make_item


@pytest.fixture
def service() -> FakeService:
    """The ServiceAPI behind the adapter (tests/e2e/conftest.py), offering feedback buttons."""
    return FakeService(feedback=True)


def _buttons(message: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return [row["components"] for row in message["components"]]


def test_each_paper_gets_its_own_row_of_actions_and_messages_split_by_rows() -> None:
    items = tuple(make_item(i) for i in range(1, 10))
    parts = render_reply(Reply(header="9 papers", groups=(ItemGroup("", items),), offers_feedback=True, shareable=True))
    assert [len(p["embeds"]) for p in parts] == [4, 4, 1]  # 4 paper rows + the Share row per message
    for part in parts:
        assert_discord_limits(part, mentions_off=False)  # a rendered part; mentions are set when sent
        rows = _buttons(part)
        assert rows[-1][0]["custom_id"] == SHARE_ID
        for row, embed in zip(rows[:-1], part["embeds"], strict=True):
            number = embed["title"].split(".")[0]
            ids = [b["custom_id"] for b in row]
            paper = ids[0].removeprefix("paperbot:details:")
            assert [action_from_custom_id(i) for i in ids[1:]] == [(a, paper) for a in ItemAction]
            assert row[1]["label"] == f"👍 Relevant #{number}"
    # Without feedback the Details buttons still share rows, as before.
    plain = render_reply(Reply(groups=(ItemGroup("", items),)))
    assert len(plain) == 1 and [len(r) for r in _buttons(plain[0])] == [5, 4]


async def test_a_like_on_a_private_answer_is_acked_at_once_and_updates_it(
    fake: FakeDiscord, adapter: DiscordAdapter, service: FakeService
) -> None:
    search = await fake.interact(fake.slash(["search"], {"query": "diffusion"}))
    (result,) = await answers(fake, search, 1)
    assert result["flags"] & EPHEMERAL
    stored = fake.message_payload(CHANNEL_ID, result, webhook=True)
    like = await fake.interact(fake.button("paperbot:act:like:2511.10002", stored))
    await fake.wait_for(lambda: fake.callbacks_for(like) and fake.followups_for(like), what="the like answer")
    (callback,) = fake.callbacks_for(like)
    # Answered directly with the updated message (type 7), not deferred (type 5).
    assert callback["type"] == 7
    rows = [row["components"] for row in callback["data"]["components"]]
    second = next(row for row in rows if any(b.get("custom_id") == "paperbot:act:like:2511.10002" for b in row))
    chosen = next(b for b in second if b["custom_id"] == "paperbot:act:like:2511.10002")
    assert chosen["style"] == 3 and "✓" in chosen["label"]
    first = next(row for row in rows if any(b.get("custom_id") == "paperbot:act:like:2511.10001" for b in row))
    assert all("✓" not in b.get("label", "") for b in first)  # other papers unchanged
    (confirmation,) = fake.followups_for(like)
    assert confirmation["flags"] & EPHEMERAL and "Noted: like 2511.10002" in confirmation["content"]
    action, paper_id, who, where = service.actions[-1]
    assert (action, paper_id, where.channel_id) == ("like", "2511.10002", CHANNEL_ID) and who.platform == "discord"

    # Changing one's mind: not for me replaces the like on the same paper's row.
    updated = dict(stored, components=callback["data"]["components"])
    dislike = await fake.interact(fake.button("paperbot:act:dislike:2511.10002", updated))
    await fake.wait_for(lambda: fake.callbacks_for(dislike), what="the dislike answer")
    rows = [row["components"] for row in fake.callbacks_for(dislike)[0]["data"]["components"]]
    marks = {b["custom_id"]: b for row in rows for b in row if "2511.10002" in b.get("custom_id", "")}
    assert marks["paperbot:act:dislike:2511.10002"]["style"] == 4
    assert "✓" not in marks["paperbot:act:like:2511.10002"]["label"]


async def test_a_click_on_a_public_message_is_answered_privately_and_the_message_left_alone(
    fake: FakeDiscord, adapter: DiscordAdapter, service: FakeService
) -> None:
    digest = render_reply(Reply(header="Digest", groups=(ItemGroup("", (make_item(1),)),), offers_feedback=True, private=False))[0]
    public = fake.message_payload(CHANNEL_ID, digest)
    save = await fake.interact(fake.button("paperbot:act:save:2511.10001", public))
    await fake.wait_for(lambda: fake.callbacks_for(save), what="the save answer")
    (callback,) = fake.callbacks_for(save)
    assert callback["type"] == 4 and callback["data"]["flags"] & EPHEMERAL
    assert "Noted: save 2511.10001" in callback["data"]["content"]
    assert service.actions[-1][0] == "save"
    # An error (a paper that does not exist) is private too.
    missing = await fake.interact(fake.button("paperbot:act:like:2511.99999", public))
    await fake.wait_for(lambda: fake.callbacks_for(missing), what="the error")
    (error,) = fake.callbacks_for(missing)
    assert error["type"] == 4 and error["data"]["flags"] & EPHEMERAL and "no paper" in error["data"]["content"]


async def test_more_like_this_answers_with_papers(fake: FakeDiscord, adapter: DiscordAdapter, service: FakeService) -> None:
    digest = render_reply(Reply(header="Digest", groups=(ItemGroup("", (make_item(1),)),), offers_feedback=True, private=False))[0]
    public = fake.message_payload(CHANNEL_ID, digest)
    similar = await fake.interact(fake.button("paperbot:act:similar:2511.10001", public))
    (answer,) = await answers(fake, similar, 1)
    assert fake.callbacks_for(similar) == [{"type": 5, "data": {"flags": EPHEMERAL}}]
    assert answer["flags"] & EPHEMERAL and len(answer["embeds"]) == 3
    assert service.actions[-1][:2] == ("similar", "2511.10001")
    assert_discord_limits(answer)
