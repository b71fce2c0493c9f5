"""Paper sources. Each module has a pure `parse(data: bytes, ...) -> list[Paper]` and a `Source`
class whose `fetch(http, since)` downloads through the shared HttpClient and calls `parse`, so real
payloads in tests go through exactly the code production runs."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.http import HttpClient
from bot.models import Paper, SourceKind


class Source(Protocol):
    """One configured source (one arXiv category set, one subreddit, one feed URL...)."""

    name: str  # unique and stable, e.g. "arxiv", "hf", "reddit:LocalLLaMA", "feed:<host>"
    kind: SourceKind
    interval: float  # seconds between fetches

    async def fetch(self, http: HttpClient, since: datetime | None) -> list[Paper]:
        """Download and parse new items; raise SourceError subclasses on failure."""
        ...
