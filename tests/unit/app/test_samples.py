"""The bundled offline samples: rebuilt reproducibly from real records, parsed by the production
parser, and the clock an offline run starts with."""

from __future__ import annotations

import asyncio
from importlib import resources

import pytest

from bot.app.samples import SAMPLE_DAYS, SAMPLE_NOW, offline_sources
from bot.core.clock import FakeClock
from tests.support import make_samples


def test_shipped_samples_are_exactly_what_the_builder_makes_from_the_corpus() -> None:
    if not make_samples.CORPUS.exists():
        pytest.skip("../shared/corpus is not beside the repository")
    built = make_samples.build()
    assert set(built) == {make_samples.sample_name(day) for day in SAMPLE_DAYS}
    for name, data in built.items():
        shipped = resources.files("bot.fetch.samples").joinpath(name).read_bytes()
        assert shipped == data, f"{name} differs: run python -m tests.support.make_samples"


def test_samples_parse_into_recent_ml_announcements() -> None:
    sources = offline_sources(FakeClock(SAMPLE_NOW))
    papers = {s.name: asyncio.run(s.fetch(None, None)) for s in sources}  # type: ignore[arg-type]
    counts = [len(papers[f"arxiv (sample {day})"]) for day in SAMPLE_DAYS]
    assert counts == [219, 569, 252, 263]
    last = papers[f"arxiv (sample {SAMPLE_DAYS[-1]})"]
    assert all(p.published is not None and p.published.date().isoformat() == SAMPLE_DAYS[-1] for p in last)
    assert all(p.published is not None and p.published <= SAMPLE_NOW for p in last)
    listed = [p for p in last if p.primary_category in ("cs.CV", "cs.CL", "cs.AI")]
    assert len(listed) > 200 and any("diffusion" in p.title.lower() for day in papers.values() for p in day)
    assert len(papers["hf (sample)"]) == 2
