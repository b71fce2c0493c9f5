"""The Slack views (adapters/slack/views.py) and the digest's Settings button (render.py):
the fullest possible Home stays within 100 blocks and Block Kit's models, hostile text in it is
inert, the modal validates for a new digest too, and submitted values read back as the core
expects. Checked by the fake's `assert_view_limits` / `assert_slack_limits`, written apart."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time

from adapters.slack.render import SETTINGS_ACTION, render_reply
from adapters.slack.views import (
    HOME_EDIT_ACTION,
    HOME_RUN_ACTION,
    TIME_ZONE_ACTION,
    channel_ref,
    digest_modal,
    digest_values,
    field_errors,
    home_view,
    modal_channel,
)
from bot.core.errors import FormErrors
from bot.core.forms import Choice, DigestForm
from bot.core.home import Home, HomeAction, HomeActionKind, HomeEntry, HomeSection
from bot.core.models import ChannelSettings, ItemGroup, PaperItem, Reply, Summary
from tests.support.factories import make_paper
from tests.support.slack_api import (
    assert_slack_limits,
    assert_view_limits,
    buttons,
    slack_mention_is_inert,
    view_text,
)

HOSTILE = "<!channel> @here *bold* <https://x|y> & _it_ <@U123>"
T = datetime(2026, 3, 2, 12, tzinfo=UTC)


def fullest_home() -> Home:
    papers = tuple(
        PaperItem(make_paper(n, title=HOSTILE, url="https://arxiv.org/abs/2603.00001"), Summary(tldr=HOSTILE, key_points=(HOSTILE,) * 4), why=HOSTILE)
        for n in range(3)
    )
    subs = tuple(HomeEntry(f"{n}. {HOSTILE}", detail=HOSTILE, actions=(HomeAction("Unsubscribe", command=f"unsubscribe {n}", danger=True),)) for n in range(1, 26))
    quiet = (HomeEntry("22:00–07:00", actions=(HomeAction("Turn off", command="quiet off", danger=True),)),)
    digests = tuple(
        HomeEntry("on", channel_id=f"T1:C{n:04d}", actions=(
            HomeAction("Settings", kind=HomeActionKind.EDIT_DIGEST, channel_id=f"T1:C{n:04d}"),
            HomeAction("Turn off", command="digest off", channel_id=f"T1:C{n:04d}", danger=True),
        ))
        for n in range(20)
    )
    return Home("paperbot", (
        HomeSection("papers", "New for you", items=papers),
        HomeSection("subscriptions", "Your subscriptions", entries=subs, note="note"),
        HomeSection("quiet", "Quiet hours", entries=quiet),
        HomeSection("digests", "Digests you set up", entries=digests, note="…and 3 more channels."),
    ))


def test_the_fullest_home_fits_and_is_inert() -> None:
    view = home_view(fullest_home(), notice=HOSTILE)
    assert_view_limits(view)
    assert len(view["blocks"]) <= 100
    assert slack_mention_is_inert(view_text(view).replace("<#C", "#C"))  # channel references are wanted
    assert "<@U123>" not in json.dumps(view) and "<!channel>" not in json.dumps(view)
    values = [json.loads(b["value"]) for b in buttons(view) if b["action_id"].startswith((HOME_RUN_ACTION, HOME_EDIT_ACTION))]
    assert {"c": "digest off", "ch": "C0000"} in values and {"ch": "C0019"} in values  # never a workspace
    assert "<#C0007>" in view_text(view)


def test_a_home_too_big_for_one_view_is_cut_with_a_note() -> None:
    huge = Home("paperbot", tuple(
        HomeSection(f"s{n}", f"Section {n}", entries=tuple(HomeEntry(f"e{m}", actions=(HomeAction("A", command="quiet off"), HomeAction("B", command="quiet off"))) for m in range(20)))
        for n in range(5)
    ))
    view = home_view(huge)
    assert_view_limits(view)
    assert "more than a Home tab can show" in view_text(view)


def test_channel_references_only_for_channel_ids() -> None:
    assert channel_ref("T1:C123ABC") == "<#C123ABC>" and channel_ref("C9") == "C9"
    assert channel_ref("<!channel>") == "&lt;!channel&gt;"


def form(**changes: object) -> DigestForm:
    settings = ChannelSettings("slack", "T1:C1", time_of_day=time(6, 5), timezone="Asia/Tokyo", days=(5, 6), topics=(), sources=())
    values: dict[str, object] = dict(
        settings=settings, is_new=True, can_change=True, topics=tuple(Choice(f"Topic {n}", f"t{n}") for n in range(30)),
        sources=(Choice("arXiv", "arxiv"), Choice("Reddit", "reddit")), max_items=50,
    )
    return DigestForm(**(values | changes))  # type: ignore[arg-type]


def test_the_modal_of_a_new_digest_validates_and_reads_back() -> None:
    view = digest_modal(form(), "C1ABC")
    assert_view_limits(view)
    assert modal_channel(view) == "C1ABC" and "has none yet" in view_text(view)
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert "initial_options" not in inputs["topics"]["element"] and "initial_options" not in inputs["sources"]["element"]
    assert inputs["topics"]["optional"] and inputs["sources"]["optional"] and not inputs["time"]["optional"]
    assert inputs["timezone"]["element"]["action_id"] == TIME_ZONE_ACTION
    state = {"values": {
        "time": {"value": {"selected_time": "06:05"}},
        "timezone": {TIME_ZONE_ACTION: {"selected_option": {"value": "Asia/Tokyo"}}},
        "days": {"value": {"selected_options": [{"value": "5"}, {"value": "6"}]}},
        "topics": {"value": {"selected_options": []}},
        "max_items": {"value": {"value": "10"}},
        "sources": {"value": {"selected_options": None}},
        "catch_up": {"value": {"selected_option": {"value": "post"}}},
    }}
    values = digest_values({**view, "state": state})
    assert (values.time, values.timezone, values.days, values.topics, values.max_items, values.sources, values.catch_up) == (
        "06:05", "Asia/Tokyo", ("5", "6"), (), "10", (), "post"
    )
    assert modal_channel({"private_metadata": '{"ch": "<!channel>"}'}) == "" and modal_channel({"private_metadata": "x"}) == ""
    assert field_errors(FormErrors({"days": "x" * 500})) == {"days": "x" * 150}


def test_a_digest_ends_with_one_settings_button_however_many_parts() -> None:
    items = tuple(PaperItem(make_paper(n, title=f"T{n}"), Summary(tldr="t " * 250, key_points=("k " * 150,) * 4)) for n in range(60))
    digest = Reply(header="Digest", groups=(ItemGroup("LLM", items),), private=False, digest_settings=True)
    parts = render_reply(digest)
    assert len(parts) > 1
    for part in parts:
        assert_slack_limits(part)
    found = [(i, b) for i, part in enumerate(parts) for b in buttons(part) if b["action_id"] == SETTINGS_ACTION]
    assert [i for i, _ in found] == [len(parts) - 1] and found[0][1]["text"]["text"] == "Settings"
    assert not [b for part in render_reply(Reply(text="search answer")) for b in buttons(part) if b["action_id"] == SETTINGS_ACTION]
