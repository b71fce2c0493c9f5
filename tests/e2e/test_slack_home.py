"""The App Home tab, the digest settings modal and the message shortcuts, against the fake
Slack with the REAL core behind the adapter (Socket Mode, as tests/e2e/test_slack_runtime.py):
what is published, every button, the modal's validation errors and save, and the shortcuts.
Every view is validated with slack_sdk's Block Kit models and Slack's limits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.slack.render import SETTINGS_ACTION
from adapters.slack.shortcuts import SHORTCUTS
from adapters.slack.views import (
    HOME_DETAILS_ACTION,
    HOME_EDIT_ACTION,
    HOME_PERSONAL_ACTION,
    HOME_RUN_ACTION,
    PERSONAL_MODAL,
    TIME_ZONE_ACTION,
)
from tests.e2e.test_slack_adapter import SECRET
from tests.e2e.test_slack_runtime import Bot, running_bot
from tests.support.slack_api import (
    assert_slack_limits,
    assert_view_limits,
    block_action,
    block_suggestion,
    buttons,
    event_callback,
    form_body,
    home_action,
    message_action,
    sign,
    slash_command,
    view_submission,
    view_text,
    visible_text,
)

GOOD_VALUES: dict[str, dict[str, Any]] = {
    "time": {"value": {"type": "timepicker", "selected_time": "07:45"}},
    "timezone": {TIME_ZONE_ACTION: {"type": "external_select", "selected_option": {"value": "America/New_York"}}},
    "days": {"value": {"type": "checkboxes", "selected_options": [{"value": "1"}, {"value": "3"}]}},
    "topics": {"value": {"type": "multi_static_select", "selected_options": [{"value": "cv"}, {"value": "rl"}]}},
    "max_items": {"value": {"type": "number_input", "value": "7"}},
    "sources": {"value": {"type": "checkboxes", "selected_options": [{"value": "arxiv"}]}},
    "catch_up": {"value": {"type": "radio_buttons", "selected_option": {"value": "skip"}}},
}


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    async with running_bot(tmp_path) as started:
        yield started


async def interact(bot: Bot, payload: dict[str, Any]) -> dict[str, Any]:
    """An interaction over Socket Mode; returns what the app acked with."""
    return await bot.fake.wait_for_ack(await bot.fake.send_envelope("interactive", payload))


async def open_home(bot: Bot, user_id: str = "UADA") -> dict[str, Any]:
    """The person opens the Home tab; returns the view published for them."""
    before = len(bot.fake.calls_to("views.publish"))
    event = event_callback({"type": "app_home_opened", "user": user_id, "channel": f"D{user_id}", "tab": "home"})
    await bot.fake.wait_for_ack(await bot.fake.send_envelope("events_api", event))
    return await published(bot, before)


async def published(bot: Bot, before: int) -> dict[str, Any]:
    """The view of the first views.publish after `before` of them (validated)."""
    calls = await bot.fake.wait_for(lambda: bot.fake.calls_to("views.publish")[before:])
    view = calls[0].body["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert_view_limits(view)
    return dict(view)


async def opened(bot: Bot, before: int = 0) -> dict[str, Any]:
    """The view of the first views.open after `before` of them (validated)."""
    calls = await bot.fake.wait_for(lambda: bot.fake.calls_to("views.open")[before:])
    assert calls[0].body["trigger_id"].startswith("trigger-") or calls[0].body["trigger_id"] == "1.2.3"
    view = calls[0].body["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert_view_limits(view)
    return dict(view)


def button(view: dict[str, Any], label: str, near: str = "") -> dict[str, Any]:
    """The button with this label (in the block whose text holds `near`, when given)."""
    for index, raw in enumerate(view["blocks"]):
        text = json.dumps(raw) + (json.dumps(view["blocks"][index - 1]) if index else "")
        for element in raw.get("elements", []) + [raw.get("accessory") or {}]:
            if element.get("type") == "button" and element["text"]["text"] == label and near in text:
                return dict(element)
    raise AssertionError(f"no {label!r} button near {near!r}")


async def change(bot: Bot, text: str, *, name: str, user_id: str = "UADA", channel_id: str = "CGENERAL") -> dict[str, Any]:
    """A command that changes the person's Home; waits for the Home refresh it causes."""
    before = len(bot.fake.calls_to("views.publish"))
    answer = await bot.command(text, name=name, user_id=user_id, channel_id=channel_id)
    await published(bot, before)
    return answer


async def set_up(bot: Bot) -> None:
    await change(bot, "subscribe diffusion", name="s1")
    await change(bot, "subscribe topic:rl", name="s2")
    await change(bot, "quiet 22:00-07:00 tz:Europe/Berlin", name="q")
    await change(bot, "digest on 09:00 tz:Europe/Berlin topics:llm", name="d")


# --- the Home tab ---------------------------------------------------------------------------------


async def test_the_home_tab_shows_the_persons_settings_and_three_new_papers(bot: Bot) -> None:
    await set_up(bot)
    view = await open_home(bot)
    call = bot.fake.calls_to("views.publish")[-1]
    assert call.body["user_id"] == "UADA" and call.headers["Authorization"] == "Bearer xoxb-test-token"
    assert view["type"] == "home"
    text = view_text(view)
    for expected in ("New for you", "Your subscriptions", "1. “diffusion”", "2. topics: Reinforcement Learning",
                     "Quiet hours", "22:00–07:00 (Europe/Berlin)", "Digests you set up", "<#CGENERAL>",
                     "on · 09:00 Europe/Berlin · Mon–Fri"):
        assert expected in text, expected
    details = [b for b in buttons(view) if b["action_id"].startswith(HOME_DETAILS_ACTION)]
    assert len(details) == 3 and len({b["value"] for b in details}) == 3
    assert text.count("matches your subscription #") == 3
    labels = [b["text"]["text"] for b in buttons(view) if not b["action_id"].startswith(HOME_DETAILS_ACTION)]
    assert labels == ["Unsubscribe", "Unsubscribe", "Turn off", "Settings", "Turn off"]
    danger = [b for b in buttons(view) if b.get("style") == "danger"]
    assert len(danger) == 4 and all("confirm" in b for b in danger)


async def test_someone_new_sees_what_to_type_and_nobody_elses_settings(bot: Bot) -> None:
    await set_up(bot)
    view = await open_home(bot, "UBOB")
    text = view_text(view)
    assert "“diffusion”" not in text and "<#CGENERAL>" not in text and "22:00–07:00" not in text
    assert "/papers subscribe" in text and "/papers digest on" in text


async def test_a_command_that_changes_something_refreshes_the_home(bot: Bot) -> None:
    before = len(bot.fake.calls_to("views.publish"))
    await bot.command("subscribe gaussian splatting", name="s")
    view = await published(bot, before)
    assert "gaussian splatting" in view_text(view)
    before = len(bot.fake.calls_to("views.publish"))
    await bot.command("diffusion", name="search")  # a search changes nothing: no publish
    await bot.command("unsubscribe 1", name="u")
    view = await published(bot, before)
    assert "gaussian" not in view_text(view)
    assert len(bot.fake.calls_to("views.publish")) == before + 1


async def test_home_buttons_change_things_and_the_home_says_what_happened(bot: Bot) -> None:
    await set_up(bot)
    home = await open_home(bot)
    store = bot.runtime.store
    for label, near, check in (
        ("Unsubscribe", "diffusion", lambda: [s.query for s in store.subscriptions.list_for_user("slack", "UADA")] == [""]),
        ("Turn off", "22:00", lambda: store.users.get("slack", "UADA").quiet_start is None),
        ("Turn off", "CGENERAL", lambda: not store.channels.get("slack:CGENERAL").enabled),  # type: ignore[union-attr]
    ):
        clicked = button(home, label, near)
        before = len(bot.fake.calls_to("views.publish"))
        ack = await interact(bot, home_action(clicked["action_id"], clicked["value"]))
        assert ack == {"envelope_id": ack["envelope_id"]}
        home = await published(bot, before)
        assert check(), label
        assert view_text(home).startswith(":information_source: ")
    assert "Daily digest is off for this channel" in view_text(home)
    assert "off · 09:00 Europe/Berlin" in view_text(home)
    # Turn it on again from the Home.
    before = len(bot.fake.calls_to("views.publish"))
    turn_on = button(home, "Turn on", "CGENERAL")
    await interact(bot, home_action(turn_on["action_id"], turn_on["value"]))
    await published(bot, before)
    assert store.channels.get("slack:CGENERAL").enabled  # type: ignore[union-attr]


async def test_a_broken_or_channelless_home_button_changes_nothing(bot: Bot) -> None:
    await set_up(bot)
    before = len(bot.fake.calls_to("views.publish"))
    await interact(bot, home_action(f"{HOME_RUN_ACTION}_9", json.dumps({"c": "digest off", "ch": ""})))
    view = await published(bot, before)
    assert "That button no longer works." in view_text(view)
    assert bot.runtime.store.channels.get("slack:CGENERAL").enabled  # type: ignore[union-attr]


async def test_a_forged_home_button_runs_no_command_the_home_does_not_issue(bot: Bot) -> None:
    # A Home button's value names a command; a forged one naming any other command (here: post
    # a digest to the channel now) is refused like a broken button, and nothing is sent.
    await set_up(bot)
    sent_before = len(bot.fake.calls_to("chat.postMessage"))
    before = len(bot.fake.calls_to("views.publish"))
    await interact(bot, home_action(f"{HOME_RUN_ACTION}_9", json.dumps({"c": "digest now", "ch": "CGENERAL"})))
    view = await published(bot, before)
    assert "That button no longer works." in view_text(view)
    assert len(bot.fake.calls_to("chat.postMessage")) == sent_before


async def test_a_home_papers_details_open_in_a_modal(bot: Bot) -> None:
    await set_up(bot)
    home = await open_home(bot)
    details = next(b for b in buttons(home) if b["action_id"].startswith(HOME_DETAILS_ACTION))
    await interact(bot, home_action(details["action_id"], details["value"]))
    modal = await opened(bot)
    assert modal["type"] == "modal" and details["value"] in view_text(modal)
    assert any(label in view_text(modal) for label in ("*Summary*", "*Abstract*"))


async def test_with_admin_only_the_home_shows_the_refusal(tmp_path: Path) -> None:
    async with running_bot(tmp_path, slack_admin_only=True) as bot:
        fake = bot.fake
        fake.admins.add("UBOSS")
        await change(bot, "digest on 09:00", name="on", user_id="UBOSS")
        # UBOSS loses admin rights; the Home still lists the digest they set up.
        fake.admins.clear()
        bot.adapter.admins._answers.clear()  # forget the cached answer, as ADMIN_CACHE_SECONDS would
        home = await open_home(bot, "UBOSS")
        off = button(home, "Turn off", "CGENERAL")
        before = len(fake.calls_to("views.publish"))
        await interact(bot, home_action(off["action_id"], off["value"], user_id="UBOSS"))
        view = await published(bot, before)
        assert "⚠ only members who can manage this channel can change its digest" in view_text(view)
        assert bot.runtime.store.channels.get("slack:CGENERAL").enabled  # type: ignore[union-attr]


async def test_saved_papers_on_the_home_open_in_a_modal_and_unsave_from_there(bot: Bot) -> None:
    papers = bot.runtime.store.papers.changed(since=bot.runtime.clock().replace(year=2000), limit=2)
    await bot.command(f"like {papers[0].id}", name="like")
    for paper in papers:
        await change(bot, f"save {paper.id}", name=f"save-{paper.id}")  # a save refreshes the Home
    home = await open_home(bot)
    assert "Saved papers" in view_text(home)
    details = button(home, "Details", papers[0].id)
    assert details["action_id"].startswith(HOME_DETAILS_ACTION) and details["value"] == papers[0].id
    await interact(bot, home_action(details["action_id"], details["value"]))
    modal = await opened(bot)
    assert papers[0].id in view_text(modal) and any(label in view_text(modal) for label in ("*Summary*", "*Abstract*"))

    unsave = button(home, "Unsave", papers[0].id)
    assert unsave["style"] == "danger" and "confirm" in unsave
    before = len(bot.fake.calls_to("views.publish"))
    await interact(bot, home_action(unsave["action_id"], unsave["value"]))
    after = await published(bot, before)
    assert view_text(after).startswith(":information_source: Removed")
    store = bot.runtime.store
    assert store.feedback.saved("slack", "UADA") == [papers[1].id]
    assert store.feedback.choice("slack", "UADA", papers[0].id) is not None  # the like stays
    saved_part = json.dumps(after["blocks"][next(i for i, b in enumerate(after["blocks"]) if "Saved papers" in json.dumps(b)):])
    assert f"unsave {papers[0].id}" not in saved_part and f"unsave {papers[1].id}" in saved_part


async def test_the_personal_digest_is_changed_in_its_own_modal_from_the_home(bot: Bot) -> None:
    await change(bot, "digest me on 07:30 tz:Europe/Berlin max:4", name="me", channel_id="DUADA")
    home = await open_home(bot)
    assert "on · 07:30 Europe/Berlin · up to 4 papers" in view_text(home)
    edit = button(home, "Change", "07:30")
    assert edit["action_id"].startswith(HOME_PERSONAL_ACTION)
    await interact(bot, home_action(edit["action_id"], edit["value"]))
    modal = await opened(bot)
    assert modal["callback_id"] == PERSONAL_MODAL
    fields = {b["block_id"]: b["element"] for b in modal["blocks"] if b["type"] == "input"}
    assert fields["time"]["initial_time"] == "07:30" and fields["timezone"]["initial_option"]["value"] == "Europe/Berlin"
    assert fields["max_items"]["initial_value"] == "4"

    bad = {"time": {"value": {"type": "timepicker", "selected_time": "06:00"}},
           "timezone": {TIME_ZONE_ACTION: {"type": "external_select", "selected_option": {"value": "Europe/Berlin"}}},
           "max_items": {"value": {"type": "number_input", "value": "99"}},
           "threshold": {"value": {"type": "number_input", "value": "2"}}}
    ack = await interact(bot, view_submission(modal, bad))
    assert ack["payload"]["response_action"] == "errors" and set(ack["payload"]["errors"]) == {"max_items", "threshold"}
    digest = bot.runtime.store.feedback.personal_digest("slack", "UADA")
    assert digest is not None and digest.max_items == 4

    good = {**bad, "max_items": {"value": {"type": "number_input", "value": "6"}}, "threshold": {"value": {"type": "number_input", "value": "0.4"}}}
    before = len(bot.fake.calls_to("views.publish"))
    ack = await interact(bot, view_submission(modal, good))
    assert ack == {"envelope_id": ack["envelope_id"]}  # closes the modal
    home = await published(bot, before)
    assert view_text(home).startswith(":information_source: Your personal digest is on")
    assert "on · 06:00 Europe/Berlin · up to 6 papers" in view_text(home)
    digest = bot.runtime.store.feedback.personal_digest("slack", "UADA")
    assert digest is not None and (digest.time_of_day.strftime("%H:%M"), digest.max_items, digest.threshold) == ("06:00", 6, 0.4)

    off = button(home, "Turn off", "06:00")
    before = len(bot.fake.calls_to("views.publish"))
    await interact(bot, home_action(off["action_id"], off["value"]))
    home = await published(bot, before)
    assert "off · 06:00 Europe/Berlin" in view_text(home)
    assert not bot.runtime.store.feedback.personal_digest("slack", "UADA").enabled  # type: ignore[union-attr]


# --- the digest settings modal ------------------------------------------------------------------------


async def test_digest_edit_opens_the_settings_modal_filled_in(bot: Bot) -> None:
    await change(bot, "digest on 09:30 tz:Europe/Berlin topics:llm,cv days:mon,wed max:12 sources:hf catchup:skip", name="on")
    command = slash_command("digest edit", response_url=bot.fake.response_url("edit"))
    await bot.fake.wait_for_ack(await bot.fake.send_envelope("slash_commands", command))
    modal = await opened(bot)
    assert modal["callback_id"] == "paperbot_digest_settings" and json.loads(modal["private_metadata"]) == {"ch": "CGENERAL"}
    fields = {b["block_id"]: b["element"] for b in modal["blocks"] if b["type"] == "input"}
    assert list(fields) == ["time", "timezone", "days", "topics", "max_items", "sources", "catch_up"]
    assert fields["time"]["initial_time"] == "09:30"
    assert fields["timezone"]["type"] == "external_select" and fields["timezone"]["initial_option"]["value"] == "Europe/Berlin"
    assert [o["value"] for o in fields["days"]["initial_options"]] == ["0", "2"]
    assert [o["value"] for o in fields["topics"]["initial_options"]] == ["llm", "cv"]
    assert len(fields["topics"]["options"]) == 30
    assert fields["max_items"]["initial_value"] == "12" and fields["max_items"]["max_value"] == "50"
    assert [o["value"] for o in fields["sources"]["initial_options"]] == ["hf"]
    assert fields["catch_up"]["initial_option"]["value"] == "skip"
    assert bot.fake.responses_to("edit") == []  # the modal is the answer


async def test_time_zones_are_offered_as_one_types(bot: Bot) -> None:
    ack = await interact(bot, block_suggestion(TIME_ZONE_ACTION, "berl"))
    options = ack["payload"]["options"]
    assert options[0]["value"] == "Europe/Berlin" and options[0]["text"]["text"] == "Europe/Berlin"
    everything = (await interact(bot, block_suggestion(TIME_ZONE_ACTION, "")))["payload"]["options"]
    assert len(everything) == 100 and everything[0]["value"] == "UTC"


async def test_bad_fields_are_shown_beside_themselves_and_nothing_is_saved(bot: Bot) -> None:
    await change(bot, "digest on 09:00", name="on")
    modal = await open_settings_from_digest(bot)
    bad = dict(GOOD_VALUES)
    bad["days"] = {"value": {"type": "checkboxes", "selected_options": []}}
    bad["max_items"] = {"value": {"type": "number_input", "value": "80"}}
    bad["timezone"] = {TIME_ZONE_ACTION: {"type": "external_select", "selected_option": None}}
    ack = await interact(bot, view_submission(modal, bad))
    assert ack["payload"]["response_action"] == "errors"
    assert ack["payload"]["errors"] == {
        "timezone": "choose a time zone",
        "days": "choose at least one day, e.g. Monday to Friday",
        "max_items": "80 is out of range; give a number from 1 to 50",
    }
    saved = bot.runtime.store.channels.get("slack:CGENERAL")
    assert saved is not None and saved.timezone == "UTC" and saved.max_items == 10
    assert not bot.fake.calls_to("chat.postEphemeral")


async def test_saving_the_modal_applies_the_settings_tells_the_person_and_refreshes_the_home(bot: Bot) -> None:
    await change(bot, "digest on 09:00", name="on")
    modal = await open_settings_from_digest(bot)
    before = len(bot.fake.calls_to("views.publish"))
    ack = await interact(bot, view_submission(modal, GOOD_VALUES))
    assert ack == {"envelope_id": ack["envelope_id"]}  # closes the modal
    told = await bot.fake.wait_for(lambda: bot.fake.calls_to("chat.postEphemeral"))
    assert told[0].body["channel"] == "CGENERAL" and told[0].body["user"] == "UADA"
    assert "Daily digest is on" in visible_text(told[0].body)
    saved = bot.runtime.store.channels.get("slack:CGENERAL")
    assert saved is not None
    assert (saved.time_of_day.strftime("%H:%M"), saved.timezone, saved.days, saved.topics, saved.max_items) == (
        "07:45", "America/New_York", (1, 3), ("cv", "rl"), 7
    )
    assert [s.value for s in saved.sources] == ["arxiv"] and saved.catch_up.value == "skip"
    home = await published(bot, before)
    assert "07:45 America/New York · Tue, Thu" in view_text(home)


async def test_the_modal_is_refused_to_whoever_may_not_change_the_digest(tmp_path: Path) -> None:
    async with running_bot(tmp_path, slack_admin_only=True) as bot:
        fake = bot.fake
        fake.admins.add("UBOSS")
        await change(bot, "digest on 09:00", name="on", user_id="UBOSS")
        await interact(bot, block_action(SETTINGS_ACTION, "digest", response_url=fake.response_url("s"), user_id="UNEW"))
        refusal = await opened(bot)
        assert "callback_id" not in refusal and "only members who can manage this channel" in view_text(refusal)
        # A submission anyway (e.g. the person lost admin rights with the modal open):
        # the core's permission check refuses it, as it refuses the command.
        bossy = await open_settings_from_digest(bot, user_id="UBOSS", before=1)
        ack = await interact(bot, view_submission(bossy, GOOD_VALUES, user_id="UNEW"))
        assert ack == {"envelope_id": ack["envelope_id"]}
        told = await fake.wait_for(lambda: fake.calls_to("chat.postEphemeral"))
        assert told[0].body["user"] == "UNEW" and "only members who can manage" in visible_text(told[0].body)
        assert bot.runtime.store.channels.get("slack:CGENERAL").timezone == "UTC"  # type: ignore[union-attr]


async def open_settings_from_digest(bot: Bot, *, user_id: str = "UADA", before: int = 0) -> dict[str, Any]:
    """Post a digest now, click its Settings button, return the modal."""
    first = len(bot.fake.posted())
    await bot.command("digest now", name=f"now-{user_id}-{before}", user_id=user_id)
    await bot.fake.wait_for(lambda: bot.fake.posted()[first:])
    await bot.runtime.service.digests.wait_idle()  # type: ignore[attr-defined]
    digest = bot.fake.posted()[first:]
    for part in digest:
        assert_slack_limits(part)
    settings = [b for part in digest for b in buttons(part) if b["action_id"] == SETTINGS_ACTION]
    assert len(settings) == 1 and settings[0] in buttons(digest[-1])  # once, at the end
    await interact(bot, block_action(SETTINGS_ACTION, settings[0]["value"], response_url=bot.fake.response_url("s"), user_id=user_id))
    modal = await opened(bot, before)
    assert modal["callback_id"] == "paperbot_digest_settings"
    return modal


async def test_home_settings_open_the_modal_of_that_channel(bot: Bot) -> None:
    await change(bot, "digest on 06:00", name="lab", channel_id="CLAB")
    home = await open_home(bot)
    settings = button(home, "Settings", "CLAB")
    assert settings["action_id"].startswith(HOME_EDIT_ACTION)
    await interact(bot, home_action(settings["action_id"], settings["value"]))
    modal = await opened(bot)
    assert json.loads(modal["private_metadata"]) == {"ch": "CLAB"}
    assert next(b for b in modal["blocks"] if b.get("block_id") == "time")["element"]["initial_time"] == "06:00"


# --- message shortcuts ---------------------------------------------------------------------------------


async def test_a_shortcut_on_a_message_linking_a_paper_answers_with_that_paper(bot: Bot) -> None:
    paper = bot.runtime.store.papers.changed(since=bot.runtime.clock().replace(year=2000), limit=1)[0]
    assert [s.callback_id for s in SHORTCUTS] == ["paperbot_paper", "paperbot_save", "paperbot_similar"]
    message = {"text": f"have you read <https://arxiv.org/abs/{paper.id}v2|this>?"}
    payload = message_action("paperbot_paper", message, response_url=bot.fake.response_url("sc"))
    await interact(bot, payload)
    answer = await bot.fake.response("sc")
    assert answer["response_type"] == "ephemeral" and paper.id in visible_text(answer)
    assert_slack_limits(answer)
    # The link may be only in the blocks (a message paperbot posted, say).
    blocks = {"text": "see below", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"<https://arxiv.org/pdf/{paper.id}|PDF>"}}]}
    await interact(bot, message_action("paperbot_paper", blocks, response_url=bot.fake.response_url("sc2")))
    assert paper.id in visible_text(await bot.fake.response("sc2"))


async def test_a_shortcut_on_a_message_without_a_paper_says_so(bot: Bot) -> None:
    await interact(bot, message_action("paperbot_paper", {"text": "lunch?"}, response_url=bot.fake.response_url("none")))
    answer = await bot.fake.response("none")
    assert answer["response_type"] == "ephemeral" and "links no arXiv paper" in visible_text(answer)


HTTP_MODE = {"slack_app_token": ""}  # no Socket Mode: interactions arrive as signed POSTs (post_signed)


async def post_signed(bot: Bot, payload: dict[str, Any], *, secret: str = SECRET) -> int:
    """An interaction as Slack posts it over HTTP, signed (with the app's signing secret unless
    told otherwise); the HTTP status of the answer, whose body must be empty when accepted."""
    body = form_body(payload)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(secret, body)}
    url = f"http://127.0.0.1:{bot.adapter.http_port}/slack/events"
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as answer:
        assert answer.status != 200 or await answer.text() == ""
        return answer.status


async def test_save_paper_on_a_linked_message_saves_it_privately_and_refreshes_the_home(tmp_path: Path) -> None:
    async with running_bot(tmp_path, **HTTP_MODE) as bot:
        fake = bot.fake
        paper = bot.runtime.store.papers.changed(since=bot.runtime.clock().replace(year=2000), limit=1)[0]
        message = {"text": f"worth a read: <https://arxiv.org/abs/{paper.id}v1|arXiv:{paper.id}>"}
        before = len(fake.calls_to("views.publish"))
        assert await post_signed(bot, message_action("paperbot_save", message, response_url=fake.response_url("save"))) == 200
        answer = await fake.response("save")
        assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
        assert_slack_limits(answer)
        assert "Saved" in visible_text(answer) and paper.id in visible_text(answer)
        assert bot.runtime.store.feedback.saved("slack", "UADA") == [paper.id]
        home = await published(bot, before)
        saved = next(i for i, b in enumerate(home["blocks"]) if "Saved papers" in json.dumps(b))
        assert paper.id in json.dumps(home["blocks"][saved:])
        # Saving it again says so and keeps one save.
        assert await post_signed(bot, message_action("paperbot_save", message, response_url=fake.response_url("again"))) == 200
        assert "already in your saved papers" in visible_text(await fake.response("again"))
        assert bot.runtime.store.feedback.saved("slack", "UADA") == [paper.id]
        assert not fake.posted()  # nothing went to the channel


async def test_more_like_this_on_a_linked_message_answers_privately_with_similar_papers(tmp_path: Path) -> None:
    async with running_bot(tmp_path, **HTTP_MODE) as bot:
        fake = bot.fake
        paper = bot.runtime.store.papers.changed(since=bot.runtime.clock().replace(year=2000), limit=1)[0]
        message = {"text": "see below", "attachments": [{"title_link": f"https://huggingface.co/papers/{paper.id}"}]}
        assert await post_signed(bot, message_action("paperbot_similar", message, response_url=fake.response_url("sim"))) == 200
        answer = await fake.response("sim")
        assert answer["response_type"] == "ephemeral"
        assert_slack_limits(answer)
        text = visible_text(answer)
        assert "papers like" in text and "similar to" in text
        listed = {b["accessory"]["value"] for b in answer["blocks"] if "accessory" in b}
        assert listed and paper.id not in listed
        # The list is the person's last one, so `/papers save 1` names its first paper.
        shown = bot.runtime.store.feedback.last_shown("slack", "UADA")
        assert shown is not None and shown.context == "similar" and set(shown.paper_ids) == listed
        assert not fake.posted() and bot.runtime.store.feedback.saved("slack", "UADA") == []


async def test_shortcuts_with_a_bad_signature_reach_nothing(tmp_path: Path) -> None:
    async with running_bot(tmp_path, **HTTP_MODE) as bot:
        fake = bot.fake
        paper = bot.runtime.store.papers.changed(since=bot.runtime.clock().replace(year=2000), limit=1)[0]
        payload = message_action("paperbot_save", {"text": f"arXiv:{paper.id}"}, response_url=fake.response_url("bad"))
        assert await post_signed(bot, payload, secret="not-the-secret") == 401
        assert bot.runtime.store.feedback.saved("slack", "UADA") == [] and fake.responses_to("bad") == []
