"""Digests written in batches (choosing in a worker thread, one summaries call and one
transaction per batch) write exactly what handling each channel on its own writes."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core.clock import FakeClock
from bot.core.models import ChannelSettings, SourceKind
from bot.digests import job as job_module
from bot.digests.job import DigestJob
from bot.store import Store
from tests.support.factories import T0, FakeSummaries, app_settings, make_paper

TOPICS = ("llm", "rl", "cv", "agents", "gen", "nlp")
WORDS = ("language", "policy", "diffusion", "agents", "robots", "graphs")


class OneByOne(DigestJob):
    """The job as it was before batches: every slot through `_handle_slot`."""

    def _needs_own_handling(self, settings: Any, slot: Any, now: Any, judged: Any) -> bool:
        return True


def _store(path: Path) -> Store:
    store = Store.open(str(path))
    rng = random.Random(4)
    for day in range(3):
        at = T0 - timedelta(days=2 - day, hours=1)
        papers = [
            make_paper(
                100 * day + n,
                title=f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} study {day}-{n}",
                abstract=f"We study {rng.choice(WORDS)} and {rng.choice(WORDS)}.",
                hf_upvotes=rng.choice((0, 0, 3, 40, 200)),
                source=rng.choice((SourceKind.ARXIV, SourceKind.ARXIV, SourceKind.HF)),
                published=at,
            )
            for n in range(1, 41)
        ]
        store.papers.ingest(papers, at)
        for paper in papers:
            store.papers.set_topics(paper.id, rng.sample(TOPICS, rng.randint(0, 2)))
    for i in range(250):
        roll = rng.random()
        nothing = i % 25 == 3  # a query no paper matches: a quiet note, or nothing
        store.channels.save(
            ChannelSettings(
                platform="slack",
                channel_id=f"C{i:04d}",
                topics=tuple(rng.sample(TOPICS, rng.randint(0, 2))),
                query="zeppelins" if nothing else rng.choice(WORDS) if roll < 0.2 else "",
                sources=(SourceKind.HF,) if 0.2 <= roll < 0.3 else (),
                max_items=rng.choice((2, 5, 10)),
                quiet_note=roll > 0.5,
                days=(0, 1, 2, 3, 4, 5, 6),
                time_of_day=T0.time(),  # due at T0, on time (a late slot is handled on its own)
            ),
            T0 - timedelta(days=5),
        )
    return store


def _written(store: Store) -> list[list[Any]]:
    queries = (
        "SELECT key, kind, platform, destination, payload FROM outbox ORDER BY key",
        "SELECT channel_key, paper_id, version, local_date FROM delivered_papers ORDER BY channel_key, paper_id",
        "SELECT channel_key, local_date, status, outbox_key, papers FROM digest_runs ORDER BY channel_key, local_date",
    )
    return [[json.loads(json.dumps(list(row))) for row in store.conn.execute(sql)] for sql in queries]


async def _two_days(store: Store, job_class: type[DigestJob]) -> tuple[list[int], DigestJob]:
    clock = FakeClock(T0 - timedelta(days=1))
    job = job_class(store=store, settings=app_settings(), summaries=FakeSummaries(store))
    counts = [await job.run_due(clock())]
    clock.advance(days=1)
    counts.append(await job.run_due(clock()))
    return counts, job


async def test_batches_write_what_one_channel_at_a_time_writes(tmp_path: Path) -> None:
    batched, single = _store(tmp_path / "batched.db"), _store(tmp_path / "single.db")
    try:
        counts, job = await _two_days(batched, DigestJob)
        expected_counts, _ = await _two_days(single, OneByOne)
        assert counts == expected_counts and counts[0] > 100 and job.failures == 0
        written = _written(batched)
        assert written == _written(single)
        statuses = {row[2] for row in written[2]}
        assert {"posted", "quiet", "empty"} <= statuses  # every branch of a slot was taken
    finally:
        batched.close()
        single.close()


async def test_a_batch_runs_twice_and_writes_once(tmp_path: Path) -> None:
    store = _store(tmp_path / "again.db")
    try:
        job = DigestJob(store=store, settings=app_settings(), summaries=FakeSummaries(store))
        first = await job.run_due(T0)
        written = _written(store)
        assert first > 0 and await job.run_due(T0) == 0
        assert _written(store) == written
    finally:
        store.close()


async def test_a_failing_channel_fails_alone_and_is_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _store(tmp_path / "faulty.db")
    try:
        job = DigestJob(store=store, settings=app_settings(), summaries=FakeSummaries(store))
        write_slot = job._write_slot
        broken = "slack:C0007"

        def failing(settings: ChannelSettings, *args: Any) -> int:
            if settings.key == broken:
                raise RuntimeError("a broken channel")
            return write_slot(settings, *args)

        monkeypatch.setattr(job, "_write_slot", failing)
        assert await job.run_due(T0) > 0
        assert job.failures == 1
        handled = {row[0] for row in store.conn.execute("SELECT channel_key FROM digest_runs")}
        assert broken not in handled and len(handled) == 249  # the rest of its batch was written
        monkeypatch.setattr(job, "_write_slot", write_slot)
        await job.run_due(T0)  # the next tick handles it
        assert store.channels.run_for(broken, T0.date().isoformat()) is not None
    finally:
        store.close()


def test_batches_are_bounded() -> None:
    assert 1 < job_module.BATCH_CHANNELS <= 500
