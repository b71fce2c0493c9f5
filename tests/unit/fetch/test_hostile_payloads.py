"""Hostile or broken payloads: every parser answers with a ParseError that says what was wrong,
never another exception type, and never expands an entity bomb or reads a local file."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.errors import ParseError, SourceError
from bot.core.models import Paper
from bot.fetch.sources import arxiv_api, arxiv_rss, feed, hf_daily, reddit
from bot.fetch.sources.arxiv_rss import ArxivRSSSource
from bot.fetch.sources.feed import FeedSource
from bot.fetch.sources.hf_daily import HFDailySource
from bot.fetch.sources.reddit import RedditSource
from bot.fetch.sources.xml import html_links, html_to_text

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>&lol9;</title>
<entry><id>http://arxiv.org/abs/2504.17830v1</id><title>&lol9;</title></entry></feed>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>&xxe;</title>
<item><title>&xxe;</title><link>https://e.com/1</link></item></channel></rss>"""

HTML_PAGE = b"""<!DOCTYPE html>
<html lang="en"><head><title>Just a moment...</title></head>
<body><h1>Checking your browser before accessing the site.</h1></body></html>"""

XHTML_PAGE = b"""<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Error</title></head><body/></html>"""

XmlParser = Callable[[bytes], list[Paper]]

XML_PARSERS: dict[str, XmlParser] = {
    "arxiv_rss": arxiv_rss.parse,
    "arxiv_api": arxiv_api.parse,
    "reddit_atom": reddit.parse,
    "feed": feed.parse,
}


@pytest.fixture(params=sorted(XML_PARSERS))
def xml_parser(request) -> XmlParser:
    return XML_PARSERS[request.param]


def test_entity_expansion_bomb_is_refused(xml_parser):
    with pytest.raises(ParseError, match=r"declares XML entities \(possible entity-expansion bomb\)"):
        xml_parser(BILLION_LAUGHS)


def test_external_entity_is_refused(xml_parser):
    with pytest.raises(ParseError, match=r"references an external XML entity \(XXE\)") as info:
        xml_parser(EXTERNAL_ENTITY)
    assert "root:" not in str(info.value)  # nothing from /etc/passwd leaked into the message


def test_bomb_hidden_behind_broken_prolog_is_refused_before_feedparser():
    broken = b"garbage" + BILLION_LAUGHS
    with pytest.raises(ParseError, match="declares XML entities"):
        feed.parse(broken)


@pytest.mark.parametrize("page", [HTML_PAGE, XHTML_PAGE], ids=["html", "xhtml"])
def test_html_page_instead_of_a_feed(xml_parser, page):
    with pytest.raises(ParseError, match="got an HTML page instead of"):
        xml_parser(page)


@pytest.mark.parametrize("name", ["arxiv_rss_new_quant-ph_2025-04-28.xml", "arxiv_api_query_testing_m10.xml"])
def test_truncated_xml_is_parse_error(real, name):
    data = real(name)
    truncated = data[: len(data) // 2]
    for parser in (arxiv_rss.parse, arxiv_api.parse, reddit.parse_atom):
        with pytest.raises(ParseError, match=r"malformed or truncated XML .*no element found|malformed or truncated XML"):
            parser(truncated)


def test_empty_body_is_parse_error(xml_parser):
    with pytest.raises(ParseError, match="empty response"):
        xml_parser(b"  \n")


def test_wrong_kind_of_xml_is_parse_error():
    with pytest.raises(ParseError, match="not an arXiv listing feed"):
        arxiv_rss.parse(b"<feed xmlns='http://www.w3.org/2005/Atom'/>")
    with pytest.raises(ParseError, match="expected an Atom <feed> from the arXiv API"):
        arxiv_api.parse(b"<rss version='2.0'><channel/></rss>")
    with pytest.raises(ParseError, match="expected an Atom <feed> from Reddit"):
        reddit.parse(b"<rss version='2.0'><channel/></rss>")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"error": "Invalid date format"}', "Hugging Face API error: Invalid date format"),
        (b'{"error": {"message": "Unauthorized"}}', "Hugging Face API error: Unauthorized"),
        (b'{"papers": []}', "expected a JSON array of daily papers, got an object"),
        (b'"just a string"', "expected a JSON array of daily papers, got str"),
        (b'[{"paper": {"id": "2410.17243"', "malformed or truncated JSON"),
        (HTML_PAGE, "got an HTML page instead of Hugging Face daily papers"),
        (b"", "empty response"),
    ],
)
def test_hf_bad_bodies(body, message):
    with pytest.raises(ParseError, match=message):
        hf_daily.parse(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"message": "Too Many Requests", "error": 429}', "Reddit API error: 429 Too Many Requests"),
        (b'{"reason": "private", "message": "Forbidden", "error": 403}', "Reddit API error: 403 Forbidden private"),
        (b'{"kind": "t3", "data": {}}', "expected a Reddit Listing"),
        (b'{"kind": "Listing", "data": {}}', "Reddit Listing without data.children"),
        (b"[1, 2]", "expected a Reddit Listing object, got list"),
        (b'{"kind": "Listing", "data": {"children": [', "malformed or truncated JSON"),
    ],
)
def test_reddit_bad_bodies(body, message):
    with pytest.raises(ParseError, match=message):
        reddit.parse(body)


def test_reddit_skips_malformed_children():
    body = b"""{"kind": "Listing", "data": {"children": [
        {"kind": "t1", "data": {"id": "c1"}}, {"kind": "t3"}, "x", {"kind": "t3", "data": {"id": "ab1",
        "title": 0, "created_utc": "soon", "score": null, "num_comments": true}}]}}"""
    [paper] = reddit.parse(body)
    assert paper.id == "reddit:t3_ab1"
    assert paper.title == ""  # a non-string title is not invented
    assert paper.published is None
    assert paper.signals[0].score == 0 and paper.signals[0].comments == 0


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["id", "title", "summary", "authors", "publishedAt", "upvotes", "submittedOnDailyAt"]),
        JSON_VALUES,
    ),
    st.dictionaries(st.sampled_from(["title", "publishedAt", "numComments", "paper"]), JSON_VALUES),
)
def test_hf_items_of_any_shape(paper, item):
    item = {**item, "paper": {**paper, "id": "2410.17243"}}
    for body in ([item], [paper], [{"paper": paper}]):
        try:
            papers = hf_daily.parse(json.dumps(body).encode())
        except ParseError:
            continue
        assert all(isinstance(p.title, str) and isinstance(p.authors, tuple) for p in papers)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["id", "name", "title", "selftext", "url", "url_overridden_by_dest", "permalink", "created_utc",
             "edited", "score", "num_comments", "subreddit", "author", "is_self"]
        ),
        JSON_VALUES,
    )
)
def test_reddit_posts_of_any_shape(post):
    body = {"kind": "Listing", "data": {"children": [{"kind": "t3", "data": post}]}}
    for paper in reddit.parse(json.dumps(body).encode()):
        assert isinstance(paper.title, str)


def test_hf_skips_items_without_an_arxiv_id():
    body = b'[{"paper": {"id": "not-an-id"}}, {"nopaper": 1}, 3, {"paper": {"id": "2410.17243", "upvotes": "many"}}]'
    [paper] = hf_daily.parse(body)
    assert paper.id == "2410.17243"
    assert paper.signals[0].score == 0


@pytest.mark.parametrize(
    "name",
    [
        "arxiv_rss_new_quant-ph_2025-04-28.xml",
        "arxiv_rss_old_rdf_hep-ex_2018-05-23_trimmed.xml",
        "arxiv_api_query_testing_m10.xml",
        "reddit_r_thinkpad_top_week_trimmed.atom",
        "reddit_r_thinkpad_top_week_trimmed.json",
        "hf_daily_papers_2024-10-25_first2items.json",
    ],
)
def test_every_truncation_gives_papers_or_a_parse_error(real, name):
    data = real(name)
    parsers = [arxiv_rss.parse, arxiv_api.parse, hf_daily.parse, reddit.parse, feed.parse]
    step = max(1, len(data) // 40)
    for cut in range(0, len(data), step):
        for parser in parsers:
            try:
                result = parser(data[:cut])
            except SourceError as exc:
                assert str(exc)  # a message a person can read
            else:
                assert isinstance(result, list)


MARKUP = st.text(alphabet=st.sampled_from(list("<>![]/-?&#;=\"' abpCDATAx0")), max_size=60)


@settings(max_examples=300, deadline=None)
@given(MARKUP)
def test_html_to_text_never_raises(markup):
    # html.parser raises AssertionError on inputs like `<![ x`; the helpers must not.
    assert isinstance(html_to_text(markup), str)
    assert isinstance(html_links(markup), list)


def test_malformed_marked_section_in_reddit_atom(real):
    data = real("reddit_r_thinkpad_top_week_trimmed.atom").replace(b"&lt;table&gt;", b"&lt;![ x", 1)
    papers = reddit.parse(data)
    assert len(papers) == 5


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300) | MARKUP.map(str.encode))
def test_random_bytes_give_papers_or_a_source_error(data):
    for parser in (arxiv_rss.parse, arxiv_api.parse, hf_daily.parse, reddit.parse, feed.parse):
        try:
            result = parser(data)
        except SourceError as exc:
            assert str(exc)
        else:
            assert isinstance(result, list)


# --- through fetch: the error names the source -----------------------------------------------


async def test_fetch_hf_json_error_with_status_200(fake_server, http):
    fake_server.serve("/api/daily_papers", b'{"error": "Invalid token"}')
    source = HFDailySource(url=fake_server.url("/api/daily_papers"), clock=lambda: datetime(2024, 10, 26, tzinfo=UTC))
    with pytest.raises(ParseError) as info:
        await source.fetch(http, None)
    assert str(info.value) == "hf: Hugging Face API error: Invalid token"


async def test_fetch_reddit_json_error_with_status_200(fake_server, http):
    fake_server.serve("/r/MachineLearning/new.json", b'{"message": "Forbidden", "error": 403}')
    source = RedditSource("MachineLearning", base_url=fake_server.url(""))
    with pytest.raises(ParseError) as info:
        await source.fetch(http, None)
    assert str(info.value) == "reddit:MachineLearning: Reddit API error: 403 Forbidden"


async def test_fetch_reddit_html_block_page(fake_server, http):
    fake_server.serve("/r/LocalLLaMA/new.json", HTML_PAGE)
    source = RedditSource("LocalLLaMA", base_url=fake_server.url(""))
    with pytest.raises(ParseError, match="reddit:LocalLLaMA: got an HTML page instead of a Reddit Atom feed"):
        await source.fetch(http, None)


async def test_fetch_arxiv_bomb(fake_server, http):
    fake_server.serve("/rss/cs", BILLION_LAUGHS)
    source = ArxivRSSSource("cs", base_url=fake_server.url("/rss"))
    with pytest.raises(ParseError, match=r"arxiv: refused an arXiv listing feed that declares XML entities"):
        await source.fetch(http, None)


async def test_fetch_feed_external_entity(fake_server, http):
    fake_server.serve("/feed.xml", EXTERNAL_ENTITY)
    source = FeedSource(fake_server.url("/feed.xml"))
    with pytest.raises(ParseError, match="external XML entity"):
        await source.fetch(http, None)
