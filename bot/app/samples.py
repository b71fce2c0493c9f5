"""The bundled offline samples: real payloads shipped in `bot/fetch/samples/`, read through the
same parsers production uses (`paperbot run --offline`, or a first run without network)."""

from __future__ import annotations

from datetime import datetime
from importlib import resources

from bot.core.clock import Clock
from bot.core.models import Paper, SourceKind
from bot.fetch.http import HttpClient
from bot.fetch.sources import Source
from bot.fetch.sources.parsers import parse_payload


class SampleSource:
    """A source that 'fetches' a payload shipped inside the package."""

    interval = 365 * 86400.0

    def __init__(self, name: str, kind: SourceKind, payload_kind: str, filename: str, clock: Clock) -> None:
        self.name = name
        self.kind = kind
        self.payload_kind = payload_kind
        self.filename = filename
        self.clock = clock

    async def fetch(self, http: HttpClient, since: datetime | None) -> list[Paper]:
        """Parse the bundled payload through the same parser production uses."""
        data = resources.files("bot.fetch.samples").joinpath(self.filename).read_bytes()
        return parse_payload(self.payload_kind, data, self.clock())


def offline_sources(clock: Clock) -> list[Source]:
    """The bundled real payloads: an arXiv listing, an arXiv API page, HF daily papers, Reddit."""
    return [
        SampleSource("arxiv (sample)", SourceKind.ARXIV, "arxiv-rss", "arxiv_rss_quant-ph.xml", clock),
        SampleSource("arxiv-api (sample)", SourceKind.ARXIV, "arxiv-api", "arxiv_api_testing.xml", clock),
        SampleSource("hf (sample)", SourceKind.HF, "hf-daily", "hf_daily.json", clock),
        SampleSource("reddit (sample)", SourceKind.REDDIT, "reddit-json", "reddit_new.json", clock),
    ]
