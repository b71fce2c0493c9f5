"""Generic RSS/Atom feeds through feedparser: own items, arXiv-linking entries, defects, fetching."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.errors import ParseError
from bot.core.ids import item_id
from bot.core.models import SourceKind
from bot.fetch.sources import feed
from bot.fetch.sources.feed import FeedSource, feed_name

BLOG = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>Example &amp; Co Research Blog</title>
  <link>https://research.example.com/</link>
  <item>
    <title>Scaling   laws,
      revisited</title>
    <link>https://research.example.com/posts/scaling</link>
    <guid isPermaLink="false">post-42</guid>
    <description>&lt;p&gt;We &lt;b&gt;revisit&lt;/b&gt; scaling&lt;/p&gt;&lt;p&gt;laws &amp;amp; data.&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;</description>
    <dc:creator>Ada Lovelace</dc:creator>
    <pubDate>Tue, 14 Apr 2026 09:30:00 +0200</pubDate>
  </item>
  <item>
    <title>Our paper on diffusion</title>
    <link>https://arxiv.org/abs/2504.17830v3</link>
    <description>Read it on arXiv.</description>
  </item>
  <item>
    <title>0</title>
    <link>https://research.example.com/posts/zero</link>
  </item>
</channel>
</rss>"""


def test_blog_entries_are_own_items():
    papers = feed.parse(BLOG, url="https://research.example.com/feed.xml")
    assert len(papers) == 3
    post = papers[0]
    assert post.id == item_id("feed", "post-42")
    assert post.source is SourceKind.FEED
    assert post.source_label == "Example & Co Research Blog"
    assert post.title == "Scaling laws, revisited"
    assert post.abstract == "We revisit scaling laws & data."
    assert post.url == "https://research.example.com/posts/scaling"
    assert post.authors == ("Ada Lovelace",)
    assert post.published == datetime(2026, 4, 14, 7, 30, tzinfo=UTC)
    assert post.version == 0 and not post.is_arxiv


def test_entry_linking_arxiv_becomes_the_paper():
    paper = feed.parse(BLOG)[1]
    assert paper.id == "2504.17830"
    assert paper.version == 0
    assert paper.url == "https://arxiv.org/abs/2504.17830"
    assert paper.source is SourceKind.FEED
    assert paper.title == "Our paper on diffusion"


def test_title_zero_kept_and_id_from_link():
    paper = feed.parse(BLOG)[2]
    assert paper.title == "0"
    assert paper.id == item_id("feed", "https://research.example.com/posts/zero")


def test_arxiv_listing_read_as_a_generic_feed(real):
    papers = feed.parse(real("arxiv_rss_new_quant-ph_2025-04-28.xml"))
    assert len(papers) == 81
    assert papers[0].id == "2504.17830"
    assert papers[0].source_label == "quant-ph updates on arXiv.org"
    assert papers[0].published == datetime(2025, 4, 28, 4, 0, tzinfo=UTC)
    assert all(p.is_arxiv for p in papers)


def test_old_rdf_authors_lose_their_markup(real):
    papers = feed.parse(real("arxiv_rss_old_rdf_hep-ex_2018-05-23_trimmed.xml"))
    assert [p.id for p in papers] == ["1805.08875", "1805.09166", "1805.06430"]
    assert papers[1].authors == ("Boris Tuchming",)
    assert "<p>" not in papers[0].abstract
    assert "$2.6<\\eta<4$" in papers[0].abstract


def test_reddit_atom_as_a_generic_feed(real):
    papers = feed.parse(real("reddit_r_thinkpad_top_week_trimmed.atom"))
    assert len(papers) == 5
    assert papers[0].id == item_id("feed", "t3_shueto")
    assert papers[0].source_label == "top scoring links : thinkpad"
    assert papers[0].published == datetime(2022, 2, 1, 13, 0, 44, tzinfo=UTC)


def test_empty_feed_is_no_items(real):
    assert feed.parse(real("arxiv_rss_new_cs_empty_sunday_2025-04-27.xml")) == []


def test_minor_defects_are_tolerated():
    broken = BLOG.replace(b"</channel>\n</rss>", b"")  # truncated end, entries intact
    papers = feed.parse(broken)
    assert len(papers) == 3


def test_html_page_is_parse_error():
    with pytest.raises(ParseError, match="HTML page instead of an RSS/Atom feed"):
        feed.parse(b"<!DOCTYPE html><html><head><title>Blog</title></head><body>Hi</body></html>")


def test_plain_text_is_parse_error():
    with pytest.raises(ParseError, match="not an RSS or Atom feed"):
        feed.parse(b"Service temporarily unavailable")


def test_long_content_is_capped():
    long_item = b"<rss version='2.0'><channel><title>T</title><item><title>x</title><link>https://e.com/1</link><description>" + (
        b"word " * 3000
    ) + b"</description></item></channel></rss>"
    [paper] = feed.parse(long_item)
    assert len(paper.abstract) == feed.MAX_ABSTRACT
    assert paper.abstract.endswith("…")


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://www.example.com/blog/feed.xml/", "feed:example.com/blog/feed.xml"),
        ("https://openai.com/news/rss.xml", "feed:openai.com/news/rss.xml"),
        ("https://e.com/feed?cat=ml", "feed:e.com/feed?cat=ml"),
    ],
)
def test_feed_name(url, name):
    assert feed_name(url) == name


def test_long_feed_names_are_shortened_and_distinct():
    a = feed_name("https://research.example.com/" + "a" * 80 + "/feed.xml")
    b = feed_name("https://research.example.com/" + "a" * 80 + "/atom.xml")
    assert a != b
    assert len(a) <= len("feed:") + 60
    assert a.startswith("feed:research.example.com/aaa")


def test_feed_source_rejects_non_http_urls():
    with pytest.raises(ValueError, match="FEEDS"):
        FeedSource("file:///etc/passwd")


async def test_fetch_feed(fake_server, http):
    fake_server.serve("/blog/feed.xml", BLOG)
    source = FeedSource(fake_server.url("/blog/feed.xml"), interval=60)
    assert source.name.startswith("feed:127.0.0.1/blog/feed.xml")
    assert source.kind is SourceKind.FEED
    papers = await source.fetch(http, None)
    assert [p.title for p in papers] == ["Scaling laws, revisited", "Our paper on diffusion", "0"]


async def test_fetch_html_instead_of_feed(fake_server, http):
    fake_server.serve("/feed", b"<html><body>Please log in</body></html>")
    source = FeedSource(fake_server.url("/feed"))
    with pytest.raises(ParseError, match=r"feed:127\.0\.0\.1/feed: got an HTML page"):
        await source.fetch(http, None)


def test_plain_text_keeps_comparisons_and_tex_html_is_parsed():
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Lab</title><id>urn:lab</id>
<entry><id>urn:lab:1</id><title type="text">When x &lt; y and y &gt; z</title>
<link href="https://lab.example/posts/1"/><updated>2026-11-20T10:00:00Z</updated>
<summary type="text">We show $x&lt;y$ and $y&gt;z$ hold.</summary></entry>
<entry><id>urn:lab:2</id><title type="html">&lt;b&gt;Bold&lt;/b&gt; claims</title>
<link href="https://lab.example/posts/2"/><updated>2026-11-20T10:00:00Z</updated>
<summary type="html">&lt;p&gt;A &lt;em&gt;real&lt;/em&gt; paragraph.&lt;/p&gt;</summary></entry>
</feed>"""
    plain, marked_up = feed.parse(atom)
    assert plain.title == "When x < y and y > z"
    assert plain.abstract == "We show $x<y$ and $y>z$ hold."
    assert marked_up.title == "Bold claims" and marked_up.abstract == "A real paragraph."
