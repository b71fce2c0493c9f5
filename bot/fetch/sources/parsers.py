"""Saved payloads by kind, for `paperbot ingest` and the bundled offline samples."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.core.errors import UserInputError
from bot.core.models import Paper
from bot.fetch.sources import arxiv_api, arxiv_rss, feed, hf_daily, reddit

PARSERS: dict[str, Callable[[bytes, datetime], list[Paper]]] = {
    "arxiv-rss": lambda data, now: arxiv_rss.parse(data),
    "arxiv-api": lambda data, now: arxiv_api.parse(data),
    # HF items without a date of their own are dated when they were read.
    "hf-daily": lambda data, now: hf_daily.parse(data, now=now),
    "reddit-json": lambda data, now: reddit.parse_listing(data),
    "reddit-atom": lambda data, now: reddit.parse_atom(data),
    "feed": lambda data, now: feed.parse(data),
}


def parse_payload(kind: str, data: bytes, now: datetime) -> list[Paper]:
    """Parse a saved payload of the given kind (one of PARSERS) read at `now`; raises
    SourceError subclasses."""
    try:
        parser = PARSERS[kind]
    except KeyError:
        raise UserInputError(f"unknown payload kind {kind!r}; use one of {', '.join(PARSERS)}") from None
    return parser(data, now)
