"""The store's unit tests run on both backends: `store` is a SQLite file, then PostgreSQL
(tests that are about SQLite itself open their own file)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.store import Store


@pytest.fixture
def store(any_store: Store) -> Iterator[Store]:
    """An empty store on each backend in turn."""
    yield any_store
