"""Discord rendering: every part respects Discord's limits, external text arrives inert, and
buttons carry what their handlers need."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import discord
import pytest

from adapters.discord.messages import send_kwargs
from adapters.discord.render import (
    SHARE_ID,
    clip,
    details_custom_id,
    embed_length,
    inert,
    paper_embed,
    paper_id_from_custom_id,
    render_reply,
    safe_url,
)
from bot.chat.view import item_view
from bot.core.models import ItemGroup, PaperItem, Reply, Summary
from tests.support.discord_api import assert_discord_limits
from tests.support.discord_service import HOSTILE_TITLE, make_item
from tests.support.factories import make_paper


def _check(parts: list[dict]) -> None:
    json.dumps(parts)  # stored in the outbox as JSON
    for part in parts:
        assert_discord_limits(part, mentions_off=False)  # send() adds allowed_mentions


def _titles(parts: list[dict]) -> list[str]:
    return [e["title"] for p in parts for e in p["embeds"] if "title" in e]


def test_empty_reply_still_renders_a_message() -> None:
    assert render_reply(Reply()) == [{"content": "Nothing to show.", "embeds": [], "components": []}]


def test_text_only_reply_is_one_message_with_header_and_footer() -> None:
    (part,) = render_reply(Reply(header="Topics", text="llm — Large Language Models", footer="Note: x"))
    assert part["content"] == "**Topics**\nllm — Large Language Models\nNote: x"
    assert part["embeds"] == [] and part["components"] == []


def test_one_item_is_one_embed_with_linked_title_fields_and_details_button() -> None:
    parts = render_reply(Reply(header="1 paper", groups=(ItemGroup("", (make_item(1),)),), private=False))
    _check(parts)
    (part,) = parts
    (embed,) = part["embeds"]
    assert embed["title"] == "1. Paper number 1: diffusion models for things"
    assert embed["url"] == "https://arxiv.org/abs/2511.10001"
    assert embed["description"].startswith("**TL;DR:** A one-line TL;DR.")
    assert embed["description"].count("\u2022 Key point") == 4
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Source"] == "arXiv cs.LG"  # the age is the live Age field, not repeated here
    assert fields["Age"].startswith("<t:") and fields["Age"].endswith(":R>")
    assert fields["Tags"] == "Large Language Models, Computer Vision"
    assert embed["footer"]["text"] == "arXiv:2511.10001 · matched: diffusion in title"
    (row,) = part["components"]
    assert row["components"] == [{"type": 2, "style": 2, "label": "Details #1", "custom_id": "paperbot:details:2511.10001"}]


def test_sixty_items_split_within_every_limit_and_keep_order() -> None:
    items = tuple(make_item(i, long=i % 5 == 0) for i in range(1, 61))
    groups = tuple(ItemGroup(f"Topic {g}", items[g * 15 : (g + 1) * 15]) for g in range(4))
    parts = render_reply(Reply(header="Digest", groups=groups, footer="end", private=False))
    _check(parts)
    assert len(parts) > 6
    assert [t.split(". ", 1)[0] for t in _titles(parts)] == [str(n) for n in range(1, 61)]
    # Each titled group starts a message whose content names it.
    starts = [p["content"] for p in parts if "Topic" in p["content"]]
    assert len(starts) == 4 and starts[0].startswith("**Digest**")
    assert parts[-1]["embeds"][-1]["description"] == "end"


def test_long_text_is_truncated_never_rejected() -> None:
    huge = "word " * 3000
    paper = make_paper(paper_id="2511.00001", title="Start " + huge, abstract=huge, authors=("A",) * 200)
    summary = Summary(tldr=huge, key_points=(huge,) * 4, summary=huge, methodology=huge, results=huge, implications=huge, topics=("T " * 300,))
    item = PaperItem(paper=paper, summary=summary, source_line=huge, why=huge)
    reply = Reply(header=huge, text=huge, groups=(ItemGroup(huge, (item,)),), footer=huge, show_details=True, private=False)
    parts = render_reply(reply)
    _check(parts)
    embed = next(e for p in parts for e in p["embeds"] if e.get("title", "").startswith("1. Start"))
    assert embed["title"].endswith("\u2026") and len(embed["title"]) == 256
    assert embed_length(embed) <= 6000


def test_details_show_every_section_and_no_details_button() -> None:
    reply = Reply(groups=(ItemGroup("", (make_item(1),)),), show_details=True, shareable=True)
    (part,) = render_reply(reply)
    fields = [f["name"] for f in part["embeds"][0]["fields"]]
    assert fields == ["Source", "Age", "Tags", "Summary", "Methodology", "Results", "Implications", "Authors"]
    ids = [b["custom_id"] for row in part["components"] for b in row["components"]]
    assert ids == [SHARE_ID]


def test_share_button_only_on_private_shareable_replies_and_on_each_part() -> None:
    items = tuple(make_item(i, long=True) for i in range(1, 9))
    shared = render_reply(Reply(groups=(ItemGroup("", items),), private=True, shareable=True))
    assert len(shared) > 1
    for part in shared:
        assert part["components"][-1]["components"][0]["custom_id"] == SHARE_ID
    public = render_reply(Reply(groups=(ItemGroup("", items),), private=False, shareable=True))
    assert all(SHARE_ID not in json.dumps(p["components"]) for p in public)


def test_errors_are_marked_and_long_text_moves_to_embeds() -> None:
    (error,) = render_reply(Reply(text="'x' is not a topic", is_error=True))
    assert error["content"].startswith("\u26a0\ufe0f ")
    lines = "\n".join(f"line {i} " + "x" * 80 for i in range(100))
    parts = render_reply(Reply(header="Help", text=lines))
    _check(parts)
    assert parts[0]["content"] == "**Help**"
    assert sum(len(e["description"]) for p in parts for e in p["embeds"]) >= len(lines) - 200


def test_hostile_text_is_inert_everywhere() -> None:
    item = replace(make_item(1, title=HOSTILE_TITLE), why=HOSTILE_TITLE, source_line=HOSTILE_TITLE)
    reply = Reply(header=HOSTILE_TITLE, text=HOSTILE_TITLE, groups=(ItemGroup(HOSTILE_TITLE, (item,)),), footer=HOSTILE_TITLE)
    rendered: list[str] = []  # places where Discord renders markdown and mentions
    footers: list[str] = []  # embed footers render neither
    for part in render_reply(reply):
        rendered.append(part["content"])
        for embed in part["embeds"]:
            rendered += [embed.get("title", ""), embed.get("description", "")]
            rendered += [f["name"] + "\n" + f["value"] for f in embed.get("fields", [])]
            footers.append(embed.get("footer", {}).get("text", ""))
    assert any("everyone" in text for text in rendered) and any("everyone" in text for text in footers)
    for text in rendered + footers:
        for live in ("@everyone", "@here", "<@123>", "<#456>"):
            assert live not in text, (live, text)
    for text in rendered:
        assert "**x**" not in text and not re.search(r"(?<!\\)\[click\]\(", text), text


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("@everyone", "@\u200beveryone"),
        ("<@123>", "<\u200b@\u200b123>"),
        ("**x**", "\\*\\*x\\*\\*"),
        ("a\x1b[31mred\x07", "a [31mred"),
        ("# heading", "\\# heading"),
    ],
)
def test_inert(raw: str, shown: str) -> None:
    assert inert(raw) == shown


def test_clip_never_leaves_a_dangling_escape() -> None:
    assert clip("abc", 3) == "abc"
    assert clip("abcdef", 4) == "abc\u2026"
    cut = clip("ab\\*cd", 4)
    assert not cut[:-1].endswith("\\") and len(cut) <= 4


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://arxiv.org/abs/2511.00001", True),
        ("http://example.com/a?b=c", True),
        ("javascript:alert(1)", False),
        ("ftp://example.com/x", False),
        ("https://exa mple.com", False),
        ("https://", False),
        ("", False),
        ("https://x.com/" + "a" * 3000, False),
    ],
)
def test_only_http_urls_are_linked(url: str, ok: bool) -> None:
    assert (safe_url(url) is not None) is ok
    item = replace(make_item(1), paper=replace(make_item(1).paper, url=url))
    assert ("url" in paper_embed(item_view(item, 1), "")) is ok


def test_details_custom_ids_round_trip_and_stay_short() -> None:
    custom_id = details_custom_id("feed:abc123")
    assert custom_id == "paperbot:details:feed:abc123"
    assert paper_id_from_custom_id(custom_id) == "feed:abc123"
    assert paper_id_from_custom_id(SHARE_ID) is None
    assert details_custom_id("x" * 200) is None


async def test_send_kwargs_build_embeds_and_a_view_with_mentions_off() -> None:
    (part,) = render_reply(Reply(groups=(ItemGroup("", (make_item(1),)),), shareable=True))
    kwargs = send_kwargs(part)
    assert kwargs["allowed_mentions"].to_dict() == {"parse": []}
    assert [e.to_dict()["title"] for e in kwargs["embeds"]] == [part["embeds"][0]["title"]]
    view = kwargs["view"]
    assert not view.is_dispatchable()  # never stored: clicks are handled by custom_id
    assert [c["components"][0]["custom_id"] for c in view.to_components()] == ["paperbot:details:2511.10001", SHARE_ID]
    assert isinstance(kwargs["embeds"][0], discord.Embed)
