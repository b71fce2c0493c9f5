"""The pure parts of adapters/slack/listeners.py: reading who and where from the two payload
shapes Slack sends (slash-command form fields, block_actions JSON) and the in-flight tracking
that lets stop() wait for answers in progress, and AcksFirst (work waits for the acks of requests
still arriving)."""

from __future__ import annotations

import asyncio

from adapters.slack.listeners import AcksFirst, Caller, InFlight, caller_of, place_of
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
