"""The ranking's reads of the store (bot/store/vectors.py) on both backends."""

from __future__ import annotations

from datetime import timedelta

from bot.store import Store
from tests.support.factories import T0, make_paper


def test_changed_ids_since_are_the_papers_stored_or_changed_since_in_store_order(store: Store) -> None:
    old = [make_paper(i, published=T0 - timedelta(days=3)) for i in (5, 1)]
    store.papers.ingest(old, T0 - timedelta(days=3))
    new = [make_paper(i, published=T0) for i in (9, 2, 7)]
    store.papers.ingest(new, T0)
    assert store.vectors.changed_ids_since(T0 - timedelta(hours=1)) == [p.id for p in new]
    assert store.vectors.changed_ids_since(T0 - timedelta(days=4)) == [p.id for p in [*old, *new]]
    # A paper changed later (a new version) is found again, still in the order it was stored.
    store.papers.ingest([make_paper(1, published=T0 - timedelta(days=3), version=2)], T0 + timedelta(hours=1))
    assert store.vectors.changed_ids_since(T0 - timedelta(hours=1)) == [old[1].id, *(p.id for p in new)]
    assert store.vectors.changed_ids_since(T0 + timedelta(days=1)) == []
