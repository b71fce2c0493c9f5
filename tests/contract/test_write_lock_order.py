"""Writers of papers take their locks in one order, on SQLite and PostgreSQL.

Replicas summarize the papers their digests show, often the same papers at the same time, and
store each batch in one transaction (`Summaries._save_many`: the summaries' rows, the papers'
tags and summary text). When two batches wrote their rows in the order each was made, the
same papers in opposite orders, PostgreSQL found a deadlock and one replica lost its batch (a
three-replica run of bench/bench_replicas.py). Now every writer of papers takes the search
sequence's row lock before any row (`PaperStore.hold_index_seq`) and a batch writes its rows
sorted by paper, so concurrent batches wait for each other and both commit.
"""

from __future__ import annotations

import asyncio
import threading

from bot.core.clock import FakeClock
from bot.enrich.summarize.cache import Summaries
from bot.store import Store
from tests.support.factories import T0, make_paper

ROUNDS = 6
PER_ROUND = 80
WAIT = 60.0  # seconds: a bound on the threads, never reached when all is well


def _abstract(number: int) -> str:
    return (
        f"We propose method {number} for efficient language model inference. "
        "It reduces latency by 30% on standard benchmarks, which makes serving cheaper."
    )


def test_two_replicas_storing_summaries_of_the_same_papers_in_opposite_orders_both_commit(
    store_location: str,
) -> None:
    seeding = Store.open(store_location)
    papers = [make_paper(n, abstract=_abstract(n)) for n in range(1, ROUNDS * PER_ROUND + 1)]
    seeding.papers.ingest(papers, T0)
    seeding.close()
    stores = [Store.open(store_location) for _ in range(2)]
    start = threading.Barrier(2, timeout=WAIT)
    failures: list[BaseException] = []

    def replica(index: int) -> None:
        summaries = Summaries(stores[index], clock=FakeClock(T0))
        try:
            for round_number in range(ROUNDS):
                batch = papers[round_number * PER_ROUND : (round_number + 1) * PER_ROUND]
                start.wait()
                asyncio.run(summaries.get_many(batch if index == 0 else batch[::-1]))
        except BaseException as exc:  # surfaced in the main thread
            failures.append(exc)
            start.abort()
        finally:
            summaries.close()

    threads = [threading.Thread(target=replica, args=(index,)) for index in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        assert not any(thread.is_alive() for thread in threads)
        assert not failures, failures
        # Every paper's summary and tags were stored (by one replica or both, the same rows).
        assert stores[0].summaries.count() == len(papers)
        topics = stores[0].papers.topics_of([paper.id for paper in papers])
        assert all(topics[paper.id] for paper in papers)
    finally:
        for store in stores:
            store.close()
