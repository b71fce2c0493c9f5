"""Real papers and a wired BotService for the relevance tests.

tests/data/arxiv_sample.jsonl holds 120 real arXiv announcements copied from
../shared/corpus/arxiv_daily (CC0 metadata): the 30 latest about speculative decoding or draft
models, the 30 latest about medical image / lesion / tumour segmentation, and 60 drawn at random
from the last 5,000 announcements. Each is stored as published at 01:00 UTC on its day.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.alerts.alerts import SubscriptionCommands
from bot.chat.feedback import FeedbackCommands, PaperLookup
from bot.chat.service import BotService
from bot.core.clock import FakeClock
from bot.core.models import Actor, Paper, Place
from bot.digests.commands import DigestCommands
from bot.digests.job import DigestJob
from bot.digests.personal import PersonalDigests
from bot.rank.ranking import Ranker
from bot.search.engine import SearchEngine
from bot.store import Store
from tests.support.factories import FakeSummaries, app_settings, make_paper

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "arxiv_sample.jsonl"
SPECULATIVE = ("speculative decoding", "draft model")
SEGMENTATION = ("medical image segmentation", "lesion segmentation", "tumor segmentation")


def sample_records() -> list[dict[str, object]]:
    """The sample's records, in file order."""
    return [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]


def as_paper(record: dict[str, object], published: datetime | None = None) -> Paper:
    """One record as the arXiv source would give it."""
    categories = tuple(str(c) for c in record["categories"])  # type: ignore[attr-defined]
    day = datetime.fromisoformat(str(record["announced"])).replace(tzinfo=UTC) + timedelta(hours=1)
    return make_paper(
        paper_id=str(record["id"]),
        title=str(record["title"]),
        abstract=str(record["abstract"]),
        categories=categories,
        published=published or day,
        announce_type=None,
        authors=tuple(str(a) for a in record["authors"]),  # type: ignore[attr-defined]
        source_label=f"arXiv {categories[0]}" if categories else "arXiv",
    )


def about(paper: Paper, phrases: Sequence[str]) -> bool:
    """Whether a paper's text names one of the phrases."""
    text = f"{paper.title} {paper.abstract}".lower()
    return any(p in text for p in phrases)


@dataclass
class Rig:
    """A store of real papers, the clock, the ranker and a BotService wired like the runtime's."""

    store: Store
    clock: FakeClock
    ranker: Ranker
    service: BotService
    papers: list[Paper]
    job: DigestJob
    personal: PersonalDigests

    def actor(self, user_id: str = "ada", platform: str = "console") -> Actor:
        return Actor(platform=platform, user_id=user_id, name=user_id)

    def place(self, channel_id: str = "console", platform: str = "console", is_dm: bool = False) -> Place:
        return Place(platform=platform, channel_id=channel_id, is_dm=is_dm)

    async def say(self, text: str, user_id: str = "ada", channel_id: str = "console", platform: str = "console"):  # type: ignore[no-untyped-def]
        return await self.service.handle_command(text, self.actor(user_id, platform), self.place(channel_id, platform))


async def make_rig(
    store: Store, *, lookup: PaperLookup | None = None, now: datetime | None = None, papers: Sequence[Paper] | None = None
) -> Rig:
    """Ingest the sample (all published `now` - 12 h unless given), index it, wire the service."""
    records = sample_records()
    clock = FakeClock(now or datetime(2026, 6, 12, 12, tzinfo=UTC))
    chosen = list(papers) if papers is not None else [as_paper(r, clock() - timedelta(hours=12)) for r in records]
    store.papers.ingest(chosen, clock() - timedelta(hours=11))
    ranker = Ranker(store, clock)
    await ranker.refresh()
    settings = app_settings()
    summaries = FakeSummaries(store)
    job = DigestJob(store=store, settings=settings, summaries=summaries, ranker=ranker)
    personal = PersonalDigests(store=store, ranker=ranker, summaries=summaries, clock=clock)
    service = BotService(
        store=store,
        summaries=summaries,
        search=SearchEngine(store, meaning=ranker.search_meaning),
        clock=clock,
        digests=DigestCommands(store=store, settings=settings, clock=clock, job=job, personal=personal),
        subscriptions=SubscriptionCommands(store=store, settings=settings, clock=clock),
        notices=store.notices,
        lookup_paper=lookup,
        feedback=FeedbackCommands(store=store, ranker=ranker, summaries=summaries, clock=clock, lookup_paper=lookup),
    )
    return Rig(store, clock, ranker, service, chosen, job, personal)
