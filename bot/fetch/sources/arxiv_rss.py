"""arXiv listing feeds: today's announcements for a set of categories.

Two formats are understood:

* the current RSS 2.0 of rss.arxiv.org (2024 on): version in the `guid`
  (`oai:arXiv.org:2504.17830v1`), the abstract behind an `arXiv:<id>vN Announce Type: <type>
  \\nAbstract: ` prefix, repeated `<category>`, one comma-separated `dc:creator` (with " and ",
  parenthesised affiliations and TeX accents), optional `arxiv:DOI`/`arxiv:journal_reference`,
  `pubDate` at midnight US Eastern;
* the old RDF/RSS 1.0 feed (before 2024): `Title. (arXiv:1805.09166v1 [hep-ex] CROSS LISTED)`
  titles, entity-escaped HTML descriptions, `dc:creator` made of escaped `<a>` links, and only
  a channel-level `dc:date`.

On weekends and holidays arXiv serves the channel with no items: that is [] and not an error.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from datetime import datetime
from xml.etree.ElementTree import Element

from bot.core.errors import ParseError
from bot.core.ids import ArxivId, parse_arxiv_id
from bot.core.models import Paper, SourceKind
from bot.fetch.http import HttpClient
from bot.fetch.sources.xml import (
    ARXIV,
    DC,
    RDF,
    RSS1,
    collapse,
    element_text,
    html_to_text,
    parse_iso,
    parse_rfc822,
    parse_xml,
)

log = logging.getLogger(__name__)

NAME = "arxiv"
DEFAULT_URL = "https://rss.arxiv.org/rss"

_PREFIX = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?", re.IGNORECASE)
_OLD_TITLE = re.compile(
    r"^(?P<title>.*?)\.?\s*\(arXiv:(?P<id>\S+?)\s*\[(?P<cat>[^\]]+)\]\s*(?P<status>CROSS LISTED|UPDATED)?\s*\)\s*$",
    re.DOTALL,
)
_FEED_CATEGORY = re.compile(r"^\s*(?P<cats>\S+)\s+updates on arXiv\.org", re.IGNORECASE)
_AND = re.compile(r"\s+and\s+")

# TeX accents as arXiv metadata writes them in author names (`G\"unther`, `Hajdu\v{s}ek`).
_ACCENT_MARKS = {
    '"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303", "=": "\u0304",
    ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327", "k": "\u0328",
    "r": "\u030a",
}
_SYMBOL_ACCENT = re.compile(r"""\\(["'`^~=.])\s*(?:\{\s*(\\?[A-Za-z])\s*\}|(\\?[A-Za-z]))""")
_LETTER_ACCENT = re.compile(r"\\([uvHckr])(?:\s*\{\s*(\\?[A-Za-z])\s*\}|\s+([A-Za-z]))")
_SPECIAL_LETTERS = {
    "ss": "ß", "aa": "å", "AA": "Å", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ",
    "o": "ø", "O": "Ø", "l": "ł", "L": "Ł", "i": "ı", "j": "ȷ",
}
_SPECIAL = re.compile(r"\\(ss|aa|AA|ae|AE|oe|OE|o|O|l|L|i|j)(?![A-Za-z])(?:\{\})?\s?")


def tex_to_unicode(name: str) -> str:
    """Turn the TeX accents of arXiv author metadata into Unicode: `S\\'ebastien` -> `Sébastien`."""
    if "\\" not in name and "{" not in name:
        return name

    def accent(match: re.Match[str]) -> str:
        letter = match.group(2) or match.group(3)
        if letter in ("\\i", "\\j"):
            letter = letter[1]  # an accent on a dotless i is just an accented i
        elif letter.startswith("\\"):
            return match.group(0)
        return letter + _ACCENT_MARKS[match.group(1)]

    text = _SYMBOL_ACCENT.sub(accent, name)
    text = _LETTER_ACCENT.sub(accent, text)
    text = _SPECIAL.sub(lambda m: _SPECIAL_LETTERS[m.group(1)], text)
    text = text.replace("{", "").replace("}", "")
    return collapse(unicodedata.normalize("NFC", text))


def _strip_parentheses(text: str) -> str:
    # Affiliations follow names in parentheses and contain commas of their own.
    out: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(char)
    return "".join(out)


def split_authors(creator: str) -> tuple[str, ...]:
    """`A, B (Univ X, Dept Y) and C` -> ("A", "B", "C"), TeX accents decoded."""
    names: list[str] = []
    for part in _strip_parentheses(creator).split(","):
        for piece in _AND.split(f" {part.strip()} "):
            name = tex_to_unicode(collapse(piece))
            if name.lower().startswith("and "):
                name = name[4:].strip()
            if name and name.lower() != "and":
                names.append(name)
    return tuple(names)


def parse(data: bytes, *, source: str = NAME) -> list[Paper]:
    """Papers of one listing feed, in feed order; [] for an empty (weekend/holiday) feed."""
    root = parse_xml(data, what="arXiv listing feed", source=source)
    if root.tag == "rss":
        return _parse_rss2(root, source)
    if root.tag == f"{RDF}RDF":
        return _parse_rdf(root, source)
    raise ParseError(f"not an arXiv listing feed (root element <{root.tag}>)", source=source)


# --- current RSS 2.0 ------------------------------------------------------------------------


def _parse_rss2(root: Element, source: str) -> list[Paper]:
    channel = root.find("channel")
    if channel is None:
        raise ParseError("RSS feed without a <channel>", source=source)
    channel_date = parse_rfc822(channel.findtext("pubDate")) or parse_rfc822(channel.findtext("lastBuildDate"))
    papers = []
    for item in channel.iter("item"):
        paper = _rss2_item(item, channel_date)
        if paper is None:
            log.warning("%s: skipped a listing item without an arXiv id", source)
        else:
            papers.append(paper)
    return papers


def _rss2_item(item: Element, channel_date: datetime | None) -> Paper | None:
    arxiv_id = parse_arxiv_id(item.findtext("guid") or "") or parse_arxiv_id(item.findtext("link") or "")
    if arxiv_id is None:
        return None
    description = item.findtext("description") or ""
    prefix = _PREFIX.match(description)
    announce_type = collapse(item.findtext(f"{ARXIV}announce_type")) or (
        prefix.group("type") if prefix else None
    )
    abstract = collapse(description[prefix.end() :] if prefix else description)
    categories: list[str] = []
    for element in item.iter("category"):
        term = collapse(element.text)
        if term and term not in categories:
            categories.append(term)
    return _listing_paper(
        arxiv_id,
        title=element_text(item.find("title")),
        abstract=abstract,
        authors=split_authors(item.findtext(f"{DC}creator") or ""),
        categories=categories,
        primary=categories[0] if categories else None,
        announced=parse_rfc822(item.findtext("pubDate")) or channel_date,
        announce_type=announce_type or None,
        doi=collapse(item.findtext(f"{ARXIV}DOI")) or None,
        journal_ref=collapse(item.findtext(f"{ARXIV}journal_reference")) or None,
    )


def _listing_paper(
    arxiv_id: ArxivId,
    *,
    title: str,
    abstract: str,
    authors: tuple[str, ...],
    categories: list[str],
    primary: str | None,
    announced: datetime | None,
    announce_type: str | None,
    doi: str | None = None,
    journal_ref: str | None = None,
) -> Paper:
    """A paper from either listing format, dated by the feed's announcement.

    A new or cross-listed paper was published on that day. A replacement was only *updated*
    then: its first publication is older and unknown here, so `published` stays None and the
    store keeps the date it already has (the store writes COALESCE(new, old))."""
    replaced = announce_type in ("replace", "replace-cross")
    return Paper(
        id=arxiv_id.base,
        version=arxiv_id.version or 0,
        title=title,
        abstract=abstract,
        authors=authors,
        categories=tuple(categories),
        primary_category=primary,
        published=None if replaced else announced,
        updated=announced,
        url=arxiv_id.abs_url,
        source=SourceKind.ARXIV,
        source_label=f"arXiv {primary}" if primary else "arXiv",
        announce_type=announce_type,
        doi=doi,
        journal_ref=journal_ref,
    )


# --- old RDF / RSS 1.0 -----------------------------------------------------------------------


def _parse_rdf(root: Element, source: str) -> list[Paper]:
    channel = root.find(f"{RSS1}channel")
    channel_date = parse_iso(channel.findtext(f"{DC}date")) if channel is not None else None
    feed_categories: tuple[str, ...] = ()
    if channel is not None:
        match = _FEED_CATEGORY.match(channel.findtext(f"{RSS1}title") or "")
        if match:
            feed_categories = tuple(c for c in match.group("cats").split("+") if c)
    papers = []
    for item in root.findall(f"{RSS1}item"):
        paper = _rdf_item(item, channel_date, feed_categories)
        if paper is None:
            log.warning("%s: skipped an old-format listing item without an arXiv id", source)
        else:
            papers.append(paper)
    return papers


def _in_feed(category: str, feed_categories: tuple[str, ...]) -> bool:
    return any(category == f or category.startswith(f + ".") for f in feed_categories)


def _rdf_item(item: Element, announced: datetime | None, feed_categories: tuple[str, ...]) -> Paper | None:
    raw_title = element_text(item.find(f"{RSS1}title"))
    match = _OLD_TITLE.match(raw_title)
    arxiv_id = parse_arxiv_id(match.group("id")) if match else None
    if arxiv_id is None:
        arxiv_id = parse_arxiv_id(item.get(f"{RDF}about") or "") or parse_arxiv_id(
            item.findtext(f"{RSS1}link") or ""
        )
    if arxiv_id is None:
        return None
    title = collapse(match.group("title")) if match else raw_title
    primary = collapse(match.group("cat")) if match else None
    status = match.group("status") if match else None
    cross = bool(primary and feed_categories and not _in_feed(primary, feed_categories))
    if status == "CROSS LISTED":
        announce_type = "cross"
    elif status == "UPDATED":
        announce_type = "replace-cross" if cross else "replace"
    else:
        announce_type = "new"
    categories = [primary] if primary else []
    if cross:
        categories.extend(c for c in feed_categories if c not in categories)
    return _listing_paper(
        arxiv_id,
        title=title,
        abstract=_literal_html_text(item.find(f"{RSS1}description")),
        authors=_rdf_authors(item.findtext(f"{DC}creator") or ""),
        categories=categories,
        primary=primary,
        announced=announced,
        announce_type=announce_type,
    )


def _literal_html_text(element: Element | None) -> str:
    if element is None:
        return ""
    if len(element):
        # Real child elements: the markup is already structure, its text is plain.
        return element_text(element)
    return html_to_text(element.text)


_ANCHOR = re.compile(r"<a\b[^>]*>(?P<name>.*?)</a>", re.IGNORECASE | re.DOTALL)
_COLLABORATION = re.compile(r"\((?P<name>[^()]*collaboration[^()]*)\)\s*$", re.IGNORECASE)


def _rdf_authors(markup: str) -> tuple[str, ...]:
    """Names from `<a href=...>Name</a>, ...`; a trailing `(STAR Collaboration)` is kept as an author."""
    names = [tex_to_unicode(html_to_text(m.group("name"))) for m in _ANCHOR.finditer(markup)]
    if not names:
        # No links (hand-made feeds): plain comma-separated text, "et al. (...)" dropped.
        text = re.sub(r"et al\.?.*$", "", html_to_text(markup))
        return split_authors(text)
    tail = _ANCHOR.sub("", markup)
    collaboration = _COLLABORATION.search(html_to_text(tail))
    if collaboration:
        names.append(collapse(collaboration.group("name")))
    return tuple(name for name in names if name)


# --- the source --------------------------------------------------------------------------------


class ArxivRSSSource:
    """Today's arXiv announcements for the configured categories (one request for all of them).

    The listing is a snapshot of one announcement day, so `since` is not used to filter it: the
    store deduplicates, and conditional GET makes unchanged feeds cost a 304.
    """

    name = NAME
    kind = SourceKind.ARXIV

    def __init__(self, categories: str, *, base_url: str = DEFAULT_URL, interval: float = 3600.0) -> None:
        cats = [c.strip() for c in categories.replace(",", "+").split("+") if c.strip()]
        if not cats:
            raise ValueError("ARXIV_CATEGORIES: at least one arXiv category is needed, e.g. cs.LG+cs.CL")
        self.categories = tuple(cats)
        self.base_url = base_url.rstrip("/")
        self.interval = interval

    @property
    def url(self) -> str:
        """The feed URL: `{base}/{categories joined by +}`."""
        return f"{self.base_url}/{'+'.join(self.categories)}"

    async def fetch(self, http: HttpClient, since: datetime | None) -> list[Paper]:
        """Download the listing feed and parse it; [] when it has not changed (304)."""
        response = await http.get(self.url, source=self.name)
        if response.not_modified:
            return []
        return parse(response.body, source=self.name)
