"""Reddit subreddits: the JSON listing (`/r/<sub>/new.json`) and the Atom feed (`/r/<sub>/.rss`).

A post that links or mentions an arXiv paper (its URL, its text, or a huggingface.co/papers
link) becomes a `Paper` with that arXiv id, version 0 and a Reddit `Signal`, so the store merges
it into the paper; any other post is its own item `reddit:t3_xxx`. Post text is untrusted and is
passed on as plain text for the adapters to escape.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from xml.etree.ElementTree import Element

from bot.core.errors import ParseError
from bot.core.ids import ArxivId, find_arxiv_id
from bot.core.models import Paper, Signal, SourceKind
from bot.fetch.http import HttpClient
from bot.fetch.sources.xml import (
    ATOM,
    as_int,
    collapse,
    html_links,
    html_to_text,
    load_json,
    parse_iso,
    parse_xml,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://www.reddit.com"
PERMALINK_BASE = "https://www.reddit.com"
LISTING_LIMIT = 100

_LEGACY_ESCAPES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))
_LINK_ANCHOR = re.compile(r'<a href="(?P<href>[^"]+)">\s*\[link\]\s*</a>')
_SELF_TEXT = re.compile(r'<div class="md">(?P<body>.*?)</div>\s*<!-- SC_ON -->', re.DOTALL)


def _unescape_legacy(text: str) -> str:
    """Undo Reddit's legacy escaping (responses without raw_json=1): only &lt; &gt; &amp;.

    html.unescape would also turn `&para=1` in a URL into `¶=1`, so it is not used here.
    """
    if "&" not in text:
        return text
    for escaped, plain in _LEGACY_ESCAPES:
        text = text.replace(escaped, plain)
    return text


def parse(data: bytes, *, subreddit: str = "", source: str = "reddit") -> list[Paper]:
    """Posts of a JSON listing or an Atom feed (told apart by their first byte)."""
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
        return parse_atom(data, subreddit=subreddit, source=source)
    return parse_listing(data, subreddit=subreddit, source=source)


def parse_listing(data: bytes, *, subreddit: str = "", source: str = "reddit") -> list[Paper]:
    """Posts of a JSON `Listing` (children of kind t3); other kinds are ignored."""
    payload = load_json(data, what="a Reddit listing", source=source)
    if not isinstance(payload, dict):
        raise ParseError(f"expected a Reddit Listing object, got {type(payload).__name__}", source=source)
    if payload.get("kind") != "Listing":
        if "error" in payload or "message" in payload:
            detail = collapse(f"{payload.get('error', '')} {payload.get('message', '')} {payload.get('reason', '')}")
            raise ParseError(f"Reddit API error: {detail[:300] or 'no message'}", source=source)
        raise ParseError("expected a Reddit Listing, got another JSON object", source=source)
    data_obj = payload.get("data")
    children = data_obj.get("children") if isinstance(data_obj, dict) else None
    if not isinstance(children, list):
        raise ParseError("Reddit Listing without data.children", source=source)
    papers = []
    for child in children:
        if not isinstance(child, dict) or child.get("kind") != "t3" or not isinstance(child.get("data"), dict):
            continue
        paper = _post_to_paper(child["data"], subreddit)
        if paper is not None:
            papers.append(paper)
    return papers


def _text(value: object) -> str:
    return _unescape_legacy(value) if isinstance(value, str) else ""


def _post_to_paper(post: dict[str, Any], fallback_sub: str) -> Paper | None:
    short_id = _text(post.get("id"))
    post_id = _text(post.get("name")) or (f"t3_{short_id}" if short_id else "")
    if not post_id:
        return None
    sub = _text(post.get("subreddit")) or fallback_sub
    title = collapse(_text(post.get("title")))
    selftext = _text(post.get("selftext"))
    link = _text(post.get("url_overridden_by_dest")) or _text(post.get("url"))
    permalink = _text(post.get("permalink"))
    permalink_url = PERMALINK_BASE + permalink if permalink.startswith("/") else permalink
    created = _from_unix(post.get("created_utc"))
    edited = _from_unix(post.get("edited"))
    author = _text(post.get("author"))
    arxiv_id = find_arxiv_id(link) or find_arxiv_id(_text(post.get("url"))) or find_arxiv_id(selftext)
    return _make_paper(
        post_id=post_id,
        sub=sub,
        title=title,
        body=collapse(selftext),
        link=link if not post.get("is_self") else "",
        permalink=permalink_url,
        created=created,
        edited=edited,
        author=author,
        score=as_int(post.get("score")),
        comments=as_int(post.get("num_comments")),
        arxiv_id=arxiv_id,
    )


def _from_unix(value: object) -> datetime | None:
    # `edited` is False when never edited; created_utc is a float (OAuth) or an int (www).
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _make_paper(
    *,
    post_id: str,
    sub: str,
    title: str,
    body: str,
    link: str,
    permalink: str,
    created: datetime | None,
    edited: datetime | None,
    author: str,
    score: int,
    comments: int,
    arxiv_id: ArxivId | None,
) -> Paper:
    label = f"r/{sub}" if sub else "Reddit"
    signal = Signal(
        source=SourceKind.REDDIT,
        ref=post_id,
        score=score,
        comments=comments,
        label=label,
        url=permalink,
        observed_at=created or edited or datetime.fromtimestamp(0, UTC),
    )
    common: dict[str, Any] = {
        "title": title,
        "abstract": body,
        "version": 0,
        "published": created,
        "updated": edited or created,
        "source": SourceKind.REDDIT,
        "source_label": label,
        "signals": (signal,),
    }
    if arxiv_id is not None:
        return Paper(id=arxiv_id.base, url=arxiv_id.abs_url, **common)
    authors = (f"u/{author}",) if author and author != "[deleted]" else ()
    return Paper(id=f"reddit:{post_id}", url=link or permalink, authors=authors, **common)


# --- Atom -----------------------------------------------------------------------------------


def parse_atom(data: bytes, *, subreddit: str = "", source: str = "reddit") -> list[Paper]:
    """Posts of a subreddit Atom feed (no scores there: the signals carry 0)."""
    root = parse_xml(data, what="Reddit Atom feed", source=source)
    if root.tag != f"{ATOM}feed":
        raise ParseError(f"expected an Atom <feed> from Reddit, got <{root.tag}>", source=source)
    feed_sub = subreddit
    category = root.find(f"{ATOM}category")
    if category is not None and category.get("term"):
        feed_sub = category.get("term", "")
    papers = []
    for entry in root.findall(f"{ATOM}entry"):
        paper = _atom_entry(entry, feed_sub)
        if paper is not None:
            papers.append(paper)
    return papers


def _atom_entry(entry: Element, feed_sub: str) -> Paper | None:
    post_id = collapse(entry.findtext(f"{ATOM}id"))
    if not post_id:
        return None
    sub = feed_sub
    category = entry.find(f"{ATOM}category")
    if category is not None and category.get("term"):
        sub = category.get("term", "")
    content = entry.findtext(f"{ATOM}content") or ""
    self_text = _SELF_TEXT.search(content)
    body = html_to_text(self_text.group("body")) if self_text else ""
    links = html_links(content)
    permalink = ""
    link_element = entry.find(f"{ATOM}link")
    if link_element is not None:
        permalink = link_element.get("href", "")
    # Link posts put their target behind a "[link]" anchor; a self post links its own thread.
    link_anchor = _LINK_ANCHOR.search(content)
    external = link_anchor.group("href") if link_anchor else ""
    if external == permalink:
        external = ""
    arxiv_id = None
    for candidate in [*links, body]:
        arxiv_id = find_arxiv_id(candidate)
        if arxiv_id:
            break
    author = collapse(entry.findtext(f"{ATOM}author/{ATOM}name")).removeprefix("/u/")
    return _make_paper(
        post_id=post_id,
        sub=sub,
        title=collapse(entry.findtext(f"{ATOM}title")),
        body=body,
        link=external,
        permalink=permalink,
        created=parse_iso(entry.findtext(f"{ATOM}published")),
        edited=parse_iso(entry.findtext(f"{ATOM}updated")),
        author=author,
        score=0,
        comments=0,
        arxiv_id=arxiv_id,
    )


# --- the source --------------------------------------------------------------------------------


class RedditSource:
    """The newest posts of one subreddit (its JSON listing, raw_json=1)."""

    kind = SourceKind.REDDIT

    def __init__(self, subreddit: str, *, base_url: str = DEFAULT_BASE_URL, interval: float = 1800.0) -> None:
        self.subreddit = subreddit.strip().removeprefix("r/").strip("/")
        if not self.subreddit:
            raise ValueError("REDDIT_SUBREDDITS: empty subreddit name")
        self.name = f"reddit:{self.subreddit}"
        self.base_url = base_url.rstrip("/")
        self.interval = interval

    @property
    def url(self) -> str:
        """The listing URL without its query string."""
        return f"{self.base_url}/r/{quote(self.subreddit)}/new.json"

    async def fetch(self, http: HttpClient, since: datetime | None) -> list[Paper]:
        """Download the newest posts and parse them.

        The whole listing is returned (not only posts after `since`) so that the store can
        refresh the scores and comment counts of posts it already has.
        """
        response = await http.get(
            self.url, params={"limit": LISTING_LIMIT, "raw_json": 1}, source=self.name
        )
        if response.not_modified:
            return []
        return parse(response.body, subreddit=self.subreddit, source=self.name)
