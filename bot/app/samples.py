"""The bundled offline samples: real payloads shipped in `bot/fetch/samples/`, read through the
same parsers production uses (`paperbot run --offline`, or a first run without network).

The samples are four real arXiv announcement days (cs.CV, cs.CL, cs.AI and cross-lists, rebuilt
into the listing format from real records; see the README there) and a real Hugging Face daily
papers payload. In offline mode the bot's clock starts at `SAMPLE_NOW`, the afternoon of the
last announcement day, so "since:7d", "9h ago" and the first digest read as they did that day.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
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
        if self.filename.endswith(".gz"):
            data = gzip.decompress(data)
        return parse_payload(self.payload_kind, data, self.clock())


SAMPLE_DAYS = ("2026-06-08", "2026-06-09", "2026-06-10", "2026-06-11")
SAMPLE_NOW = datetime(2026, 6, 11, 13, 0, tzinfo=UTC)  # 09:00 in New York, 15:00 in Berlin


def offline_sources(clock: Clock) -> list[Source]:
    """The bundled real payloads: four arXiv announcement days and HF daily papers."""
    sources: list[Source] = [
        SampleSource(f"arxiv (sample {day})", SourceKind.ARXIV, "arxiv-rss", f"arxiv_cs_{day}.xml.gz", clock)
        for day in SAMPLE_DAYS
    ]
    sources.append(SampleSource("hf (sample)", SourceKind.HF, "hf-daily", "hf_daily.json", clock))
    return sources
