"""The arXiv API (export.arxiv.org/api/query): Atom search results and id lists.

Used for backfill (`paperbot fetch --since ...`), for `/papers paper <id>` lookups, and for
searches; it is not one of the periodically polled sources. Both the current (2025 on) and the
legacy Atom flavours are parsed namespace-aware with defusedxml's ElementTree (feedparser is far
too slow for 50,000-entry backfills). The API's error feed (HTTP 400 with one entry titled
`Error`) raises ArxivAPIError carrying arXiv's own message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple
from xml.etree.ElementTree import Element

from bot.core.clock import Clock
from bot.core.errors import ArxivAPIError, HTTPStatusError, ParseError
from bot.core.ids import parse_arxiv_id
from bot.core.models import Paper, SourceKind
from bot.fetch.http import HttpClient
from bot.fetch.sources.xml import ARXIV, ATOM, OPENSEARCH, collapse, parse_iso, parse_xml

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)

NAME = "arxiv-api"
DEFAULT_CATEGORIES = "cs.LG+cs.CL+cs.AI+cs.CV+stat.ML"
DEFAULT_URL = "https://export.arxiv.org/api/query"
PAGE_SIZE = 100
MAX_PER_REQUEST = 2000  # the API's own cap on max_results per call ("slices of at most 2000")
API_RESULT_LIMIT = 30000  # the API never pages past this many results of one query
MAX_IDS_PER_REQUEST = 100
EMPTY_PAGE_RETRIES = 2  # the API sometimes answers a page with no entries; asking again helps

_ENTRY = f"{ATOM}entry"
_ID = f"{ATOM}id"
_TITLE = f"{ATOM}title"
_SUMMARY = f"{ATOM}summary"
_AUTHOR = f"{ATOM}author"
_NAME = f"{ATOM}name"
_LINK = f"{ATOM}link"
_CATEGORY = f"{ATOM}category"
_PUBLISHED = f"{ATOM}published"
_UPDATED = f"{ATOM}updated"
_PRIMARY = f"{ARXIV}primary_category"
_DOI = f"{ARXIV}doi"
_JOURNAL_REF = f"{ARXIV}journal_ref"
_COMMENT = f"{ARXIV}comment"
_DOI_PREFIXES = ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/")
_ERROR_ID_PREFIXES = ("http://arxiv.org/api/errors", "https://arxiv.org/api/errors")


class ApiPage(NamedTuple):
    """One page of API results: the papers, opensearch totalResults and startIndex."""

    papers: list[Paper]
    total: int
    start: int


def parse(data: bytes, *, source: str = NAME) -> list[Paper]:
    """Papers of one API response (search results or an id list); [] for zero results."""
    return parse_page(data, source=source).papers


def parse_page(data: bytes, *, source: str = NAME) -> ApiPage:
    """Parse one API response into (papers, totalResults, startIndex).

    Raises ArxivAPIError for arXiv's error feed and ParseError for anything that is not an
    Atom feed.
    """
    root = parse_xml(data, what="arXiv API response", source=source)
    if root.tag != f"{ATOM}feed":
        raise ParseError(f"expected an Atom <feed> from the arXiv API, got <{root.tag}>", source=source)
    entries = root.findall(_ENTRY)
    # The error feed looks like a normal one-entry feed; check it before reading papers.
    for entry in entries:
        message = _error_message(entry)
        if message is not None:
            raise ArxivAPIError(f"arXiv API error: {message}", source=source)
    papers = []
    for entry in entries:
        paper = _entry_to_paper(entry)
        if paper is None:
            log.warning("%s: skipped an API entry without an arXiv id", source)
        else:
            papers.append(paper)
    total = _int(root.findtext(f"{OPENSEARCH}totalResults"), default=len(papers))
    start = _int(root.findtext(f"{OPENSEARCH}startIndex"), default=0)
    return ApiPage(papers, total, start)


def _int(text: str | None, *, default: int) -> int:
    try:
        return int((text or "").strip())
    except ValueError:
        return default


def _error_message(entry: Element) -> str | None:
    entry_id = (entry.findtext(_ID) or "").strip()
    title = (entry.findtext(_TITLE) or "").strip()
    if entry_id.startswith(_ERROR_ID_PREFIXES) or (title == "Error" and "/abs/" not in entry_id):
        return collapse(entry.findtext(_SUMMARY)) or entry_id or "unknown error"
    return None


def _entry_to_paper(entry: Element) -> Paper | None:
    # One pass over the children: element order differs between API generations.
    arxiv_id = None
    title = ""
    abstract = ""
    authors: list[str] = []
    categories: list[str] = []
    primary = None
    published = updated = None
    doi = journal_ref = comment = None
    doi_link = None
    alternate_version = None
    for child in entry:
        tag = child.tag
        if tag == _ID:
            arxiv_id = parse_arxiv_id(child.text or "")
        elif tag == _TITLE:
            title = collapse(child.text)
        elif tag == _SUMMARY:
            abstract = collapse(child.text)
        elif tag == _AUTHOR:
            name = collapse(child.findtext(_NAME))
            if name:
                authors.append(name)
        elif tag == _CATEGORY:
            term = (child.get("term") or "").strip()
            if term and term not in categories:
                categories.append(term)
        elif tag == _PRIMARY:
            primary = (child.get("term") or "").strip() or None
        elif tag == _PUBLISHED:
            published = parse_iso(child.text)
        elif tag == _UPDATED:
            updated = parse_iso(child.text)
        elif tag == _DOI:
            doi = collapse(child.text) or None
        elif tag == _JOURNAL_REF:
            journal_ref = collapse(child.text) or None
        elif tag == _COMMENT:
            comment = collapse(child.text) or None
        elif tag == _LINK:
            href = (child.get("href") or "").strip()
            if child.get("title") == "doi":
                doi_link = href
            elif child.get("rel") == "alternate":
                parsed = parse_arxiv_id(href)
                alternate_version = parsed.version if parsed else None
    if arxiv_id is None:
        return None
    if doi is None and doi_link:
        doi = _doi_from_link(doi_link)
    if primary is None and categories:
        primary = categories[0]
    if primary and primary not in categories:
        categories.insert(0, primary)
    return Paper(
        id=arxiv_id.base,
        version=arxiv_id.version or alternate_version or 0,
        title=title,
        abstract=abstract,
        authors=tuple(authors),
        categories=tuple(categories),
        primary_category=primary,
        published=published,
        updated=updated or published,
        url=arxiv_id.abs_url,
        source=SourceKind.ARXIV,
        source_label=f"arXiv {primary}" if primary else "arXiv",
        doi=doi,
        journal_ref=journal_ref,
        comment=comment,
    )


def _doi_from_link(href: str) -> str | None:
    for prefix in _DOI_PREFIXES:
        if href.startswith(prefix):
            return href[len(prefix) :] or None
    return href or None


def category_query(categories: str | Iterable[str]) -> str:
    """`cs.LG+cs.CL` (or a list) -> `cat:cs.LG OR cat:cs.CL` for `search_query`."""
    names = categories.replace(",", "+").split("+") if isinstance(categories, str) else list(categories)
    cats = [name.strip() for name in names if name.strip()]
    return " OR ".join(f"cat:{cat}" for cat in cats)


def _submitted_range(since: datetime, until: datetime) -> str:
    # The API's submittedDate filter is in GMT, to the minute.
    fmt = "%Y%m%d%H%M"
    return f"submittedDate:[{since.astimezone(UTC).strftime(fmt)} TO {until.astimezone(UTC).strftime(fmt)}]"


class ArxivAPISource:
    """The arXiv API: id lookups, searches, and a paged backfill newest-first down to `since`.

    Built from Settings (ARXIV_CATEGORIES, ARXIV_API_URL) or from explicit keywords, which win.
    `progress`, when set, receives (done, total) after each backfill page (the CLI's bar).
    """

    kind = SourceKind.ARXIV

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        categories: str | None = None,
        url: str | None = None,
        interval: float = 86400.0,
        page_size: int = PAGE_SIZE,
        max_results: int = MAX_PER_REQUEST,
        clock: Clock,
        progress: Callable[[int, int], None] | None = None,
        name: str = NAME,
    ) -> None:
        self.name = name
        self.categories = categories or (settings.arxiv_categories if settings else DEFAULT_CATEGORIES)
        self.url = (url or (settings.arxiv_api_url if settings else DEFAULT_URL)).rstrip("/")
        self.interval = interval
        self.page_size = max(1, min(page_size, MAX_PER_REQUEST))
        self.max_results = max(1, min(max_results, API_RESULT_LIMIT))
        self.progress = progress
        self._clock = clock

    async def _query(self, http: HttpClient, params: dict[str, str | int]) -> ApiPage:
        try:
            response = await http.get(self.url, params=params, conditional=False, source=self.name)
        except HTTPStatusError as exc:
            # arXiv answers bad queries with HTTP 400 and an Atom error feed in the body.
            if exc.status == 400 and exc.body:
                try:
                    parse_page(exc.body, source=self.name)
                except ArxivAPIError:
                    raise
                except ParseError:
                    pass
            raise
        return parse_page(response.body, source=self.name)

    async def search(
        self,
        http: HttpClient,
        query: str,
        start: int = 0,
        max_results: int = 10,
        *,
        sort_by: str = "relevance",
        sort_order: str = "descending",
    ) -> ApiPage:
        """One page of results for an API `search_query` (e.g. `all:diffusion AND cat:cs.CV`)."""
        params: dict[str, str | int] = {
            "search_query": query,
            "start": max(0, start),
            "max_results": max(0, min(max_results, MAX_PER_REQUEST)),
            "sortBy": sort_by,
            "sortOrder": sort_order,
        }
        return await self._query(http, params)

    async def fetch_ids(self, http: HttpClient, ids: Sequence[str]) -> list[Paper]:
        """Look papers up by id (any accepted form, with or without version).

        Ids the API does not know are silently absent from the answer, so the result may be
        shorter than `ids`. Raises ArxivAPIError when arXiv rejects an id's format.
        """
        wanted = [str(parsed) if (parsed := parse_arxiv_id(raw)) else raw.strip() for raw in ids]
        wanted = [w for w in wanted if w]
        papers: list[Paper] = []
        for offset in range(0, len(wanted), MAX_IDS_PER_REQUEST):
            chunk = wanted[offset : offset + MAX_IDS_PER_REQUEST]
            params: dict[str, str | int] = {"id_list": ",".join(chunk), "start": 0, "max_results": len(chunk)}
            papers.extend((await self._query(http, params)).papers)
        return papers

    async def fetch(
        self,
        http: HttpClient,
        since: datetime | None,
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[Paper]:
        """Backfill: the configured categories newest-first, page by page, down to `since`.

        Stops at the first entry submitted before `since`, at the end of the results, or after
        `max_results` entries (one slice). `progress(done, total)` (or `self.progress`) is
        called after each page.
        """
        progress = progress or self.progress
        query = category_query(self.categories)
        if not query:
            return []
        if since is not None:
            query = f"({query}) AND {_submitted_range(since, self._clock())}"
        papers: list[Paper] = []
        start = 0
        total = self.max_results
        empty_retries = 0
        while start < min(total, self.max_results):
            size = min(self.page_size, self.max_results - start)
            page = await self.search(
                http, query, start, size, sort_by="submittedDate", sort_order="descending"
            )
            total = page.total
            if not page.papers:
                if start < total and empty_retries < EMPTY_PAGE_RETRIES:
                    empty_retries += 1
                    continue
                break
            empty_retries = 0
            reached_since = False
            for paper in page.papers:
                if since is not None and paper.published is not None and paper.published < since:
                    reached_since = True
                    break
                papers.append(paper)
            start += len(page.papers)
            if progress is not None:
                progress(len(papers), len(papers) if reached_since else min(total, self.max_results))
            if reached_since:
                break
        if start >= self.max_results and total > self.max_results:
            log.info("%s: backfill stopped at the %d-result slice limit of %d matches", self.name, start, total)
        return papers
