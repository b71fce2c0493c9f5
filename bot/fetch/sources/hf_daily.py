"""Hugging Face daily papers (`GET /api/daily_papers?date=YYYY-MM-DD`).

The answer is a top-level JSON array of `{paper: {...}, publishedAt, title, numComments, ...}`.
Every paper on it is an arXiv paper, so items become arXiv-id `Paper`s (version unknown: 0)
carrying one HF `Signal` (upvotes, comments, the daily date) that the store merges into the
paper. Fields added to the API over time (ai_summary, githubRepo, ...) are all optional.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.clock import Clock
from bot.core.errors import ParseError
from bot.core.ids import parse_arxiv_id
from bot.core.models import Paper, Signal, SourceKind
from bot.fetch.http import HttpClient
from bot.fetch.sources.xml import as_int, collapse, load_json, parse_iso

log = logging.getLogger(__name__)

NAME = "hf"
# For an item with no date at all when the caller gave no `now`: sorts as oldest, never as new.
_EPOCH = datetime.fromtimestamp(0, UTC)
DEFAULT_URL = "https://huggingface.co/api/daily_papers"
LABEL = "HF daily"
PAGE_LIMIT = 100


def _error_text(payload: dict[str, Any]) -> str:
    error = payload.get("error")
    if isinstance(error, dict):
        error = error.get("message") or json.dumps(error)[:200]
    return collapse(str(error if error is not None else payload.get("message", "")))[:300] or "no message"


def parse(data: bytes, *, source: str = NAME, now: datetime | None = None) -> list[Paper]:
    """Papers of one daily_papers response, each with its HF signal.

    `now` is the signal time for the rare item that carries no date at all.
    """
    payload = load_json(data, what="Hugging Face daily papers", source=source)
    if isinstance(payload, dict):
        if "error" in payload or "message" in payload:
            raise ParseError(f"Hugging Face API error: {_error_text(payload)}", source=source)
        raise ParseError("expected a JSON array of daily papers, got an object", source=source)
    if not isinstance(payload, list):
        raise ParseError(f"expected a JSON array of daily papers, got {type(payload).__name__}", source=source)
    papers = []
    for item in payload:
        paper = _item_to_paper(item, now) if isinstance(item, dict) else None
        if paper is None:
            log.warning("%s: skipped a daily-papers item without an arXiv id", source)
        else:
            papers.append(paper)
    return papers


def _item_to_paper(item: dict[str, Any], now: datetime | None) -> Paper | None:
    paper = item.get("paper")
    if not isinstance(paper, dict):
        return None
    arxiv_id = parse_arxiv_id(str(paper.get("id") or ""))
    if arxiv_id is None:
        return None
    # The top-level title is unwrapped; paper.title keeps arXiv's hard wraps.
    title = item.get("title")
    if not isinstance(title, str) or not title.strip():
        title = paper.get("title")
    raw_authors = paper.get("authors")
    authors = []
    for author in raw_authors if isinstance(raw_authors, list) else ():
        name = author.get("name") if isinstance(author, dict) else None
        if isinstance(name, str) and name.strip():
            authors.append(collapse(name))
    submitted = parse_iso(item.get("publishedAt")) or parse_iso(paper.get("submittedOnDailyAt"))
    published = parse_iso(paper.get("publishedAt"))
    url = f"https://huggingface.co/papers/{arxiv_id.base}"
    signal = Signal(
        source=SourceKind.HF,
        ref=submitted.date().isoformat() if submitted else "",
        score=as_int(paper.get("upvotes")),
        comments=as_int(item.get("numComments")),
        label=LABEL,
        url=url,
        observed_at=submitted or published or now or _EPOCH,
    )
    return Paper(
        id=arxiv_id.base,
        version=0,
        title=collapse(title) if isinstance(title, str) else "",
        abstract=collapse(paper.get("summary") if isinstance(paper.get("summary"), str) else ""),
        authors=tuple(authors),
        published=published,
        updated=published,
        url=arxiv_id.abs_url,
        source=SourceKind.HF,
        source_label=LABEL,
        signals=(signal,),
    )


# A daily list per request; a week down (or --since 14d) is caught up, a year is not.
MAX_BACKFILL_DAYS = 14


class HFDailySource:
    """Today's (and, after a gap, yesterday's) Hugging Face daily papers."""

    name = NAME
    kind = SourceKind.HF

    def __init__(
        self,
        *,
        url: str = DEFAULT_URL,
        token: str = "",
        interval: float = 7200.0,
        clock: Clock,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.interval = interval
        self._clock = clock

    def dates(self, since: datetime | None) -> list[str]:
        """The daily lists to fetch (UTC dates, oldest first): every day from `since` to today,
        at most MAX_BACKFILL_DAYS; with no `since`, yesterday and today."""
        today = self._clock().astimezone(UTC).date()
        first = today - timedelta(days=1) if since is None else since.astimezone(UTC).date()
        first = min(max(first, today - timedelta(days=MAX_BACKFILL_DAYS - 1)), today)
        return [(first + timedelta(days=n)).isoformat() for n in range((today - first).days + 1)]

    async def fetch(self, http: HttpClient, since: datetime | None) -> list[Paper]:
        """Download each needed daily list and parse it; a 304 day contributes nothing."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        papers: list[Paper] = []
        for day in self.dates(since):
            response = await http.get(
                self.url, params={"date": day, "limit": PAGE_LIMIT}, headers=headers, source=self.name
            )
            if not response.not_modified:
                papers.extend(parse(response.body, source=self.name, now=self._clock()))
        return papers
