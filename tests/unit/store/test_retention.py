"""Retention: the store forgets old history on a schedule, its size stays bounded as days pass,
and no paper is ever posted twice to a channel because of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.models import SourceKind
from bot.settings import Settings
from bot.store import Retention, Store
from tests.unit.digests.test_digest_schedule import add_channel, make_env


def table_sizes(store) -> dict[str, int]:  # type: ignore[no-untyped-def]
    sizes = {}
    for table in ("outbox", "digest_runs", "delivered_papers", "notices", "alert_queue"):
        sizes[table] = store.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    return sizes


async def test_a_year_of_daily_digests_keeps_history_bounded_and_never_repeats_a_paper() -> None:
    env = make_env(datetime(2026, 1, 1, 6, tzinfo=UTC), ["memory"])
    add_channel(env, "memory", "C1", days=(0, 1, 2, 3, 4, 5, 6), max_items=50)
    posted: list[str] = []
    sizes_by_day = []
    for _ in range(200):
        env.add_papers(5, SourceKind.ARXIV)
        env.clock.advance(hours=3)  # 09:00 UTC: the digest is due
        await env.tick()
        env.clock.advance(hours=21)
        sizes_by_day.append(table_sizes(env.store))
    for _, part in env.adapters["memory"].sent:
        posted.extend(part.get("items", []))
    assert len(posted) == len(set(posted)) == 5 * 200  # every paper once, none twice
    # Bounded by the retention windows (30 days of outbox, 60 of runs and ledger), not by days.
    final = sizes_by_day[-1]
    assert final["outbox"] <= 32 and final["digest_runs"] <= 62 and final["delivered_papers"] <= 5 * 62
    assert sizes_by_day[-1] == sizes_by_day[-60]  # a steady state, not growth
    assert sizes_by_day[20]["outbox"] == 21  # nothing is pruned before its time


def test_prune_keeps_what_is_pending_and_recent(store: Store) -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    old, recent = now - timedelta(days=90), now - timedelta(days=5)
    store.outbox.enqueue("digest:x:old", "digest", "slack", "C1", "{}", old)
    store.outbox.enqueue("digest:x:pending", "digest", "slack", "C1", "{}", old)
    store.outbox.enqueue("digest:x:recent", "digest", "slack", "C1", "{}", recent)
    for row in store.outbox.rows():
        if row.key != "digest:x:pending":
            store.conn.execute("UPDATE outbox SET state = 'sent', updated_at = created_at WHERE id = ?", (row.id,))
    store.notices.add("slack", "U1", "old and never shown", old)
    store.notices.add("slack", "U1", "recent", recent)
    deleted = store.retention.prune(now, Retention())
    assert deleted["outbox"] == 1 and deleted["notices (waiting)"] == 1
    assert sorted(r.key for r in store.outbox.rows()) == ["digest:x:pending", "digest:x:recent"]
    assert store.notices.pending("slack", "U1") == ["recent"]


def test_history_must_cover_what_never_repeating_a_paper_needs() -> None:
    with pytest.raises(ValueError):
        Settings(retention_history_days=30)
    assert Settings().retention_history_days == 60
