"""Small fakes shared by the delivery-side tests (digests, alerts, outbox, adapter contract):
a paper factory, a fake summary provider, a fresh store and settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.ids import is_arxiv_base
from bot.core.models import Paper, Signal, SourceKind, Summary
from bot.settings import Settings
from bot.store import Store

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday


def make_paper(
    number: int = 1,
    *,
    paper_id: str | None = None,
    title: str | None = None,
    abstract: str = "",
    source: SourceKind = SourceKind.ARXIV,
    version: int = 1,
    published: datetime | None = None,
    hf_upvotes: int | None = None,
    reddit_score: int | None = None,
    announce_type: str | None = "new",
    categories: Sequence[str] = ("cs.LG",),
    **fields: Any,
) -> Paper:
    """An arXiv-style paper `2603.<number>` (or a non-arXiv item for other sources).

    `paper_id` replaces the numbered id (the URL follows it; a non-arXiv id has version 0);
    `fields` sets any other Paper field (authors, url, source_label, updated, ...) over the
    factory's choice."""
    signals = []
    when = published or T0
    if hf_upvotes is not None:
        signals.append(Signal(SourceKind.HF, when.date().isoformat(), hf_upvotes, 0, "HF daily", "https://hf.co/x", when))
    if reddit_score is not None:
        signals.append(Signal(SourceKind.REDDIT, f"t3_{number}", reddit_score, 3, "r/MachineLearning", "https://reddit.com/x", when))
    if paper_id is None:
        paper_id = f"2603.{number:05d}" if source in (SourceKind.ARXIV, SourceKind.HF) else f"{source.value}:{number}"
    paper = Paper(
        id=paper_id,
        title=title or f"Paper number {number}",
        abstract=abstract or f"We study problem {number}.",
        version=version if is_arxiv_base(paper_id) else 0,
        authors=("A. Author",),
        categories=tuple(categories),
        primary_category=categories[0] if categories else None,
        published=when,
        url=f"https://arxiv.org/abs/{paper_id}",
        source=source,
        source_label=(f"arXiv {categories[0]}" if categories else "arXiv") if source == SourceKind.ARXIV else "",
        announce_type=announce_type if source == SourceKind.ARXIV else None,
        signals=tuple(signals),
    )
    return replace(paper, **fields) if fields else paper


class FakeSummaries:
    """Fixed summaries: the TL;DR names the paper; topics are the stored tags' names."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store
        self.calls: list[list[str]] = []

    async def get_many(self, papers: Sequence[Paper]) -> dict[str, Summary]:
        self.calls.append([p.id for p in papers])
        topics = self.store.papers.topics_of([p.id for p in papers]) if self.store else {}
        return {
            p.id: Summary(
                tldr=f"TLDR of {p.title}",
                key_points=("first point", "second point"),
                summary="summary",
                methodology="method",
                results="results",
                implications="implications",
                topics=tuple(topics.get(p.id, ())) or ("ml",),
            )
            for p in papers
        }


def new_store() -> Store:
    """A fresh in-memory store."""
    return Store.open(":memory:")


def app_settings(**overrides: Any) -> Settings:
    """Settings for tests (defaults unless overridden)."""
    return Settings(**overrides)


def ingest(store: Store, papers: Sequence[Paper], at: datetime, topics: dict[str, Sequence[str]] | None = None) -> None:
    """Store papers as seen at `at`, optionally tagging them with topic ids."""
    store.papers.ingest(list(papers), at)
    for paper_id, ids in (topics or {}).items():
        store.papers.set_topics(paper_id, ids)


def hours(n: float) -> timedelta:
    """A timedelta of n hours."""
    return timedelta(hours=n)
