"""Reddit JSON listings and Atom feeds: real payloads, arXiv-linking posts, fetching."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest

from bot.core.models import Signal, SourceKind
from bot.fetch.sources import reddit
from bot.fetch.sources.reddit import RedditSource

THINKPAD_JSON = "reddit_r_thinkpad_top_week_trimmed.json"
THINKPAD_ATOM = "reddit_r_thinkpad_top_week_trimmed.atom"


def test_thinkpad_json(real):
    papers = reddit.parse(real(THINKPAD_JSON), subreddit="thinkpad")
    assert [p.id for p in papers] == ["reddit:t3_shueto", "reddit:t3_sfef2f", "reddit:t3_sewu49"]
    link_post, _, self_post = papers
    assert link_post.title == "."
    assert link_post.source is SourceKind.REDDIT
    assert link_post.source_label == "r/thinkpad"
    assert link_post.url == "https://v.redd.it/cqjfu406z7f81"  # a link post's target
    assert link_post.version == 0
    assert link_post.authors == ("u/KasaneTeto_",)
    # created_utc is an int in the 2022 www sample.
    assert link_post.published == datetime(2022, 2, 1, 13, 0, 44, tzinfo=UTC)
    assert link_post.signals == (
        Signal(
            source=SourceKind.REDDIT,
            ref="t3_shueto",
            score=367,
            comments=14,
            label="r/thinkpad",
            url="https://www.reddit.com/r/thinkpad/comments/shueto/_/",
            observed_at=datetime(2022, 2, 1, 13, 0, 44, tzinfo=UTC),
        ),
    )
    assert self_post.title == "Refurbished T470 - Antivirus?"
    assert self_post.url == "https://www.reddit.com/r/thinkpad/comments/sewu49/refurbished_t470_antivirus/"
    assert self_post.abstract.startswith("Hello, I just bought a refurbished T470 from Best Buy.")
    assert "\n" not in self_post.abstract
    assert (self_post.signals[0].score, self_post.signals[0].comments) == (5, 25)


def test_oauth_listings(real):
    small = reddit.parse(real("reddit_oauth_r_all_new_before_small.json"), subreddit="all")
    assert len(small) == 4
    assert small[0].id == "reddit:t3_5jo144"
    assert small[0].source_label == "r/UpliftingNews"  # the post's own subreddit, not "all"
    assert small[0].published == datetime.fromtimestamp(1482373052.0, UTC)
    ask = reddit.parse(real("reddit_oauth_r_askreddit_new_limit100.json"), subreddit="AskReddit")
    assert len(ask) == 100
    assert len({p.id for p in ask}) == 100
    assert {p.source_label for p in ask} == {"r/AskReddit"}
    assert all(p.published is not None and p.published.tzinfo is UTC for p in ask)


def test_popular_2026_listing_with_float_edited(real):
    papers = reddit.parse(real("reddit_oauth_r_popular_hot_2026.json"), subreddit="popular")
    assert len(papers) == 100
    assert papers[0].id == "reddit:t3_1skjxta"
    assert papers[0].signals[0].score == 546 and papers[0].signals[0].comments == 495
    assert papers[0].published == datetime(2026, 4, 13, 18, 44, 8, tzinfo=UTC)
    assert len(Counter(p.source_label for p in papers)) > 50
    edited = next(p for p in papers if p.id == "reddit:t3_1skgoca")
    assert edited.updated == datetime.fromtimestamp(1776102398.0, UTC)
    assert edited.updated != edited.published
    assert all(not p.is_arxiv for p in papers)


def test_empty_listing(real):
    assert reddit.parse(real("reddit_oauth_empty_listing.json")) == []


def _with_posts(real, edits):
    listing = json.loads(real(THINKPAD_JSON))
    for child, edit in zip(listing["data"]["children"], edits, strict=False):
        child["data"].update(edit)
        if "url" in edit and "url_overridden_by_dest" in child["data"]:
            child["data"]["url_overridden_by_dest"] = edit["url"]
    return json.dumps(listing).encode()


def test_posts_linking_arxiv_become_the_paper(real):
    data = _with_posts(
        real,
        [
            {"url": "https://arxiv.org/abs/2504.17830v2", "subreddit": "MachineLearning", "title": "[R] Time operators"},
            {"url": "https://i.redd.it/x.jpg", "selftext": "Paper: https://huggingface.co/papers/2410.17243 - thoughts?"},
            {"selftext": "Nothing to see, arXiv is great"},
        ],
    )
    first, second, third = reddit.parse(data, subreddit="MachineLearning")
    assert first.id == "2504.17830" and first.is_arxiv
    assert first.version == 0
    assert first.url == "https://arxiv.org/abs/2504.17830"
    assert first.title == "[R] Time operators"
    assert first.source is SourceKind.REDDIT and first.source_label == "r/MachineLearning"
    assert first.authors == ()
    assert first.signals[0].ref == "t3_shueto"
    assert first.signals[0].label == "r/MachineLearning"
    assert first.signals[0].url == "https://www.reddit.com/r/thinkpad/comments/shueto/_/"
    assert second.id == "2410.17243"
    assert second.abstract == "Paper: https://huggingface.co/papers/2410.17243 - thoughts?"
    assert third.id == "reddit:t3_sewu49"


def test_legacy_escaping_is_undone(real):
    data = _with_posts(
        real,
        [{"title": "Q&amp;A: is x &lt; y &amp;&amp; y &gt; z?", "selftext": "R&amp;D &amp;para", "url": "https://e.com/?a=1&amp;para=2"}],
    )
    paper = reddit.parse(data)[0]
    assert paper.title == "Q&A: is x < y && y > z?"
    assert paper.abstract == "R&D &para"
    assert paper.url == "https://e.com/?a=1&para=2"


def test_hostile_text_is_passed_on_as_plain_text(real):
    data = _with_posts(real, [{"title": "@everyone <!channel> <@U123> **bold**", "selftext": "<script>x</script>"}])
    paper = reddit.parse(data)[0]
    assert paper.title == "@everyone <!channel> <@U123> **bold**"
    assert paper.abstract == "<script>x</script>"  # adapters escape; the source does not alter text


def test_atom_feed(real):
    papers = reddit.parse(real(THINKPAD_ATOM), subreddit="thinkpad")
    assert [p.id for p in papers] == [
        "reddit:t3_shueto",
        "reddit:t3_sfef2f",
        "reddit:t3_sfkomk",
        "reddit:t3_sf696u",
        "reddit:t3_sewu49",
    ]
    link_post = papers[0]
    assert link_post.url == "https://v.redd.it/cqjfu406z7f81"
    assert link_post.abstract == ""
    assert link_post.authors == ("u/KasaneTeto_",)
    assert link_post.published == datetime(2022, 2, 1, 13, 0, 44, tzinfo=UTC)
    assert link_post.signals[0].url == "https://www.reddit.com/r/thinkpad/comments/shueto/_/"
    assert link_post.signals[0].score == 0  # Atom carries no score
    self_post = papers[3]
    assert self_post.title == "Whats the best used ThinkPad for Windows 11?"
    assert self_post.abstract.startswith("I don't Iike to buy computers brand new")
    assert "submitted by" not in self_post.abstract and "<p>" not in self_post.abstract
    assert self_post.url == "https://www.reddit.com/r/thinkpad/comments/sf696u/whats_the_best_used_thinkpad_for_windows_11/"
    assert {p.source_label for p in papers} == {"r/thinkpad"}


def test_atom_post_linking_arxiv(real):
    data = real(THINKPAD_ATOM).replace(b"https://v.redd.it/cqjfu406z7f81", b"https://arxiv.org/pdf/2504.17830v1")
    paper = reddit.parse(data)[0]
    assert paper.id == "2504.17830"
    assert paper.url == "https://arxiv.org/abs/2504.17830"
    assert paper.signals[0].ref == "t3_shueto"


def test_source_name_and_url():
    source = RedditSource("r/LocalLLaMA", base_url="https://www.reddit.com/")
    assert source.name == "reddit:LocalLLaMA"
    assert source.url == "https://www.reddit.com/r/LocalLLaMA/new.json"
    assert source.kind is SourceKind.REDDIT
    with pytest.raises(ValueError, match="REDDIT_SUBREDDITS"):
        RedditSource("  ")


async def test_fetch_listing(fake_server, http, real):
    fake_server.serve("/r/thinkpad/new.json", real(THINKPAD_JSON))
    source = RedditSource("thinkpad", base_url=fake_server.url(""))
    papers = await source.fetch(http, None)
    assert len(papers) == 3
    assert fake_server.requests[0].query == {"limit": "100", "raw_json": "1"}


async def test_fetch_empty_listing(fake_server, http, real):
    fake_server.serve("/r/MachineLearning/new.json", real("reddit_oauth_empty_listing.json"))
    source = RedditSource("MachineLearning", base_url=fake_server.url(""))
    assert await source.fetch(http, datetime(2026, 1, 1, tzinfo=UTC)) == []


async def test_fetch_atom_served_instead(fake_server, http, real):
    fake_server.serve("/r/thinkpad/new.json", real(THINKPAD_ATOM))
    source = RedditSource("thinkpad", base_url=fake_server.url(""))
    assert len(await source.fetch(http, None)) == 5
