"""The pure parts of adapters/slack/listeners.py: reading who and where from the two payload
shapes Slack sends (slash-command form fields, block_actions JSON), what conversations.info's
answer means for where a command was typed, the in-flight tracking that lets stop() wait for
answers in progress, and AcksFirst (work waits for the acks of requests still arriving)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from slack_sdk.errors import SlackApiError

from adapters.slack.listeners import (
    CONVERSATION_CACHE_SECONDS,
    AcksFirst,
    Caller,
    Conversation,
    ConversationCheck,
    InFlight,
    caller_of,
    may_be_direct_message,
    place_of,
)
from tests.support.slack_api import TEAM_ID, block_action, slash_command


def test_a_slash_command_names_its_caller_in_flat_fields() -> None:
    body = slash_command("quantum", response_url="http://127.0.0.1/r", user_id="UADA", channel_id="DADA")
    assert caller_of(dict(body)) == Caller(user_id="UADA", name="uada", channel_id="DADA", team_id=TEAM_ID)


def test_a_button_names_its_caller_in_nested_objects() -> None:
    body = block_action("paperbot_share", "{}", response_url="http://127.0.0.1/r", user_id="UBOB", channel_id="CLAB")
    assert caller_of(body) == Caller(user_id="UBOB", name="ubob", channel_id="CLAB", team_id=TEAM_ID)
    # Without a channel object the container names it; without a team object, the user's team.
    del body["channel"], body["team"]
    assert caller_of(body) == Caller(user_id="UBOB", name="ubob", channel_id="CLAB", team_id=TEAM_ID)


def test_place_falls_back_to_the_bots_own_team_and_knows_dms() -> None:
    channel = place_of(Caller("U1", "u1", "CGENERAL", ""), "TBOT")
    assert (channel.platform, channel.channel_id, channel.workspace_id, channel.is_dm) == ("slack", "CGENERAL", "TBOT", False)
    dm = place_of(Caller("U1", "u1", "DU1", "TOTHER"), "TBOT")
    assert (dm.workspace_id, dm.is_dm) == ("TOTHER", True)


def test_what_conversations_info_found_decides_whose_dm_it_is_and_whether_paperbot_can_post() -> None:
    assert may_be_direct_message("DUADA") and may_be_direct_message("GMPIM") and not may_be_direct_message("CGENERAL")
    assert may_be_direct_message("C0NEWMPIM", "mpdm-ada--bob-1") and may_be_direct_message("C0NEWIM", "directmessage")
    own = Conversation(visible=True, is_im=True, im_user="UADA")
    assert own.is_dm_of("UADA") and own.can_post("UADA")
    assert not own.is_dm_of("UBOB") and not own.can_post("UBOB")
    unseen = Conversation(visible=False)  # channel_not_found: a DM between other people
    assert not unseen.is_dm_of("UADA") and not unseen.can_post("UADA")
    assert Conversation(visible=True, is_mpim=True, is_member=True).can_post("UADA")
    assert not Conversation(visible=True, is_mpim=True, is_member=False).can_post("UADA")
    # What was found replaces the prefix's guess.
    caller = Caller("UBOB", "ubob", "DUADA", "T1")
    assert place_of(caller, "TBOT").is_dm and not place_of(caller, "TBOT", is_dm=False).is_dm


async def test_in_flight_waits_for_a_tracked_task_and_nesting_keeps_it_tracked() -> None:
    inflight = InFlight()
    release = asyncio.Event()
    inner_done = asyncio.Event()

    async def answer() -> None:
        with inflight.track():
            with inflight.track():  # e.g. the error handler inside a listener
                pass
            inner_done.set()
            await release.wait()

    task = asyncio.create_task(answer())
    await inner_done.wait()
    waiting = asyncio.create_task(inflight.wait(timeout=60))
    await asyncio.sleep(0)
    assert not waiting.done()  # the inner block's end did not untrack the task
    release.set()
    await waiting
    assert task.done()


class FakeConversationsClient:
    """Answers conversations.info from a script of answers (dicts) or Slack errors (strings)."""

    def __init__(self, *answers: dict[str, object] | str) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    async def conversations_info(self, *, channel: str) -> dict[str, object]:
        self.asked.append(channel)
        answer = self.answers.pop(0)
        if isinstance(answer, str):
            raise SlackApiError(answer, {"ok": False, "error": answer})
        return answer


async def test_conversations_are_remembered_for_an_hour_and_a_missing_scope_is_not_asked_again() -> None:
    now = [0.0]
    client = FakeConversationsClient({"ok": True, "channel": {"id": "DUADA", "is_im": True, "user": "UADA"}}, "channel_not_found")
    check = ConversationCheck(cast(Any, client), monotonic=lambda: now[0])
    first = await check.conversation("DUADA", team_id="T1")
    assert first is not None and first.is_dm_of("UADA")
    now[0] = CONVERSATION_CACHE_SECONDS - 1
    assert await check.conversation("DUADA", team_id="T1") == first and client.asked == ["DUADA"]
    now[0] = CONVERSATION_CACHE_SECONDS + 1  # expired: asked again (now Slack says it is not seen)
    again = await check.conversation("DUADA", team_id="T1")
    assert again == Conversation(visible=False) and client.asked == ["DUADA", "DUADA"]
    scopeless = ConversationCheck(cast(Any, FakeConversationsClient("missing_scope")), monotonic=lambda: now[0])
    assert await scopeless.conversation("DX") is None
    assert await scopeless.conversation("DX") is None  # remembered: no second call (the script is empty)


# --- acks first ----------------------------------------------------------------------------------


async def test_work_waits_for_the_acks_of_requests_still_arriving() -> None:
    """AcksFirst: acked requests' work waits while another request is being handled up to its
    ack, or is queued, and goes on once none is left."""
    queued = [1]
    gate = AcksFirst(patience=60.0, queued=lambda: queued[0])
    with gate.receiving():
        waiting = asyncio.ensure_future(gate.wait())
        await asyncio.sleep(0.06)  # a few of the gate's rounds
        assert not waiting.done() and gate.waiting()
    queued[0] = 0  # the queued request is taken up and acked too
    await asyncio.wait_for(waiting, 30)
    assert not gate.waiting()


async def test_a_steady_stream_of_requests_does_not_starve_the_work() -> None:
    gate = AcksFirst(patience=0.01, queued=lambda: 1)  # always one more to ack
    await asyncio.wait_for(gate.wait(), 30)  # returns after its patience
    assert gate.waiting()
