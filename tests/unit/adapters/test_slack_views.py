"""The Slack views (adapters/slack/views.py) and the digest's Settings button (render.py):
the fullest possible Home stays within 100 blocks and Block Kit's models, hostile text in it is
inert, the modal validates for a new digest too, and submitted values read back as the core
expects. Checked by the fake's `assert_view_limits` / `assert_slack_limits`, written apart."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time

import pytest

from adapters.slack.render import SETTINGS_ACTION, plain, render_reply
from adapters.slack.views import (
    HOME_DETAILS_ACTION,
    HOME_EDIT_ACTION,
    HOME_PERSONAL_ACTION,
    HOME_RUN_ACTION,
    MAX_VIEW_BLOCKS,
    PERSONAL_MODAL,
    TIME_ZONE_ACTION,
    channel_ref,
    digest_modal,
    digest_values,
    field_errors,
    home_view,
    modal_channel,
    personal_digest_modal,
    personal_digest_values,
)
from bot.chat.forms import parse_personal_digest_form
from bot.chat.grammar import DigestMeCommand
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


def every_section_full(saved: int = 5, subscriptions: int = 25, digests: int = 20) -> Home:
    """The fullest home with every section the core builds: the new ones (personal digest,
    saved papers) between quiet hours and digests, as bot.chat.home orders them."""
    base = fullest_home()
    papers, subs, quiet, channel_digests = base.sections
    subs = HomeSection(subs.key, subs.title, entries=subs.entries[:subscriptions], note=subs.note, see_all="/papers subscriptions")
    personal = HomeSection("personal-digest", "Your daily digest", entries=(HomeEntry("on · 08:00 UTC · up to 10 papers", detail=HOSTILE, actions=(
        HomeAction("Change", kind=HomeActionKind.EDIT_PERSONAL_DIGEST, command="digest me on 08:00 tz:UTC max:10"),
        HomeAction("Turn off", command="digest me off", danger=True),
    )),))
    saved_entries = tuple(
        HomeEntry(HOSTILE, detail=f"arXiv:2603.{n:05d}", actions=(
            HomeAction("Details", kind=HomeActionKind.PAPER, paper_id=f"2603.{n:05d}"),
            HomeAction("Unsave", command=f"unsave 2603.{n:05d}", danger=True),
        ))
        for n in range(saved)
    )
    saved_section = HomeSection("saved", "Saved papers", entries=saved_entries, note="…and 40 more: /papers saved", see_all="/papers saved")
    digest_section = HomeSection(channel_digests.key, channel_digests.title, entries=channel_digests.entries[:digests], note=channel_digests.note)
    return Home("paperbot", (papers, subs, quiet, personal, saved_section, digest_section))


def test_saved_papers_and_the_personal_digest_are_drawn_with_their_buttons() -> None:
    view = home_view(every_section_full(subscriptions=2, digests=1))
    assert_view_limits(view)
    text = view_text(view)
    assert "Saved papers" in text and "Your daily digest" in text and "…and 40 more: /papers saved" in text
    assert slack_mention_is_inert(text.replace("<#C", "#C")) and "<!channel>" not in json.dumps(view)
    found = buttons(view)
    details = [b for b in found if b["action_id"].startswith(f"{HOME_DETAILS_ACTION}_e")]
    assert [b["value"] for b in details] == [f"2603.{n:05d}" for n in range(5)]
    unsave = [b for b in found if b["text"]["text"] == "Unsave"]
    assert [json.loads(b["value"]) for b in unsave] == [{"c": f"unsave 2603.{n:05d}", "ch": ""} for n in range(5)]
    assert all(b["style"] == "danger" and "confirm" in b for b in unsave)
    (change,) = [b for b in found if b["action_id"].startswith(HOME_PERSONAL_ACTION)]
    assert json.loads(change["value"]) == {"c": "digest me on 08:00 tz:UTC max:10"}
    assert {"c": "digest me off", "ch": ""} in [json.loads(b["value"]) for b in found if b["action_id"].startswith(HOME_RUN_ACTION)]


@pytest.mark.parametrize("saved", [5, 60])
def test_the_fullest_home_with_every_section_stays_within_100_blocks(saved: int) -> None:
    view = home_view(every_section_full(saved=saved), notice=HOSTILE)
    assert_view_limits(view)
    assert len(view["blocks"]) <= MAX_VIEW_BLOCKS
    text = view_text(view)
    # Everything up to the saved papers is whole; what did not fit says how many more, and where.
    labels = [b["text"]["text"] for b in buttons(view)]
    assert labels.count("Unsubscribe") == 25 and "Your daily digest" in text
    if saved == 60:
        shown = labels.count("Unsave")
        assert 0 < shown < 60 and f"…and {60 - shown} more: /papers saved" in text
        assert "more than a Home tab can show" in text and "Digests you set up" not in text
    else:  # at the core's caps every section fits whole, the last digest included
        assert labels.count("Unsave") == 5 and "<#C0019>" in text and "more than a Home tab" not in text


def test_a_section_cut_in_the_middle_keeps_its_first_entries_and_counts_the_rest() -> None:
    many = tuple(HomeEntry(f"sub {n}", actions=(HomeAction("Unsubscribe", command=f"unsubscribe {n}"),)) for n in range(1, 200))
    view = home_view(Home("paperbot", (HomeSection("subscriptions", "Your subscriptions", entries=many, see_all="/papers subscriptions"),)))
    assert_view_limits(view)
    assert len(view["blocks"]) == MAX_VIEW_BLOCKS
    text = view_text(view)
    shown = [b["text"]["text"] for b in buttons(view)].count("Unsubscribe")
    assert "sub 1\n" in text + "\n" and f"sub {shown}" in text and f"sub {shown + 1}" not in text
    assert view["blocks"][-1]["elements"][0]["text"] == f"…and {199 - shown} more: /papers subscriptions"
    assert "more than a Home tab can show" not in text  # it was the last section


def test_the_personal_digest_modal_is_filled_in_validates_and_reads_back() -> None:
    current = DigestMeCommand(action="on", at=time(7, 30), timezone="America/New_York", max_items=3, threshold=0.6)
    view = personal_digest_modal(current)
    assert_view_limits(view)
    assert view["callback_id"] == PERSONAL_MODAL and view["title"]["text"] == "Your daily digest"
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert list(inputs) == ["time", "timezone", "max_items", "threshold"]
    assert inputs["time"]["initial_time"] == "07:30" and inputs["timezone"]["action_id"] == TIME_ZONE_ACTION
    assert inputs["timezone"]["initial_option"] == {"text": plain("America/New York"), "value": "America/New_York"}
    assert (inputs["max_items"]["initial_value"], inputs["max_items"]["max_value"]) == ("3", "50")
    assert inputs["threshold"]["initial_value"] == "0.6"
    assert "initial_value" not in personal_digest_modal(DigestMeCommand(action="on"))["blocks"][4]["element"]
    state = {"values": {
        "time": {"value": {"selected_time": "06:15"}},
        "timezone": {TIME_ZONE_ACTION: {"selected_option": {"value": "Europe/Berlin"}}},
        "max_items": {"value": {"value": "12"}},
        "threshold": {"value": {"value": None}},
    }}
    values = personal_digest_values({**view, "state": state})
    assert (values.time, values.timezone, values.max_items, values.threshold) == ("06:15", "Europe/Berlin", "12", "")
    assert parse_personal_digest_form(values) == DigestMeCommand(
        action="on", at=time(6, 15), timezone="Europe/Berlin", max_items=12, threshold=0.0  # empty: no threshold
    )
    bad = {"values": {"time": {"value": {"selected_time": None}}, "max_items": {"value": {"value": "0"}}, "threshold": {"value": {"value": "3"}}}}
    with pytest.raises(FormErrors) as caught:
        parse_personal_digest_form(personal_digest_values({**view, "state": bad}))
    assert set(field_errors(caught.value)) == {"time", "timezone", "max_items", "threshold"}
