"""Any RSS or Atom feed (lab and company research blogs), read through feedparser.

Entries are their own items (`feed:<hash of guid or link>`) unless the entry's link is an
arXiv paper (or its Hugging Face paper page): then it becomes that arXiv id with version 0, so
the store merges it into the paper. The bytes are checked with defusedxml before feedparser
sees them (entity declarations are refused), and a document that is not a feed at all, such as
an HTML page served in its place, is a ParseError; small defects of real feeds that still have
entries are tolerated. Text is decoded by the charset the feed declares (HTTP Content-Type, else
its XML declaration), a byte that charset does not define becoming U+FFFD, before feedparser
sees it: left to itself, feedparser re-guesses a whole document with one bad byte in another
charset and every accented letter turns to mojibake.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import logging
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser

from bot.core.errors import ParseError
from bot.core.ids import find_arxiv_id, item_id, parse_arxiv_id
from bot.core.models import Paper, SourceKind
from bot.core.redact import redact_url
from bot.fetch.http import HttpClient
from bot.fetch.sources.xml import (
    as_declared_utf8,
    charset_of,
    collapse,
    html_to_text,
    looks_like_html,
    reject_entity_declarations,
)

log = logging.getLogger(__name__)

MAX_ABSTRACT = 5000  # full blog posts arrive as content; keep what a summary needs
_NAME_LIMIT = 60


def feed_name(url: str) -> str:
    """A short, stable source name for a feed URL: `feed:<host><path>`, hashed when long.

    Names are shown (status, /healthz, logs), so credentials in the URL (`user:pass@`,
    `?apikey=`) never reach them: they are built from `redact_url(url)`."""
    url = redact_url(url.strip())
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    short = host + parts.path.rstrip("/")
    if parts.query:
        short += "?" + parts.query
    if len(short) > _NAME_LIMIT:
        digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:8]
        short = f"{short[: _NAME_LIMIT - 9]}~{digest}"
    return f"feed:{short}"


def parse(data: bytes, *, url: str = "", source: str = "feed", charset: str | None = None) -> list[Paper]:
    """Entries of one RSS/Atom document as Papers; [] for a valid feed with no entries.

    `charset` is the one the HTTP Content-Type declared, if any (see the module docstring)."""
    data = as_declared_utf8(data, charset=charset)
    if not data.strip():
        raise ParseError("empty response instead of a feed", source=source)
    if looks_like_html(data):
        raise ParseError("got an HTML page instead of an RSS/Atom feed", source=source)
    reject_entity_declarations(data, what="feed", source=source)
    headers = {"content-location": url} if url else {}
    # A stream, never raw bytes or str: feedparser would treat those as a path or URL to open.
    result = feedparser.parse(io.BytesIO(data), response_headers=headers)
    entries = result.get("entries") or []
    version = result.get("version") or ""
    if not entries:
        if not version:
            reason = result.get("bozo_exception")
            detail = f" ({collapse(str(reason))[:200]})" if reason else ""
            raise ParseError(f"not an RSS or Atom feed{detail}", source=source)
        return []
    if result.get("bozo"):
        log.info("%s: tolerated a feed defect: %s", source, result.get("bozo_exception"))
    feed_info = result.get("feed") or {}
    label = html_to_text(feed_info.get("title")) or (urlsplit(url).hostname or "").removeprefix("www.") or "feed"
    papers = []
    for entry in entries:
        paper = _entry_to_paper(entry, label)
        if paper is None:
            log.warning("%s: skipped an entry with no id, link or title", source)
        else:
            papers.append(paper)
    return papers


def _struct_to_datetime(value: Any) -> datetime | None:
    # feedparser normalises dates to UTC struct_time.
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _as_text(value: str, detail: Any) -> str:
    # Only markup declared as HTML is parsed: in plain text (Atom type="text") a "<" is a
    # comparison or TeX (`$x<y$`), and an HTML parser would swallow it.
    if "html" in ((detail or {}).get("type") or ""):
        return html_to_text(value)
    return collapse(value)


def _text_field(entry: Any, key: str) -> str:
    return _as_text(entry.get(key) or "", entry.get(f"{key}_detail"))


def _abstract(entry: Any) -> str:
    text = _text_field(entry, "summary")
    if not text:
        contents = entry.get("content") or []
        text = _as_text(contents[0].get("value", ""), contents[0]) if contents else ""
    if len(text) > MAX_ABSTRACT:
        text = text[: MAX_ABSTRACT - 1].rstrip() + "…"
    return text


def _entry_to_paper(entry: Any, label: str) -> Paper | None:
    link = (entry.get("link") or "").strip()
    guid = (entry.get("id") or "").strip()
    title = _text_field(entry, "title")
    key = guid or link or title
    if not key:
        return None
    authors = tuple(
        name for name in (html_to_text(a.get("name")) for a in entry.get("authors") or [] if isinstance(a, dict)) if name
    )
    if not authors and entry.get("author"):
        authors = (html_to_text(entry.get("author")),)
    # dict.get: feedparser's own get() maps a missing updated_parsed to published_parsed, with
    # a DeprecationWarning on every entry.
    published = _struct_to_datetime(dict.get(entry, "published_parsed")) or _struct_to_datetime(
        dict.get(entry, "updated_parsed")
    )
    updated = _struct_to_datetime(dict.get(entry, "updated_parsed")) or published
    # Only the entry's own link decides: a blog post that cites papers is not one of them.
    arxiv_id = find_arxiv_id(link) or parse_arxiv_id(guid)
    common: dict[str, Any] = {
        "title": title,
        "abstract": _abstract(entry),
        "version": 0,
        "authors": authors,
        "published": published,
        "updated": updated,
        "source": SourceKind.FEED,
        "source_label": label,
    }
    if arxiv_id is not None:
        return Paper(id=arxiv_id.base, url=arxiv_id.abs_url, **common)
    return Paper(id=item_id("feed", key), url=link, **common)


class FeedSource:
    """One RSS/Atom feed URL."""

    kind = SourceKind.FEED

    def __init__(self, url: str, *, interval: float = 3600.0) -> None:
        self.url = url.strip()
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"FEEDS: a feed URL must start with http:// or https://, got {url!r}")
        self.name = feed_name(self.url)
        self.interval = interval

    async def fetch(self, http: HttpClient, since: datetime | None) -> list[Paper]:
        """Download the feed and parse it; [] when unchanged (304).

        Every current entry is returned; the store deduplicates what it already has.
        """
        response = await http.get(self.url, source=self.name)
        if response.not_modified:
            return []
        charset = charset_of(response.headers.get("Content-Type"))
        return parse(response.body, url=response.url or self.url, source=self.name, charset=charset)
