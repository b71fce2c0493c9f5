"""Paper sources. Each module has a pure `parse(data: bytes, ...) -> list[Paper]` and a `Source`
class whose `fetch(http, since)` downloads through the shared HttpClient and calls `parse`, so real
payloads in tests go through exactly the code production runs."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bot.core.clock import Clock
from bot.core.models import Paper, SourceKind
from bot.fetch.http import HttpClient

if TYPE_CHECKING:
    from bot.settings import Settings


class Source(Protocol):
    """One configured source (one arXiv category set, one subreddit, one feed URL...)."""

    name: str  # unique and stable, e.g. "arxiv", "hf", "reddit:LocalLLaMA", "feed:<host>"
    kind: SourceKind
    interval: float  # seconds between fetches

    async def fetch(self, http: HttpClient, since: datetime | None) -> list[Paper]:
        """Download and parse new items; raise SourceError subclasses on failure."""
        ...


def build_sources(settings: Settings, clock: Clock) -> list[Source]:
    """The periodically polled sources the settings ask for, in a stable order.

    arXiv listing (one feed for all categories), Hugging Face daily papers, one source per
    subreddit and one per extra feed URL (duplicates dropped). The arXiv API source is for
    backfill and lookups and is built where it is used (`ArxivAPISource`), not listed here.
    Raises ConfigError for a setting no source can be built from (no arXiv category, an empty
    subreddit name).
    """
    # Imported lazily so that importing the Source protocol stays cheap and cycle-free.
    from bot.core.errors import ConfigError
    from bot.fetch.sources.arxiv_rss import ArxivRSSSource
    from bot.fetch.sources.feed import FeedSource
    from bot.fetch.sources.hf_daily import HFDailySource
    from bot.fetch.sources.reddit import RedditSource

    sources: list[Source] = []
    try:
        if settings.arxiv_enabled:
            sources.append(
                ArxivRSSSource(
                    settings.arxiv_categories, base_url=settings.arxiv_rss_url, interval=settings.arxiv_interval
                )
            )
        if settings.hf_enabled:
            sources.append(
                HFDailySource(url=settings.hf_api_url, token=settings.hf_token.get_secret_value(), interval=settings.hf_interval, clock=clock)
            )
        candidates: list[Source] = []
        if settings.reddit_enabled:
            candidates.extend(
                RedditSource(sub, base_url=settings.reddit_base_url, interval=settings.reddit_interval)
                for sub in settings.reddit_subreddits
            )
        candidates.extend(FeedSource(url, interval=settings.feed_interval) for url in settings.feeds)
    except ValueError as exc:
        raise ConfigError([str(exc)]) from None
    seen = {source.name.lower() for source in sources}
    for source in candidates:
        # Subreddit names are case-insensitive on Reddit; one source per subreddit or feed.
        if source.name.lower() not in seen:
            seen.add(source.name.lower())
            sources.append(source)
    return sources
