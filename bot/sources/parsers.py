"""Saved payloads by kind, for `paperbot ingest` and the bundled offline samples."""

from __future__ import annotations

from collections.abc import Callable

from bot.errors import UserInputError
from bot.models import Paper
from bot.sources import arxiv_api, arxiv_rss, feed, hf_daily, reddit

PARSERS: dict[str, Callable[[bytes], list[Paper]]] = {
    "arxiv-rss": arxiv_rss.parse,
    "arxiv-api": arxiv_api.parse,
    "hf-daily": hf_daily.parse,
    "reddit-json": reddit.parse_listing,
    "reddit-atom": reddit.parse_atom,
    "feed": feed.parse,
}


def parse_payload(kind: str, data: bytes) -> list[Paper]:
    """Parse a saved payload of the given kind (one of PARSERS); raises SourceError subclasses."""
    try:
        parser = PARSERS[kind]
    except KeyError:
        raise UserInputError(f"unknown payload kind {kind!r}; use one of {', '.join(PARSERS)}") from None
    return parser(data)
