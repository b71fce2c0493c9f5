"""Block Kit rendering (adapters/slack/render.py), the manifest and the small pure helpers of
the Slack adapter. Every rendered part is checked with slack_sdk's Block Kit models and against
Slack's limits by `assert_slack_limits` (written independently of the renderer)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from adapters.slack.app import api_base_url
from adapters.slack.delivery import delivery_error, retry_after_seconds
from adapters.slack.listeners import unescape_command
from adapters.slack.manifest import BOT_SCOPES, manifest_yaml
from adapters.slack.render import (
    DETAILS_ACTION,
    FEEDBACK_ACTION,
    MAX_HEADER_TEXT,
    SHARE_ACTION,
    fit,
    inert,
    link,
    mark_choice,
    parse_feedback_action,
    render,
    render_reply,
    safe_url,
)
from adapters.slack.shortcuts import SHORTCUTS
from bot.chat.view import ItemAction
from bot.core.errors import PermanentDeliveryError, RetryAfter, TransientDeliveryError
from bot.core.models import ItemGroup, Paper, PaperItem, Reply, Summary
from tests.support.factories import make_paper
from tests.support.slack_api import assert_slack_limits, slack_mention_is_inert, visible_text

HOSTILE = "<!channel> @here *bold* <https://x|y> & _it_ ~s~ `c` <@U123> <#C1> <!subteam^S1>"
T = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def paper(n: int, title: str | None = None, **kw: Any) -> Paper:
    base = make_paper(n, title=title or f"Paper P{n:03d}X", abstract=kw.pop("abstract", f"Abstract {n}."), published=T)
    return replace(base, authors=kw.pop("authors", ("A. Author", "B. Author")), url=kw.pop("url", base.url), **kw)


def item(n: int, **kw: Any) -> PaperItem:
    summary = kw.pop("summary", Summary(
        tldr=f"TLDR {n}", key_points=("point one", "point two"), summary="S", methodology="M",
        results="R", implications="I", topics=("Machine Learning",),
    ))
    return PaperItem(paper(n, **kw), summary, source_line="arXiv cs.LG · 3h ago", why="topic: ML")


def digest(count: int, **kw: Any) -> Reply:
    items = tuple(item(i) for i in range(1, count + 1))
    groups = (ItemGroup("Group A", items[: count // 2]), ItemGroup("Group B", items[count // 2 :])) if count else ()
    return Reply(header="Daily digest", groups=groups, footer="footer", private=False, **kw)


def check(parts: list[dict[str, Any]]) -> None:
    assert parts
    for part in parts:
        assert_slack_limits(part)
        json.loads(json.dumps(part))


# --- text ----------------------------------------------------------------------------------


def test_inert_escapes_control_characters_and_neutralizes_formatting() -> None:
    out = inert(HOSTILE)
    assert "<" not in out and ">" not in out
    assert "&lt;!channel&gt;" in out and "&lt;@U123&gt;" in out and "&amp;" in out
    assert not any(ch in out for ch in "*_~`")
    assert "@here" not in out and "@\u200bhere" in out
    assert slack_mention_is_inert(out)


def test_inert_replaces_control_characters() -> None:
    assert inert("a\x00b\x1b[31mc\u2028d") == "a b [31mc d"
    assert inert("line\nbreak") == "line\nbreak"


@given(st.text(max_size=400), st.integers(min_value=1, max_value=300))
@settings(max_examples=300)
def test_fit_respects_the_limit_and_never_cuts_an_entity(text: str, limit: int) -> None:
    out = fit(text, limit)
    assert len(out) <= limit
    assert "<" not in out and ">" not in out
    stripped = out.removesuffix("…")
    for index, char in enumerate(stripped):
        if char == "&":
            assert stripped[index:].startswith(("&amp;", "&lt;", "&gt;")), out


def test_links_only_for_http_urls_and_escaped() -> None:
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("ftp://example.org/x") is None
    assert safe_url("https:///nohost") is None
    assert safe_url("https://a.org/x?a=1&b=<2>|3 4") == "https://a.org/x?a=1&amp;b=%3C2%3E%7C3%204"
    assert link("javascript:alert(1)", "Title") == "Title"
    assert link("https://a.org", "A | B > C") == "<https://a.org|A \u2223 B &gt; C>"
    assert link("https://a.org", "") == "<https://a.org|(untitled)>"


TOKEN = "Qm9vbXRva2VuLXNoYXJlLTE"  # a share token as the core issues them (24 characters)


def test_the_share_button_carries_the_token_alone() -> None:
    # The button's value is exactly the token the core issued: no command, no paper id.
    parts = render_reply(Reply(text="x", private=True, shareable=True), share=TOKEN)
    (button,) = [e for p in parts for b in p["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert (button["action_id"], button["value"]) == (SHARE_ACTION, TOKEN)
    # A value Slack would refuse (over 2,000 characters) leaves the button out rather than fail.
    too_long = render_reply(Reply(text="x", private=True, shareable=True), share="x" * 3000)
    assert not any(b["type"] == "actions" for p in too_long for b in p["blocks"])


# --- layout --------------------------------------------------------------------------------


def test_search_reply_layout() -> None:
    reply = Reply(header="2 of 9 papers", groups=(ItemGroup("", (item(1), item(2))),), private=True, shareable=True)
    parts = render_reply(reply, share=TOKEN)
    check(parts)
    assert len(parts) == 1
    blocks = parts[0]["blocks"]
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "2 of 9 papers", "emoji": True}}
    first = blocks[1]
    assert first["type"] == "section"
    assert first["text"]["text"].startswith("*1. <https://arxiv.org/abs/2603.00001|Paper P001X>*")
    assert "arXiv cs.LG · 3h ago · Machine Learning" in first["text"]["text"]
    assert "*TL;DR:* TLDR 1" in first["text"]["text"] and "• point one" in first["text"]["text"]
    assert first["accessory"]["action_id"] == f"{DETAILS_ACTION}_1" and first["accessory"]["value"] == "2603.00001"
    assert blocks[2]["type"] == "context"
    assert blocks[-1]["type"] == "actions" and blocks[-1]["elements"][0]["action_id"] == SHARE_ACTION
    assert parts[0]["text"].startswith("2 of 9 papers\n1. Paper P001X")


def test_share_button_only_on_private_shareable_replies() -> None:
    value = TOKEN
    public = render_reply(Reply(text="x", private=False, shareable=True), share=value)
    not_shareable = render_reply(Reply(text="x", private=True), share=value)
    error = render_reply(Reply(text="x", private=True, shareable=True, is_error=True), share=value)
    for parts in (public, not_shareable, error):
        assert not any(b["type"] == "actions" for p in parts for b in p["blocks"])


def test_shared_by_needs_a_real_user_id() -> None:
    assert render_reply(Reply(text="x"), shared_by="U123ABC")[0]["blocks"][0]["elements"][0]["text"] == "Shared by <@U123ABC>"
    assert "Shared" not in json.dumps(render_reply(Reply(text="x"), shared_by="<!channel>"))


def test_show_details_renders_the_sections_inline() -> None:
    parts = render(Reply(groups=(ItemGroup("", (item(1),)),), show_details=True))
    check(parts)
    texts = [b["text"]["text"] for b in parts[0]["blocks"] if b["type"] == "section"]
    assert texts[1:] == ["*Summary*\nS", "*Methodology*\nM", "*Results*\nR", "*Implications*\nI"]
    assert not any("accessory" in b for b in parts[0]["blocks"])
    no_summary = render(Reply(groups=(ItemGroup("", (item(2, summary=None),)),), show_details=True))
    assert "*Abstract*\nAbstract 2." in visible_text(no_summary[0])


def test_error_reply_is_a_one_line_warning() -> None:
    parts = render(Reply(text="since: bad window <@U1>", is_error=True))
    check(parts)
    assert parts[0]["blocks"] == [
        {"type": "section", "text": {"type": "mrkdwn", "text": ":warning: since: bad window &lt;@U1&gt;", "verbatim": True}}
    ]


def test_empty_reply_still_says_something() -> None:
    parts = render(Reply())
    check(parts)
    assert visible_text(parts[0]) == "Nothing to show."


@pytest.mark.parametrize("count", [0, 1, 10, 60, 200])
def test_digests_split_within_limits_and_arrive_whole(count: int) -> None:
    parts = render(digest(count))
    check(parts)
    joined = "\n".join(visible_text(p) for p in parts)
    for n in range(1, count + 1):
        assert joined.count(f"P{n:03d}X") == 1
    assert joined.count("Daily digest") == 1 and joined.count("footer") == 1
    if count > 1:
        assert "Group A" in joined
    if count >= 60:
        assert len(parts) > 1
    # Every message's Details buttons are numbered uniquely and follow the item numbers.
    numbers = [int(b["accessory"]["action_id"].rsplit("_", 1)[1]) for p in parts for b in p["blocks"] if "accessory" in b]
    assert numbers == list(range(1, count + 1))


@pytest.mark.parametrize("count", [1, 16, 17, 60])
def test_feedback_rows_follow_each_paper_and_messages_split_within_limits(count: int) -> None:
    parts = render(digest(count, offers_feedback=True))
    check(parts)
    rows = [(b, p) for p in parts for b in p["blocks"] if str(b.get("block_id", "")).startswith("paperbot_items_")]
    assert len(rows) == count
    for number, (row, part) in enumerate(rows, start=1):
        ids = [e["action_id"] for e in row["elements"]]
        assert ids == [f"{FEEDBACK_ACTION}{a.value}_{number}" for a in ItemAction]
        assert [parse_feedback_action(i) for i in ids] == list(ItemAction)
        # The row sits right after its paper's context block, in the same message.
        position = part["blocks"].index(row)
        assert part["blocks"][position - 1]["type"] == "context"
        assert row["elements"][0]["value"] == part["blocks"][position - 2]["accessory"]["value"]
    if count >= 17:  # three blocks a paper: 17 papers cannot fit Slack's 50 blocks
        assert len(parts) > 1
    # Without feedback, no rows at all.
    assert not any(b["type"] == "actions" for p in render(digest(count)) for b in p["blocks"])


def test_marking_a_choice_touches_only_that_paper_and_undoes_the_opposite() -> None:
    (part,) = render(digest(3, offers_feedback=True))
    paper_2 = next(b["elements"][0]["value"] for b in part["blocks"] if b.get("block_id") == "paperbot_items_2")
    liked = mark_choice(part["blocks"], ItemAction.LIKE, paper_2, iteration="t1")
    changed = [(a, b) for a, b in zip(part["blocks"], liked, strict=True) if a != b]
    assert len(changed) == 1 and changed[0][1]["block_id"] == "paperbot_items_2.t1"
    like, dislike, save, similar = changed[0][1]["elements"]
    assert (like["text"]["text"], like["style"]) == ("👍 Relevant ✓", "primary")
    assert "style" not in dislike and "style" not in save and "style" not in similar
    disliked = mark_choice(liked, ItemAction.DISLIKE, paper_2, iteration="t2")
    row = next(b for b in disliked if str(b.get("block_id", "")).startswith("paperbot_items_2"))
    assert row["block_id"] == "paperbot_items_2.t2"
    assert row["elements"][0]["text"]["text"] == "👍 Relevant" and "style" not in row["elements"][0]
    assert (row["elements"][1]["text"]["text"], row["elements"][1]["style"]) == ("👎 Not for me ✓", "danger")
    saved = mark_choice(disliked, ItemAction.SAVE, paper_2, iteration="t3")
    row = next(b for b in saved if str(b.get("block_id", "")).startswith("paperbot_items_2"))
    assert row["elements"][1]["style"] == "danger" and row["elements"][2]["text"]["text"] == "🔖 Saved ✓"
    assert mark_choice(part["blocks"], ItemAction.SIMILAR, paper_2, iteration="t4") == part["blocks"]
    check([{**part, "blocks": saved}])
    assert parse_feedback_action("paperbot_act_explode_1") is None and parse_feedback_action(DETAILS_ACTION + "_1") is None


def test_long_text_is_truncated_never_rejected() -> None:
    huge = "word " * 3000
    big_summary = Summary(
        tldr=huge, key_points=(huge,) * 6, summary=huge, methodology=huge, results=huge, implications=huge,
        topics=("Large Language Models",) * 50,
    )
    long_item = PaperItem(paper(1, title="Start " + huge, authors=("Someone",) * 500), big_summary, source_line=huge, why=huge)
    reply = Reply(
        header="H" * 1000, text=huge + "\n" + ("x" * 5000), groups=(ItemGroup("G" * 400, (long_item,) * 3),),
        footer=huge, show_details=True,
    )
    parts = render(reply)
    check(parts)
    assert "Start word" in "\n".join(visible_text(p) for p in parts)
    headers = [b for p in parts for b in p["blocks"] if b["type"] == "header"]
    assert all(len(h["text"]["text"]) <= MAX_HEADER_TEXT for h in headers)


def test_entities_count_toward_the_header_limit() -> None:
    parts = render(Reply(header="<&>" * 200, text="x"))
    header = parts[0]["blocks"][0]["text"]["text"]
    assert len(header) <= 150 and header.endswith("…") and not header.rstrip("…").endswith("&")


def test_hostile_text_is_inert_everywhere() -> None:
    hostile = PaperItem(
        paper(1, title=HOSTILE, abstract=HOSTILE, authors=(HOSTILE,), url="https://x.org/?q=<!channel>"),
        Summary(tldr=HOSTILE, key_points=(HOSTILE,) * 4, summary=HOSTILE, methodology=HOSTILE, topics=(HOSTILE,)),
        source_line=HOSTILE, why=HOSTILE,
    )
    for details in (False, True):
        reply = Reply(header=HOSTILE, text=HOSTILE, groups=(ItemGroup(HOSTILE, (hostile,)),), footer=HOSTILE, show_details=details)
        for part in render(reply):
            assert_slack_limits(part)
            raw = json.dumps(part, ensure_ascii=False)
            for bad in ("<!channel>", "<https://x|y>", "<@U123>", "<#C1>", "<!subteam", "*bold*", "_it_", "~s~", "`c`"):
                assert bad not in raw
            assert slack_mention_is_inert(visible_text(part)) and slack_mention_is_inert(part["text"])
            for block in part["blocks"]:
                for obj in [block.get("text")] + block.get("elements", []):
                    if isinstance(obj, dict) and obj.get("type") == "mrkdwn":
                        assert obj["verbatim"] is True


text_st = st.text(st.characters(exclude_categories=["Cs"]), max_size=600)


@given(
    title=text_st, tldr=text_st, points=st.lists(text_st, max_size=6), header=text_st, text=text_st,
    footer=text_st, url=text_st, count=st.integers(0, 12), details=st.booleans(),
)
# Control characters alone used to escape to an empty fallback text, which Slack rejects.
@example(title="", tldr="", points=[], header="", text="\x1b\r0", footer="", url="", count=0, details=False)
@settings(max_examples=60, deadline=None)
def test_any_text_renders_within_limits(
    title: str, tldr: str, points: list[str], header: str, text: str, footer: str, url: str, count: int, details: bool
) -> None:
    summary = Summary(tldr=tldr, key_points=tuple(points), summary=text, methodology=tldr)
    items = tuple(PaperItem(paper(i, title=title or "t", url=url), summary, source_line=title, why=tldr) for i in range(count))
    reply = Reply(header=header, text=text, groups=(ItemGroup(title, items),), footer=footer, show_details=details, shareable=True)
    parts = render_reply(reply, share=TOKEN)
    check(parts)
    for part in parts:
        assert slack_mention_is_inert(visible_text(part))


# --- pure helpers of the adapter -----------------------------------------------------------


def test_api_base_url_always_ends_with_one_slash() -> None:
    assert api_base_url("https://slack.com/api") == "https://slack.com/api/"
    assert api_base_url("http://127.0.0.1:9/api/") == "http://127.0.0.1:9/api/"


def test_unescape_command_undoes_slacks_entities_once() -> None:
    assert unescape_command("a &lt;b&gt; &amp;amp; c") == "a <b> &amp; c"


def test_retry_after_and_error_mapping() -> None:
    assert retry_after_seconds({"Retry-After": "12"}) == 12.0
    assert retry_after_seconds({"retry-after": ["3"]}) == 3.0
    assert retry_after_seconds({}) == 1.0 and retry_after_seconds({"Retry-After": "soon"}) == 1.0
    limited = delivery_error("chat.postMessage", 429, "ratelimited", {"Retry-After": "9"})
    assert isinstance(limited, RetryAfter) and limited.retry_after == 9.0
    gone = delivery_error("chat.postMessage", 200, "not_in_channel", {})
    assert isinstance(gone, PermanentDeliveryError) and gone.reason == "not_in_channel" and "/invite @paperbot" in gone.hint
    assert isinstance(delivery_error("chat.postMessage", 500, "internal_error", {}), TransientDeliveryError)
    assert isinstance(delivery_error("chat.postMessage", 200, "something_new", {}), TransientDeliveryError)


# --- manifest ------------------------------------------------------------------------------


def parse_yaml_subset(text: str) -> Any:
    """A tiny parser for the YAML the manifest uses: nested maps, lists of scalars or maps,
    JSON-quoted strings, true/false and integers."""

    def scalar(value: str) -> Any:
        value = value.strip()
        if value.startswith('"'):
            return json.loads(value)
        if value in ("true", "false"):
            return value == "true"
        if value.lstrip("-").isdigit():
            return int(value)
        raise AssertionError(f"unquoted string in manifest: {value!r}")

    lines = [(len(raw) - len(raw.lstrip(" ")), raw.strip()) for raw in text.splitlines() if raw.strip()]

    def block(index: int, indent: int) -> tuple[Any, int]:
        if lines[index][1].startswith("- "):
            items: list[Any] = []
            while index < len(lines) and lines[index][0] == indent and lines[index][1].startswith("- "):
                rest = lines[index][1][2:]
                if ":" in rest and not rest.startswith('"'):
                    # A map inside a list: its first key sits after the dash.
                    lines[index] = (indent + 2, rest)
                    value, index = block(index, indent + 2)
                    items.append(value)
                else:
                    items.append(scalar(rest))
                    index += 1
            return items, index
        mapping: dict[str, Any] = {}
        while index < len(lines) and lines[index][0] == indent:
            key, _, rest = lines[index][1].partition(":")
            if rest.strip():
                mapping[key] = scalar(rest)
                index += 1
            else:
                mapping[key], index = block(index + 1, lines[index + 1][0])
        return mapping, index

    parsed, end = block(0, 0)
    assert end == len(lines)
    return parsed


def test_manifest_has_the_command_scopes_interactivity_and_socket_mode() -> None:
    manifest = parse_yaml_subset(manifest_yaml())
    assert manifest["display_information"]["name"] == "paperbot"
    command = manifest["features"]["slash_commands"][0]
    assert command["command"] == "/papers" and command["should_escape"] is False
    assert manifest["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)
    assert set(BOT_SCOPES) == {"commands", "chat:write", "chat:write.public", "im:write", "users:read", "im:read", "mpim:read"}
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["features"]["bot_user"]["display_name"] == "paperbot"


def test_manifest_for_http_mode_and_odd_names() -> None:
    text = manifest_yaml(command="/arxiv", name='Paper "bot": #1', request_url="https://bot.example/slack/events")
    manifest = parse_yaml_subset(text)
    assert manifest["display_information"]["name"] == 'Paper "bot": #1'
    assert manifest["features"]["slash_commands"][0]["url"] == "https://bot.example/slack/events"
    assert manifest["settings"]["interactivity"]["request_url"] == "https://bot.example/slack/events"
    assert manifest["settings"]["socket_mode_enabled"] is False


def test_every_manifest_has_the_home_tab_events_and_shortcuts() -> None:
    for text in (manifest_yaml(), manifest_yaml(request_url="https://bot.example")):
        manifest = parse_yaml_subset(text)
        assert manifest["features"]["app_home"]["home_tab_enabled"] is True
        assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
        assert manifest["features"]["shortcuts"] == [
            {"name": s.name, "type": "message", "callback_id": s.callback_id, "description": s.description} for s in SHORTCUTS
        ]
        assert all(len(s.name) <= 24 and len(s.description) <= 40 for s in SHORTCUTS)
        assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened", "app_uninstalled", "tokens_revoked"]
        assert "redirect_urls" not in manifest["oauth_config"]


def test_a_distributed_manifest_is_http_mode_with_the_oauth_redirect() -> None:
    manifest = parse_yaml_subset(manifest_yaml(request_url="https://bot.example", distribution=True))
    assert manifest["oauth_config"]["redirect_urls"] == ["https://bot.example/slack/oauth_redirect"]
    events = "https://bot.example/slack/events"
    assert manifest["features"]["slash_commands"][0]["url"] == events
    assert manifest["settings"]["event_subscriptions"]["request_url"] == events
    assert manifest["settings"]["interactivity"] == {"is_enabled": True, "request_url": events, "message_menu_options_url": events}
    assert manifest["settings"]["socket_mode_enabled"] is False
    # A full events URL is kept as given; the redirect goes to the same host.
    given = parse_yaml_subset(manifest_yaml(request_url="https://x.example:8443/hooks/slack", distribution=True))
    assert given["settings"]["event_subscriptions"]["request_url"] == "https://x.example:8443/hooks/slack"
    assert given["oauth_config"]["redirect_urls"] == ["https://x.example:8443/slack/oauth_redirect"]
    with pytest.raises(ValueError, match="--request-url"):
        manifest_yaml(distribution=True)
    with pytest.raises(ValueError, match="public https"):
        manifest_yaml(request_url="bot.example", distribution=True)


def test_text_that_is_only_control_characters_leaves_no_empty_blocks() -> None:
    parts = render(Reply(header="\x00\x01", text="\x02\n\x03", groups=(ItemGroup("\x1b", (item(1),)),), footer="\x00"))
    check(parts)
    for block in parts[0]["blocks"]:
        texts = [block.get("text", {}).get("text", "x")] + [e["text"] for e in block.get("elements", [])]
        assert all(t.strip() for t in texts), block
    assert [b["type"] for b in parts[0]["blocks"]] == ["section", "context"]


@pytest.mark.parametrize(
    "part",
    [
        {"text": "x", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]},
        {"text": "x", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}}]},
        {"text": "x", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "s"}}] * 51},
        {"text": "x", "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}]},
        {"text": "", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "s"}}]},
        {"text": "x" * 4000, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "s"}}]},
        {"text": "x", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 2900}}] * 5},
        {"text": "x", "blocks": [{"type": "bogus"}]},
    ],
)
def test_the_limit_checker_catches_violations(part: dict[str, Any]) -> None:
    with pytest.raises(Exception):  # noqa: B017 (AssertionError or slack_sdk's SlackObjectFormationError)
        assert_slack_limits(part)
