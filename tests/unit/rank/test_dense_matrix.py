"""The dense matrix behind "more like this" and search by meaning (bot/rank/index.py)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

import bot.rank.index as index_module
from bot.rank.index import DenseMatrix, dense_from_store
from bot.rank.similar import top_k
from bot.store import Store
from tests.support.factories import T0, make_paper


def unit_rows(count: int, dimensions: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(count, dimensions)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_rows_are_appended_in_blocks_replaced_by_id_and_kept_through_growth() -> None:
    dense = DenseMatrix(8, capacity=4)
    first = unit_rows(3, 8, seed=1)
    dense.add(["a", "b", "c"], first, [1.0, 2.0, 3.0])
    more = unit_rows(5, 8, seed=2)
    # "b" is replaced, "d" is given twice (its last row counts), the rest are new: the matrix grows.
    dense.add(["b", "d", "e", "d", "f"], more, [20.0, 4.0, 5.0, 40.0, 6.0])
    assert dense.ids == ["a", "b", "c", "d", "e", "f"] and len(dense) == 6
    expected = np.vstack([first[0], more[0], first[2], more[3], more[2], more[4]])
    np.testing.assert_array_equal(dense.rows, expected)
    np.testing.assert_array_equal(dense.times, [1.0, 20.0, 3.0, 40.0, 5.0, 6.0])
    row = dense.row("d")
    assert row is not None and row.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(row, more[3])
    assert dense.row("missing") is None
    with pytest.raises(ValueError):
        dense.add(["g"], unit_rows(2, 8, seed=3), [1.0])


def test_column_major_storage_ranks_as_row_major_does() -> None:
    """Stored a dimension at a time (for the product's memory order); the nearest rows and
    their order are those of the same rows stored row by row."""
    rows = unit_rows(3000, 32, seed=4)
    ids = [f"p{n}" for n in range(len(rows))]
    dense = DenseMatrix(32)
    for start in range(0, len(rows), 700):
        dense.add(ids[start : start + 700], rows[start : start + 700], [float(n) for n in range(start, min(len(rows), start + 700))])
    assert dense.rows.strides[0] == 4  # a dimension's values lie together
    for seed in range(5):
        query = unit_rows(1, 32, seed=10 + seed)[0]
        expected = np.argsort(-(rows @ query), kind="stable")[:10]
        found = top_k(dense, query, 10)
        assert [n.paper_id for n in found] == [ids[i] for i in expected]
        newest = top_k(dense, query, 5, newest=1000, since=2500.0)
        assert all(int(n.paper_id[1:]) >= 2500 for n in newest) and len(newest) == 5


def test_stored_vectors_load_in_blocks_with_their_papers_times(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    papers = [make_paper(n, published=T0 - timedelta(hours=n)) for n in range(5)]
    store.papers.ingest(papers, T0)
    rows = unit_rows(6, 4, seed=7)
    ids = [p.id for p in papers] + ["gone-paper"]
    store.vectors.put_vectors("lsa-test", [(paper_id, 1, row.tobytes()) for paper_id, row in zip(ids, rows, strict=True)])
    monkeypatch.setattr(index_module, "LOAD_BATCH", 2)  # three blocks
    dense = dense_from_store(store, "lsa-test", capacity=2)
    assert dense is not None and dense.dimensions == 4 and sorted(dense.ids) == sorted(ids)
    for paper_id, row in zip(ids, rows, strict=True):
        np.testing.assert_array_equal(dense.row(paper_id), row)
    times = dict(zip(dense.ids, dense.times.tolist(), strict=True))
    assert times["gone-paper"] == 0.0
    assert all(times[p.id] == (T0 - timedelta(hours=n)).timestamp() for n, p in enumerate(papers))
    assert dense_from_store(store, "nothing-stored", capacity=8) is None
